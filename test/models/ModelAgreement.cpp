//===- ModelAgreement.cpp - Two artifacts' logits side by side ------------===//
//
//   ssm-model-agreement EXPECTED TOLERANCE SANITY ARTIFACT_A WEIGHTS_A
//                       ARTIFACT_B WEIGHTS_B
//
// Runs one forward pass on EXPECTED's `input_ids` through two model
// artifacts, each with its own weights (a file or a checkpoint directory),
// on the device of each artifact's target, and requires
//   max |logits_A − logits_B| ≤ TOLERANCE · max(1, max |logits_B|)
// and, so that two equally wrong answers cannot agree, both within SANITY of
// EXPECTED's `logits` (what transformers computed from the source weights);
// then the same for the first three tokens of the first sequence alone (the
// few-row kernels decode runs).
// Used for checkpoints stored in other dtypes than their artifact's: the same
// values through another path must give the same answer. Exit 0 iff both
// hold.
//
//===----------------------------------------------------------------------===//

#include "ssm/model.hpp"
#include "ssm/runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

/// The largest |a − b| (NaN counts as the worst) and the largest |b|.
std::pair<double, double> compare(const std::vector<float> &a,
                                  const std::vector<float> &b) {
  double worst = 0.0, scale = 0.0;
  if (a.size() != b.size())
    return {INFINITY, 0.0};
  for (size_t i = 0; i < a.size(); ++i) {
    double error = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(error <= worst))
      worst = std::isnan(error) ? INFINITY : error;
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return {worst, scale};
}

/// Tensor `name` of `file`, checked to be of `code`/`bits`, as raw bytes.
std::vector<char> tensorBytes(ssm_safetensors_t *file, const char *name,
                              DLDataTypeCode code, uint8_t bits,
                              std::vector<int64_t> &shape) {
  DLTensor view;
  if (ssm_status_t status = ssm_safetensors_tensor(file, name, &view)) {
    std::fprintf(stderr, "ssm-model-agreement: %s\n",
                 ssm_status_message(status));
    ssm_status_free(status);
    std::exit(2);
  }
  if (view.dtype.code != code || view.dtype.bits != bits) {
    std::fprintf(stderr, "ssm-model-agreement: tensor '%s' has another dtype\n",
                 name);
    std::exit(2);
  }
  shape.assign(view.shape, view.shape + view.ndim);
  size_t count = 1;
  for (int64_t d : shape)
    count *= static_cast<size_t>(d);
  std::vector<char> bytes(count * bits / 8);
  std::memcpy(bytes.data(), view.data, bytes.size());
  return bytes;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: ssm-model-agreement EXPECTED TOLERANCE SANITY "
                 "ARTIFACT_A WEIGHTS_A ARTIFACT_B WEIGHTS_B\n");
    return 2;
  }
  double tolerance = std::atof(argv[2]), sanity = std::atof(argv[3]);
  ssm_safetensors_t *file = nullptr;
  if (ssm_status_t status = ssm_safetensors_open(argv[1], &file)) {
    std::fprintf(stderr, "ssm-model-agreement: %s\n",
                 ssm_status_message(status));
    ssm_status_free(status);
    return 2;
  }
  std::vector<int64_t> idsShape, logitsShape;
  std::vector<char> idBytes =
      tensorBytes(file, "input_ids", kDLInt, 64, idsShape);
  std::vector<char> logitBytes =
      tensorBytes(file, "logits", kDLFloat, 32, logitsShape);
  ssm_safetensors_release(file);
  std::vector<int64_t> ids(idBytes.size() / 8);
  std::memcpy(ids.data(), idBytes.data(), idBytes.size());
  std::vector<float> reference(logitBytes.size() / 4);
  std::memcpy(reference.data(), logitBytes.data(), logitBytes.size());
  // Also a few tokens of the first sequence: the kernels of few rows
  // (decode's).
  const int64_t length = idsShape[1], few = std::min<int64_t>(length, 3);
  std::vector<int64_t> fewIds(ids.begin(), ids.begin() + few);
  try {
    std::vector<float> logits[2], fewLogits[2];
    for (int i = 0; i < 2; ++i) {
      ssm::Model model = ssm::Model::load(argv[4 + 2 * i], argv[5 + 2 * i]);
      ssm::Session session(model);
      logits[i] = session.forward(ids, idsShape[0]);
      ssm::Session short_(model);
      fewLogits[i] = short_.forward(fewIds, 1);
    }
    const int64_t vocab = logitsShape[2];
    std::vector<float> fewReference(reference.begin(),
                                    reference.begin() + few * vocab);
    bool ok = true;
    for (int pass = 0; pass < 2; ++pass) {
      const std::vector<float> *got = pass ? fewLogits : logits;
      const std::vector<float> &want = pass ? fewReference : reference;
      auto [difference, scale] = compare(got[0], got[1]);
      double bound = tolerance * std::max(1.0, scale);
      double errorA = compare(got[0], want).first;
      double errorB = compare(got[1], want).first;
      bool passOk = difference <= bound && errorA <= sanity && errorB <= sanity;
      ok = ok && passOk;
      std::printf("%s: max |A - B| %.3e (bound %.1e); from transformers' "
                  "logits: A %.3e, B %.3e (bound %.1e) %s\n",
                  pass ? "first tokens" : "input_ids", difference, bound,
                  errorA, errorB, sanity, passOk ? "ok" : "MISMATCH");
    }
    return ok ? 0 : 1;
  } catch (const ssm::Error &error) {
    std::fprintf(stderr, "ssm-model-agreement: %s\n", error.what());
    return 2;
  }
}
