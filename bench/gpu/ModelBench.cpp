//===- ModelBench.cpp - Prefill and decode of a whole model --------------===//
//
//   ssm-model-bench ARTIFACT WEIGHTS --batch=B --prompt=L --new=N
//                   [--repeat=R] [--label=TEXT]
//
// Times a model artifact through the runtime's sessions, as a user calls
// it: greedy generation of N new tokens after a prompt of B sequences of L
// pseudo-random ids, R times. Prefill is the time to the first new token
// (prefill_last and next_ids, the argmax where the model runs); decode is
// the time per step after it (a decode call, next_ids, the ids to the host).
// Prints one JSON line of
// medians: milliseconds and tokens per second (batch · tokens / time).
// Needs the runtime alone (it builds on the GPU machine).
//
//===----------------------------------------------------------------------===//

#include "ssm/model.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

bool option(const char *arg, const char *name, std::string &value) {
  size_t length = std::strlen(name);
  if (std::strncmp(arg, name, length) != 0 || arg[length] != '=')
    return false;
  value = arg + length + 1;
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> positional;
  int64_t batch = 1, prompt = 16, fresh = 32, repeat = 5;
  std::string label, value;
  for (int i = 1; i < argc; ++i) {
    if (option(argv[i], "--batch", value))
      batch = std::atoll(value.c_str());
    else if (option(argv[i], "--prompt", value))
      prompt = std::atoll(value.c_str());
    else if (option(argv[i], "--new", value))
      fresh = std::atoll(value.c_str());
    else if (option(argv[i], "--repeat", value))
      repeat = std::atoll(value.c_str());
    else if (option(argv[i], "--label", value))
      label = value;
    else if (argv[i][0] == '-') {
      std::fprintf(stderr, "ssm-model-bench: unknown option %s\n", argv[i]);
      return 2;
    } else
      positional.push_back(argv[i]);
  }
  if (positional.size() != 2 || batch < 1 || prompt < 1 || fresh < 2 ||
      repeat < 1) {
    std::fprintf(stderr, "usage: ssm-model-bench ARTIFACT WEIGHTS --batch=B "
                         "--prompt=L --new=N (N >= 2) [--repeat=R] "
                         "[--label=TEXT]\n");
    return 2;
  }
  try {
    ssm::Model model = ssm::Model::load(positional[0], positional[1]);
    const int64_t vocab = model.vocabSize();
    std::vector<int64_t> ids(static_cast<size_t>(batch * prompt));
    uint64_t state = 0x9e3779b97f4a7c15ull;
    for (int64_t &id : ids) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      id = static_cast<int64_t>((state >> 33) % static_cast<uint64_t>(vocab));
    }
    std::vector<double> prefill, decode;
    ssm::Session session(model);
    for (int64_t r = 0; r <= repeat; ++r) { // the first run warms up
      session.reset();
      std::vector<Clock::time_point> steps;
      Clock::time_point start = Clock::now();
      session.generate(ids, batch, fresh, [&](int64_t, const int64_t *) {
        steps.push_back(Clock::now());
        return false;
      });
      if (r == 0 || steps.size() != static_cast<size_t>(fresh))
        continue;
      prefill.push_back(ms(steps.front() - start));
      decode.push_back(ms(steps.back() - steps.front()) /
                       static_cast<double>(fresh - 1));
    }
    if (prefill.empty()) {
      std::fprintf(stderr, "ssm-model-bench: generation stopped early\n");
      return 1;
    }
    double prefillMs = median(prefill), decodeMs = median(decode);
    std::printf("{\"label\": \"%s\", \"batch\": %lld, \"prompt\": %lld, "
                "\"new\": %lld, \"repeat\": %lld, \"prefill_ms\": %.4f, "
                "\"prefill_tokens_per_s\": %.1f, \"decode_ms_per_step\": "
                "%.4f, \"decode_tokens_per_s\": %.1f}\n",
                label.c_str(), static_cast<long long>(batch),
                static_cast<long long>(prompt), static_cast<long long>(fresh),
                static_cast<long long>(repeat), prefillMs,
                1e3 * static_cast<double>(batch * prompt) / prefillMs,
                decodeMs, 1e3 * static_cast<double>(batch) / decodeMs);
    return 0;
  } catch (const ssm::Error &error) {
    std::fprintf(stderr, "ssm-model-bench: %s\n", error.what());
    return 2;
  }
}
