// ssm-run check-model: a model artifact (ssmc <checkpoint dir>) against the
// expected.safetensors transformers made for the checkpoint: the full
// forward pass on `input_ids` (max |logit error| within 1e-3), the same
// logits from a prompt in two chunks (prefill, then prefill_chunk from its
// states) and from a prompt one token short then a decode step, and greedy
// generation from `generate_input_ids` by prefill and decode steps (every id
// of `generated_ids`). Runtime only: no compiler needed.

#include "ModelSession.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace ssm::run {

namespace {

/// testdata/README.md: logits within 1e-3 max abs error.
constexpr double kLogitTolerance = 1e-3;
/// The same logits by another split of the work (chunks, a decode step):
/// the algorithms differ, the arithmetic is f32.
constexpr double kConsistencyTolerance = 1e-4;

std::vector<int64_t> idsOf(const HostTensor &tensor) {
  const int64_t *data = static_cast<const int64_t *>(tensor.data());
  return std::vector<int64_t>(data, data + tensor.bytes() / sizeof(int64_t));
}

/// An i64 [batch, L] tensor of `file`, its ids checked against the
/// vocabulary (an id outside it is bad input, not a wrong answer).
HostTensor readIds(const InputSource &expected, const std::string &name,
                   int64_t vocab) {
  if (!expected.file.has(name))
    fail(kExitBadInput, expected.path + ": no tensor '" + name + "'");
  DLTensor view = expected.file.tensor(name);
  if (view.dtype.code != kDLInt || view.dtype.bits != 64 || view.ndim != 2)
    fail(kExitBadInput, expected.path + ": tensor '" + name +
                            "' must be I64 [batch, length]");
  HostTensor ids = HostTensor::copyOf(view);
  if (ids.shape()[1] == 0)
    fail(kExitBadInput, expected.path + ": tensor '" + name +
                            "' is an empty prompt");
  for (int64_t id : idsOf(ids))
    if (id < 0 || id >= vocab)
      fail(kExitBadInput, expected.path + ": tensor '" + name + "' holds id " +
                              std::to_string(id) +
                              ", outside the vocabulary [0, " +
                              std::to_string(vocab) + ")");
  return ids;
}

/// The largest |a − b| (NaN counts as the worst) and the largest |b|.
std::pair<double, double> compare(const HostTensor &a, const HostTensor &b) {
  const float *x = static_cast<const float *>(a.data());
  const float *y = static_cast<const float *>(b.data());
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.bytes() / sizeof(float); ++i) {
    double error = std::fabs(static_cast<double>(x[i]) - y[i]);
    if (!(error <= worst))
      worst = std::isnan(error) ? INFINITY : error;
    scale = std::max(scale, std::fabs(static_cast<double>(y[i])));
  }
  return {worst, scale};
}

} // namespace

int commandCheckModel(const std::vector<std::string> &args) {
  Arguments arguments =
      parseArguments("check-model", args,
                     {{"weights", true}, {"expected", true}, {"target", true},
                      {"verbose", false}});
  if (arguments.positional.size() != 1)
    usageError("ssm-run check-model: expected one artifact directory, got " +
               std::to_string(arguments.positional.size()) + " arguments");
  if (!arguments.has("weights") || !arguments.has("expected"))
    usageError("ssm-run check-model: --weights=DIR and "
               "--expected=FILE.safetensors are required");
  const std::string &path = arguments.positional[0];
  Module module = loadArtifact(path, arguments.value("target"));
  std::string weightsPath = arguments.value("weights") + "/model.safetensors";
  InputSource weights{openSafetensors(weightsPath), weightsPath};
  InputSource expected{openSafetensors(arguments.value("expected")),
                       arguments.value("expected")};
  ModelSession model(module, path, weights);
  int64_t vocab = model.vocabulary();

  // Every input is checked before anything runs.
  HostTensor inputIds = readIds(expected, "input_ids", vocab);
  HostTensor prompt = readIds(expected, "generate_input_ids", vocab);
  if (prompt.shape()[0] != 1)
    fail(kExitBadInput, expected.path +
                            ": tensor 'generate_input_ids' must be [1, L]");
  if (!expected.file.has("generated_ids"))
    fail(kExitBadInput, expected.path + ": no tensor 'generated_ids'");
  if (!expected.file.has("logits"))
    fail(kExitBadInput, expected.path + ": no tensor 'logits'");

  // 1. The full forward pass.
  std::vector<int64_t> idsShape = inputIds.shape();
  double forwardMs = 0.0;
  HostTensor logits = model.run(copy(inputIds), false, &forwardMs);
  HostTensor reference = HostTensor::copyOf(expected.file.tensor("logits"));
  if (reference.shape() != logits.shape() ||
      reference.dataType().code != kDLFloat || reference.dataType().bits != 32)
    fail(kExitBadInput, expected.path + ": tensor 'logits' must be F32 " +
                            formatShape(logits.shape()));
  double worst = compare(logits, reference).first;
  bool logitsOk = worst <= kLogitTolerance;
  std::printf("forward %s: max |logit error| %.3e (tolerance %.0e) %s, "
              "%.2f ms\n",
              formatShape(idsShape).c_str(), worst, kLogitTolerance,
              logitsOk ? "ok" : "MISMATCH", forwardMs);

  // 2. The same logits from the prompt in two chunks, and from the prompt
  // one token short then one decode step.
  bool consistent = true;
  int64_t length = idsShape[1];
  auto report = [&](const char *what, const HostTensor &got,
                    const HostTensor &whole) {
    auto [error, scale] = compare(got, whole);
    double tolerance = kConsistencyTolerance * std::max(1.0, scale);
    bool ok = error <= tolerance;
    consistent = consistent && ok;
    std::printf("%s: max |difference| %.3e from the whole prompt's "
                "(tolerance %.1e) %s\n",
                what, error, tolerance, ok ? "ok" : "MISMATCH");
  };
  if (length >= 2) {
    int64_t split = length / 2;
    model.reset();
    model.run(timeSlice(inputIds, 0, split), false);
    report(("prefill " + std::to_string(split) + " + " +
            std::to_string(length - split))
               .c_str(),
           model.run(timeSlice(inputIds, split, length), false),
           timeSlice(logits, split, length));
    model.reset();
    model.run(timeSlice(inputIds, 0, length - 1), false);
    report(("prefill " + std::to_string(length - 1) + " + decode 1").c_str(),
           model.run(timeSlice(inputIds, length - 1, length), true),
           timeSlice(logits, length - 1, length));
  }

  // 3. Greedy generation: prefill the prompt, then one decode step per
  // token, each the argmax of the last position's logits.
  std::vector<int64_t> wanted =
      idsOf(HostTensor::copyOf(expected.file.tensor("generated_ids")));
  std::vector<int64_t> sequence = idsOf(prompt);
  if (wanted.size() < sequence.size() ||
      !std::equal(sequence.begin(), sequence.end(), wanted.begin()))
    fail(kExitBadInput, expected.path + ": 'generated_ids' does not start "
                                        "with 'generate_input_ids'");
  size_t promptLength = sequence.size(), firstMismatch = wanted.size();
  model.reset();
  HostTensor stepIds = copy(prompt);
  bool first = true;
  while (sequence.size() < wanted.size()) {
    HostTensor stepLogits = model.run(std::move(stepIds), !first);
    first = false;
    const float *last = static_cast<const float *>(stepLogits.data()) +
                        (stepLogits.shape()[1] - 1) * vocab;
    int64_t next = std::max_element(last, last + vocab) - last;
    if (next != wanted[sequence.size()] && firstMismatch == wanted.size())
      firstMismatch = sequence.size();
    sequence.push_back(next);
    stepIds = idsTensor({next}, 1);
  }
  bool idsOk = firstMismatch == wanted.size();
  std::printf("generate: %zu new tokens after a %zu-token prompt %s\n",
              wanted.size() - promptLength, promptLength,
              idsOk ? "all match"
                    : ("MISMATCH at position " + std::to_string(firstMismatch) +
                       ": got " + std::to_string(sequence[firstMismatch]) +
                       ", expected " + std::to_string(wanted[firstMismatch]))
                          .c_str());
  return logitsOk && consistent && idsOk ? kExitOk : kExitMismatch;
}

} // namespace ssm::run
