// ssm-run check-model: a model artifact (ssmc <checkpoint dir>) against the
// expected.safetensors transformers made for the checkpoint: the full
// forward pass on `input_ids` (max |logit error| within 1e-3), the same
// logits from a prompt in two chunks (prefill, then prefill_chunk from its
// states) and from a prompt one token short then a decode step, and greedy
// generation from `generate_input_ids` by prefill and decode steps (every id
// of `generated_ids`), all through the runtime's model sessions. Runtime
// only: no compiler needed.

#include "RunSupport.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

/// An i64 [batch, L] tensor of `file` as ids, checked against the
/// vocabulary (an id outside it is bad input, not a wrong answer).
std::vector<int64_t> readIds(const InputSource &expected,
                             const std::string &name, int64_t vocab,
                             int64_t &batch) {
  if (!expected.file.has(name))
    fail(kExitBadInput, "{}: no tensor '{}'", expected.path, name);
  DLTensor view = expected.file.tensor(name);
  if (view.dtype.code != kDLInt || view.dtype.bits != 64 || view.ndim != 2)
    fail(kExitBadInput, "{}: tensor '{}' must be I64 [batch, length]",
         expected.path, name);
  if (view.shape[1] == 0)
    fail(kExitBadInput, "{}: tensor '{}' is an empty prompt", expected.path,
         name);
  batch = view.shape[0];
  std::vector<int64_t> ids(static_cast<size_t>(view.shape[0] * view.shape[1]));
  std::memcpy(ids.data(), view.data, ids.size() * sizeof(int64_t));
  for (int64_t id : ids)
    if (id < 0 || id >= vocab)
      fail(kExitBadInput,
           "{}: tensor '{}' holds id {}, outside the vocabulary [0, {})",
           expected.path, name, id, vocab);
  return ids;
}

/// Positions [begin, end) of each sequence of [batch, length, width] values.
template <typename T>
std::vector<T> positions(const std::vector<T> &values, int64_t batch,
                         int64_t length, int64_t width, int64_t begin,
                         int64_t end) {
  std::vector<T> slice;
  for (int64_t b = 0; b < batch; ++b)
    slice.insert(slice.end(), values.begin() + (b * length + begin) * width,
                 values.begin() + (b * length + end) * width);
  return slice;
}

/// The largest |a − b| (NaN counts as the worst) and the largest |b|.
std::pair<double, double> compare(const std::vector<float> &a,
                                  const std::vector<float> &b) {
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    double error = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(error <= worst))
      worst = std::isnan(error) ? INFINITY : error;
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
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
    usageError("ssm-run check-model: expected one artifact directory, got {} "
               "arguments",
               arguments.positional.size());
  if (!arguments.has("weights") || !arguments.has("expected"))
    usageError("ssm-run check-model: --weights=DIR and "
               "--expected=FILE.safetensors are required");
  Model model = loadModel(arguments.positional[0], arguments.value("weights"),
                          arguments.value("target"));
  InputSource expected{openSafetensors(arguments.value("expected")),
                       arguments.value("expected")};
  int64_t vocab = model.vocabSize();

  // Every input is checked before anything runs.
  int64_t batch = 0, promptBatch = 0;
  std::vector<int64_t> inputIds = readIds(expected, "input_ids", vocab, batch);
  std::vector<int64_t> prompt =
      readIds(expected, "generate_input_ids", vocab, promptBatch);
  if (promptBatch != 1)
    fail(kExitBadInput, "{}: tensor 'generate_input_ids' must be [1, L]",
         expected.path);
  if (!expected.file.has("generated_ids"))
    fail(kExitBadInput, "{}: no tensor 'generated_ids'", expected.path);
  if (!expected.file.has("logits"))
    fail(kExitBadInput, "{}: no tensor 'logits'", expected.path);
  int64_t length = static_cast<int64_t>(inputIds.size()) / batch;
  DLTensor referenceView = expected.file.tensor("logits");
  if (referenceView.dtype.code != kDLFloat || referenceView.dtype.bits != 32 ||
      referenceView.ndim != 3 || referenceView.shape[0] != batch ||
      referenceView.shape[1] != length || referenceView.shape[2] != vocab)
    fail(kExitBadInput, "{}: tensor 'logits' must be F32 {}", expected.path,
         formatShape({batch, length, vocab}));
  std::vector<float> reference(static_cast<size_t>(batch * length * vocab));
  std::memcpy(reference.data(), referenceView.data,
              reference.size() * sizeof(float));

  auto run = [&](Session &session, const std::vector<int64_t> &ids,
                 int64_t rows) {
    try {
      return session.forward(ids, rows);
    } catch (const Error &error) {
      fail(kExitBadInput, error.what());
    }
  };

  // 1. The full forward pass.
  Session session(model);
  auto start = std::chrono::steady_clock::now();
  std::vector<float> logits = run(session, inputIds, batch);
  double forwardMs = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  double worst = compare(logits, reference).first;
  bool logitsOk = worst <= kLogitTolerance;
  fmt::print("forward {}: max |logit error| {:.3e} (tolerance {:.0e}) {}, "
             "{:.2f} ms\n",
             formatShape({batch, length}), worst, kLogitTolerance,
             logitsOk ? "ok" : "MISMATCH", forwardMs);

  // 2. The same logits from the prompt in two chunks, and from the prompt
  // one token short then one decode step.
  bool consistent = true;
  auto report = [&](const std::string &what, const std::vector<float> &got,
                    int64_t from) {
    auto [error, scale] =
        compare(got, positions(logits, batch, length, vocab, from, length));
    double tolerance = kConsistencyTolerance * std::max(1.0, scale);
    bool ok = error <= tolerance;
    consistent = consistent && ok;
    fmt::print("{}: max |difference| {:.3e} from the whole prompt's "
               "(tolerance {:.1e}) {}\n",
               what, error, tolerance, ok ? "ok" : "MISMATCH");
  };
  if (length >= 2) {
    for (int64_t split : {length / 2, length - 1}) {
      session.reset();
      run(session, positions(inputIds, batch, length, 1, 0, split), batch);
      std::vector<float> rest =
          run(session, positions(inputIds, batch, length, 1, split, length),
              batch);
      report(split == length - 1
                 ? fmt::format("prefill {} + decode 1", split)
                 : fmt::format("prefill {} + {}", split, length - split),
             rest, split);
    }
  }

  // 3. Greedy generation: prefill the prompt, then one decode step per
  // token, each the argmax of the last position's logits.
  DLTensor generatedView = expected.file.tensor("generated_ids");
  std::vector<int64_t> wanted(static_cast<size_t>(numElements(generatedView)));
  std::memcpy(wanted.data(), generatedView.data,
              wanted.size() * sizeof(int64_t));
  if (wanted.size() < prompt.size() ||
      !std::equal(prompt.begin(), prompt.end(), wanted.begin()))
    fail(kExitBadInput,
         "{}: 'generated_ids' does not start with 'generate_input_ids'",
         expected.path);
  size_t promptLength = prompt.size();
  session.reset();
  std::vector<int64_t> generated;
  try {
    generated = session.generate(
        prompt, 1, static_cast<int64_t>(wanted.size() - promptLength));
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
  size_t firstMismatch = wanted.size();
  for (size_t i = 0; i < generated.size(); ++i)
    if (generated[i] != wanted[promptLength + i]) {
      firstMismatch = promptLength + i;
      break;
    }
  bool idsOk = firstMismatch == wanted.size();
  fmt::print("generate: {} new tokens after a {}-token prompt {}\n",
             wanted.size() - promptLength, promptLength,
             idsOk ? "all match"
                   : fmt::format("MISMATCH at position {}: got {}, expected {}",
                                 firstMismatch,
                                 generated[firstMismatch - promptLength],
                                 wanted[firstMismatch]));
  return logitsOk && consistent && idsOk ? kExitOk : kExitMismatch;
}

} // namespace ssm::run
