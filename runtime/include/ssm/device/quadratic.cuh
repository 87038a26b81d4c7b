// The quadratic algorithm on the GPU: flash-style tiles of M = mask ∘
// score(Q Kᵀ) ∘ decay built one key tile at a time and applied to V at once,
// with an online (running max and sum) normalisation for softmax. One block
// per (batch, head, block of query rows).
//
// Key tiles are visited from the diagonal down. A decay's exponent for
// (i, j) is then cq_i + off_j with cq_i = Σ_{r=i0+1..i} dA_r (the block's
// own positions) and off_j = Σ_{r=j+1..i0} dA_r accumulated tile by tile
// away from i0 (off_j = -Σ_{r=i0+1..j} for j > i0), so f32 sums never run
// over more than the distance they decay: far keys, whose sums are long, have
// decays that vanish.
//   - quadraticSimt: any score, mask and decay (diagonal decays too), f32/f64;
//     a warp per query row at a time, lanes over keys and over value dims.
//   - quadraticMma: bf16/f16, N and P multiples of 16 up to 128, no diagonal
//     decay: 4 warps of 16 query rows on mma.sync, Q in registers, S and P
//     in registers, O in f32 registers.
#ifndef SSM_DEVICE_QUADRATIC_CUH
#define SSM_DEVICE_QUADRATIC_CUH

#include "ssm/device/mix.cuh"
#include "ssm/device/mma.cuh"
#include "ssm/device/wgmma.cuh"

#include <type_traits>

namespace ssm {
namespace device {

/// The in-tile decay offsets off_j (log units of the decay: dt·A·log2(e) for
/// a scalar decay, dt for a diagonal one) of the key tile [j0, j0 + kKeys),
/// given `carry` from the tile above; returns the carry for the tile below.
/// `steps[jj]` holds the tile's per-position exponents (0 past the end);
/// thread 0 writes `offsets`. i0 is the block's first query.
template <class C, int kKeys>
SSM_DEVICE C decayOffsets(const C *steps, C *offsets, int64_t j0, int64_t i0,
                          C carry, bool topTile) {
  // prefix[jj] = Σ_{r=j0..j0+jj} steps.
  C prefix = C(0), atQuery = C(0);
  C prefixes[kKeys];
  for (int jj = 0; jj < kKeys; ++jj) {
    prefix += steps[jj];
    prefixes[jj] = prefix;
    if (j0 + jj == i0)
      atQuery = prefix;
  }
  const C end = prefix;
  for (int jj = 0; jj < kKeys; ++jj)
    offsets[jj] = topTile ? atQuery - prefixes[jj] : end - prefixes[jj] + carry;
  return topTile ? atQuery : end + carry;
}


/// Grid: (ceil(Lq / kRows), H, B). Block: 128 threads. kRows divides 64.
/// Queries may sit against a cache (Lq < Lk: at key positions Lk - Lq + i),
/// without a decay or a state.
template <class Ops, int kRows>
SSM_DEVICE void quadraticSimt(const Ops &ops) {
  using C = typename Ops::Compute;
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim;
  constexpr int kKeys = 64, kWarps = 4, kRowsPerWarp = kRows / kWarps;
  constexpr int kPPerLane = (P + 31) / 32;
  constexpr bool kSoftmax = Ops::kScore == Score::Softmax;
  static_assert(kKeys % kRows == 0 && kRows % kWarps == 0, "rows tile keys");
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t b = blockIdx.z;
  const int h = blockIdx.y;
  const int64_t i0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);
  // Queries sit at positions offset + i of the keys (a cache: Lk - Lq).
  const int64_t length = ops.length, keyLength = ops.keyLength;
  const int64_t offset = keyLength - length;

  C *sq = sharedMemory<C>();
  C *sk = sq + kRows * N;
  C *sv = sk + kKeys * N;
  C *steps = sv + kKeys * P;
  C *offsets = steps + kKeys;
  C *queryCum = offsets + kKeys;
  C *rates = queryCum + kRows; // diagonal decays: A[h, n]·log2(e)
  C *probabilities = rates + N; // [kWarps][kKeys]
  C *startOffset = probabilities + kWarps * kKeys; // Σ_{r=0..i0} after tile 0

  for (int e = threadIdx.x; e < kRows * N; e += 128) {
    const int64_t i = i0 + e / N;
    sq[e] = i < length ? ops.q(b, i, queryHead, e % N) : C(0);
  }
  if constexpr (Ops::kDecay == Decay::Diagonal)
    for (int n = threadIdx.x; n < N; n += 128)
      rates[n] = ops.A(h, n) * static_cast<C>(kLog2e);
  auto decayStep = [&](int64_t r) -> C {
    if (r < 0 || r >= length)
      return C(0);
    if constexpr (Ops::kDecay == Decay::Scalar)
      return logDecay2(ops, b, r, h);
    else if constexpr (Ops::kDecay == Decay::Diagonal)
      return ops.dt(b, r, h);
    else
      return C(0);
  };
  if constexpr (Ops::kDecay != Decay::None) {
    if (threadIdx.x == 0) {
      C sum = C(0);
      queryCum[0] = C(0);
      for (int r = 1; r < kRows; ++r) {
        sum += decayStep(i0 + r);
        queryCum[r] = sum;
      }
    }
  }

  C rowMax[kRowsPerWarp], rowSum[kRowsPerWarp], out[kRowsPerWarp][kPPerLane];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    rowMax[r] = negativeInfinity<C>();
    rowSum[r] = C(0);
#pragma unroll
    for (int c = 0; c < kPPerLane; ++c)
      out[r][c] = C(0);
  }
  const C scale2 = static_cast<C>(Ops::kScale * kLog2e);

  const int64_t keyEnd = endKey<Ops>(offset + i0 + kRows, keyLength);
  const int64_t keyBegin = firstKey<Ops>(offset + i0);
  C carry = C(0);
  if (keyEnd > keyBegin) {
    for (int64_t tile = (keyEnd - 1) / kKeys; tile >= keyBegin / kKeys; --tile) {
      const int64_t j0 = tile * kKeys;
      __syncthreads();
      for (int e = threadIdx.x; e < kKeys * N; e += 128) {
        const int64_t j = j0 + e / N;
        sk[e] = j < keyLength ? ops.k(b, j, keyHead, e % N) : C(0);
      }
      for (int e = threadIdx.x; e < kKeys * P; e += 128) {
        const int64_t j = j0 + e / P;
        sv[e] = j < keyLength ? ops.v(b, j, valueHead, e % P) : C(0);
      }
      if constexpr (Ops::kDecay != Decay::None) {
        for (int jj = threadIdx.x; jj < kKeys; jj += 128)
          steps[jj] = decayStep(j0 + jj);
        __syncthreads();
        if (threadIdx.x == 0)
          carry = decayOffsets<C, kKeys>(steps, offsets, j0, i0, carry,
                                         j0 <= i0 && i0 < j0 + kKeys);
      }
      __syncthreads();
      if constexpr (Ops::kDecay != Decay::None) {
        // Only thread 0 tracks the carry; the rest read offsets.
      }
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) {
        const int row = warp * kRowsPerWarp + r;
        const int64_t i = i0 + row;
        if (i >= length)
          continue;
        C value[2];
        bool valid[2];
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int jj = lane + 32 * half;
          const int64_t j = j0 + jj;
          valid[half] = j < keyLength && keeps<Ops>(offset + i, j);
          C s = C(0);
          if constexpr (Ops::kDecay == Decay::Diagonal) {
            const C exponent = queryCum[row] + offsets[jj];
            for (int n = 0; n < N; ++n)
              s += sq[row * N + n] * sk[jj * N + n] *
                   fastExp2(exponent * rates[n]);
          } else {
            for (int n = 0; n < N; ++n)
              s = fma(sq[row * N + n], sk[jj * N + n], s);
            if constexpr (Ops::kDecay == Decay::Scalar)
              s *= fastExp2(queryCum[row] + offsets[jj]);
          }
          value[half] = s;
        }
        C weight[2];
        if constexpr (kSoftmax) {
          C tileMax = negativeInfinity<C>();
#pragma unroll
          for (int half = 0; half < 2; ++half)
            if (valid[half])
              tileMax = max(tileMax, value[half] * scale2);
          tileMax = warpMax(tileMax);
          const C newMax = max(rowMax[r], tileMax);
          if (newMax == negativeInfinity<C>()) {
            weight[0] = weight[1] = C(0);
          } else {
            const C correction = fastExp2(rowMax[r] - newMax);
            C sum = C(0);
#pragma unroll
            for (int half = 0; half < 2; ++half) {
              weight[half] =
                  valid[half] ? fastExp2(value[half] * scale2 - newMax) : C(0);
              sum += weight[half];
            }
            rowSum[r] = rowSum[r] * correction + warpSum(sum);
#pragma unroll
            for (int c = 0; c < kPPerLane; ++c)
              out[r][c] *= correction;
            rowMax[r] = newMax;
          }
        } else {
#pragma unroll
          for (int half = 0; half < 2; ++half)
            weight[half] = valid[half] ? value[half] : C(0);
        }
        C *rowWeights = probabilities + warp * kKeys;
        rowWeights[lane] = weight[0];
        rowWeights[lane + 32] = weight[1];
        __syncwarp();
#pragma unroll
        for (int c = 0; c < kPPerLane; ++c) {
          const int p = lane + 32 * c;
          if (p < P) {
            C acc = C(0);
            for (int jj = 0; jj < kKeys; ++jj)
              acc = fma(rowWeights[jj], sv[jj * P + p], acc);
            out[r][c] += acc;
          }
        }
        __syncwarp();
      }
    }
  }
  if constexpr (Ops::kHasInitialState) {
    // y_i += S0 · (q_i ∘ decay from the sequence start); causal, so the
    // walk ended at tile 0 and thread 0's carry is Σ_{r=0..i0}.
    if (threadIdx.x == 0)
      startOffset[0] = carry;
    __syncthreads();
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int row = warp * kRowsPerWarp + r;
    const int64_t i = i0 + row;
    if (i >= length)
      continue;
#pragma unroll
    for (int c = 0; c < kPPerLane; ++c) {
      const int p = lane + 32 * c;
      if (p < P) {
        C result = out[r][c];
        if constexpr (kSoftmax)
          result = rowSum[r] > C(0) ? result / rowSum[r] : C(0);
        if constexpr (Ops::kHasInitialState) {
          const C exponent = queryCum[row] + startOffset[0];
          C fromState = C(0);
          for (int n = 0; n < N; ++n) {
            C term = sq[row * N + n] * ops.initialState(b, h, p, n);
            if constexpr (Ops::kDecay == Decay::Diagonal)
              term *= fastExp2(exponent * rates[n]);
            fromState += term;
          }
          if constexpr (Ops::kDecay == Decay::Scalar)
            fromState *= fastExp2(exponent);
          result += fromState;
        }
        ops.storeY(b, i, h, p, result);
      }
    }
  }
}

/// Whether no query of [q0, q1] keeps any key of [j0, j1] (causal or window
/// masks; a full mask keeps them all): a warp skips such a tile.
template <class Ops>
SSM_DEVICE bool tileOutsideMask(int64_t q0, int64_t q1, int64_t j0,
                                int64_t j1) {
  if constexpr (Ops::kMask == Mask::Full)
    return false;
  else if constexpr (Ops::kMask == Mask::Causal)
    return j0 > q1;
  else
    return j0 > q1 || q0 - j1 >= Ops::kWindow;
}

/// Grid: (ceil(L / (64·kMTiles)), H, B). Block: 128 threads. Each warp owns
/// kMTiles·16 query rows, so that every K and V fragment read from shared
/// memory feeds kMTiles products (2 is FlashAttention-2's 32 rows a warp).
/// The next key tile's K and V are copied (cp.async) while this one is
/// computed, when they are read from memory as they are. kMTiles > 1 only
/// without a decay (whose offsets assume the query block in one key tile).
///
/// Blocks run longest first (geometry::attentionBlockAt). A warp skips the
/// key tiles its rows mask wholly (above the diagonal). Softmax keeps the
/// running max of the raw scores (the scale folds into the exponent's FMA
/// for a positive scale), rescales O only when some row's max moved, and
/// sums each thread's weights apart, across its quad once at the end.
template <class Ops, class T, int kMTiles>
SSM_DEVICE void quadraticMma(const Ops &ops) {
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim;
  constexpr int kRows = 64 * kMTiles, kKeys = 64;
  static_assert(N % 16 == 0 && P % 16 == 0 && N <= 128 && P <= 128,
                "head dims multiples of 16 up to 128");
  static_assert(Ops::kDecay != Decay::Diagonal, "diagonal decays take SIMT");
  static_assert(kMTiles == 1 || Ops::kDecay == Decay::None,
                "decay offsets need the query block inside one key tile");
  constexpr bool kSoftmax = Ops::kScore == Score::Softmax;
  // The max of raw scores is the max of scaled ones only for a scale > 0.
  constexpr bool kFoldScale = Ops::kScale > 0.0;
  constexpr int ldN = N + 8, ldP = P + 8;
  constexpr int kKeyTiles = kKeys / 8, kValueTiles = P / 8;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  // Blocks start in the order of their linear index: longest first, in
  // head groups that share L2 (geometry::attentionBlockAt).
  const geometry::AttentionBlock block = geometry::attentionBlockAt(
      blockIdx.x + gridDim.x * blockIdx.y, gridDim.x, gridDim.y,
      geometry::attentionHeadGroup(
          ops.length, (N + P) * static_cast<int64_t>(sizeof(T)), Ops::kHeads),
      Ops::kMask != Mask::Full);
  const int64_t b = blockIdx.z;
  const int h = static_cast<int>(block.head);
  const int64_t i0 = static_cast<int64_t>(block.queryBlock) * kRows;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);
  const int64_t length = ops.length;
  T *sQ = sharedMemory<T>();
  T *sK = sQ + kRows * ldN;     // [2][kKeys][ldN]
  T *sV = sK + 2 * kKeys * ldN; // [2][kKeys][ldP]
  float *steps = reinterpret_cast<float *>(sV + 2 * kKeys * ldP);
  float *offsets = steps + kKeys;
  float *queryCum = offsets + kKeys;
  float *startOffset = queryCum + kRows; // Σ_{r=0..i0} after tile 0

  if constexpr (Ops::kPlainQ) {
    // Waited for with the first key tile's copies (copyAsyncWait<1> in the
    // loop, or the last wait), so that the two latencies overlap.
    copyTileAsync<kRows, N, 128>(sQ, ldN, ops.qData, b, i0, length,
                                 Ops::kQueryHeads, queryHead, N, 0);
    copyAsyncCommit();
  } else {
    loadTileRows<kRows, N, 128>(sQ, ldN, i0, length,
                                [&](int64_t t, int c, float (&values)[8]) {
                                  ops.template qRow<8>(b, t, queryHead, c, values);
                                });
  }
  auto decayStep = [&](int64_t r) -> float {
    if (r < 0 || r >= length)
      return 0.0f;
    return static_cast<float>(logDecay2(ops, b, r, h));
  };
  if constexpr (Ops::kDecay != Decay::None) {
    if (threadIdx.x == 0) {
      float sum = 0.0f;
      queryCum[0] = 0.0f;
      for (int r = 1; r < kRows; ++r) {
        sum += decayStep(i0 + r);
        queryCum[r] = sum;
      }
    }
  }
  __syncthreads();

  // Row m·16 + (lane / 4) (+ 8) of this warp's block of rows.
  const int warpRow0 = 16 * kMTiles * warp;
  auto rowOf = [&](int m, int i) {
    return warpRow0 + 16 * m + (lane >> 2) + ((i >> 1) << 3);
  };
  const int64_t warpQuery0 = i0 + warpRow0;
  const int64_t warpQuery1 = warpQuery0 + 16 * kMTiles - 1;
  float out[kMTiles][kValueTiles][4];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int j = 0; j < kValueTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        out[m][j][i] = 0.0f;
  // rowMax is in the units the exponent takes (raw scores when the scale is
  // folded); rowSum is this thread's part of the row's sum.
  float rowMax[kMTiles][2], rowSum[kMTiles][2];
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      rowMax[m][half] = -INFINITY;
      rowSum[m][half] = 0.0f;
    }
  const float scale2 = static_cast<float>(Ops::kScale * kLog2e);

  const int64_t keyEnd = endKey<Ops>(i0 + kRows, length);
  const int64_t keyBegin = firstKey<Ops>(i0);
  float carry = 0.0f;
  // K and V of key tile `tile` into buffer `buffer`: asynchronous copies for
  // operands read as they are (a tile below the first is a no-op).
  auto copyTile = [&](int64_t tile, int buffer) {
    if (tile >= keyBegin / kKeys) {
      if constexpr (Ops::kPlainK)
        copyTileAsync<kKeys, N, 128>(sK + buffer * kKeys * ldN, ldN, ops.kData,
                                     b, tile * kKeys, length, Ops::kKeyHeads,
                                     keyHead, N, 0);
      if constexpr (Ops::kPlainV)
        copyTileAsync<kKeys, P, 128>(sV + buffer * kKeys * ldP, ldP, ops.vData,
                                     b, tile * kKeys, length, Ops::kValueHeads,
                                     valueHead, P, 0);
    }
    copyAsyncCommit();
  };
  if (keyEnd > keyBegin) {
    const int64_t topTile = (keyEnd - 1) / kKeys;
    copyTile(topTile, 0);
    int buffer = 0;
    for (int64_t tile = topTile; tile >= keyBegin / kKeys; --tile, buffer ^= 1) {
      const int64_t j0 = tile * kKeys;
      // Every warp finished the previous tile (the barrier ending it), whose
      // buffer the next tile's copies now fill.
      copyTile(tile - 1, buffer ^ 1);
      const T *tileK = sK + buffer * kKeys * ldN, *tileV = sV + buffer * kKeys * ldP;
      if constexpr (!Ops::kPlainK)
        loadTileRows<kKeys, N, 128>(sK + buffer * kKeys * ldN, ldN, j0, length,
                                    [&](int64_t t, int c, float (&values)[8]) {
                                      ops.template kRow<8>(b, t, keyHead, c, values);
                                    });
      if constexpr (!Ops::kPlainV)
        loadTileRows<kKeys, P, 128>(sV + buffer * kKeys * ldP, ldP, j0, length,
                                    [&](int64_t t, int c, float (&values)[8]) {
                                      ops.template vRow<8>(b, t, valueHead, c, values);
                                    });
      if constexpr (Ops::kDecay != Decay::None) {
        for (int jj = threadIdx.x; jj < kKeys; jj += 128)
          steps[jj] = decayStep(j0 + jj);
        __syncthreads();
        if (threadIdx.x == 0)
          carry = decayOffsets<float, kKeys>(steps, offsets, j0, i0, carry,
                                             j0 <= i0 && i0 < j0 + kKeys);
      }
      copyAsyncWait<1>();
      __syncthreads();

      // A warp whose rows all mask this tile (or lie past the end) has
      // nothing to add from it; the barriers stay outside.
      const bool warpSkips =
          warpQuery0 >= length ||
          tileOutsideMask<Ops>(warpQuery0, warpQuery1, j0, j0 + kKeys - 1);
      // A tile's products, softmax and O update; kMasked adds the
      // per-element mask test. Two copies, so that the compiler cannot fold
      // the test into the tiles that lie wholly inside the mask (most: only
      // the diagonal ones, a window's edge and the sequence's end need it).
      auto addTile = [&](auto maskedTag) {
        constexpr bool kMasked = decltype(maskedTag)::value;
        // S = Q Kᵀ: each K fragment serves the warp's kMTiles row tiles.
        float s[kMTiles][kKeyTiles][4];
#pragma unroll
        for (int m = 0; m < kMTiles; ++m)
#pragma unroll
          for (int j = 0; j < kKeyTiles; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i)
              s[m][j][i] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < N / 16; ++ks) {
          uint32_t a[kMTiles][4];
#pragma unroll
          for (int m = 0; m < kMTiles; ++m)
            loadA(a[m], sQ, ldN, warpRow0 + 16 * m, 16 * ks, lane);
#pragma unroll
          for (int j = 0; j < kKeyTiles; j += 2) {
            uint32_t b0[2], b1[2];
            loadBPairNMajor(b0, b1, tileK, ldN, 16 * ks, 8 * j, lane);
#pragma unroll
            for (int m = 0; m < kMTiles; ++m) {
              mma16816<T>(s[m][j], a[m], b0);
              mma16816<T>(s[m][j + 1], a[m], b1);
            }
          }
        }

        // The per-element test, on offsets from the tile's corner (32-bit).
        const int queriesLeft = static_cast<int>(
            length - warpQuery0 < kRows ? length - warpQuery0 : kRows);
        const int keysLeft =
            static_cast<int>(length - j0 < kKeys ? length - j0 : kKeys);
        // Key j0 + c against query warpQuery0 + r: kept iff c ≤ r + diagonal
        // (causal) and r + diagonal - c < window.
        // Clamped so that r + diagonal - col cannot overflow; a tile that
        // far from the diagonal is decided by its other bounds.
        constexpr int64_t kFar = int64_t(1) << 30;
        const int64_t diagonal64 = warpQuery0 - j0;
        const int diagonal = static_cast<int>(
            diagonal64 > kFar ? kFar
                              : (diagonal64 < -kFar ? -kFar : diagonal64));
        float correction[kMTiles][2]; // softmax: O's factor per row half
#pragma unroll
        for (int m = 0; m < kMTiles; ++m) {
          // Maxima and sums in four partial chains a row half, so that the
          // max and add latencies overlap instead of running 32 deep.
          float tileMax[2][4];
#pragma unroll
          for (int half = 0; half < 2; ++half)
#pragma unroll
            for (int c = 0; c < 4; ++c)
              tileMax[half][c] = -INFINITY;
#pragma unroll
          for (int j = 0; j < kKeyTiles; ++j)
#pragma unroll
            for (int i = 0; i < 4; ++i) {
              const int row = rowOf(m, i);
              const int col = 8 * j + accumulatorColumn(lane, i);
              bool valid = true;
              if constexpr (kMasked) {
                const int r = row - warpRow0;
                valid = col < keysLeft && r < queriesLeft;
                if constexpr (Ops::kMask != Mask::Full)
                  valid = valid && col <= r + diagonal;
                if constexpr (Ops::kMask == Mask::Window)
                  valid = valid && r + diagonal - col < Ops::kWindow;
              }
              float value = s[m][j][i];
              if constexpr (kSoftmax) {
                value =
                    valid ? (kFoldScale ? value : value * scale2) : -INFINITY;
                float &partial = tileMax[i >> 1][(j & 1) * 2 + (i & 1)];
                partial = max(partial, value);
              } else {
                if constexpr (Ops::kDecay == Decay::Scalar)
                  value *= fastExp2(queryCum[row] + offsets[col]);
                value = valid ? value : 0.0f;
              }
              s[m][j][i] = value;
            }
          if constexpr (kSoftmax) {
            float shift[2];
#pragma unroll
            for (int half = 0; half < 2; ++half) {
              float rowTileMax = max(max(tileMax[half][0], tileMax[half][1]),
                                     max(tileMax[half][2], tileMax[half][3]));
              rowTileMax =
                  max(rowTileMax, __shfl_xor_sync(0xffffffffu, rowTileMax, 1));
              rowTileMax =
                  max(rowTileMax, __shfl_xor_sync(0xffffffffu, rowTileMax, 2));
              const float newMax = max(rowMax[m][half], rowTileMax);
              // A row with no kept key so far keeps weight 0 and no NaN.
              const float base = newMax == -INFINITY ? 0.0f : newMax;
              correction[m][half] =
                  kFoldScale ? fastExp2((rowMax[m][half] - base) * scale2)
                             : fastExp2(rowMax[m][half] - base);
              shift[half] = kFoldScale ? -base * scale2 : -base;
              rowMax[m][half] = newMax;
            }
            float sum[2][4] = {};
#pragma unroll
            for (int j = 0; j < kKeyTiles; ++j)
#pragma unroll
              for (int i = 0; i < 4; ++i) {
                const float weight =
                    kFoldScale
                        ? fastExp2(fmaf(s[m][j][i], scale2, shift[i >> 1]))
                        : fastExp2(s[m][j][i] + shift[i >> 1]);
                s[m][j][i] = weight;
                sum[i >> 1][(j & 1) * 2 + (i & 1)] += weight;
              }
#pragma unroll
            for (int half = 0; half < 2; ++half)
              rowSum[m][half] = rowSum[m][half] * correction[m][half] +
                                ((sum[half][0] + sum[half][1]) +
                                 (sum[half][2] + sum[half][3]));
          }
        }
        if constexpr (kSoftmax) {
          // Rows whose max did not move keep their O: after the first tiles
          // most do, and the warp skips the multiplies (one test for all its
          // rows, after the exponentials, which stay in one basic block).
          bool moved = false;
#pragma unroll
          for (int m = 0; m < kMTiles; ++m)
            moved =
                moved || correction[m][0] != 1.0f || correction[m][1] != 1.0f;
          if (__any_sync(0xffffffffu, moved)) {
#pragma unroll
            for (int m = 0; m < kMTiles; ++m)
#pragma unroll
              for (int j = 0; j < kValueTiles; ++j) {
                out[m][j][0] *= correction[m][0];
                out[m][j][1] *= correction[m][0];
                out[m][j][2] *= correction[m][1];
                out[m][j][3] *= correction[m][1];
              }
          }
        }

        // O += P V: each V fragment serves the warp's kMTiles row tiles.
#pragma unroll
        for (int ks = 0; ks < kKeys / 16; ++ks) {
          uint32_t a[kMTiles][4];
#pragma unroll
          for (int m = 0; m < kMTiles; ++m)
            accumulatorsToA<T>(a[m], s[m][2 * ks], s[m][2 * ks + 1]);
#pragma unroll
          for (int j = 0; j < kValueTiles; j += 2) {
            uint32_t b0[2], b1[2];
            loadBPairKMajor(b0, b1, tileV, ldP, 16 * ks, 8 * j, lane);
#pragma unroll
            for (int m = 0; m < kMTiles; ++m) {
              mma16816<T>(out[m][j], a[m], b0);
              mma16816<T>(out[m][j + 1], a[m], b1);
            }
          }
        }
      };
      if (!warpSkips) {
        if (tileInsideMask<Ops>(warpQuery0, 16 * kMTiles, j0, kKeys, length))
          addTile(std::false_type{});
        else
          addTile(std::true_type{});
      }
      __syncthreads(); // this tile's buffers are free for the one after next
    }
  }
  copyAsyncWait<0>();
  if constexpr (Ops::kHasInitialState) {
    if (threadIdx.x == 0)
      startOffset[0] = carry;
    __syncthreads();
  }
  if constexpr (kSoftmax) {
#pragma unroll
    for (int m = 0; m < kMTiles; ++m)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float total = rowSum[m][half];
        total += __shfl_xor_sync(0xffffffffu, total, 1);
        total += __shfl_xor_sync(0xffffffffu, total, 2);
        rowSum[m][half] = total;
      }
  }
#pragma unroll
  for (int m = 0; m < kMTiles; ++m)
#pragma unroll
    for (int j = 0; j < kValueTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = rowOf(m, i);
        const int64_t query = i0 + row;
        if (query >= length)
          continue;
        const int p = 8 * j + accumulatorColumn(lane, i);
        float result = out[m][j][i];
        if constexpr (kSoftmax)
          result = rowSum[m][i >> 1] > 0.0f ? result / rowSum[m][i >> 1] : 0.0f;
        if constexpr (Ops::kHasInitialState) {
          // S0 · q_i decayed from the sequence start (rare: done per element).
          float fromState = 0.0f;
          for (int n = 0; n < N; ++n)
            fromState += toFloat(sQ[row * ldN + n]) *
                         static_cast<float>(ops.initialState(b, h, p, n));
          if constexpr (Ops::kDecay == Decay::Scalar)
            fromState *= fastExp2(queryCum[row] + startOffset[0]);
          result += fromState;
        }
        ops.storeY(b, query, h, p, result);
      }
}

/// Grid: (ceil(L / 128), H, B). Block: 256 threads, two warpgroups of 64
/// query rows each (sm_90a). bf16/f16 q, k, v read as they are, head dims
/// 64 or 128, no decay, no initial state. S = Q·Kᵀ and O += P·V run on
/// wgmma: Q, K and V in swizzled shared tiles (cp.async), S, P and O in
/// registers, P as the register A operand of P·V. The masks and the online
/// softmax are quadraticMma's, on the same accumulator layout a warp; blocks
/// run in geometry::attentionBlockAt's order.
///
/// Software-pipelined a warpgroup: with key tiles t_0, t_1, … in the order
/// visited (from the diagonal down), step j issues S_{j+1} = Q·K_{j+1}ᵀ and
/// O += P_j·V_j together, and computes the softmax of S_{j+1} while P_j·V_j
/// runs on the tensor cores; O is rescaled once that product is done. Loads
/// run a step ahead: step j copies K_{j+2} and V_{j+1} into the buffers
/// that K_j and V_{j-1} left.
template <class Ops, class T, int kKeys = geometry::kQuadraticWgmmaKeys>
SSM_DEVICE void quadraticWgmma(const Ops &ops) {
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim;
  constexpr int kRows = geometry::kQuadraticWgmmaRows,
                kThreads = geometry::kQuadraticWgmmaThreads;
  static_assert(geometry::quadraticWgmmaTakes(N, P), "head dims 64 or 128");
  static_assert(Ops::kDecay == Decay::None && !Ops::kHasInitialState,
                "no decay, no initial state");
  constexpr bool kSoftmax = Ops::kScore == Score::Softmax;
  constexpr bool kFoldScale = Ops::kScale > 0.0;
  constexpr int kKeyTiles = kKeys / 8, kValueTiles = P / 8;
  constexpr int kKeyBytes = kKeys * N * 2, kValueBytes = kKeys * P * 2;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int group = warp / 4;
  const geometry::AttentionBlock block = geometry::attentionBlockAt(
      blockIdx.x + gridDim.x * blockIdx.y, gridDim.x, gridDim.y,
      geometry::attentionHeadGroup(
          ops.length, (N + P) * static_cast<int64_t>(sizeof(T)), Ops::kHeads),
      Ops::kMask != Mask::Full);
  const int64_t b = blockIdx.z;
  const int h = static_cast<int>(block.head);
  const int64_t i0 = static_cast<int64_t>(block.queryBlock) * kRows;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);
  const int64_t length = ops.length;

  // Tiles at 1024-byte boundaries of the shared window (the swizzle's).
  unsigned char *shared = sharedMemory<unsigned char>();
  const uint32_t sharedBase = sharedAddress(shared);
  unsigned char *sQ = shared + ((1024 - sharedBase % 1024) % 1024);
  unsigned char *sK = sQ + kRows * N * 2; // [2][kKeys × N]
  unsigned char *sV = sK + 2 * kKeyBytes; // [2][kKeys × P]
  const uint32_t qAddress = sharedAddress(sQ), kAddress = sharedAddress(sK),
                 vAddress = sharedAddress(sV);

  const int64_t keyEnd = endKey<Ops>(i0 + kRows, length);
  const int64_t keyBegin = firstKey<Ops>(i0);
  if (keyEnd <= keyBegin)
    return; // no rows (past the end)
  const int64_t topTile = (keyEnd - 1) / kKeys;
  const int tiles = static_cast<int>(topTile - keyBegin / kKeys + 1);
  // Step j's tile and the buffers of its K and V.
  auto tileStart = [&](int j) { return (topTile - j) * kKeys; };
  // Operands read as they are are copied asynchronously; the others (with
  // fused glue) through their row accessors, at once.
  auto copyK = [&](int j) {
    if (j >= tiles)
      return;
    unsigned char *tile = sK + (j % 2) * kKeyBytes;
    if constexpr (Ops::kPlainK)
      copySwizzledTileAsync<kKeys, N, kThreads>(
          tile, ops.kData, b, tileStart(j), length, Ops::kKeyHeads, keyHead);
    else
      loadSwizzledTileRows<kKeys, N, kThreads, T>(
          tile, tileStart(j), length,
          [&](int64_t t, int c, float (&values)[8]) {
            ops.template kRow<8>(b, t, keyHead, c, values);
          });
  };
  auto copyV = [&](int j) {
    if (j >= tiles)
      return;
    unsigned char *tile = sV + (j % 2) * kValueBytes;
    if constexpr (Ops::kPlainV)
      copySwizzledTileAsync<kKeys, P, kThreads>(tile, ops.vData, b,
                                                tileStart(j), length,
                                                Ops::kValueHeads, valueHead);
    else
      loadSwizzledTileRows<kKeys, P, kThreads, T>(
          tile, tileStart(j), length,
          [&](int64_t t, int c, float (&values)[8]) {
            ops.template vRow<8>(b, t, valueHead, c, values);
          });
  };

  if constexpr (Ops::kPlainQ)
    copySwizzledTileAsync<kRows, N, kThreads>(sQ, ops.qData, b, i0, length,
                                              Ops::kQueryHeads, queryHead);
  else
    loadSwizzledTileRows<kRows, N, kThreads, T>(
        sQ, i0, length, [&](int64_t t, int c, float (&values)[8]) {
          ops.template qRow<8>(b, t, queryHead, c, values);
        });
  copyK(0);
  copyAsyncCommit();
  copyV(0);
  copyK(1);
  copyAsyncCommit();

  const int warpRow0 = 16 * warp;
  const int64_t warpQuery0 = i0 + warpRow0;
  float out[kValueTiles][4];
#pragma unroll
  for (int j = 0; j < kValueTiles; ++j)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      out[j][i] = 0.0f;
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};
  const float scale2 = static_cast<float>(Ops::kScale * kLog2e);
  float s[kKeyTiles][4];
  // P_j and P_{j+1}, the A operands of P·V, alternating (arrays indexed by
  // constants only).
  uint32_t pEven[kKeys / 16][4], pOdd[kKeys / 16][4];

  auto issueScores = [&](int j) {
#pragma unroll
    for (int ks = 0; ks < N / 16; ++ks)
      wgmmaSS<T, kKeys>(s, kMajorDescriptor<kRows>(qAddress, 64 * group, ks),
                        kMajorDescriptor<kKeys>(kAddress + (j % 2) * kKeyBytes,
                                                0, ks),
                        ks > 0);
  };
  // The weights of S_j (masked; softmax: normalised by the running max)
  // packed into `weights`, and O's factor a row half in `correction` (1 for
  // linear scores). S is only read: P_{j-1}·V_{j-1} may still be running,
  // and a write to a product's accumulators before its wait serialises the
  // products.
  auto weighTile = [&](int j, uint32_t (&weights)[kKeys / 16][4],
                       float (&correction)[2], auto maskedTag) {
    constexpr bool kMasked = decltype(maskedTag)::value;
    const int64_t j0 = tileStart(j);
    correction[0] = correction[1] = 1.0f;
    const int queriesLeft =
        static_cast<int>(length - warpQuery0 < 16 ? length - warpQuery0 : 16);
    const int keysLeft =
        static_cast<int>(length - j0 < kKeys ? length - j0 : kKeys);
    constexpr int64_t kFar = int64_t(1) << 30;
    const int64_t diagonal64 = warpQuery0 - j0;
    const int diagonal = static_cast<int>(
        diagonal64 > kFar ? kFar : (diagonal64 < -kFar ? -kFar : diagonal64));
    auto kept = [&](int t, int i) {
      if constexpr (!kMasked) {
        return true;
      } else {
        const int r = (lane >> 2) + ((i >> 1) << 3);
        const int col = 8 * t + accumulatorColumn(lane, i);
        bool valid = col < keysLeft && r < queriesLeft;
        if constexpr (Ops::kMask != Mask::Full)
          valid = valid && col <= r + diagonal;
        if constexpr (Ops::kMask == Mask::Window)
          valid = valid && r + diagonal - col < Ops::kWindow;
        return valid;
      }
    };
    float shift[2] = {0.0f, 0.0f};
    if constexpr (kSoftmax) {
      float tileMax[2][4];
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int c = 0; c < 4; ++c)
          tileMax[half][c] = -INFINITY;
#pragma unroll
      for (int t = 0; t < kKeyTiles; ++t)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const float value = kFoldScale ? s[t][i] : s[t][i] * scale2;
          float &partial = tileMax[i >> 1][(t & 1) * 2 + (i & 1)];
          partial = max(partial, kept(t, i) ? value : -INFINITY);
        }
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float rowTileMax = max(max(tileMax[half][0], tileMax[half][1]),
                               max(tileMax[half][2], tileMax[half][3]));
        rowTileMax =
            max(rowTileMax, __shfl_xor_sync(0xffffffffu, rowTileMax, 1));
        rowTileMax =
            max(rowTileMax, __shfl_xor_sync(0xffffffffu, rowTileMax, 2));
        const float newMax = max(rowMax[half], rowTileMax);
        // A row with no kept key so far keeps weight 0 and no NaN.
        const float base = newMax == -INFINITY ? 0.0f : newMax;
        correction[half] = kFoldScale ? fastExp2((rowMax[half] - base) * scale2)
                                      : fastExp2(rowMax[half] - base);
        shift[half] = kFoldScale ? -base * scale2 : -base;
        rowMax[half] = newMax;
      }
    }
    float sum[2][4] = {};
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks) {
      float w[2][4];
#pragma unroll
      for (int u = 0; u < 2; ++u)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int t = 2 * ks + u;
          float weight;
          if constexpr (kSoftmax)
            weight = kFoldScale ? fastExp2(fmaf(s[t][i], scale2, shift[i >> 1]))
                                : fastExp2(s[t][i] + shift[i >> 1]);
          else
            weight = s[t][i];
          weight = kept(t, i) ? weight : 0.0f;
          w[u][i] = weight;
          sum[i >> 1][u * 2 + (i & 1)] += weight;
        }
      accumulatorsToA<T>(weights[ks], w[0], w[1]);
    }
    if constexpr (kSoftmax) {
#pragma unroll
      for (int half = 0; half < 2; ++half)
        rowSum[half] = rowSum[half] * correction[half] +
                       ((sum[half][0] + sum[half][1]) +
                        (sum[half][2] + sum[half][3]));
    }
  };
  auto weigh = [&](int j, uint32_t (&weights)[kKeys / 16][4],
                   float (&correction)[2]) {
    if (tileInsideMask<Ops>(warpQuery0, 16, tileStart(j), kKeys, length))
      weighTile(j, weights, correction, std::false_type{});
    else
      weighTile(j, weights, correction, std::true_type{});
  };
  // O's rescale, skipped when no row of the warp moved its max.
  auto rescale = [&](const float (&correction)[2]) {
    if constexpr (kSoftmax) {
      if (__any_sync(0xffffffffu,
                     correction[0] != 1.0f || correction[1] != 1.0f)) {
#pragma unroll
        for (int t = 0; t < kValueTiles; ++t) {
          out[t][0] *= correction[0];
          out[t][1] *= correction[0];
          out[t][2] *= correction[1];
          out[t][3] *= correction[1];
        }
      }
    }
  };

  // Step -1: S_0 and its weights.
  copyAsyncWait<1>();
  fenceProxyAsync();
  __syncthreads();
  {
    wgmmaFence();
    issueScores(0);
    wgmmaCommit();
    wgmmaWait<0>();
    wgmmaFenceOperands(s);
    float correction[2];
    weigh(0, pEven, correction);
    rescale(correction);
  }
  auto step = [&](int j, const uint32_t (&weights)[kKeys / 16][4],
                  uint32_t (&nextWeights)[kKeys / 16][4]) {
    // K_{j+1} and V_j have landed, and every warpgroup is done with K_j and
    // V_{j-1}, whose buffers the next copies take.
    copyAsyncWait<0>();
    fenceProxyAsync();
    __syncthreads();
    copyK(j + 2);
    copyV(j + 1);
    copyAsyncCommit();
    const bool more = j + 1 < tiles;
    wgmmaFence();
    if (more) {
      issueScores(j + 1);
      wgmmaCommit();
    }
#pragma unroll
    for (int ks = 0; ks < kKeys / 16; ++ks)
      wgmmaRS<T, P>(out, weights[ks],
                    mnMajorDescriptor<kKeys>(vAddress + (j % 2) * kValueBytes,
                                             ks),
                    1);
    wgmmaCommit();
    if (more) {
      wgmmaWait<1>();
      wgmmaFenceOperands(s);
      float correction[2];
      weigh(j + 1, nextWeights, correction);
      wgmmaWait<0>();
      wgmmaFenceOperands(out);
      rescale(correction);
    } else {
      wgmmaWait<0>();
      wgmmaFenceOperands(out);
    }
  };
  for (int j = 0; j < tiles; j += 2) {
    step(j, pEven, pOdd);
    if (j + 1 < tiles)
      step(j + 1, pOdd, pEven);
  }
  copyAsyncWait<0>();

  if constexpr (kSoftmax) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float total = rowSum[half];
      total += __shfl_xor_sync(0xffffffffu, total, 1);
      total += __shfl_xor_sync(0xffffffffu, total, 2);
      rowSum[half] = total;
    }
  }
#pragma unroll
  for (int t = 0; t < kValueTiles; ++t)
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int64_t query = warpQuery0 + (lane >> 2) + 8 * half;
      if (query >= length)
        continue;
      const int p = 8 * t + accumulatorColumn(lane, 2 * half);
      float values[2] = {out[t][2 * half], out[t][2 * half + 1]};
      if constexpr (kSoftmax) {
        const float total = rowSum[half];
#pragma unroll
        for (int e = 0; e < 2; ++e)
          values[e] = total > 0.0f ? values[e] / total : 0.0f;
      }
      ops.template storeYRow<2>(b, query, h, p, values);
    }
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_QUADRATIC_CUH
