// ssm-run check-model: a model artifact (ssmc <checkpoint dir>) against the
// expected.safetensors transformers made for the checkpoint: the full
// forward pass on `input_ids` (max |logit error| within 1e-3) and greedy
// generation from `generate_input_ids` (every id of `generated_ids`).
// Runtime only: no compiler needed.

#include "RunSupport.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace ssm::run {

namespace {

/// testdata/README.md: logits within 1e-3 max abs error.
constexpr double kLogitTolerance = 1e-3;

std::vector<int64_t> idsOf(const HostTensor &tensor) {
  const int64_t *data = static_cast<const int64_t *>(tensor.data());
  return std::vector<int64_t>(data, data + tensor.bytes() / sizeof(int64_t));
}

HostTensor idsTensor(const std::vector<int64_t> &ids, int64_t batch) {
  HostTensor tensor({kDLInt, 64, 1},
                    {batch, static_cast<int64_t>(ids.size()) / batch});
  std::memcpy(tensor.data(), ids.data(), ids.size() * sizeof(int64_t));
  return tensor;
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
  Module module =
      loadArtifact(arguments.positional[0], arguments.value("target"));
  Function prefill = [&] {
    try {
      return module.function("prefill");
    } catch (const Error &error) {
      fail(kExitBadInput, arguments.positional[0] +
                              " is not a model artifact (no function "
                              "'prefill'): " + error.what());
    }
  }();
  if (prefill.numOutputs() != 1 || prefill.output(0).name != "logits" ||
      prefill.output(0).shape.size() != 3 || prefill.output(0).shape[2] <= 0)
    fail(kExitBadInput, arguments.positional[0] +
                            ": function 'prefill' does not return logits "
                            "[batch, length, vocab]");
  int64_t vocab = prefill.output(0).shape[2];

  std::string weightsPath = arguments.value("weights") + "/model.safetensors";
  InputSource weights{openSafetensors(weightsPath), weightsPath};
  InputSource expected{openSafetensors(arguments.value("expected")),
                       arguments.value("expected")};

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
  std::map<std::string, HostTensor> given;
  given.emplace("input_ids", std::move(inputIds));
  std::vector<HostTensor> inputs = bindInputs(prefill, {weights}, std::move(given));
  Call forward(module, prefill, std::move(inputs));
  double forwardMs = forward.run();
  HostTensor logits = std::move(forward.outputs()[0]);
  HostTensor reference = HostTensor::copyOf(expected.file.tensor("logits"));
  if (reference.shape() != logits.shape() ||
      reference.dataType().code != kDLFloat || reference.dataType().bits != 32)
    fail(kExitBadInput, expected.path + ": tensor 'logits' must be F32 " +
                            formatShape(logits.shape()));
  const float *got = static_cast<const float *>(logits.data());
  const float *want = static_cast<const float *>(reference.data());
  double worst = 0.0;
  for (size_t i = 0; i < logits.bytes() / sizeof(float); ++i) {
    double error = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (!(error <= worst)) // NaN counts as the worst
      worst = std::isnan(error) ? INFINITY : error;
  }
  bool logitsOk = worst <= kLogitTolerance;
  std::printf("forward %s: max |logit error| %.3e (tolerance %.0e) %s, "
              "%.2f ms\n",
              formatShape(idsShape).c_str(), worst, kLogitTolerance,
              logitsOk ? "ok" : "MISMATCH", forwardMs);

  // 2. Greedy generation: each new token is the argmax of the last
  // position's logits over the whole sequence so far.
  std::vector<int64_t> wanted =
      idsOf(HostTensor::copyOf(expected.file.tensor("generated_ids")));
  std::vector<int64_t> sequence = idsOf(prompt);
  if (wanted.size() < sequence.size() ||
      !std::equal(sequence.begin(), sequence.end(), wanted.begin()))
    fail(kExitBadInput, expected.path + ": 'generated_ids' does not start "
                                        "with 'generate_input_ids'");
  size_t promptLength = sequence.size(), firstMismatch = wanted.size();
  while (sequence.size() < wanted.size()) {
    std::map<std::string, HostTensor> step;
    step.emplace("input_ids", idsTensor(sequence, 1));
    Call call(module, prefill, bindInputs(prefill, {weights}, std::move(step)));
    call.run();
    HostTensor stepLogits = std::move(call.outputs()[0]);
    const float *last = static_cast<const float *>(stepLogits.data()) +
                        (sequence.size() - 1) * vocab;
    int64_t next = std::max_element(last, last + vocab) - last;
    if (next != wanted[sequence.size()] && firstMismatch == wanted.size())
      firstMismatch = sequence.size();
    sequence.push_back(next);
  }
  bool idsOk = firstMismatch == wanted.size();
  std::printf("generate: %zu new tokens after a %zu-token prompt %s\n",
              wanted.size() - promptLength, promptLength,
              idsOk ? "all match"
                    : ("MISMATCH at position " + std::to_string(firstMismatch) +
                       ": got " + std::to_string(sequence[firstMismatch]) +
                       ", expected " + std::to_string(wanted[firstMismatch]))
                          .c_str());
  return logitsOk && idsOk ? kExitOk : kExitMismatch;
}

} // namespace ssm::run
