// The recurrent algorithm on the GPU: S_t = exp(dt_t A) ∘ S_{t-1} + v_t k_tᵀ,
// y_t = S_t q_t, with the state in registers for the whole sequence. Two
// mappings of the [B, H, P, N] state onto threads:
//   - recurrentRowPerThread: one thread per state row (b, h, p) holding all N
//     state elements (small N: Mamba-1's N = 16 with P = 1, one thread per
//     channel). Steps of q and k shared by the block are staged in shared
//     memory when all of the block's rows read the same q and k head.
//   - recurrentRowSliced: kLanes lanes per state row, each holding every
//     (kLanes·kVec)-th run of kVec state elements, y reduced over the lanes
//     with shuffles; kRows consecutive rows of one head per lane group. Any N,
//     and the decode step (L = 1), where it streams the state at full width.
#ifndef SSM_DEVICE_RECURRENT_CUH
#define SSM_DEVICE_RECURRENT_CUH

#include "ssm/device/mix.cuh"


namespace ssm {
namespace device {

/// Grid: (ceil(H·P / kThreads), B). Shared memory: 2·kSteps·N·sizeof(C)
/// when kStageKeys.
template <class Ops, int kThreads, int kSteps, bool kStageKeys>
SSM_DEVICE void recurrentRowPerThread(const Ops &ops) {
  using C = typename Ops::Compute;
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim, H = Ops::kHeads;
  constexpr int64_t kRows = static_cast<int64_t>(H) * P;
  const int64_t b = blockIdx.y;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
  const bool active = row < kRows;
  const int h = active ? static_cast<int>(row / P) : 0;
  const int p = active ? static_cast<int>(row % P) : 0;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);

  C state[N];
#pragma unroll
  for (int n = 0; n < N; ++n) {
    if constexpr (Ops::kHasInitialState)
      state[n] = active ? ops.initialState(b, h, p, n) : C(0);
    else
      state[n] = C(0);
  }
  // Log-decay rates, scaled for exp2.
  C rate[Ops::kDecay == Decay::Diagonal ? N : 1];
  if constexpr (Ops::kDecay == Decay::Diagonal) {
#pragma unroll
    for (int n = 0; n < N; ++n)
      rate[n] = ops.A(h, n) * static_cast<C>(kLog2e);
  } else if constexpr (Ops::kDecay == Decay::Scalar) {
    rate[0] = ops.A(h) * static_cast<C>(kLog2e);
  }

  C *stagedQ = sharedMemory<C>();
  C *stagedK = stagedQ + kSteps * N;
  // All rows of the block share these heads when staging.
  const int64_t firstRow = static_cast<int64_t>(blockIdx.x) * kThreads;
  const int stagedHead = static_cast<int>(firstRow / P);
  const int stagedQueryHead = queryHeadOf<Ops>(stagedHead),
            stagedKeyHead = keyHeadOf<Ops>(stagedHead);
  const int64_t length = ops.length;

  // Each tile's inputs are loaded a tile ahead (into registers, as stored),
  // so that their latency hides behind the previous tile's steps: the
  // staged q and k, this thread's v and dt, and the epilogue's inputs.
  constexpr int kStaged = (kSteps * N + kThreads - 1) / kThreads;
  constexpr bool kDecayed = Ops::kDecay != Decay::None;
  using QRaw = typename Ops::template QRaw<1>;
  using KRaw = typename Ops::template KRaw<1>;
  using VRaw = typename Ops::template VRaw<1>;
  using StepRaw = typename StepRawOf<Ops, kDecayed>::type;
  QRaw queryRaw[kStageKeys ? kStaged : 1];
  KRaw keyRaw[kStageKeys ? kStaged : 1];
  VRaw valueRaw[kSteps];
  StepRaw stepRaw[kSteps];
  auto prefetch = [&](int64_t start) {
    if constexpr (kStageKeys) {
#pragma unroll
      for (int r = 0; r < kStaged; ++r) {
        const int e = threadIdx.x + r * kThreads;
        const int64_t t = start + e / N;
        if (e < kSteps * N && t < length) {
          ops.template qLoad<1>(b, t, stagedQueryHead, e % N, queryRaw[r]);
          ops.template kLoad<1>(b, t, stagedKeyHead, e % N, keyRaw[r]);
        }
      }
    }
    if (!active)
      return;
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const int64_t t = start + s;
      if (t < length) {
        ops.template vLoad<1>(b, t, valueHead, p, valueRaw[s]);
        if constexpr (kDecayed)
          ops.dtLoad(b, t, h, stepRaw[s]);
      }
    }
  };

  prefetch(0);
  for (int64_t t0 = 0; t0 < length; t0 += kSteps) {
    if constexpr (kStageKeys) {
      __syncthreads(); // the previous tile is done with the staged steps
#pragma unroll
      for (int r = 0; r < kStaged; ++r) {
        const int e = threadIdx.x + r * kThreads;
        if (e < kSteps * N) {
          const bool valid = t0 + e / N < length;
          C query[1], key[1];
          ops.template qCompute<1>(queryRaw[r], query);
          ops.template kCompute<1>(keyRaw[r], key);
          stagedQ[e] = valid ? query[0] : C(0);
          stagedK[e] = valid ? key[0] : C(0);
        }
      }
      __syncthreads();
    }
    // This tile's values, and the epilogue's inputs for its outputs.
    C values[kSteps], steps[kSteps];
    typename Ops::YRaw outputRaw[kSteps];
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const bool valid = active && t0 + s < length;
      C value[1];
      ops.template vCompute<1>(valueRaw[s], value);
      values[s] = valid ? value[0] : C(0);
      steps[s] = C(0);
      if constexpr (kDecayed)
        steps[s] = valid ? ops.dtCompute(stepRaw[s]) : C(0);
      if (valid)
        ops.yLoad(b, t0 + s, h, p, outputRaw[s]);
    }
    prefetch(t0 + kSteps);
    if (!active)
      continue;
    C outputs[kSteps];
#pragma unroll
    for (int s = 0; s < kSteps; ++s) {
      const int64_t t = t0 + s;
      C scalarDecay = C(1);
      if constexpr (Ops::kDecay == Decay::Scalar)
        scalarDecay = fastExp2(steps[s] * rate[0]);
      C y = C(0);
#pragma unroll
      for (int n = 0; n < N; ++n) {
        C key, query;
        if constexpr (kStageKeys) {
          key = stagedK[s * N + n];
          query = stagedQ[s * N + n];
        } else {
          const bool valid = t < length;
          key = valid ? ops.k(b, t, keyHead, n) : C(0);
          query = valid ? ops.q(b, t, queryHead, n) : C(0);
        }
        C decay = scalarDecay;
        if constexpr (Ops::kDecay == Decay::Diagonal)
          decay = fastExp2(steps[s] * rate[n]);
        state[n] = fma(decay, state[n], key * values[s]);
        y = fma(state[n], query, y);
      }
      outputs[s] = y;
    }
#pragma unroll
    for (int s = 0; s < kSteps; ++s)
      if (t0 + s < length)
        ops.yStore(outputRaw[s], b, t0 + s, h, p, outputs[s]);
  }
  if constexpr (Ops::kHasFinalState) {
    if (active) {
#pragma unroll
      for (int n = 0; n < N; ++n)
        ops.storeFinalState(b, h, p, n, state[n]);
    }
  }
}

/// Grid: (ceil(H·P / (kThreads / kLanes · kRows)), B); no shared memory.
/// P must be a multiple of kRows. Without kStoreOutputs only the final state
/// is written (what the quadratic algorithm launches for an op that returns
/// it).
template <class Ops, int kThreads, int kLanes, int kVec, int kRows,
          bool kStoreOutputs = true>
SSM_DEVICE void recurrentRowSliced(const Ops &ops) {
  using C = typename Ops::Compute;
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim, H = Ops::kHeads;
  constexpr int kGroupsPerBlock = kThreads / kLanes;
  constexpr int kRuns = (N + kLanes * kVec - 1) / (kLanes * kVec);
  static_assert(P % kRows == 0, "a lane group's rows lie in one head");
  constexpr int64_t kRowsTotal = static_cast<int64_t>(H) * P;
  const int lane = threadIdx.x % kLanes;
  const int64_t b = blockIdx.y;
  const int64_t firstRow =
      (static_cast<int64_t>(blockIdx.x) * kGroupsPerBlock + threadIdx.x / kLanes) *
      kRows;
  // Inactive groups keep running so that the shuffles see full warps.
  const bool active = firstRow < kRowsTotal;
  const int h = active ? static_cast<int>(firstRow / P) : 0;
  const int p0 = active ? static_cast<int>(firstRow % P) : 0;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);

  auto stateIndex = [&](int run, int e) { return (run * kLanes + lane) * kVec + e; };
  C state[kRows][kRuns][kVec];
#pragma unroll
  for (int r = 0; r < kRows; ++r)
#pragma unroll
    for (int run = 0; run < kRuns; ++run) {
      const int n0 = stateIndex(run, 0);
      if constexpr (Ops::kPlainInitialState && kVec == 4) {
        if (active && n0 < N) {
          const float4 word = *reinterpret_cast<const float4 *>(
              ops.initialStateData + ((b * H + h) * P + p0 + r) * N + n0);
          state[r][run][0] = word.x;
          state[r][run][1] = word.y;
          state[r][run][2] = word.z;
          state[r][run][3] = word.w;
          continue;
        }
      }
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const int n = n0 + e;
        C initial = C(0);
        if constexpr (Ops::kHasInitialState)
          if (active && n < N)
            initial = ops.initialState(b, h, p0 + r, n);
        state[r][run][e] = initial;
      }
    }
  C rate[Ops::kDecay == Decay::Diagonal ? kRuns * kVec : 1];
  if constexpr (Ops::kDecay == Decay::Diagonal) {
#pragma unroll
    for (int run = 0; run < kRuns; ++run)
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const int n = stateIndex(run, e);
        rate[run * kVec + e] =
            n < N ? ops.A(h, n) * static_cast<C>(kLog2e) : C(0);
      }
  } else if constexpr (Ops::kDecay == Decay::Scalar) {
    rate[0] = ops.A(h) * static_cast<C>(kLog2e);
  }

  const int64_t length = ops.length;
  for (int64_t t = 0; t < length; ++t) {
    C query[kRuns][kVec], key[kRuns][kVec];
#pragma unroll
    for (int run = 0; run < kRuns; ++run)
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const int n = stateIndex(run, e);
        const bool valid = active && n < N;
        query[run][e] = valid ? ops.q(b, t, queryHead, n) : C(0);
        key[run][e] = valid ? ops.k(b, t, keyHead, n) : C(0);
      }
    C step = C(0);
    if constexpr (Ops::kDecay != Decay::None)
      step = active ? ops.dt(b, t, h) : C(0);
    C scalarDecay = C(1);
    if constexpr (Ops::kDecay == Decay::Scalar)
      scalarDecay = fastExp2(step * rate[0]);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
      const C value = active ? ops.v(b, t, valueHead, p0 + r) : C(0);
      C partial = C(0);
#pragma unroll
      for (int run = 0; run < kRuns; ++run)
#pragma unroll
        for (int e = 0; e < kVec; ++e) {
          C decay = scalarDecay;
          if constexpr (Ops::kDecay == Decay::Diagonal)
            decay = fastExp2(step * rate[run * kVec + e]);
          C &s = state[r][run][e];
          s = fma(decay, s, key[run][e] * value);
          partial = fma(s, query[run][e], partial);
        }
      if constexpr (kStoreOutputs) {
        const C y = warpSum<kLanes>(partial);
        if (active && lane == 0)
          ops.storeY(b, t, h, p0 + r, y);
      }
    }
  }

  if constexpr (Ops::kHasFinalState) {
    if (!active)
      return;
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
      for (int run = 0; run < kRuns; ++run) {
        const int n0 = stateIndex(run, 0);
        if constexpr (Ops::kPlainFinalState && kVec == 4) {
          if (n0 < N) {
            float4 word;
            word.x = state[r][run][0];
            word.y = state[r][run][1];
            word.z = state[r][run][2];
            word.w = state[r][run][3];
            *reinterpret_cast<float4 *>(ops.finalStateData +
                                        ((b * H + h) * P + p0 + r) * N + n0) =
                word;
          }
          continue;
        }
#pragma unroll
        for (int e = 0; e < kVec; ++e)
          if (n0 + e < N)
            ops.storeFinalState(b, h, p0 + r, n0 + e, state[r][run][e]);
      }
  }
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_RECURRENT_CUH
