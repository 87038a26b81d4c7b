//===- SsmOps.td - Operations of the ssm dialect -----------*- tablegen -*-===//
//
// `ssm.mix`: the one sequence-mixer op.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_OPS_TD
#define SSM_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "ssm/SsmDialect.td"
include "ssm/SsmAttrs.td"

def Ssm_FloatTensor : RankedTensorOf<[AnyFloat]>;

def Ssm_MixOp : Ssm_Op<"mix", [Pure, AttrSizedOperandSegments]> {
  let summary = "Y = (mask ∘ score(Q Kᵀ) ∘ decay) · V, per batch and head";
  let description = [{
    Computes, for every batch b and output head h,

        Y = M · V,   M = mask ∘ score(Q Kᵀ) ∘ decay      (M is Lq×Lk)

    Shapes: `q [B, Lq, Hq, N]`, `k [B, Lk, Hk, N]`, `v [B, Lk, Hv, P]` and
    the result `y [B, Lq, H, P]` with `H = max(Hq, Hk, Hv)`; each of Hq, Hk,
    Hv divides H, and output head h reads q head `h / (H / Hq)` (likewise k,
    v). Mamba-2's groups and attention's GQA are both this rule; Mamba-1 is
    H = channels with P = 1. Head counts and head dims are static; B, Lq and
    Lk may be dynamic.

    Queries against a cache: Lq ≤ Lk, and query i sits at position
    `i + (Lk − Lq)`, so the masks hold across a KV cache (decode is Lq = 1,
    chunked prefill a block of queries after the cached keys). Lq < Lk takes
    no decay and no state: for a linear score the cache is the state, and
    decode is L = 1 with `initial_state`.

    - score `linear` uses Q Kᵀ as is; `softmax(scale = s)` row-normalises
      `exp(s · Q Kᵀ)` over the kept keys.
    - mask, for the query at position t and key j: `causal` keeps j ≤ t,
      `full` keeps all, `window(W)` keeps j ≤ t with t − j < W.
    - `decay(%dt, %A)`: the log-decay of step t is `dt_t · A`, `dt [B, L, H]`
      (L = Lq = Lk). `A [H]` (scalar per head) gives
      `decay[i, j] = exp(Σ_{r=j+1..i} dt_r A)`; `A [H, N]` (diagonal) applies
      that per state index n, i.e. `M = Σ_n C[:, n] · L_n · B[:, n]ᵀ`. Needs
      a causal or window mask.
    - `initial_state(%s)` `[B, H, P, N]` and the optional `final_state`
      result `[B, H, P, N]`: the state of the equivalent recurrence
      `S_t = exp(dt_t A) S_{t-1} + v_t k_tᵀ`, `y_t = S_t q_t`. Only for a
      linear score with a causal mask.

    With `q = C`, `k = B`, `v = Δ·x`, `dt = Δ` and scalar `A`, this is exactly
    Mamba-2's SSD.

    The optional `algorithm` records how to compute the op; it must be legal:
    recurrent and chunked need a linear score, a causal mask and Lq = Lk
    (with dynamic lengths, the compiled function requires them equal).

    Example (Mamba-2 SSD, 8 heads in 1 group):

    ```mlir
    %y, %state = ssm.mix linear causal %C, %B, %x decay(%dt, %A)
        : (tensor<1x256x1x64xf32>, tensor<1x256x1x64xf32>,
           tensor<1x256x8x32xf32>, tensor<1x256x8xf32>, tensor<8xf32>)
        -> (tensor<1x256x8x32xf32>, tensor<1x8x32x64xf32>)
    ```
  }];

  let arguments = (ins
    Ssm_FloatTensor:$q,
    Ssm_FloatTensor:$k,
    Ssm_FloatTensor:$v,
    Optional<Ssm_FloatTensor>:$dt,
    Optional<Ssm_FloatTensor>:$A,
    Optional<Ssm_FloatTensor>:$initial_state,
    Ssm_ScoreKindAttr:$score,
    OptionalAttr<F64Attr>:$scale,
    Ssm_MaskAttr:$mask,
    OptionalAttr<Ssm_AlgorithmAttr>:$algorithm
  );
  let results = (outs
    Ssm_FloatTensor:$y,
    Optional<Ssm_FloatTensor>:$final_state
  );

  let assemblyFormat = [{
    custom<Score>($score, $scale) custom<Mask>($mask)
    $q `,` $k `,` $v
    (`decay` `(` $dt^ `,` $A `)`)?
    (`initial_state` `(` $initial_state^ `)`)?
    (`algorithm` `` $algorithm^)?
    attr-dict `:` functional-type(operands, results)
  }];

  let extraClassDeclaration = [{
    /// Output heads H = max(Hq, Hk, Hv).
    int64_t getNumHeads() { return getY().getType().getDimSize(2); }
    /// Query/key heads, value heads, state size N and value head dim P.
    int64_t getNumQueryHeads() { return getQ().getType().getDimSize(2); }
    int64_t getNumKeyHeads() { return getK().getType().getDimSize(2); }
    int64_t getNumValueHeads() { return getV().getType().getDimSize(2); }
    int64_t getStateSize() { return getQ().getType().getDimSize(3); }
    int64_t getValueHeadDim() { return getV().getType().getDimSize(3); }
    bool hasDecay() { return getDt() != nullptr; }
    /// A decay whose `A` is [H, N] (Mamba-1) rather than [H].
    bool hasDiagonalDecay() {
      return hasDecay() && getA().getType().getRank() == 2;
    }
    bool isSoftmax() { return getScore() == ScoreKind::Softmax; }
    /// Lq (of q or y) and Lk (of k or v); ShapedType::kDynamic when
    /// dynamic in both.
    int64_t getQueryLength() {
      return getQ().getType().isDynamicDim(1) ? getY().getType().getDimSize(1)
                                              : getQ().getType().getDimSize(1);
    }
    int64_t getKeyLength() {
      return getK().getType().isDynamicDim(1) ? getV().getType().getDimSize(1)
                                              : getK().getType().getDimSize(1);
    }
    /// Queries against a cache: fewer queries than keys, known statically.
    bool isAgainstCache() {
      return !ShapedType::isDynamic(getQueryLength()) &&
             !ShapedType::isDynamic(getKeyLength()) &&
             getQueryLength() != getKeyLength();
    }
    /// Whether the computation needs Lq = Lk, so that dynamic lengths must
    /// agree at run time: a decay or a state does, and so does a plan whose
    /// kernel takes no cache (every one but the CPU's quadratic loops and
    /// the GPU's quadratic_simt).
    bool needsEqualLengths();
    /// Why `kind` cannot compute this op (e.g. recurrent softmax), or
    /// nullopt when it can. The verifier, the cost model and the drivers
    /// all ask here.
    std::optional<std::string> whyIllegal(AlgorithmKind kind);
  }];

  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

#endif // SSM_OPS_TD
