// Models and sessions (ssm/model.h) over the module API: the weights bound
// once per entry point, the states kept per session.
#include "ssm/model.h"

#include "Status.h"
#include "ssm/contract/model.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

using namespace ssm::runtime;
namespace contract = ssm::contract;

namespace {

/// Where a tensor's memory lives: host memory, or (`device` set) memory of
/// that module's device, which a CUDA module's functions take.
struct Memory {
  const ssm_module_t *device = nullptr;
  void operator()(uint8_t *data) const {
    if (device)
      ssm_module_free(device, data);
    else
      std::free(data);
  }
};

/// A compact tensor this runtime owns (64-byte aligned, never NULL data).
struct OwnedTensor {
  std::vector<int64_t> shape;
  DLDataType dtype{};
  std::unique_ptr<uint8_t, Memory> data;
  size_t bytes = 0;

  OwnedTensor() = default;
  OwnedTensor(DLDataType type, std::vector<int64_t> dims,
              const ssm_module_t *device = nullptr)
      : shape(std::move(dims)), dtype(type) {
    bytes = (type.bits + 7u) / 8u;
    for (int64_t d : shape)
      bytes *= static_cast<size_t>(d);
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded == 0)
      rounded = 64;
    if (device) {
      void *memory = nullptr;
      if (ssm_status_t status = ssm_module_allocate(device, rounded, &memory)) {
        ssm_status_free(status);
        throw std::bad_alloc();
      }
      data = std::unique_ptr<uint8_t, Memory>(static_cast<uint8_t *>(memory),
                                              Memory{device});
    } else {
      data.reset(static_cast<uint8_t *>(std::aligned_alloc(64, rounded)));
    }
    if (!data)
      throw std::bad_alloc();
  }
  const ssm_module_t *device() const { return data.get_deleter().device; }
  DLTensor view() {
    DLTensor t{};
    t.data = data.get();
    if (device())
      t.device = ssm_module_device(device());
    else
      t.device.device_type = kDLCPU;
    t.ndim = static_cast<int32_t>(shape.size());
    t.dtype = dtype;
    t.shape = shape.data();
    return t;
  }
};

std::string dtypeText(DLDataType dtype) {
  const char *name = ssm_dtype_name(dtype);
  return name ? name : "?";
}

bool sameLayout(const OwnedTensor &tensor, DLDataType dtype,
                const std::vector<int64_t> &shape) {
  return tensor.data && tensor.dtype.code == dtype.code &&
         tensor.dtype.bits == dtype.bits && tensor.shape == shape;
}

/// Bytes of one position (dim 1) of a [B, L, ...] tensor.
size_t rowBytes(DLDataType dtype, const std::vector<int64_t> &shape) {
  size_t row = (dtype.bits + 7u) / 8u;
  for (size_t d = 2; d < shape.size(); ++d)
    row *= static_cast<size_t>(shape[d]);
  return row;
}

/// A state between calls. Whole states (Mamba's conv and SSM states) are the
/// tensor; an attention cache grows along dim 1 by the rows each call adds,
/// in a buffer with room for more (`tensor` has the capacity, `shape` the
/// rows in use), so that a decode step copies its own rows only.
struct SessionState {
  OwnedTensor tensor;
  std::vector<int64_t> shape;

  DLTensor view() {
    DLTensor t = tensor.view();
    t.shape = shape.data();
    return t;
  }

  /// Appends `rows` ([B, n, ...], compact) along dim 1. With one sequence
  /// the rows in use are a compact prefix of the buffer, which grows by
  /// doubling; with several, each sequence's rows must stay together, so
  /// the buffer is re-laid at the new length.
  ssm_status_t append(const DLTensor &rows) {
    const int64_t used = shape[1], added = rows.shape[1], batch = shape[0];
    const size_t row = rowBytes(tensor.dtype, shape);
    const auto *source = static_cast<const uint8_t *>(rows.data);
    if (const ssm_module_t *device = tensor.device()) {
      // On a device, through the host: the rows in use and the new ones
      // joined there, and the cache uploaded at its new length.
      std::vector<uint8_t> old(static_cast<size_t>(batch * tensor.shape[1]) *
                               row),
          fresh(static_cast<size_t>(batch * added) * row),
          joined(static_cast<size_t>(batch * (used + added)) * row);
      if (ssm_status_t status = ssm_module_copy_to_host(
              device, old.data(), tensor.data.get(), old.size()))
        return status;
      if (ssm_status_t status = ssm_module_copy_to_host(device, fresh.data(),
                                                        source, fresh.size()))
        return status;
      for (int64_t i = 0; i < batch; ++i) {
        uint8_t *out = joined.data() + i * (used + added) * row;
        std::memcpy(out, old.data() + i * tensor.shape[1] * row, used * row);
        std::memcpy(out + used * row, fresh.data() + i * added * row,
                    added * row);
      }
      std::vector<int64_t> joinedShape = shape;
      joinedShape[1] = used + added;
      OwnedTensor grown(tensor.dtype, joinedShape, device);
      if (ssm_status_t status = ssm_module_copy_to_device(
              device, grown.data.get(), joined.data(), joined.size()))
        return status;
      tensor = std::move(grown);
      shape[1] = used + added;
      return nullptr;
    }
    if (batch == 1) {
      if (tensor.shape[1] < used + added) {
        std::vector<int64_t> grown = shape;
        grown[1] = std::max(2 * tensor.shape[1], used + added);
        OwnedTensor bigger(tensor.dtype, grown);
        std::memcpy(bigger.data.get(), tensor.data.get(), used * row);
        tensor = std::move(bigger);
      }
      std::memcpy(tensor.data.get() + used * row, source, added * row);
    } else {
      std::vector<int64_t> joinedShape = shape;
      joinedShape[1] = used + added;
      OwnedTensor joined(tensor.dtype, joinedShape);
      for (int64_t i = 0; i < batch; ++i) {
        uint8_t *out = joined.data.get() + i * (used + added) * row;
        std::memcpy(out, tensor.data.get() + i * tensor.shape[1] * row,
                    used * row);
        std::memcpy(out + used * row, source + i * added * row, added * row);
      }
      tensor = std::move(joined);
    }
    shape[1] = used + added;
    return nullptr;
  }
};

} // namespace

/// One entry point with its weights bound: per input, the weight's view, or
/// the ids or a state (bound per call).
struct ModelEntry {
  const ssm_function_t *function = nullptr;
  std::vector<DLTensor> bound;
  std::vector<std::string> inputNames, outputNames;
  std::vector<DLDataType> outputTypes;
  std::vector<int32_t> outputRanks;
  /// Per output, the input it is updated in place over (-1: none).
  std::vector<int64_t> outputAliases;
  std::vector<bool> isWeight;
};

struct ssm_model_s {
  std::atomic<int> references{1};
  ssm_module_t *module = nullptr;
  ssm_safetensors_t *file = nullptr;
  /// The module whose device memory the tensors live in, or null (CPU).
  const ssm_module_t *device = nullptr;
  /// Weights copied (unaligned in the file, or uploaded to the device),
  /// one copy per name whichever entries take it.
  std::vector<std::unique_ptr<OwnedTensor>> copies;
  std::map<std::string, DLTensor> copied;
  ModelEntry prefill, chunk, decode, prefillLast;
  /// Each position's argmax of the logits (greedy generation's pick).
  const ssm_function_t *nextIds = nullptr;
  std::set<std::string> stateNames;
  int64_t vocab = 0;

  ~ssm_model_s() {
    // Device copies are freed through the module: before it goes.
    copied.clear();
    copies.clear();
    ssm_safetensors_release(file);
    ssm_module_release(module);
  }
};

struct ssm_session_s {
  ssm_model_t *model = nullptr;
  std::map<std::string, SessionState> states;
  /// Buffers of the last call's outputs that its successor may write again
  /// (the logits; whole states the call before replaced): a decode step
  /// then allocates, and faults in, no fresh memory.
  std::map<std::string, OwnedTensor> spare;
  /// On a device, the ids of the last call, uploaded into the same memory
  /// while their shape stays (a decode step's calls then repeat their
  /// tensors, and the module replays them as a graph).
  OwnedTensor deviceIds;
  /// Generation's picks ([batch, positions] i64, where the model runs),
  /// kept while their shape stays.
  OwnedTensor nextIds;
  int64_t batch = 0, length = 0;
  ~ssm_session_s() {
    // States on a device are freed through the model's module.
    states.clear();
    spare.clear();
    deviceIds = OwnedTensor();
    nextIds = OwnedTensor();
    ssm_model_release(model);
  }
};

namespace {

template <typename... Args>
ssm_status_t invalid(fmt::format_string<Args...> format, Args &&...args) {
  return makeStatus(SSM_STATUS_INVALID_ARGUMENT, format,
                    std::forward<Args>(args)...);
}

/// Whether a checkpoint tensor of `stored` type binds to a parameter of
/// `wanted` type by exact widening (bf16 or f16 to f32).
bool isWidenable(DLDataType stored, DLDataType wanted) {
  bool wantsF32 = wanted.code == kDLFloat && wanted.bits == 32;
  bool is16 = (stored.code == kDLBfloat || stored.code == kDLFloat) &&
              stored.bits == 16 && stored.lanes == 1;
  return wantsF32 && is16;
}

/// Writes `tensor`'s bf16 or f16 values as f32 into `out` (bit patterns, so
/// that the runtime needs no half-precision type).
void widen(const DLTensor &tensor, float *out) {
  size_t count = 1;
  for (int32_t d = 0; d < tensor.ndim; ++d)
    count *= static_cast<size_t>(tensor.shape[d]);
  const auto *in = static_cast<const uint8_t *>(tensor.data);
  for (size_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, in + 2 * i, 2);
    uint32_t word;
    if (tensor.dtype.code == kDLBfloat) {
      word = static_cast<uint32_t>(bits) << 16;
    } else {
      uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
      uint32_t exponent = (bits >> 10) & 0x1fu, mantissa = bits & 0x3ffu;
      if (exponent == 0x1f) { // inf, nan
        word = sign | 0x7f800000u | (mantissa << 13);
      } else if (exponent != 0) { // normal
        word = sign | ((exponent + 112u) << 23) | (mantissa << 13);
      } else if (mantissa == 0) { // zero
        word = sign;
      } else { // subnormal: normalise
        int shift = 0;
        while (!(mantissa & 0x400u)) {
          mantissa <<= 1;
          ++shift;
        }
        word = sign | ((113u - shift) << 23) | ((mantissa & 0x3ffu) << 13);
      }
    }
    std::memcpy(out + i, &word, 4);
  }
}

/// The function `name` of the model's module, its signature's names, and
/// its weights bound (checked against the file; `used` collects them).
ssm_status_t bindEntry(ssm_model_t &model, const std::string &directory,
                       const std::string &weightsPath, const char *name,
                       ModelEntry &entry, std::set<std::string> &used) {
  if (ssm_status_t status =
          ssm_module_lookup_function(model.module, name, &entry.function)) {
    std::string message = ssm_status_message(status);
    ssm_status_free(status);
    return invalid("{} is not a model artifact: {}", directory, message);
  }
  size_t inputs = ssm_function_input_count(entry.function);
  size_t outputs = ssm_function_output_count(entry.function);
  for (size_t o = 0; o < outputs; ++o) {
    ssm_tensor_signature_t signature;
    if (ssm_status_t status =
            ssm_function_output_signature(entry.function, o, &signature))
      return status;
    entry.outputNames.push_back(signature.name);
    entry.outputTypes.push_back(signature.dtype);
    entry.outputRanks.push_back(signature.ndim);
    int64_t aliases = -1;
    if (ssm_status_t status =
            ssm_function_output_aliases(entry.function, o, &aliases))
      return status;
    entry.outputAliases.push_back(aliases);
    if (o == 0 && (entry.outputNames[0] != contract::kLogits ||
                   signature.ndim != 3 || signature.shape[2] <= 0 ||
                   signature.dtype.code != kDLFloat || signature.dtype.bits != 32))
      return invalid("{}: function '{}' does not return f32 logits [batch, "
                     "length, vocab] first",
                     directory, name);
    if (o == 0)
      model.vocab = signature.shape[2];
  }
  for (size_t i = 0; i < inputs; ++i) {
    ssm_tensor_signature_t signature;
    if (ssm_status_t status =
            ssm_function_input_signature(entry.function, i, &signature))
      return status;
    std::string input = signature.name;
    entry.inputNames.push_back(input);
    bool weight = input != contract::kInputIds && !model.stateNames.count(input);
    entry.isWeight.push_back(weight);
    DLTensor view{};
    if (weight) {
      if (ssm_status_t status =
              ssm_safetensors_tensor(model.file, input.c_str(), &view)) {
        ssm_status_free(status);
        return makeStatus(SSM_STATUS_NOT_FOUND,
                          "{}: no tensor '{}', which function '{}' takes as "
                          "input {} ({}{})",
                          weightsPath, input, name, i,
                          dtypeText(signature.dtype),
                          formatShape(signature.shape, signature.ndim));
      }
      bool sameShape = view.ndim == signature.ndim &&
                       std::equal(view.shape, view.shape + view.ndim,
                                  signature.shape);
      bool sameType = view.dtype.code == signature.dtype.code &&
                      view.dtype.bits == signature.dtype.bits;
      bool widened = isWidenable(view.dtype, signature.dtype);
      if ((!sameType && !widened) || !sameShape)
        return invalid("{}: tensor '{}' is {}{}, function '{}' takes {}{}",
                       weightsPath, input, dtypeText(view.dtype),
                       formatShape(view.shape, view.ndim), name,
                       dtypeText(signature.dtype),
                       formatShape(signature.shape, signature.ndim));
      size_t element = (view.dtype.bits + 7u) / 8u;
      if (auto known = model.copied.find(input); known != model.copied.end()) {
        view = known->second;
      } else if (model.device || widened ||
                 reinterpret_cast<uintptr_t>(view.data) % element != 0) {
        std::vector<int64_t> shape(view.shape, view.shape + view.ndim);
        // A bf16 or f16 checkpoint for f32 parameters is widened once, here.
        std::optional<OwnedTensor> wide;
        const void *source = view.data;
        if (widened) {
          wide.emplace(signature.dtype, shape);
          widen(view, reinterpret_cast<float *>(wide->data.get()));
          source = wide->data.get();
        }
        auto copy = std::make_unique<OwnedTensor>(signature.dtype, shape,
                                                  model.device);
        if (model.device) {
          if (ssm_status_t status = ssm_module_copy_to_device(
                  model.device, copy->data.get(), source, copy->bytes))
            return status;
        } else {
          std::memcpy(copy->data.get(), source, copy->bytes);
        }
        view = copy->view();
        view.shape = copy->shape.data();
        model.copies.push_back(std::move(copy));
        model.copied.emplace(input, view);
      }
      used.insert(input);
    }
    entry.bound.push_back(view);
  }
  // A state updated in place is taken and returned under one name.
  for (size_t o = 0; o < outputs; ++o) {
    int64_t aliases = entry.outputAliases[o];
    if (aliases >= 0 &&
        (entry.isWeight[static_cast<size_t>(aliases)] ||
         entry.inputNames[static_cast<size_t>(aliases)] !=
             entry.outputNames[o]))
      return invalid("{}: function '{}' writes output '{}' over input '{}', "
                     "which is not the state of that name",
                     directory, name, entry.outputNames[o],
                     entry.inputNames[static_cast<size_t>(aliases)]);
  }
  return nullptr;
}

/// next_ids (ssm/contract/model.h): f32 logits [batch, length, vocab] in,
/// i64 ids [batch, length] out.
ssm_status_t bindNextIds(ssm_model_t &model, const std::string &directory) {
  if (ssm_status_t status = ssm_module_lookup_function(
          model.module, contract::kNextIdsFunction, &model.nextIds)) {
    std::string message = ssm_status_message(status);
    ssm_status_free(status);
    return invalid("{} is not a model artifact: {}", directory, message);
  }
  ssm_tensor_signature_t in{}, out{};
  bool follows = ssm_function_input_count(model.nextIds) == 1 &&
                 ssm_function_output_count(model.nextIds) == 1;
  if (follows) {
    if (ssm_status_t status =
            ssm_function_input_signature(model.nextIds, 0, &in))
      return status;
    if (ssm_status_t status =
            ssm_function_output_signature(model.nextIds, 0, &out))
      return status;
    follows = std::string(in.name) == contract::kLogits && in.ndim == 3 &&
              in.shape[2] == model.vocab && in.dtype.code == kDLFloat &&
              in.dtype.bits == 32 && std::string(out.name) == contract::kNextIds &&
              out.ndim == 2 && out.dtype.code == kDLInt && out.dtype.bits == 64;
  }
  if (!follows)
    return invalid("{}: function '{}' does not take f32 logits [batch, "
                   "length, {}] and return i64 next_ids [batch, length]",
                   directory, contract::kNextIdsFunction, model.vocab);
  return nullptr;
}

ssm_status_t loadModel(const char *artifactDir, const char *weightsArgument,
                       const ssm_module_options_t *options,
                       std::unique_ptr<ssm_model_s> &model) {
  model = std::make_unique<ssm_model_s>();
  std::string directory = artifactDir;
  std::string weightsPath = weightsArgument;
  size_t suffix = std::strlen(".safetensors");
  if (weightsPath.size() < suffix ||
      weightsPath.compare(weightsPath.size() - suffix, suffix, ".safetensors"))
    weightsPath += "/model.safetensors";
  if (ssm_status_t status =
          ssm_module_load_with_options(artifactDir, options, &model->module))
    return status;
  if (ssm_module_device(model->module).device_type != kDLCPU)
    model->device = model->module;
  if (ssm_status_t status =
          ssm_safetensors_open(weightsPath.c_str(), &model->file))
    return status;
  std::set<std::string> used;
  if (ssm_status_t status = bindEntry(*model, directory, weightsPath,
                                      contract::kPrefillFunction,
                                      model->prefill, used))
    return status;
  // The states are what prefill returns after the logits.
  for (size_t o = 1; o < model->prefill.outputNames.size(); ++o)
    model->stateNames.insert(model->prefill.outputNames[o]);
  // bindEntry took prefill's inputs other than input_ids as weights, which
  // is right: prefill takes no states.
  if (ssm_status_t status = bindEntry(*model, directory, weightsPath,
                                      contract::kPrefillChunkFunction,
                                      model->chunk, used))
    return status;
  if (ssm_status_t status = bindEntry(*model, directory, weightsPath,
                                      contract::kDecodeFunction, model->decode,
                                      used))
    return status;
  if (ssm_status_t status = bindEntry(*model, directory, weightsPath,
                                      contract::kPrefillLastFunction,
                                      model->prefillLast, used))
    return status;
  for (const ModelEntry *entry :
       {&model->chunk, &model->decode, &model->prefillLast})
    for (size_t o = 1; o < entry->outputNames.size(); ++o)
      if (!model->stateNames.count(entry->outputNames[o]))
        return invalid("{}: function '{}' returns '{}', which is not a state "
                       "prefill returns",
                       directory, ssm_function_name(entry->function),
                       entry->outputNames[o]);
  if (ssm_status_t status = bindNextIds(*model, directory))
    return status;
  size_t count = ssm_safetensors_tensor_count(model->file);
  for (size_t t = 0; t < count; ++t) {
    const char *tensor = ssm_safetensors_tensor_name(model->file, t);
    if (!used.count(tensor))
      return invalid("{}: tensor '{}' is not a weight of the model in {}",
                     weightsPath, tensor, directory);
  }
  return nullptr;
}

/// The positions whose logits a call of `length` ids returns: with
/// `lastOnly`, a fresh session's prompt runs prefill_last and returns the
/// last one; every position otherwise (decode's one is the last).
int64_t logitPositions(const ssm_session_t &session, int64_t length,
                       bool lastOnly) {
  return lastOnly && session.states.empty() && length > 1 ? 1 : length;
}

/// One call: the ids [batch, length] from the session's states (prefill
/// when it has none), the logits of every position into logitsOut, or with
/// `lastOnly` those of the last position ([batch, 1, vocab]; a fresh
/// session's prompt then runs prefill_last).
ssm_status_t forward(ssm_session_t &session, const int64_t *ids, int64_t batch,
                     int64_t length, float *logitsOut, size_t capacity,
                     bool lastOnly = false) {
  ssm_model_t &model = *session.model;
  if (batch < 1 || length < 1)
    return invalid("ssm_session_forward: an empty prompt (batch {}, length {})",
                   batch, length);
  if (!session.states.empty() && batch != session.batch)
    return invalid("ssm_session_forward: batch {}, but the session's "
                   "sequences are {} (ssm_session_reset starts new ones)",
                   batch, session.batch);
  for (int64_t i = 0; i < batch * length; ++i)
    if (ids[i] < 0 || ids[i] >= model.vocab)
      return invalid("ssm_session_forward: id {} at [{}, {}] is outside the "
                     "vocabulary [0, {})",
                     ids[i], i / length, i % length, model.vocab);
  const bool fresh = session.states.empty();
  const int64_t positions = logitPositions(session, length, lastOnly);
  const bool lastEntry = positions < length;
  size_t logitsCount = static_cast<size_t>(batch * positions * model.vocab);
  if (logitsOut && capacity < logitsCount)
    return invalid("ssm_session_forward: out_logits has room for {} floats, "
                   "the logits are {}",
                   capacity, logitsCount);
  const ModelEntry &entry = lastEntry     ? model.prefillLast
                            : fresh         ? model.prefill
                            : length == 1   ? model.decode
                                            : model.chunk;
  std::vector<DLTensor> inputs = entry.bound;
  int64_t idsShape[2] = {batch, length};
  // On a device, the ids are uploaded for the call (the copy waits for the
  // calls before it, which may still read the memory).
  OwnedTensor &deviceIds = session.deviceIds;
  if (model.device) {
    const DLDataType idType{kDLInt, 64, 1};
    if (!sameLayout(deviceIds, idType, {batch, length}))
      deviceIds = OwnedTensor(idType, {batch, length}, model.device);
    if (ssm_status_t status = ssm_module_copy_to_device(
            model.device, deviceIds.data.get(), ids, deviceIds.bytes))
      return status;
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (entry.isWeight[i])
      continue;
    if (entry.inputNames[i] == contract::kInputIds) {
      DLTensor &t = inputs[i];
      t = DLTensor{};
      t.data = model.device ? static_cast<void *>(deviceIds.data.get())
                            : const_cast<int64_t *>(ids);
      t.device =
          model.device ? ssm_module_device(model.device) : DLDevice{kDLCPU, 0};
      t.ndim = 2;
      t.dtype = {kDLInt, 64, 1};
      t.shape = idsShape;
      continue;
    }
    auto state = session.states.find(entry.inputNames[i]);
    if (state == session.states.end())
      return makeStatus(SSM_STATUS_INTERNAL,
                        "ssm_session_forward: no state '{}'",
                        entry.inputNames[i]);
    inputs[i] = state->second.view();
  }
  size_t numOutputs = entry.outputNames.size();
  std::vector<OwnedTensor> outputs(numOutputs);
  std::vector<DLTensor> views(numOutputs);
  for (size_t o = 0; o < numOutputs; ++o) {
    // A state the function updates in place is written over its input
    // (ssm_function_invoke checks that it is that input's buffer).
    if (entry.outputAliases[o] >= 0) {
      views[o] = inputs[static_cast<size_t>(entry.outputAliases[o])];
      continue;
    }
    int64_t shape[16];
    if (ssm_status_t status = ssm_function_resolve_output_shape(
            entry.function, inputs.data(), inputs.size(), o, 16, shape))
      return status;
    std::vector<int64_t> dims(shape, shape + entry.outputRanks[o]);
    // A spare buffer is none of this call's inputs: the states it holds
    // were replaced a call ago.
    auto spare = session.spare.find(entry.outputNames[o]);
    if (spare != session.spare.end() &&
        sameLayout(spare->second, entry.outputTypes[o], dims))
      outputs[o] = std::move(spare->second);
    else
      outputs[o] =
          OwnedTensor(entry.outputTypes[o], std::move(dims), model.device);
    views[o] = outputs[o].view();
  }
  if (ssm_status_t status = ssm_function_invoke(
          entry.function, inputs.data(), inputs.size(), views.data(),
          views.size()))
    return status;
  if (logitsOut) {
    if (model.device) {
      if (ssm_status_t status = ssm_module_copy_to_host(
              model.device, logitsOut, outputs[0].data.get(),
              logitsCount * sizeof(float)))
        return status;
    } else {
      std::memcpy(logitsOut, outputs[0].data.get(),
                  logitsCount * sizeof(float));
    }
  }
  std::map<std::string, SessionState> next;
  std::map<std::string, OwnedTensor> spare;
  spare.emplace(entry.outputNames[0], std::move(outputs[0]));
  for (size_t o = 1; o < numOutputs; ++o) {
    const std::string &name = entry.outputNames[o];
    auto previous = session.states.find(name);
    if (entry.outputAliases[o] >= 0) {
      next.emplace(name, std::move(previous->second)); // updated in place
      continue;
    }
    if (previous == session.states.end()) {
      SessionState state;
      state.shape = outputs[o].shape;
      state.tensor = std::move(outputs[o]);
      next.emplace(name, std::move(state));
    } else if (contract::isAppendedState(name)) {
      if (ssm_status_t status = previous->second.append(views[o]))
        return status;
      next.emplace(name, std::move(previous->second));
      spare.emplace(name, std::move(outputs[o]));
    } else {
      spare.emplace(name, std::move(previous->second.tensor));
      previous->second.shape = outputs[o].shape;
      previous->second.tensor = std::move(outputs[o]);
      next.emplace(name, std::move(previous->second));
    }
  }
  session.states = std::move(next);
  session.spare = std::move(spare);
  session.batch = batch;
  session.length += length;
  return nullptr;
}

/// next_ids on the logits the session's last call left ([batch, positions,
/// vocab], where the model runs), into `ids` on the host.
ssm_status_t pickNextIds(ssm_session_t &session, int64_t batch,
                         int64_t positions, std::vector<int64_t> &ids) {
  ssm_model_t &model = *session.model;
  auto logits = session.spare.find(contract::kLogits);
  if (logits == session.spare.end())
    return makeStatus(SSM_STATUS_INTERNAL, "next_ids: no logits kept");
  const DLDataType idType{kDLInt, 64, 1};
  if (!sameLayout(session.nextIds, idType, {batch, positions}))
    session.nextIds = OwnedTensor(idType, {batch, positions}, model.device);
  DLTensor input = logits->second.view(), output = session.nextIds.view();
  if (ssm_status_t status =
          ssm_function_invoke(model.nextIds, &input, 1, &output, 1))
    return status;
  ids.resize(static_cast<size_t>(batch * positions));
  if (model.device)
    return ssm_module_copy_to_host(model.device, ids.data(),
                                   session.nextIds.data.get(),
                                   session.nextIds.bytes);
  std::memcpy(ids.data(), session.nextIds.data.get(), session.nextIds.bytes);
  return nullptr;
}

} // namespace

extern "C" {

ssm_status_t ssm_model_load(const char *artifact_dir, const char *weights_path,
                            const ssm_module_options_t *options,
                            ssm_model_t **out_model) {
  if (!out_model)
    return nullArgument("ssm_model_load", "out_model");
  *out_model = nullptr;
  if (!artifact_dir)
    return nullArgument("ssm_model_load", "artifact_dir");
  if (!weights_path)
    return nullArgument("ssm_model_load", "weights_path");
  return guarded("ssm_model_load", [&]() -> ssm_status_t {
    std::unique_ptr<ssm_model_s> model;
    if (ssm_status_t status =
            loadModel(artifact_dir, weights_path, options, model))
      return status;
    *out_model = model.release();
    return nullptr;
  });
}

void ssm_model_retain(ssm_model_t *model) {
  if (model)
    model->references.fetch_add(1, std::memory_order_relaxed);
}

void ssm_model_release(ssm_model_t *model) {
  if (model && model->references.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete model;
}

int64_t ssm_model_vocab_size(const ssm_model_t *model) {
  return model ? model->vocab : 0;
}

const ssm_module_t *ssm_model_module(const ssm_model_t *model) {
  return model ? model->module : nullptr;
}

ssm_status_t ssm_session_create(ssm_model_t *model,
                                ssm_session_t **out_session) {
  if (!out_session)
    return nullArgument("ssm_session_create", "out_session");
  *out_session = nullptr;
  if (!model)
    return nullArgument("ssm_session_create", "model");
  return guarded("ssm_session_create", [&]() -> ssm_status_t {
    auto session = std::make_unique<ssm_session_s>();
    ssm_model_retain(model);
    session->model = model;
    *out_session = session.release();
    return nullptr;
  });
}

void ssm_session_release(ssm_session_t *session) { delete session; }

void ssm_session_reset(ssm_session_t *session) {
  if (!session)
    return;
  session->states.clear();
  session->spare.clear();
  session->deviceIds = OwnedTensor();
  session->nextIds = OwnedTensor();
  session->batch = 0;
  session->length = 0;
}

int64_t ssm_session_length(const ssm_session_t *session) {
  return session ? session->length : 0;
}

ssm_status_t ssm_session_forward(ssm_session_t *session, const int64_t *ids,
                                 int64_t batch, int64_t length,
                                 float *out_logits,
                                 size_t out_logits_capacity) {
  if (!session)
    return nullArgument("ssm_session_forward", "session");
  if (!ids)
    return nullArgument("ssm_session_forward", "ids");
  return guarded("ssm_session_forward", [&]() -> ssm_status_t {
    return forward(*session, ids, batch, length, out_logits,
                   out_logits_capacity);
  });
}

ssm_status_t ssm_session_generate(ssm_session_t *session, const int64_t *prompt,
                                  int64_t batch, int64_t length,
                                  int64_t max_new_tokens, int64_t *out_ids,
                                  ssm_generate_callback_t callback,
                                  void *user) {
  if (!session)
    return nullArgument("ssm_session_generate", "session");
  if (!prompt)
    return nullArgument("ssm_session_generate", "prompt");
  if (!out_ids && max_new_tokens > 0)
    return nullArgument("ssm_session_generate", "out_ids");
  if (max_new_tokens < 0)
    return invalid("ssm_session_generate: max_new_tokens is {}",
                   max_new_tokens);
  return guarded("ssm_session_generate", [&]() -> ssm_status_t {
    for (int64_t i = 0; i < batch * max_new_tokens; ++i)
      out_ids[i] = -1;
    std::vector<int64_t> step(prompt, prompt + batch * length), picked;
    int64_t stepLength = length;
    for (int64_t t = 0; t < max_new_tokens; ++t) {
      // Greedy steps take the last position's argmax, picked where the
      // logits are (on a device, the ids come back, not the logits).
      int64_t positions =
          logitPositions(*session, stepLength, /*lastOnly=*/true);
      if (ssm_status_t status = forward(*session, step.data(), batch,
                                        stepLength, nullptr, 0,
                                        /*lastOnly=*/true))
        return status;
      if (ssm_status_t status = pickNextIds(*session, batch, positions, picked))
        return status;
      step.resize(static_cast<size_t>(batch));
      for (int64_t b = 0; b < batch; ++b) {
        step[b] = picked[static_cast<size_t>(b * positions + positions - 1)];
        out_ids[b * max_new_tokens + t] = step[b];
      }
      stepLength = 1;
      if (callback && callback(user, t, step.data(), batch))
        break;
    }
    return nullptr;
  });
}

} // extern "C"
