//===- Mix.h - Float64 reference evaluator of ssm.mix -----------*- C++ -*-===//
//
// The oracle of every numerical test: `ssm.mix` evaluated straight from its
// definition in float64, materialising the Lq×Lk mixing matrix, plus the
// elementwise glue that surrounds mixers in real models.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_REFERENCE_MIX_H
#define SSM_REFERENCE_MIX_H

#include "ssm/Reference/Tensor.h"
#include "ssm/contract/mix.h"

#include "llvm/Support/Error.h"

#include <optional>

namespace ssm::reference {

using ::ssm::contract::Mask;
using ::ssm::contract::Score;

/// The attributes of one ssm.mix.
struct MixConfig {
  Score score = Score::Linear;
  /// Multiplies Q Kᵀ before a softmax; unused for a linear score.
  double scale = 1.0;
  Mask mask = Mask::Causal;
  /// Keys kept per query under Mask::Window (i − j < window).
  int64_t window = 0;
};

/// The operands of one ssm.mix, in its layout: q [B,Lq,Hq,N], k [B,Lk,Hk,N],
/// v [B,Lk,Hv,P], dt [B,L,H], decayRate (`A`) [H] or [H,N],
/// initialState [B,H,P,N]. Lq ≤ Lk: queries against a cache sit at
/// positions Lk − Lq .. Lk − 1 and take no decay and no state (L = Lq =
/// Lk). Optional operands are null when absent.
struct MixInputs {
  const Tensor *q = nullptr;
  const Tensor *k = nullptr;
  const Tensor *v = nullptr;
  const Tensor *dt = nullptr;
  const Tensor *decayRate = nullptr;
  const Tensor *initialState = nullptr;
};

struct MixOutputs {
  /// [B, Lq, H, P] with H = max(Hq, Hk, Hv).
  Tensor y;
  /// [B, H, P, N]; present whenever the op has a finite-state form (linear
  /// score, causal mask, Lq = Lk).
  std::optional<Tensor> finalState;
};

/// Whether the query at position i keeps key j under `config`'s mask.
bool maskKeeps(const MixConfig &config, int64_t i, int64_t j);

/// Evaluates ssm.mix. Fails, naming the operand, on shapes or combinations
/// the op's verifier would reject.
llvm::Expected<MixOutputs> evaluateMix(const MixConfig &config,
                                       const MixInputs &inputs);

//===----------------------------------------------------------------------===//
// Elementwise glue
//===----------------------------------------------------------------------===//

/// log(1 + e^x), without overflow for large x.
double softplus(double x);
/// x · sigmoid(x).
double silu(double x);

/// dt + bias over the last dimension, then softplus if `applySoftplus`:
/// dt [..., H], bias [H].
llvm::Expected<Tensor> discretizeStep(const Tensor &dt, const Tensor &bias,
                                      bool applySoftplus);
/// x scaled by the step per (batch, position, head): x [B,L,H,P], dt [B,L,H].
llvm::Expected<Tensor> scaleByStep(const Tensor &x, const Tensor &dt);
/// y + D[h] · x for y, x [B,L,H,P], D [H].
llvm::Expected<Tensor> addSkip(const Tensor &y, const Tensor &x,
                               const Tensor &skip);
/// y · silu(z), elementwise; same shapes.
llvm::Expected<Tensor> gateBySilu(const Tensor &y, const Tensor &z);

} // namespace ssm::reference

#endif // SSM_REFERENCE_MIX_H
