// What every ssm.mix kernel template shares: the operand interface that the
// generated code implements, head mapping and mask predicates.
//
// A generated `Ops` struct (one per ssm.mix) provides, with the op's glue
// fused into each accessor:
//   using Compute = float (f64 ops: double);
//   static constexpr int kHeads, kQueryHeads, kKeyHeads, kValueHeads,
//                        kStateSize (N), kValueDim (P);
//   static constexpr Score kScore; static constexpr double kScale;
//   static constexpr Mask kMask; static constexpr int64_t kWindow;
//   static constexpr Decay kDecay;
//   static constexpr bool kHasInitialState, kHasFinalState;
//   int64_t batch, length;
//   Compute q(b, t, queryHead, n), k(b, t, keyHead, n), v(b, t, valueHead, p);
//   Compute dt(b, t, head), A(head) or A(head, n)     (with a decay)
//   Compute initialState(b, head, p, n)               (with an initial state)
//   void storeY(b, t, head, p, value);
//   void storeFinalState(b, head, p, n, value)         (with a final state)
// The templates call only what the op has (if constexpr).
#ifndef SSM_DEVICE_MIX_CUH
#define SSM_DEVICE_MIX_CUH

#include "ssm/contract/mix.h"
#include "ssm/device/device.cuh"
#include "ssm/device/geometry.h"

namespace ssm {
namespace device {

// The mixer's kinds, as the compiler-runtime contract defines them.
using ::ssm::contract::Decay;
using ::ssm::contract::Mask;
using ::ssm::contract::Score;

template <class Ops> SSM_DEVICE int queryHeadOf(int head) {
  return head / (Ops::kHeads / Ops::kQueryHeads);
}
template <class Ops> SSM_DEVICE int keyHeadOf(int head) {
  return head / (Ops::kHeads / Ops::kKeyHeads);
}
template <class Ops> SSM_DEVICE int valueHeadOf(int head) {
  return head / (Ops::kHeads / Ops::kValueHeads);
}

/// Whether query position i reads key position j under the op's mask.
template <class Ops> SSM_DEVICE bool keeps(int64_t i, int64_t j) {
  if constexpr (Ops::kMask == Mask::Full)
    return true;
  else if constexpr (Ops::kMask == Mask::Causal)
    return j <= i;
  else
    return j <= i && i - j < Ops::kWindow;
}

/// The first key position any of the queries [i0, i1) reads.
template <class Ops> SSM_DEVICE int64_t firstKey(int64_t i0) {
  if constexpr (Ops::kMask == Mask::Window)
    return i0 - Ops::kWindow + 1 > 0 ? i0 - Ops::kWindow + 1 : 0;
  else
    return 0;
}
/// One past the last key position the queries [i0, i1) read.
template <class Ops> SSM_DEVICE int64_t endKey(int64_t i1, int64_t length) {
  if constexpr (Ops::kMask == Mask::Full)
    return length;
  else
    return i1 < length ? i1 : length;
}

/// The raw loads of dt (Ops::DtRaw) when the op has a decay, else nothing.
template <class Ops, bool kHasDecay> struct StepRawOf {
  struct type {};
};
template <class Ops> struct StepRawOf<Ops, true> {
  using type = typename Ops::DtRaw;
};

/// Whether every query of [i0, i0 + rows) keeps every key of [j0, j0 + keys)
/// (and all are inside the sequence): the tile needs no mask.
template <class Ops>
SSM_DEVICE bool tileInsideMask(int64_t i0, int rows, int64_t j0, int keys,
                               int64_t length) {
  const int64_t lastQuery = i0 + rows - 1, lastKey = j0 + keys - 1;
  if (lastQuery >= length || lastKey >= length)
    return false;
  if constexpr (Ops::kMask == Mask::Full)
    return true;
  else if constexpr (Ops::kMask == Mask::Causal)
    return lastKey <= i0;
  else
    return lastKey <= i0 && lastQuery - j0 < Ops::kWindow;
}

/// The log-decay of step t for head h (0 without a decay), times log2(e) so
/// that exp2 applies it; diagonal decays are per state index.
template <class Ops>
SSM_DEVICE typename Ops::Compute logDecay2(const Ops &ops, int64_t b,
                                           int64_t t, int h) {
  using C = typename Ops::Compute;
  if constexpr (Ops::kDecay == Decay::Scalar)
    return ops.dt(b, t, h) * ops.A(h) * static_cast<C>(kLog2e);
  else
    return C(0);
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_MIX_CUH
