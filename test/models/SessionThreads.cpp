//===- SessionThreads.cpp - Sessions on one model from several threads ----===//
//
//   ssm-session-threads ARTIFACT_DIR CHECKPOINT_DIR
//
// Loads the model once and generates from four prompts: first one after the
// other on one session (reset between them), then each prompt five times
// over, from four threads at once, each thread with its own session. Every
// concurrent run must give the ids of the serial one, bit for bit (the
// model is shared and read-only; a session's states are its own). Exit 0
// iff they all agree.
//
//===----------------------------------------------------------------------===//

#include "ssm/model.hpp"

#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ssm-session-threads ARTIFACT_DIR CHECKPOINT_DIR\n");
    return 2;
  }
  try {
    ssm::Model model = ssm::Model::load(argv[1], argv[2]);
    const int64_t vocab = model.vocabSize();
    std::vector<std::vector<int64_t>> prompts;
    for (int p = 0; p < 4; ++p) {
      std::vector<int64_t> prompt;
      for (int i = 0; i < 5 + 3 * p; ++i)
        prompt.push_back((7 * i + 13 * p + 1) % vocab);
      prompts.push_back(prompt);
    }
    constexpr int64_t kNewTokens = 12;
    std::vector<std::vector<int64_t>> serial;
    ssm::Session one(model);
    for (const std::vector<int64_t> &prompt : prompts) {
      one.reset();
      serial.push_back(one.generate(prompt, 1, kNewTokens));
    }
    std::vector<int> mismatches(prompts.size(), 0);
    std::vector<std::thread> threads;
    for (size_t p = 0; p < prompts.size(); ++p)
      threads.emplace_back([&, p] {
        ssm::Session session(model);
        for (int round = 0; round < 5; ++round) {
          session.reset();
          if (session.generate(prompts[p], 1, kNewTokens) != serial[p])
            ++mismatches[p];
        }
      });
    for (std::thread &thread : threads)
      thread.join();
    int total = 0;
    for (size_t p = 0; p < prompts.size(); ++p) {
      std::printf("prompt %zu: %d of 5 concurrent runs differ from the serial "
                  "one\n",
                  p, mismatches[p]);
      total += mismatches[p];
    }
    return total == 0 ? 0 : 1;
  } catch (const ssm::Error &error) {
    std::fprintf(stderr, "ssm-session-threads: %s\n", error.what());
    return 2;
  }
}
