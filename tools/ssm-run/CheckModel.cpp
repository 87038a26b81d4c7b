// ssm-run check-model: a model artifact (ssmc <checkpoint dir>) against the
// expected.safetensors transformers made for the checkpoint: the full
// forward pass on `input_ids` (max |logit error| within 1e-3), the same
// logits from a prompt in two chunks (prefill, then prefill_chunk from its
// states) and from a prompt one token short then a decode step, and greedy
// generation from `generate_input_ids` by prefill and decode steps (every id
// of `generated_ids`). Runtime only: no compiler needed.

#include "RunSupport.h"

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

HostTensor copy(const HostTensor &tensor) {
  HostTensor copied(tensor.dataType(), tensor.shape());
  std::memcpy(copied.data(), tensor.data(), tensor.bytes());
  return copied;
}

/// Positions [begin, end) of dim 1 of a [B, L, ...] tensor.
HostTensor timeSlice(const HostTensor &tensor, int64_t begin, int64_t end) {
  std::vector<int64_t> shape = tensor.shape();
  size_t row = tensor.bytes() / static_cast<size_t>(shape[0]) /
               static_cast<size_t>(std::max<int64_t>(shape[1], 1));
  HostTensor slice(tensor.dataType(), [&] {
    std::vector<int64_t> s = shape;
    s[1] = end - begin;
    return s;
  }());
  for (int64_t b = 0; b < shape[0]; ++b)
    std::memcpy(static_cast<uint8_t *>(slice.data()) + b * (end - begin) * row,
                static_cast<const uint8_t *>(tensor.data()) +
                    (b * shape[1] + begin) * row,
                (end - begin) * row);
  return slice;
}

/// `first` then `second` along dim 1 of [B, L, ...] tensors.
HostTensor timeConcat(const HostTensor &first, const HostTensor &second) {
  std::vector<int64_t> shape = first.shape();
  int64_t a = shape[1], b = second.shape()[1];
  size_t row = (first.bytes() + second.bytes()) /
               static_cast<size_t>(std::max<int64_t>(shape[0], 1)) /
               static_cast<size_t>(std::max<int64_t>(a + b, 1));
  shape[1] = a + b;
  HostTensor joined(first.dataType(), shape);
  for (int64_t i = 0; i < shape[0]; ++i) {
    uint8_t *out = static_cast<uint8_t *>(joined.data()) + i * (a + b) * row;
    std::memcpy(out, static_cast<const uint8_t *>(first.data()) + i * a * row,
                a * row);
    std::memcpy(out + a * row,
                static_cast<const uint8_t *>(second.data()) + i * b * row,
                b * row);
  }
  return joined;
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

/// The model's three entry points (ModelImport.h) and the states they pass
/// on: each call returns the states under the names it takes them by,
/// whole, except the attention caches (`*key_cache`, `*value_cache`), which
/// come back as the rows the call adds.
class ModelCalls {
public:
  ModelCalls(const Module &module, const std::string &path,
             const InputSource &weights)
      : module(module), weights(weights), prefill(entry(path, "prefill")),
        chunk(entry(path, "prefill_chunk")), decode(entry(path, "decode")) {
    if (prefill.numOutputs() < 1 || prefill.output(0).name != "logits" ||
        prefill.output(0).shape.size() != 3 || prefill.output(0).shape[2] <= 0)
      fail(kExitBadInput, path + ": function 'prefill' does not return "
                                 "logits [batch, length, vocab] first");
    vocab = prefill.output(0).shape[2];
  }

  using States = std::map<std::string, HostTensor>;

  /// Logits of `ids` from `states` (none: prefill); `states` become the
  /// next ones.
  HostTensor run(const HostTensor &ids, States &states, bool step,
                 double *ms = nullptr) {
    const Function &function = states.empty() ? prefill : step ? decode : chunk;
    std::map<std::string, HostTensor> given;
    given.emplace("input_ids", copy(ids));
    for (const auto &[name, state] : states)
      given.emplace(name, copy(state));
    Call call(module, function, bindInputs(function, {weights}, std::move(given)));
    double time = call.run();
    if (ms)
      *ms = time;
    std::vector<HostTensor> outputs = call.outputs();
    States next;
    for (size_t i = 1; i < outputs.size(); ++i) {
      const std::string &name = function.output(i).name;
      auto previous = states.find(name);
      if (isAppended(name) && previous != states.end())
        next.emplace(name, timeConcat(previous->second, outputs[i]));
      else
        next.emplace(name, std::move(outputs[i]));
    }
    states = std::move(next);
    return std::move(outputs[0]);
  }

  int64_t vocabulary() const { return vocab; }

private:
  const Module &module;
  const InputSource &weights;
  Function prefill, chunk, decode;
  int64_t vocab = 0;

  static bool isAppended(const std::string &name) {
    auto endsWith = [&](const char *suffix) {
      size_t n = std::strlen(suffix);
      return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
    };
    return endsWith("key_cache") || endsWith("value_cache");
  }

  Function entry(const std::string &path, const char *name) {
    try {
      return module.function(name);
    } catch (const Error &error) {
      fail(kExitBadInput, path + " is not a model artifact (no function '" +
                              name + "'): " + error.what());
    }
  }
};

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
  ModelCalls model(module, path, weights);
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
  ModelCalls::States states;
  double forwardMs = 0.0;
  HostTensor logits = model.run(inputIds, states, false, &forwardMs);
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
    ModelCalls::States chunked;
    model.run(timeSlice(inputIds, 0, split), chunked, false);
    report(("prefill " + std::to_string(split) + " + " +
            std::to_string(length - split))
               .c_str(),
           model.run(timeSlice(inputIds, split, length), chunked, false),
           timeSlice(logits, split, length));
    ModelCalls::States stepped;
    model.run(timeSlice(inputIds, 0, length - 1), stepped, false);
    report(("prefill " + std::to_string(length - 1) + " + decode 1").c_str(),
           model.run(timeSlice(inputIds, length - 1, length), stepped, true),
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
  ModelCalls::States generation;
  HostTensor stepIds = copy(prompt);
  while (sequence.size() < wanted.size()) {
    HostTensor stepLogits = model.run(stepIds, generation, !generation.empty());
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
