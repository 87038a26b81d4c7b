//===- ModelConfig.h - A Hugging Face checkpoint's architecture -*- C++ -*-===//
//
// What ssmc needs of a checkpoint's config.json to build the model: the
// residual stream, each sublayer (Mamba-1 or Mamba-2 mixer, attention, MLP)
// with its sizes and the names of its weights, and the model-level constants
// (norms, multipliers, tied head). Read the way transformers writes configs
// for the model types ssmc supports (mamba, mamba2, nemotron_h,
// granitemoehybrid, bamba, llama); the definitions they follow are
// transformers' modeling_<type>.py files.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_FRONTEND_MODELCONFIG_H
#define SSM_FRONTEND_MODELCONFIG_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mlir::ssm {

/// Mamba-1's selective scan mixer (modeling_mamba.py, MambaMixer).
struct Mamba1Mixer {
  int64_t intermediateSize = 0, stateSize = 0, convKernel = 0, timeStepRank = 0;
  bool convBias = true, projBias = false;
};

/// Mamba-2's SSD mixer (Mamba2Mixer and its copies in the hybrids).
struct Mamba2Mixer {
  int64_t numHeads = 0, headDim = 0, stateSize = 0, numGroups = 1;
  int64_t convKernel = 0;
  bool convBias = true, projBias = false;
  /// dt is clamped to [low, high] after the softplus; in the decode step
  /// too unless `clampInDecode` is false (nemotron_h clamps in prefill
  /// only).
  double timeStepLow = 0.0,
         timeStepHigh = std::numeric_limits<double>::infinity();
  bool clampInDecode = true;
  /// The gated RMSNorm normalises groups of this many channels (the whole
  /// intermediate size for mamba2, bamba and granitemoehybrid).
  int64_t normGroupSize = 0;
  int64_t intermediateSize() const { return numHeads * headDim; }
};

/// Multi-head attention with grouped keys and values.
struct Attention {
  int64_t numHeads = 0, numKeyValueHeads = 0, headDim = 0;
  bool bias = false;
  /// RoPE on the first `rotaryDim` channels of each head (0: no RoPE).
  int64_t rotaryDim = 0;
  double ropeTheta = 10000.0;
  /// Multiplies q·kᵀ (1/sqrt(head_dim) unless the config says otherwise).
  double scale = 1.0;
};

/// A feed-forward block: SwiGLU (down(silu(gate(x)) · up(x))) or relu²
/// (down(relu(up(x))²)).
struct Mlp {
  enum class Kind { SwiGlu, Relu2 };
  Kind kind = Kind::SwiGlu;
  int64_t intermediateSize = 0;
  bool bias = false;
  /// SwiGLU as one input projection holding gate then up (granitemoehybrid's
  /// shared_mlp.input_linear) rather than two.
  bool fusedGateUp = false;
};

/// One residual sublayer: h += multiplier · f(rmsnorm(h)). `prefix` starts
/// the names of f's weights; `norm` names the RMSNorm's weight.
struct Sublayer {
  enum class Kind { Mamba1, Mamba2, Attention, Mlp };
  Kind kind;
  std::string norm, prefix;
  Mamba1Mixer mamba1;
  Mamba2Mixer mamba2;
  Attention attention;
  Mlp mlp;
};

struct ModelConfig {
  std::string modelType;
  int64_t vocabSize = 0, hiddenSize = 0;
  double normEpsilon = 1e-5;
  std::string embeddings, finalNorm;
  /// The LM head's weight: `lm_head.weight`, or the embeddings when tied.
  std::string lmHead;
  bool tiedHead = false;
  double embeddingMultiplier = 1.0, residualMultiplier = 1.0;
  /// Logits are divided by this.
  double logitsScaling = 1.0;
  std::vector<Sublayer> sublayers;
  /// The weights' element type in the model IR ("f32", "bf16", "f16"): the
  /// checkpoint's dtype. Activations, norms and states stay f32; every
  /// weight is widened where it is read.
  std::string weightType = "f32";
};

/// Reads `config.json` text. Errors name the field: an unknown model_type,
/// a missing required field, a field of the wrong type, an unknown field,
/// a MoE configuration, sizes that do not divide.
llvm::Expected<ModelConfig> parseModelConfig(llvm::StringRef text);

} // namespace mlir::ssm

#endif // SSM_FRONTEND_MODELCONFIG_H
