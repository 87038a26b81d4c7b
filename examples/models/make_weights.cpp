//===- make_weights.cpp - Deterministic weights for a model config --------===//
//
//   ssm-example-weights CHECKPOINT_DIR [SEED]
//
// Writes CHECKPOINT_DIR/model.safetensors for CHECKPOINT_DIR/config.json:
// every weight the config needs (ssmc's modelWeights), f32, from a fixed
// pseudo-random sequence so that the demo generates the same ids on every
// machine. Norms start at one, D at one, dt_bias and A_log where Mamba's
// initialisation puts them (A = -exp(A_log) in [-16, -1]), the rest small
// and centred, so that the model's activations stay in range.
//
//===----------------------------------------------------------------------===//

#include "ssm/Frontend/ModelConfig.h"
#include "ssm/Frontend/ModelImport.h"
#include "ssm/runtime.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// splitmix64: a fixed sequence, the same everywhere.
uint64_t next(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Uniform in [-1, 1).
float uniform(uint64_t &state) {
  return static_cast<float>(static_cast<double>(next(state) >> 11) /
                                static_cast<double>(1ull << 52) -
                            1.0);
}

bool endsWith(const std::string &text, const std::string &suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The values of one weight; `fanIn` scales projections.
void fill(const mlir::ssm::ModelWeight &weight, std::vector<float> &values,
          uint64_t &state) {
  const std::string &name = weight.name;
  int64_t fanIn = weight.shape.size() >= 2 ? weight.shape.back() : 1;
  for (size_t i = 0; i < values.size(); ++i) {
    float u = uniform(state);
    if (endsWith(name, "norm.weight") || endsWith(name, "norm_f.weight") ||
        endsWith(name, ".D"))
      values[i] = 1.0f;
    else if (endsWith(name, "A_log"))
      values[i] = std::log(1.0f + static_cast<float>(i % 16));
    else if (endsWith(name, "dt_bias"))
      values[i] = std::log(std::expm1(0.01f + 0.04f * (u + 1.0f)));
    else if (endsWith(name, "bias"))
      values[i] = 0.0f;
    else if (endsWith(name, "conv1d.weight"))
      values[i] = 0.5f * u;
    else if (endsWith(name, "embeddings.weight") ||
             endsWith(name, "embed_tokens.weight"))
      values[i] = u;
    else
      values[i] = u * std::sqrt(3.0f / static_cast<float>(fanIn));
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    llvm::errs() << "usage: ssm-example-weights CHECKPOINT_DIR [SEED]\n";
    return 2;
  }
  std::string dir = argv[1];
  uint64_t state = argc == 3 ? std::strtoull(argv[2], nullptr, 10) : 1;
  auto text = llvm::MemoryBuffer::getFile(dir + "/config.json");
  if (!text) {
    llvm::errs() << "ssm-example-weights: cannot read " << dir
                 << "/config.json: " << text.getError().message() << "\n";
    return 2;
  }
  llvm::Expected<mlir::ssm::ModelConfig> config =
      mlir::ssm::parseModelConfig((*text)->getBuffer());
  if (!config) {
    llvm::errs() << "ssm-example-weights: " << dir << "/config.json: "
                 << llvm::toString(config.takeError()) << "\n";
    return 2;
  }
  std::vector<mlir::ssm::ModelWeight> weights = mlir::ssm::modelWeights(*config);
  std::vector<std::vector<float>> values(weights.size());
  std::vector<DLTensor> tensors(weights.size());
  std::vector<const char *> names;
  for (size_t w = 0; w < weights.size(); ++w) {
    size_t count = 1;
    for (int64_t d : weights[w].shape)
      count *= static_cast<size_t>(d);
    values[w].resize(count);
    fill(weights[w], values[w], state);
    DLTensor &t = tensors[w];
    t = DLTensor{};
    t.data = values[w].data();
    t.device.device_type = kDLCPU;
    t.ndim = static_cast<int32_t>(weights[w].shape.size());
    t.dtype = {kDLFloat, 32, 1};
    t.shape = weights[w].shape.data();
    names.push_back(weights[w].name.c_str());
  }
  std::string path = dir + "/model.safetensors";
  const char *keys[] = {"format"}, *formats[] = {"pt"};
  if (ssm_status_t status = ssm_safetensors_write(
          path.c_str(), names.data(), tensors.data(), tensors.size(), keys,
          formats, 1)) {
    llvm::errs() << "ssm-example-weights: " << ssm_status_message(status)
                 << "\n";
    ssm_status_free(status);
    return 2;
  }
  llvm::outs() << "wrote " << path << ": " << weights.size() << " weights\n";
  return 0;
}
