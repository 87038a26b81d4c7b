//===- TestVectors.cpp - Shared test vectors through the reference --------===//
//
// Rearranges each vector kind's tensors into ssm.mix's layout, adds the glue
// (softplus(dt + bias), D skip, silu(z) gate) and compares with the file.
//
//===----------------------------------------------------------------------===//

#include "ssm/Reference/TestVectors.h"

#include "ssm/Reference/Mix.h"
#include "ssm/runtime.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <memory>

using namespace ssm::reference;
using llvm::createStringError;
using llvm::Expected;
using llvm::formatv;

namespace {
/// An open safetensors file read as float64 tensors.
class VectorFile {
public:
  static Expected<VectorFile> open(llvm::StringRef path) {
    ssm_safetensors_t *file = nullptr;
    if (ssm_status_t status = ssm_safetensors_open(path.str().c_str(), &file))
      return statusError(status);
    return VectorFile(path.str(), file);
  }

  bool has(const char *name) const {
    DLTensor tensor;
    ssm_status_t status = ssm_safetensors_tensor(file.get(), name, &tensor);
    ssm_status_free(status);
    return status == nullptr;
  }

  Expected<Tensor> read(const char *name) const {
    DLTensor tensor;
    if (ssm_status_t status =
            ssm_safetensors_tensor(file.get(), name, &tensor))
      return statusError(status);
    std::vector<int64_t> shape(tensor.shape, tensor.shape + tensor.ndim);
    std::vector<double> values(numElements(shape));
    const char *bytes = static_cast<const char *>(tensor.data);
    // The format does not align data, so copy element by element.
    if (tensor.dtype.code == kDLFloat && tensor.dtype.bits == 32) {
      for (size_t i = 0; i < values.size(); ++i) {
        float value;
        std::memcpy(&value, bytes + 4 * i, 4);
        values[i] = value;
      }
    } else if (tensor.dtype.code == kDLFloat && tensor.dtype.bits == 64) {
      for (size_t i = 0; i < values.size(); ++i)
        std::memcpy(&values[i], bytes + 8 * i, 8);
    } else {
      return createStringError(
          formatv("{0}: tensor '{1}': the reference reads F32 or F64 only",
                  path, name)
              .str());
    }
    return Tensor(std::move(shape), std::move(values));
  }

  std::optional<std::string> metadata(const char *key) const {
    const char *value = ssm_safetensors_metadata(file.get(), key);
    return value ? std::optional<std::string>(value) : std::nullopt;
  }

  const std::string &getPath() const { return path; }

private:
  struct Release {
    void operator()(ssm_safetensors_t *file) { ssm_safetensors_release(file); }
  };
  VectorFile(std::string path, ssm_safetensors_t *file)
      : path(std::move(path)), file(file) {}

  static llvm::Error statusError(ssm_status_t status) {
    std::string message = ssm_status_message(status);
    ssm_status_free(status);
    return createStringError(message);
  }

  std::string path;
  std::unique_ptr<ssm_safetensors_t, Release> file;
};

/// Reads tensors into named slots, keeping the first error.
class Reader {
public:
  explicit Reader(const VectorFile &file) : file(file) {}
  Tensor operator()(const char *name) {
    if (error)
      return {};
    Expected<Tensor> tensor = file.read(name);
    if (!tensor) {
      error = tensor.takeError();
      return {};
    }
    return std::move(*tensor);
  }
  /// Wraps a glue step's result, keeping the first error.
  Tensor take(Expected<Tensor> tensor) {
    if (!tensor) {
      if (!error)
        error = tensor.takeError();
      else
        llvm::consumeError(tensor.takeError());
      return {};
    }
    return std::move(*tensor);
  }
  llvm::Error takeError() {
    return error ? std::move(error) : llvm::Error::success();
  }

private:
  const VectorFile &file;
  llvm::Error error = llvm::Error::success();
};

/// The case's outputs as computed by the reference, named as in the file.
using Outputs = std::vector<std::pair<std::string, Tensor>>;

bool flag(const llvm::json::Object &meta, llvm::StringRef key, bool otherwise) {
  return meta.getBoolean(key).value_or(otherwise);
}
} // namespace

static llvm::Error runMix(const MixConfig &config, const MixInputs &inputs,
                          MixOutputs &outputs) {
  Expected<MixOutputs> result = evaluateMix(config, inputs);
  if (!result)
    return result.takeError();
  outputs = std::move(*result);
  return llvm::Error::success();
}

// Mamba-2 SSD: q = C, k = B, v = Δ·x, dt = Δ, scalar A; y += D·x; y *= silu(z).
static Expected<Outputs> evaluateSsd(const VectorFile &file,
                                     const llvm::json::Object &meta) {
  Reader read(file);
  Tensor x = read("x"), dtRaw = read("dt"), dtBias = read("dt_bias"),
         decayRate = read("A"), b = read("B"), c = read("C"),
         skip = read("D");
  std::optional<Tensor> z, initialState;
  if (file.has("z"))
    z = read("z");
  if (file.has("initial_state"))
    initialState = read("initial_state");
  if (llvm::Error error = read.takeError())
    return std::move(error);

  Tensor dt = read.take(
      discretizeStep(dtRaw, dtBias, flag(meta, "dt_softplus", true)));
  Tensor v = read.take(scaleByStep(x, dt));
  if (llvm::Error error = read.takeError())
    return std::move(error);
  MixInputs inputs{&c, &b, &v, &dt, &decayRate,
                   initialState ? &*initialState : nullptr};
  MixOutputs mix;
  if (llvm::Error error = runMix(MixConfig{}, inputs, mix))
    return std::move(error);
  Tensor y = read.take(addSkip(mix.y, x, skip));
  if (z)
    y = read.take(gateBySilu(y, *z));
  if (llvm::Error error = read.takeError())
    return std::move(error);
  return Outputs{{"y", std::move(y)}, {"final_state", *mix.finalState}};
}

// Mamba-1: channels are heads with P = 1; A [D, N] is a diagonal decay.
// The file stores [b, D, L] and [b, G, N, L]; ssm.mix wants L before heads.
static Expected<Outputs> evaluateSelectiveScan(const VectorFile &file,
                                               const llvm::json::Object &meta) {
  Reader read(file);
  Tensor u = read("u"), deltaRaw = read("delta"), deltaBias = read("delta_bias"),
         decayRate = read("A"), b = read("B"), c = read("C"),
         skip = read("D");
  std::optional<Tensor> z;
  if (file.has("z"))
    z = read("z");
  if (llvm::Error error = read.takeError())
    return std::move(error);
  if (u.rank() != 3 || b.rank() != 4 || c.rank() != 4)
    return createStringError(
        formatv("{0}: expected u [b, D, L], B and C [b, G, N, L]",
                file.getPath())
            .str());

  const int64_t batch = u.dim(0), channels = u.dim(1), length = u.dim(2);
  auto toMixLayout = [&](const Tensor &t) { // [b, D, L] -> [b, L, D, 1]
    return t.transposed({0, 2, 1}).reshaped({batch, length, channels, 1});
  };
  Tensor x = toMixLayout(u);
  Tensor delta = read.take(discretizeStep(
      deltaRaw.transposed({0, 2, 1}), deltaBias,
      flag(meta, "delta_softplus", true)));
  Tensor q = c.transposed({0, 3, 1, 2}), k = b.transposed({0, 3, 1, 2});
  Tensor v = read.take(scaleByStep(x, delta));
  if (llvm::Error error = read.takeError())
    return std::move(error);

  MixInputs inputs{&q, &k, &v, &delta, &decayRate, nullptr};
  MixOutputs mix;
  if (llvm::Error error = runMix(MixConfig{}, inputs, mix))
    return std::move(error);
  Tensor y = read.take(addSkip(mix.y, x, skip));
  if (z)
    y = read.take(gateBySilu(y, toMixLayout(*z)));
  if (llvm::Error error = read.takeError())
    return std::move(error);
  // Back to the file's layouts: y [b, D, L], final_state [b, D, N].
  Tensor yFile = y.reshaped({batch, length, channels}).transposed({0, 2, 1});
  Tensor state = mix.finalState->reshaped(
      {batch, channels, mix.finalState->dim(3)});
  return Outputs{{"y", std::move(yFile)}, {"final_state", std::move(state)}};
}

// Attention stores [b, H, L, E]; ssm.mix wants [b, L, H, E].
static Tensor headsAfterLength(const Tensor &t) {
  return t.transposed({0, 2, 1, 3});
}

static Expected<Outputs>
evaluateSoftmaxAttention(const VectorFile &file,
                         const llvm::json::Object &meta) {
  Reader read(file);
  Tensor q = read("q"), k = read("k"), v = read("v");
  if (llvm::Error error = read.takeError())
    return std::move(error);
  if (q.rank() != 4)
    return createStringError(
        formatv("{0}: expected q [b, H, L, E]", file.getPath()).str());

  MixConfig config;
  config.score = Score::Softmax;
  config.scale = meta.getNumber("scale").value_or(
      1.0 / std::sqrt(static_cast<double>(q.dim(3))));
  bool causal = flag(meta, "causal", false);
  std::optional<int64_t> window = meta.getInteger("window");
  if (window && !causal)
    return createStringError(
        formatv("{0}: a window without causal masking is not defined",
                file.getPath())
            .str());
  config.mask = window ? Mask::Window : causal ? Mask::Causal : Mask::Full;
  config.window = window.value_or(0);

  Tensor mq = headsAfterLength(q), mk = headsAfterLength(k),
         mv = headsAfterLength(v);
  MixInputs inputs{&mq, &mk, &mv, nullptr, nullptr, nullptr};
  MixOutputs mix;
  if (llvm::Error error = runMix(config, inputs, mix))
    return std::move(error);
  return Outputs{{"out", headsAfterLength(mix.y)}};
}

// Linear attention: log_decay [b, H, L] is dt with A = 1 per head.
static Expected<Outputs>
evaluateLinearAttention(const VectorFile &file,
                        const llvm::json::Object &meta) {
  if (flag(meta, "normalize", false))
    return createStringError(
        formatv("{0}: normalised linear attention is not defined by the "
                "testdata README",
                file.getPath())
            .str());
  Reader read(file);
  Tensor q = read("q"), k = read("k"), v = read("v");
  std::optional<Tensor> logDecay;
  if (file.has("log_decay"))
    logDecay = read("log_decay");
  if (llvm::Error error = read.takeError())
    return std::move(error);
  if (q.rank() != 4)
    return createStringError(
        formatv("{0}: expected q [b, H, L, E]", file.getPath()).str());

  Tensor mq = headsAfterLength(q), mk = headsAfterLength(k),
         mv = headsAfterLength(v);
  Tensor dt, ones({q.dim(1)}, 1.0);
  MixInputs inputs{&mq, &mk, &mv, nullptr, nullptr, nullptr};
  if (logDecay) {
    dt = logDecay->transposed({0, 2, 1});
    inputs.dt = &dt;
    inputs.decayRate = &ones;
  }
  MixOutputs mix;
  if (llvm::Error error = runMix(MixConfig{}, inputs, mix))
    return std::move(error);
  return Outputs{{"out", headsAfterLength(mix.y)}};
}

static Expected<Outputs> evaluateCase(llvm::StringRef kind,
                                      const VectorFile &file,
                                      const llvm::json::Object &meta) {
  if (kind == "ssd")
    return evaluateSsd(file, meta);
  if (kind == "selective_scan")
    return evaluateSelectiveScan(file, meta);
  if (kind == "softmax_attention")
    return evaluateSoftmaxAttention(file, meta);
  if (kind == "linear_attention")
    return evaluateLinearAttention(file, meta);
  return createStringError(formatv("{0}: unknown kind '{1}', expected ssd, "
                                   "selective_scan, softmax_attention or "
                                   "linear_attention",
                                   file.getPath(), kind)
                               .str());
}

Expected<TestVectorResult>
ssm::reference::checkTestVector(llvm::StringRef path) {
  Expected<VectorFile> file = VectorFile::open(path);
  if (!file)
    return file.takeError();
  std::optional<std::string> description = file->metadata("meta");
  if (!description)
    return createStringError(
        formatv("{0}: no '__metadata__.meta' case description", path).str());
  Expected<llvm::json::Value> json = llvm::json::parse(*description);
  if (!json)
    return createStringError(formatv("{0}: case description is not JSON: {1}",
                                     path, llvm::toString(json.takeError()))
                                 .str());
  const llvm::json::Object *meta = json->getAsObject();
  std::optional<llvm::StringRef> kind =
      meta ? meta->getString("kind") : std::nullopt;
  if (!kind)
    return createStringError(
        formatv("{0}: case description has no 'kind'", path).str());

  Expected<Outputs> outputs = evaluateCase(*kind, *file, *meta);
  if (!outputs)
    return outputs.takeError();

  TestVectorResult result;
  result.kind = kind->str();
  result.description = *description;
  for (auto &[name, ours] : *outputs) {
    Expected<Tensor> expected = file->read(name.c_str());
    if (!expected)
      return expected.takeError();
    if (expected->shape() != ours.shape())
      return createStringError(
          formatv("{0}: output '{1}' has shape {2}, the reference computed {3}",
                  path, name, expected->shapeString(), ours.shapeString())
              .str());
    result.outputs.push_back(
        {name, maxAbsDifference(ours, *expected), maxAbs(*expected)});
  }
  return result;
}
