//===- SessionCache.cpp - States carried over many calls ------------------===//
//
//   ssm-session-cache ARTIFACT_DIR CHECKPOINT_DIR
//
// A session's states after many calls must be those of one call over the
// whole sequence: the prompt is fed, then one token a step for kSteps steps
// (attention caches grow past several doublings of their buffer, Mamba
// states are written into the buffers of two calls before), and every
// step's logits must equal the last position's logits of a fresh session
// given the whole sequence so far, within 1e-4. Once for one sequence, once
// for two at once (whose caches are laid out per sequence). Exit 0 iff every
// step agrees.
//
//===----------------------------------------------------------------------===//

#include "ssm/model.hpp"

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr int64_t kPrompt = 3, kSteps = 20;
constexpr float kTolerance = 1e-4f;

/// The worst difference between the logits of each step and those of a
/// whole prefill of the sequence so far, over `batch` sequences.
float worstStep(ssm::Model &model, int64_t batch) {
  const int64_t vocab = model.vocabSize();
  // sequences[b] grows by one token a step.
  std::vector<std::vector<int64_t>> sequences(batch);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < kPrompt; ++i)
      sequences[b].push_back((11 * i + 5 * b + 3) % vocab);
  ssm::Session stepped(model);
  std::vector<int64_t> ids;
  for (int64_t b = 0; b < batch; ++b)
    ids.insert(ids.end(), sequences[b].begin(), sequences[b].end());
  std::vector<float> logits = stepped.forward(ids, batch);
  int64_t length = kPrompt;
  float worst = 0.0f;
  for (int64_t step = 0; step < kSteps; ++step) {
    // Next token: a fixed function of the step (not the argmax, so that
    // the test does not depend on ties), then one decode step.
    ids.assign(static_cast<size_t>(batch), 0);
    for (int64_t b = 0; b < batch; ++b) {
      ids[b] = (17 * step + 7 * b + 1) % vocab;
      sequences[b].push_back(ids[b]);
    }
    logits = stepped.forward(ids, batch);
    ++length;
    ssm::Session whole(model);
    std::vector<int64_t> all;
    for (int64_t b = 0; b < batch; ++b)
      all.insert(all.end(), sequences[b].begin(), sequences[b].end());
    std::vector<float> expected = whole.forward(all, batch);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t v = 0; v < vocab; ++v) {
        float got = logits[b * vocab + v];
        float want = expected[(b * length + length - 1) * vocab + v];
        float error = std::fabs(got - want);
        if (!(error <= worst))
          worst = std::isnan(error) ? INFINITY : error;
      }
  }
  return worst;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ssm-session-cache ARTIFACT_DIR CHECKPOINT_DIR\n");
    return 2;
  }
  try {
    ssm::Model model = ssm::Model::load(argv[1], argv[2]);
    bool ok = true;
    for (int64_t batch : {1, 2}) {
      float worst = worstStep(model, batch);
      std::printf("batch %lld: %lld decode steps after a %lld-token prompt, "
                  "worst logit difference from a whole prefill %.3g\n",
                  static_cast<long long>(batch),
                  static_cast<long long>(kSteps),
                  static_cast<long long>(kPrompt), worst);
      ok = ok && worst <= kTolerance;
    }
    return ok ? 0 : 1;
  } catch (const ssm::Error &error) {
    std::fprintf(stderr, "ssm-session-cache: %s\n", error.what());
    return 2;
  }
}
