// The chunked (SSD) algorithm on the GPU: one block per (batch, head [, value
// tile]) walks the chunks of Q positions in order and keeps the chunk-to-chunk
// state on chip, so nothing but the inputs and outputs touches device memory.
// Per chunk, with cum the running sum of dt·A inside the chunk:
//   1. intra-chunk:   Y  = ((C Bᵀ) ∘ L) X,  L[i, j] = exp(cum_i − cum_j), j ≤ i
//   2. state-output:  Y += diag(exp(cum)) · C · Sᵀ
//   3. state update:  S  = exp(cum_Q) · S + (w ∘ X)ᵀ B,  w_j = exp(cum_Q − cum_j)
// Positions past the end are zero (dt = 0, k = v = 0) and change nothing.
//   - chunkedSimt: f32/f64 (and shapes the tensor cores cannot take), the
//     products as loops over shared memory.
//   - chunkedMma: bf16/f16, 64-position chunks and 64-wide value tiles on
//     tensor cores (wgmma on sm_90a for state sizes a multiple of 64,
//     mma.sync otherwise); each of the 4 warps owns 16 rows of the chunk's
//     outputs and 16 rows of the P×N state, which stays in f32 registers
//     across chunks (a bf16 copy in shared memory feeds step 2).
#ifndef SSM_DEVICE_CHUNKED_CUH
#define SSM_DEVICE_CHUNKED_CUH

#include "ssm/device/mix.cuh"
#include "ssm/device/mma.cuh"
#include "ssm/device/wgmma.cuh"


namespace ssm {
namespace device {


/// Grid: (H, B). Block: kThreads. Shared: geometry::chunkedSimtSharedBytes.
template <class Ops, int kChunk, int kThreads>
SSM_DEVICE void chunkedSimt(const Ops &ops) {
  using C = typename Ops::Compute;
  constexpr int N = Ops::kStateSize, P = Ops::kValueDim, Q = kChunk;
  const int h = blockIdx.x;
  const int64_t b = blockIdx.y;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);
  C *sq = sharedMemory<C>();
  C *sk = sq + Q * N;
  C *sv = sk + Q * N;
  C *sg = sv + Q * P;
  C *ss = sg + Q * Q;
  C *cum = ss + P * N;
  const int64_t length = ops.length;

  for (int e = threadIdx.x; e < P * N; e += kThreads) {
    if constexpr (Ops::kHasInitialState)
      ss[e] = ops.initialState(b, h, e / N, e % N);
    else
      ss[e] = C(0);
  }
  for (int64_t t0 = 0; t0 < length; t0 += Q) {
    __syncthreads(); // the previous chunk is done with every buffer
    for (int e = threadIdx.x; e < Q * N; e += kThreads) {
      const int64_t t = t0 + e / N;
      const int n = e % N;
      sq[e] = t < length ? ops.q(b, t, queryHead, n) : C(0);
      sk[e] = t < length ? ops.k(b, t, keyHead, n) : C(0);
    }
    for (int e = threadIdx.x; e < Q * P; e += kThreads) {
      const int64_t t = t0 + e / P;
      sv[e] = t < length ? ops.v(b, t, valueHead, e % P) : C(0);
    }
    for (int i = threadIdx.x; i < Q; i += kThreads)
      cum[i] = t0 + i < length ? logDecay2(ops, b, t0 + i, h) : C(0);
    __syncthreads();
    if (threadIdx.x == 0)
      for (int i = 1; i < Q; ++i)
        cum[i] += cum[i - 1];
    __syncthreads();

    for (int e = threadIdx.x; e < Q * Q; e += kThreads) {
      const int i = e / Q, j = e % Q;
      C g = C(0);
      if (j <= i) {
        for (int n = 0; n < N; ++n)
          g = fma(sq[i * N + n], sk[j * N + n], g);
        if constexpr (Ops::kDecay != Decay::None)
          g *= fastExp2(cum[i] - cum[j]);
      }
      sg[e] = g;
    }
    __syncthreads();

    for (int e = threadIdx.x; e < Q * P; e += kThreads) {
      const int i = e / P, p = e % P;
      const int64_t t = t0 + i;
      if (t >= length)
        continue;
      C intra = C(0), fromState = C(0);
      for (int j = 0; j <= i; ++j)
        intra = fma(sg[i * Q + j], sv[j * P + p], intra);
      for (int n = 0; n < N; ++n)
        fromState = fma(sq[i * N + n], ss[p * N + n], fromState);
      if constexpr (Ops::kDecay != Decay::None)
        fromState *= fastExp2(cum[i]);
      ops.storeY(b, t, h, p, intra + fromState);
    }
    __syncthreads();

    const C last = cum[Q - 1];
    for (int e = threadIdx.x; e < P * N; e += kThreads) {
      const int p = e / N, n = e % N;
      C update = C(0);
      for (int j = 0; j < Q; ++j) {
        C weighted = sv[j * P + p] * sk[j * N + n];
        if constexpr (Ops::kDecay != Decay::None)
          weighted *= fastExp2(last - cum[j]);
        update += weighted;
      }
      C decay = C(1);
      if constexpr (Ops::kDecay != Decay::None)
        decay = fastExp2(last);
      ss[e] = fma(decay, ss[e], update);
    }
  }
  if constexpr (Ops::kHasFinalState) {
    __syncthreads();
    for (int e = threadIdx.x; e < P * N; e += kThreads)
      ops.storeFinalState(b, h, e / N, e % N, ss[e]);
  }
}

/// Grid: (P / 64, H, B · kSegments). Block: 128 threads, kBlocksPerSM of
/// them an SM (the plan's blocks_per_sm). Shared:
/// geometry::chunkedMmaSharedBytes. The next chunk's C and B are copied
/// (cp.async) into the second of two buffers while this one is computed
/// (with one buffer, once its products are done), when they are read from
/// memory as they are; operands with fused glue are read row by row
/// (batched) at the start of their chunk.
///
/// Where the build has wgmma (sm_90a) and N is a multiple of 64, the block
/// is one warpgroup and the products are wgmma on swizzled shared tiles:
/// C·Bᵀ and C·Sᵀ read C, B and the 16-bit state from shared memory once for
/// the warpgroup (with mma.sync each warp read all of B and S, which bound
/// the shared-memory port), the state update reads (w ∘ X)ᵀ and B from
/// shared memory too and runs on the tensor cores while G is masked, and
/// G·X takes G from registers. Otherwise each warp runs mma.sync on padded
/// tiles. The accumulators lie the same way in both, so everything between
/// the products is shared.
///
/// With kSegments > 1 (the plan's segments) each block runs one segment of
/// whole chunks. A first launch with kStatesOnly (grid z: B · (kSegments −
/// 1)) runs the state update alone over each segment but the last, from the
/// initial state for the first and from zero for the rest, and stores the
/// state and the segment's total log-decay in ops.segmentStates [B][S−1][H]
/// [P][N] and ops.segmentDecays [B][S−1][H]; chunkedMmaCombine turns those
/// into the states the segments start from (in place); the last launch
/// starts segment s > 0 from slot s − 1.
template <class Ops, class T, int kBlocksPerSM, int kSegments = 1,
          bool kStatesOnly = false>
SSM_DEVICE void chunkedMma(const Ops &ops) {
  constexpr int Q = 64, kPTile = 64;
  constexpr int N = Ops::kStateSize;
  static_assert(N % 16 == 0 && N <= 128, "state size a multiple of 16, ≤ 128");
  static_assert(Ops::kValueDim % kPTile == 0, "value dim a multiple of 64");
#if defined(SSM_DEVICE_EMULATION) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr bool kWgmma = geometry::chunkedMmaTakesWgmma(N);
#else
  constexpr bool kWgmma = false;
#endif
  constexpr int kStateTiles = N / 8, kValueTiles = kPTile / 8;
  constexpr int ldN = N + 8, ldP = kPTile + 8;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  static_assert(kSegments >= 1 && (kSegments > 1 || !kStatesOnly),
                "the state launch goes with segments");
  constexpr int kSlots = kStatesOnly ? kSegments - 1 : kSegments;
  const int64_t b = blockIdx.z / kSlots;
  const int segmentIndex = static_cast<int>(blockIdx.z % kSlots);
  const int h = blockIdx.y;
  const int p0 = blockIdx.x * kPTile;
  const int queryHead = queryHeadOf<Ops>(h), keyHead = keyHeadOf<Ops>(h),
            valueHead = valueHeadOf<Ops>(h);
  constexpr int kBuffers = geometry::chunkedMmaBuffers(kBlocksPerSM);
  // C (the queries) serves the outputs only.
  constexpr bool kCopyC = Ops::kPlainQ && !kStatesOnly;
  constexpr bool kLoadC = !Ops::kPlainQ && !kStatesOnly;
  // Every tile has 64 rows of 16-bit elements: swizzled (wgmma's layout)
  // or padded rows (ldmatrix rows in distinct banks).
  constexpr int kNBytes = kWgmma ? Q * N * 2 : Q * ldN * 2;
  constexpr int kPBytes = kWgmma ? Q * kPTile * 2 : Q * ldP * 2;
  auto offsetN = [](int row, int col) {
    return kWgmma ? swizzledOffset<64>(row, col) : (row * ldN + col) * 2;
  };
  auto offsetP = [](int row, int col) {
    return kWgmma ? swizzledOffset<64>(row, col) : (row * ldP + col) * 2;
  };
  unsigned char *shared = sharedMemory<unsigned char>();
  if constexpr (kWgmma) // tiles at 1024-byte boundaries (the swizzle's)
    shared += (1024 - sharedAddress(shared) % 1024) % 1024;
  unsigned char *sC = shared;                  // [kBuffers][Q × N]
  unsigned char *sB = sC + kBuffers * kNBytes; // [kBuffers][Q × N]
  unsigned char *sX = sB + kBuffers * kNBytes; // [Q × kPTile]
  unsigned char *sXw = sX + kPBytes;           // [Q × kPTile]
  unsigned char *sS = sXw + kPBytes;           // [kPTile × N]
  float *sCum = reinterpret_cast<float *>(sS + kNBytes);
  static_assert(!kWgmma || 1024 + (2 * kBuffers + 1) * kNBytes +
                                   2 * kPBytes + 4 * Q <=
                               geometry::chunkedMmaSharedBytes(N, kBlocksPerSM),
                "the swizzled tiles fit the padded tiles' bytes");
  // The chunk's Y (f32), staged for its row-wise store over sX and sXw;
  // with wgmma unpadded, its 16-byte groups swizzled by row.
  constexpr int ldY = kWgmma ? kPTile : kPTile + 4;
  static_assert(Q * ldY * sizeof(float) <= 2 * kPBytes,
                "the Y tile fits over the X tiles");
  float *sY = reinterpret_cast<float *>(sX);
  auto offsetY = [](int row, int col) {
    return kWgmma ? row * ldY + (((col / 4) ^ (row % 8)) * 4) + col % 4
                  : row * ldY + col;
  };
  const int64_t length = ops.length;
  const int row0 = 16 * warp; // this warp's rows of the chunk and of the state
  // This block's positions [begin, end): whole chunks, segments of equal
  // chunk counts (the last may be short or empty).
  const int64_t chunks = (length + Q - 1) / Q;
  const int64_t segmentLength = (chunks + kSegments - 1) / kSegments * Q;
  const int64_t begin = segmentIndex * segmentLength;
  const int64_t end = begin + segmentLength < length ? begin + segmentLength
                                                     : length;

  // C and B of the chunk at `start` into buffer `buffer`: asynchronous copies
  // for operands read as they are, batched rows through the glue otherwise.
  auto copyTile = [&](unsigned char *tile, const T *data, int64_t start,
                      int64_t heads, int64_t head) {
    if constexpr (kWgmma)
      copySwizzledTileAsync<Q, N, 128>(tile, data, b, start, length, heads,
                                       head);
    else
      copyTileAsync<Q, N, 128>(reinterpret_cast<T *>(tile), ldN, data, b,
                               start, length, heads, head, N, 0);
  };
  auto copyChunk = [&](int64_t start, int buffer) {
    if constexpr (kCopyC)
      copyTile(sC + buffer * kNBytes, ops.qData, start, Ops::kQueryHeads,
               queryHead);
    if constexpr (Ops::kPlainK)
      copyTile(sB + buffer * kNBytes, ops.kData, start, Ops::kKeyHeads,
               keyHead);
    copyAsyncCommit();
  };
  // The inputs read through glue, prefetched a chunk ahead: their loads go
  // out before the current chunk's products and land in registers (raw),
  // the glue runs when the chunk starts. C and B rows (when not copied),
  // X rows, and the step of each position.
  constexpr int kRowsPerThread = Q * N / 8 / 128;
  constexpr int kXPerThread = Q * kPTile / 8 / 128;
  constexpr bool kDecay = Ops::kDecay != Decay::None;
  typename Ops::template QRaw<8> qRaw[kLoadC ? kRowsPerThread : 1];
  typename Ops::template KRaw<8> kRaw[Ops::kPlainK ? 1 : kRowsPerThread];
  typename Ops::template VRaw<8> xRaw[kXPerThread];
  using StepRaw = typename StepRawOf<Ops, kDecay>::type;
  StepRaw stepRaw;
  auto prefetch = [&](int64_t start) {
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) {
      const int segment = threadIdx.x + r * 128;
      const int i = segment / (N / 8), c = (segment % (N / 8)) * 8;
      if (start + i < length) {
        if constexpr (kLoadC)
          ops.template qLoad<8>(b, start + i, queryHead, c, qRaw[r]);
        if constexpr (!Ops::kPlainK)
          ops.template kLoad<8>(b, start + i, keyHead, c, kRaw[r]);
      }
    }
#pragma unroll
    for (int r = 0; r < kXPerThread; ++r) {
      const int segment = threadIdx.x + r * 128;
      const int i = segment / (kPTile / 8), c = (segment % (kPTile / 8)) * 8;
      if (start + i < length)
        ops.template vLoad<8>(b, start + i, valueHead, p0 + c, xRaw[r]);
    }
    if constexpr (kDecay)
      if (threadIdx.x < Q && start + threadIdx.x < length)
        ops.dtLoad(b, start + threadIdx.x, h, stepRaw);
  };
  // C and B rows from their raw loads into buffer `buffer`.
  auto storeRows = [&](int64_t start, int buffer) {
#pragma unroll
    for (int r = 0; r < kRowsPerThread; ++r) {
      const int segment = threadIdx.x + r * 128;
      const int i = segment / (N / 8), c = (segment % (N / 8)) * 8;
      const bool valid = start + i < length;
      auto put = [&](unsigned char *tile, float (&values)[8]) {
        uint4 word;
        word.x = pack2<T>(valid ? values[0] : 0.0f, valid ? values[1] : 0.0f);
        word.y = pack2<T>(valid ? values[2] : 0.0f, valid ? values[3] : 0.0f);
        word.z = pack2<T>(valid ? values[4] : 0.0f, valid ? values[5] : 0.0f);
        word.w = pack2<T>(valid ? values[6] : 0.0f, valid ? values[7] : 0.0f);
        *reinterpret_cast<uint4 *>(tile + buffer * kNBytes + offsetN(i, c)) =
            word;
      };
      if constexpr (kLoadC) {
        float values[8];
        ops.template qCompute<8>(qRaw[r], values);
        put(sC, values);
      }
      if constexpr (!Ops::kPlainK) {
        float values[8];
        ops.template kCompute<8>(kRaw[r], values);
        put(sB, values);
      }
    }
  };
  // The state's 16-bit copy (C·Sᵀ's operand) from the f32 accumulators.
  auto storeState = [&](const float (&state)[kStateTiles][4]) {
#pragma unroll
    for (int j = 0; j < kStateTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; i += 2)
        *reinterpret_cast<uint32_t *>(
            sS + offsetN(row0 + accumulatorRow(lane, i),
                         8 * j + accumulatorColumn(lane, i))) =
            pack2<T>(state[j][i], state[j][i + 1]);
  };
  float rate = 0.0f;
  if constexpr (Ops::kDecay == Decay::Scalar)
    rate = static_cast<float>(ops.A(h)) * static_cast<float>(kLog2e);

  float state[kStateTiles][4];
#pragma unroll
  for (int j = 0; j < kStateTiles; ++j)
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = row0 + accumulatorRow(lane, i);
      const int col = 8 * j + accumulatorColumn(lane, i);
      float initial = 0.0f;
      if constexpr (Ops::kHasInitialState)
        if (segmentIndex == 0)
          initial = ops.initialState(b, h, p0 + row, col);
      if constexpr (kSegments > 1 && !kStatesOnly) {
        // The state the segments before hand on (chunkedMmaCombine).
        if (segmentIndex > 0) {
          const int64_t slot =
              (b * (kSegments - 1) + segmentIndex - 1) * Ops::kHeads + h;
          initial =
              ops.segmentStates[(slot * Ops::kValueDim + p0 + row) * N + col];
        }
      }
      state[j][i] = initial;
    }
  storeState(state);
  float decaySum = 0.0f; // the segment's log2-decay (state launch)

  copyChunk(begin, 0);
  prefetch(begin);
  int buffer = 0;
  for (int64_t t0 = begin; t0 < end; t0 += Q, buffer = (buffer + 1) % kBuffers) {
    // With two buffers the other one was last read by the previous chunk,
    // which every warp has finished (the barrier that ends it); with one the
    // next chunk's copy goes out once this chunk's products are done.
    if constexpr (kBuffers == 2)
      copyChunk(t0 + Q, buffer ^ 1);
    storeRows(t0, buffer);
    unsigned char *chunkC = sC + buffer * kNBytes, *chunkB = sB + buffer * kNBytes;

    // Running log-decay (log2 units) of the chunk: two warps scan 32 each.
    if (threadIdx.x < Q) {
      const int64_t t = t0 + threadIdx.x;
      float step = 0.0f;
      if constexpr (kDecay)
        if (t < length)
          step = static_cast<float>(ops.dtCompute(stepRaw)) * rate;
      sCum[threadIdx.x] = warpInclusiveScan(step, lane);
    }
    __syncthreads();
    if (threadIdx.x >= 32 && threadIdx.x < Q)
      sCum[threadIdx.x] += sCum[31];
    __syncthreads();
    const float last = sCum[Q - 1];
    decaySum += last;
    // X and w ∘ X, w_j = exp(cum_Q − cum_j), from the prefetched rows.
#pragma unroll
    for (int r = 0; r < kXPerThread; ++r) {
      const int segment = threadIdx.x + r * 128;
      const int i = segment / (kPTile / 8), c = (segment % (kPTile / 8)) * 8;
      const bool valid = t0 + i < length;
      float values[8];
      ops.template vCompute<8>(xRaw[r], values);
#pragma unroll
      for (int e = 0; e < 8; ++e)
        values[e] = valid ? values[e] : 0.0f;
      const float weight = fastExp2(last - sCum[i]);
      uint4 plain, weighted;
      plain.x = pack2<T>(values[0], values[1]);
      plain.y = pack2<T>(values[2], values[3]);
      plain.z = pack2<T>(values[4], values[5]);
      plain.w = pack2<T>(values[6], values[7]);
      weighted.x = pack2<T>(values[0] * weight, values[1] * weight);
      weighted.y = pack2<T>(values[2] * weight, values[3] * weight);
      weighted.z = pack2<T>(values[4] * weight, values[5] * weight);
      weighted.w = pack2<T>(values[6] * weight, values[7] * weight);
      if constexpr (!kStatesOnly)
        *reinterpret_cast<uint4 *>(sX + offsetP(i, c)) = plain;
      *reinterpret_cast<uint4 *>(sXw + offsetP(i, c)) = weighted;
    }
    // The next chunk's loads go out now and land during this one's products.
    prefetch(t0 + Q);
    // This chunk's copies (the group before the one just issued) are in.
    copyAsyncWait<kBuffers - 1>();
    if constexpr (kWgmma)
      fenceProxyAsync(); // this thread's tile writes, for the tensor cores
    __syncthreads();

    const float decayAll = fastExp2(last);
    // G = C Bᵀ on the chunk's keys, masked and decayed, kept as the A
    // fragments of Y += G X (half the registers of G); Y = diag(exp(cum)) ·
    // C · Sᵀ + G X; S = exp(cum_Q) · S + (w ∘ X)ᵀ B. The state launch has
    // the last only.
    float y[kValueTiles][4], g[Q / 8][4];
    uint32_t gA[Q / 16][4];
    const int rowTop = row0 + (lane >> 2), rowBottom = rowTop + 8;
    const float cumTop = sCum[rowTop], cumBottom = sCum[rowBottom];
    // The steps between the products, the same in both forms: G masked,
    // decayed and packed as A fragments; Y scaled by exp(cum).
    auto weighG = [&]() {
#pragma unroll
      for (int j = 0; j < Q / 8; ++j)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const int row = row0 + accumulatorRow(lane, i);
          const int col = 8 * j + accumulatorColumn(lane, i);
          const float rowCum = i < 2 ? cumTop : cumBottom;
          g[j][i] = col <= row ? g[j][i] * fastExp2(rowCum - sCum[col]) : 0.0f;
        }
#pragma unroll
      for (int s = 0; s < Q / 16; ++s)
        accumulatorsToA<T>(gA[s], g[2 * s], g[2 * s + 1]);
    };
    auto scaleY = [&]() {
      const float scaleTop = fastExp2(cumTop),
                  scaleBottom = fastExp2(cumBottom);
#pragma unroll
      for (int j = 0; j < kValueTiles; ++j) {
        y[j][0] *= scaleTop;
        y[j][1] *= scaleTop;
        y[j][2] *= scaleBottom;
        y[j][3] *= scaleBottom;
      }
    };
#pragma unroll
    for (int j = 0; j < kStateTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        state[j][i] *= decayAll;
    if constexpr (kWgmma) {
      const uint32_t cAddress = sharedAddress(chunkC),
                     bAddress = sharedAddress(chunkB),
                     sAddress = sharedAddress(sS),
                     xAddress = sharedAddress(sX),
                     xwAddress = sharedAddress(sXw);
      // G first, the state update behind it; then C·Sᵀ once G is in A
      // fragments, so that G and Y are never live together (with the state
      // and the prefetched rows they would not fit the registers).
      wgmmaFence();
      if constexpr (!kStatesOnly) {
#pragma unroll
        for (int ks = 0; ks < N / 16; ++ks)
          wgmmaSS<T, 64>(g, kMajorDescriptor<64>(cAddress, 0, ks),
                         kMajorDescriptor<64>(bAddress, 0, ks), ks > 0);
        wgmmaCommit();
      }
#pragma unroll
      for (int s = 0; s < Q / 16; ++s)
        wgmmaSS<T, N, /*kMnMajor=*/true>(state,
                                         mnMajorDescriptor<64>(xwAddress, s),
                                         mnMajorDescriptor<64>(bAddress, s), 1);
      wgmmaCommit();
      if constexpr (!kStatesOnly) {
        wgmmaWait<1>(); // G; the state update runs on
        wgmmaFenceOperands(g);
        weighG();
        wgmmaFence();
#pragma unroll
        for (int ks = 0; ks < N / 16; ++ks)
          wgmmaSS<T, 64>(y, kMajorDescriptor<64>(cAddress, 0, ks),
                         kMajorDescriptor<64>(sAddress, 0, ks), ks > 0);
        wgmmaCommit();
        wgmmaWait<0>();
        wgmmaFenceOperands(y);
        scaleY();
        wgmmaFence();
#pragma unroll
        for (int s = 0; s < Q / 16; ++s)
          wgmmaRS<T, 64>(y, gA[s], mnMajorDescriptor<64>(xAddress, s), 1);
        wgmmaCommit();
      }
      wgmmaWait<0>();
      wgmmaFenceOperands(state);
      if constexpr (!kStatesOnly)
        wgmmaFenceOperands(y);
    } else {
      const T *tileC = reinterpret_cast<const T *>(chunkC),
              *tileB = reinterpret_cast<const T *>(chunkB),
              *tileS = reinterpret_cast<const T *>(sS),
              *tileX = reinterpret_cast<const T *>(sX),
              *tileXw = reinterpret_cast<const T *>(sXw);
      if constexpr (!kStatesOnly) {
        // G on the keys at or below this warp's rows.
#pragma unroll
        for (int j = 0; j < Q / 8; ++j)
#pragma unroll
          for (int i = 0; i < 4; ++i)
            g[j][i] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < N / 16; ++ks) {
          uint32_t a[4];
          loadA(a, tileC, ldN, row0, 16 * ks, lane);
#pragma unroll
          for (int j = 0; j < Q / 8; j += 2) {
            if (j < 2 * (warp + 1)) {
              uint32_t b0[2], b1[2];
              loadBPairNMajor(b0, b1, tileB, ldN, 16 * ks, 8 * j, lane);
              mma16816<T>(g[j], a, b0);
              mma16816<T>(g[j + 1], a, b1);
            }
          }
        }
#pragma unroll
        for (int j = 0; j < kValueTiles; ++j)
#pragma unroll
          for (int i = 0; i < 4; ++i)
            y[j][i] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < N / 16; ++ks) {
          uint32_t a[4];
          loadA(a, tileC, ldN, row0, 16 * ks, lane);
#pragma unroll
          for (int j = 0; j < kValueTiles; j += 2) {
            uint32_t b0[2], b1[2];
            loadBPairNMajor(b0, b1, tileS, ldN, 16 * ks, 8 * j, lane);
            mma16816<T>(y[j], a, b0);
            mma16816<T>(y[j + 1], a, b1);
          }
        }
        weighG();
        scaleY();
#pragma unroll
        for (int s = 0; s < Q / 16; ++s) {
          if (s <= warp) {
#pragma unroll
            for (int j = 0; j < kValueTiles; j += 2) {
              uint32_t b0[2], b1[2];
              loadBPairKMajor(b0, b1, tileX, ldP, 16 * s, 8 * j, lane);
              mma16816<T>(y[j], gA[s], b0);
              mma16816<T>(y[j + 1], gA[s], b1);
            }
          }
        }
      }
#pragma unroll
      for (int s = 0; s < Q / 16; ++s) {
        uint32_t a[4];
        loadATransposed(a, tileXw, ldP, row0, 16 * s, lane);
#pragma unroll
        for (int j = 0; j < kStateTiles; j += 2) {
          uint32_t b0[2], b1[2];
          loadBPairKMajor(b0, b1, tileB, ldN, 16 * s, 8 * j, lane);
          mma16816<T>(state[j], a, b0);
          mma16816<T>(state[j + 1], a, b1);
        }
      }
    }
    __syncthreads(); // every warp is done with this chunk's tiles and sS
    if constexpr (!kStatesOnly) {
      storeState(state);
      // Y through the X tiles (free now) to rows of 8 consecutive values, so
      // that the stores and the consumer's reads are 16-byte and coalesced.
#pragma unroll
      for (int j = 0; j < kValueTiles; ++j)
#pragma unroll
        for (int i = 0; i < 4; i += 2)
          *reinterpret_cast<float2 *>(
              sY + offsetY(row0 + accumulatorRow(lane, i),
                           8 * j + accumulatorColumn(lane, i))) =
              float2{y[j][i], y[j][i + 1]};
    }
    if constexpr (kBuffers == 1)
      copyChunk(t0 + Q, 0);
    __syncthreads();
    // The state launch stores no outputs.
#pragma unroll
    for (int r = 0; r < (kStatesOnly ? 0 : kXPerThread); ++r) {
      const int segment = threadIdx.x + r * 128;
      const int i = segment / (kPTile / 8), c = (segment % (kPTile / 8)) * 8;
      if (t0 + i < length) {
        float values[8];
        const float4 low = *reinterpret_cast<const float4 *>(sY + offsetY(i, c));
        const float4 high =
            *reinterpret_cast<const float4 *>(sY + offsetY(i, c + 4));
        values[0] = low.x;
        values[1] = low.y;
        values[2] = low.z;
        values[3] = low.w;
        values[4] = high.x;
        values[5] = high.y;
        values[6] = high.z;
        values[7] = high.w;
        ops.template storeYRow<8>(b, t0 + i, h, p0 + c, values);
      }
    }
  }
  copyAsyncWait<0>(); // nothing in flight when the block exits

  if constexpr (kStatesOnly) {
    const int64_t slot =
        (b * (kSegments - 1) + segmentIndex) * Ops::kHeads + h;
#pragma unroll
    for (int j = 0; j < kStateTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        ops.segmentStates[(slot * Ops::kValueDim + p0 + row0 +
                           accumulatorRow(lane, i)) *
                              N +
                          8 * j + accumulatorColumn(lane, i)] = state[j][i];
    if (blockIdx.x == 0 && threadIdx.x == 0)
      ops.segmentDecays[slot] = decaySum;
    return;
  }
  if constexpr (Ops::kHasFinalState) {
    if (segmentIndex != kSegments - 1)
      return;
#pragma unroll
    for (int j = 0; j < kStateTiles; ++j)
#pragma unroll
      for (int i = 0; i < 4; ++i)
        ops.storeFinalState(b, h, p0 + row0 + accumulatorRow(lane, i),
                            8 * j + accumulatorColumn(lane, i), state[j][i]);
  }
}

/// Between chunkedMma's two launches with segments: the state each segment
/// starts from, S_{s+1} = exp2(D_s) · S_s + local_s (S_0's own contribution
/// is in local_0), written over local_s. Grid: (P / 64, H, B). Block: 128
/// threads, each a column of the 64 × N tile.
template <class Ops, int kSegments>
SSM_DEVICE void chunkedMmaCombine(const Ops &ops) {
  constexpr int N = Ops::kStateSize, kPTile = 64;
  const int64_t b = blockIdx.z;
  const int h = blockIdx.y;
  const int p0 = blockIdx.x * kPTile;
  constexpr int kPerThread = kPTile * N / 128;
  float running[kPerThread];
#pragma unroll
  for (int e = 0; e < kPerThread; ++e)
    running[e] = 0.0f;
  for (int s = 0; s < kSegments - 1; ++s) {
    const int64_t slot = (b * (kSegments - 1) + s) * Ops::kHeads + h;
    const float decay = fastExp2(ops.segmentDecays[slot]);
    float *states =
        ops.segmentStates + (slot * Ops::kValueDim + p0) * int64_t(N);
#pragma unroll
    for (int e = 0; e < kPerThread; ++e) {
      const int index = threadIdx.x + 128 * e;
      running[e] = decay * running[e] + states[index];
      states[index] = running[e];
    }
  }
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_CHUNKED_CUH
