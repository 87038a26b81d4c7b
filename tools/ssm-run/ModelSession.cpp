//===- ModelSession.cpp - A model artifact's entry points, with states ----===//

#include "ModelSession.h"

#include <chrono>
#include <cstring>
#include <set>

namespace ssm::run {

HostTensor copy(const HostTensor &tensor) {
  HostTensor copied(tensor.dataType(), tensor.shape());
  std::memcpy(copied.data(), tensor.data(), tensor.bytes());
  return copied;
}

HostTensor idsTensor(const std::vector<int64_t> &ids, int64_t batch) {
  HostTensor tensor({kDLInt, 64, 1},
                    {batch, static_cast<int64_t>(ids.size()) / batch});
  std::memcpy(tensor.data(), ids.data(), ids.size() * sizeof(int64_t));
  return tensor;
}

/// Bytes of one position of a [B, L, ...] tensor.
static size_t rowBytes(const HostTensor &tensor) {
  std::vector<int64_t> shape = tensor.shape();
  size_t bytes = (tensor.dataType().bits + 7) / 8;
  for (size_t d = 2; d < shape.size(); ++d)
    bytes *= static_cast<size_t>(shape[d]);
  return bytes;
}

HostTensor timeSlice(const HostTensor &tensor, int64_t begin, int64_t end) {
  std::vector<int64_t> shape = tensor.shape();
  size_t row = rowBytes(tensor);
  int64_t length = shape[1];
  shape[1] = end - begin;
  HostTensor slice(tensor.dataType(), shape);
  for (int64_t b = 0; b < shape[0]; ++b)
    std::memcpy(static_cast<uint8_t *>(slice.data()) + b * (end - begin) * row,
                static_cast<const uint8_t *>(tensor.data()) +
                    (b * length + begin) * row,
                (end - begin) * row);
  return slice;
}

HostTensor timeConcat(const HostTensor &first, const HostTensor &second) {
  std::vector<int64_t> shape = first.shape();
  int64_t a = shape[1], b = second.shape()[1];
  size_t row = rowBytes(first);
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

static bool isAppended(const std::string &name) {
  auto endsWith = [&](const char *suffix) {
    size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return endsWith("key_cache") || endsWith("value_cache");
}

ModelSession::ModelSession(const Module &module, const std::string &path,
                           const InputSource &weights)
    : module(module) {
  if (!module.onHost())
    fail(kExitBadInput, path + ": model artifacts run on the CPU for now "
                               "(compile without --target=cuda)");
  prefill = bind(path, "prefill", weights);
  chunk = bind(path, "prefill_chunk", weights);
  decode = bind(path, "decode", weights);
  const Function &f = prefill.function;
  if (f.numOutputs() < 1 || f.output(0).name != "logits" ||
      f.output(0).shape.size() != 3 || f.output(0).shape[2] <= 0)
    fail(kExitBadInput, path + ": function 'prefill' does not return "
                               "logits [batch, length, vocab] first");
  vocab = f.output(0).shape[2];
}

ModelSession::Entry ModelSession::bind(const std::string &path,
                                       const char *name,
                                       const InputSource &weights) {
  Entry entry;
  try {
    entry.function = module.function(name);
  } catch (const Error &error) {
    fail(kExitBadInput, path + " is not a model artifact (no function '" +
                            name + "'): " + error.what());
  }
  // The states are what prefill returns after the logits.
  std::set<std::string> stateNames;
  if (prefill.function)
    for (size_t i = 1; i < prefill.function.numOutputs(); ++i)
      stateNames.insert(prefill.function.output(i).name);
  for (size_t i = 0; i < entry.function.numInputs(); ++i) {
    TensorSignature input = entry.function.input(i);
    bool weight = input.name != "input_ids" && !stateNames.count(input.name);
    entry.isWeight.push_back(weight);
    DLTensor view{};
    if (weight) {
      if (!weights.file.has(input.name))
        fail(kExitBadInput, weights.path + ": no tensor '" + input.name +
                                "', which function '" + name +
                                "' takes as input " + std::to_string(i) +
                                " (" + dtypeName(input.dtype) +
                                formatShape(input.shape) + ")");
      view = weights.file.tensor(input.name);
      std::vector<int64_t> shape(view.shape, view.shape + view.ndim);
      if (shape != input.shape)
        fail(kExitBadInput, weights.path + ": tensor '" + input.name +
                                "' is " + formatShape(shape) + ", function '" +
                                name + "' takes " + formatShape(input.shape));
      bool sameType = view.dtype.code == input.dtype.code &&
                      view.dtype.bits == input.dtype.bits;
      // Read in place where the mapping allows; else one aligned copy.
      if (!sameType || reinterpret_cast<uintptr_t>(view.data) % 64 != 0) {
        weightCopies.push_back(
            convertedCopy(view, input.dtype, input.name, weights.path));
        view = weightCopies.back().view();
      }
    }
    entry.bound.push_back(view);
  }
  return entry;
}

HostTensor ModelSession::run(HostTensor ids, bool step, double *ms) {
  Entry &entry = states.empty() ? prefill : step ? decode : chunk;
  const Function &function = entry.function;
  std::vector<DLTensor> inputs = entry.bound;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (entry.isWeight[i])
      continue;
    std::string name = function.input(i).name;
    if (name == "input_ids") {
      inputs[i] = ids.view();
      continue;
    }
    auto state = states.find(name);
    if (state == states.end())
      fail(kExitBadInput, "function '" + function.name() + "' takes '" + name +
                              "', which is neither a weight of the "
                              "checkpoint nor a state an earlier call "
                              "returned");
    inputs[i] = state->second.view();
  }
  std::vector<HostTensor> outputs;
  std::vector<DLTensor> outputViews;
  auto start = std::chrono::steady_clock::now();
  try {
    outputs = function.allocateOutputs(inputs);
    for (HostTensor &output : outputs)
      outputViews.push_back(output.view());
    function.invoke(inputs, outputViews);
  } catch (const Error &error) {
    fail(kExitBadInput, error.what());
  }
  if (ms)
    *ms = std::chrono::duration<double, std::milli>(
              std::chrono::steady_clock::now() - start)
              .count();
  std::map<std::string, HostTensor> next;
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

} // namespace ssm::run
