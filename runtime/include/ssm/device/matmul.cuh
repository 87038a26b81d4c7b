// Projections y = x · Wᵀ (W [N, K] row-major, 16-bit values; x [M, K] the
// same type, staged row-major by the kernel before, which evaluates its
// fused glue once) on tensor cores, f32 accumulators. Three forms by the
// rows M, which are dynamic: each a kernel of its own, launched for its
// range of rows (geometry.h gives the ranges and grids):
//   - projectionTiles (prefill): each block computes 128 rows × 128
//     columns of y, the tiles in groups of rows (geometry::projectionTileAt). On sm_90a two warpgroups of 64 rows issue wgmma
//     m64n128k16 on swizzled tiles, K 64 at a time, the copies (cp.async)
//     two steps ahead of the products; elsewhere 8 warps of 64 × 32 run
//     mma.sync m16n8k16, K 32 at a time, two buffers.
//   - projectionFewRows (decode at batch 5–64): each block computes every
//     row of 256 columns over a split of K (so that every SM streams W; a
//     kernel after it adds the splits in order), K 64 at a time. On sm_90a
//     two warpgroups issue wgmma m64n128k16 on one swizzled x tile, five
//     buffers; elsewhere mma.sync, a half of the columns at a time.
//   - projectionVector (decode at batch ≤ 4): a matrix-vector product; x is
//     staged in shared memory a slice of K at a time, and each warp streams
//     4, 2 or 1 rows of W once (Ops::kVectorSplit blocks share 128 columns),
//     16 bytes a lane, reducing across lanes at the end.
//
// The generated Ops provides:
//   int64_t rows() const                         M (dynamic)
//   static constexpr int64_t kColumns, kDepth    N, K (K % 8 == 0)
//   const T *x() const, const T *weight() const  x, W
//   void store(int64_t m, int64_t n, float) const  y's element
#ifndef SSM_DEVICE_MATMUL_CUH
#define SSM_DEVICE_MATMUL_CUH

#include "ssm/device/geometry.h"
#include "ssm/device/mma.cuh"
#include "ssm/device/wgmma.cuh"

namespace ssm {
namespace device {

/// `kTileRows` rows × kStep of K from `data` [rows, K] (rows r0.. of it)
/// into a swizzled tile, asynchronously: 8 segments of 16 bytes a row, zeros
/// past the rows and past K; the caller commits.
template <int kTileRows, int kStep, int kThreads, class T>
SSM_DEVICE void copySwizzledRowsAsync(unsigned char *tile, const T *data,
                                      int64_t r0, int64_t rows, int64_t k0,
                                      int64_t K) {
  constexpr int kSegments = kTileRows * kStep / 8;
  static_assert(kStep == 64 && kSegments % kThreads == 0,
                "one swizzled block a row, whole segments a thread");
  const int thread = static_cast<int>(threadIdx.x);
#pragma unroll
  for (int pass = 0; pass < kSegments / kThreads; ++pass) {
    const int segment = thread + pass * kThreads;
    const int row = segment / 8, c = (segment % 8) * 8;
    const int64_t r = r0 + row, k = k0 + c;
    const bool valid = r < rows && k < K;
    copyAsync16(tile + swizzledOffset<kTileRows>(row, c),
                valid ? data + r * K + k : data, valid);
  }
}

/// The wgmma forms' pipeline over `steps` steps of K: copyStep(s) issues step
/// s's copies (cp.async) into buffer s % kStages, kStages - 2 steps ahead of
/// products(s % kStages), which issues step s's products; one group of
/// products stays in flight, so a buffer is refilled once every warpgroup is
/// past the products two steps back. The caller fences its accumulators.
template <int kStages, class CopyStep, class Products>
SSM_DEVICE void wgmmaPipeline(int steps, CopyStep &&copyStep,
                              Products &&products) {
  static_assert(kStages >= 3, "copies ahead of one group of products");
#pragma unroll
  for (int s = 0; s < kStages - 2; ++s) {
    if (s < steps)
      copyStep(s);
    copyAsyncCommit();
  }
  for (int step = 0; step < steps; ++step) {
    copyAsyncWait<kStages - 3>();
    fenceProxyAsync();
    __syncthreads(); // step's tiles are in; step - 2's buffer is free
    if (step + kStages - 2 < steps)
      copyStep(step + kStages - 2);
    copyAsyncCommit();
    wgmmaFence();
    products(step % kStages);
    wgmmaCommit();
    wgmmaWait<1>();
  }
  wgmmaWait<0>();
}

template <class T, class Ops>
SSM_DEVICE void projectionTilesMma(const Ops &ops, int half);
template <class T, class Ops>
SSM_DEVICE void projectionTilesWgmma(const Ops &ops);

/// 128 × 256 of y a block: wgmma where the build has it (sm_90a), mma.sync
/// (a half at a time) otherwise.
template <class T, class Ops> SSM_DEVICE void projectionTiles(const Ops &ops) {
  static_assert(Ops::kDepth % 8 == 0, "W's rows are copied 16 bytes at a time");
#if defined(SSM_DEVICE_EMULATION) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
  projectionTilesWgmma<T>(ops);
#else
  for (int half = 0; half < 2; ++half) {
    __syncthreads(); // the first half's buffers are used up
    projectionTilesMma<T>(ops, half);
  }
#endif
}

/// 128 × 128 of y on mma.sync at column `half` of the block's 256: 8 warps
/// of 64 × 32.
template <class T, class Ops>
SSM_DEVICE void projectionTilesMma(const Ops &ops, int half) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kRows = geometry::kProjectionRows;
  constexpr int kColumns = geometry::kProjectionColumns;
  constexpr int kStep = geometry::kProjectionStep;
  constexpr int kPitch = geometry::kProjectionPitch;
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  const int64_t M = ops.rows();
  T *shared = sharedMemory<T>();
  T *xTile[2] = {shared, shared + kRows * kPitch};
  T *wTile[2] = {shared + 2 * kRows * kPitch,
                 shared + 2 * kRows * kPitch + kColumns * kPitch};
  const int thread = static_cast<int>(threadIdx.x);
  const int lane = thread & 31, warp = thread >> 5;
  const geometry::ProjectionTile position = geometry::projectionTileAt(
      blockIdx.x + gridDim.x * blockIdx.y, gridDim.x, gridDim.y);
  const int64_t m0 = static_cast<int64_t>(position.row) * kRows;
  const int64_t n0 =
      static_cast<int64_t>(position.column) * geometry::kProjectionTileColumns +
      half * kColumns;
  const int warpRow = (warp >> 2) * 64, warpColumn = (warp & 3) * 32;
  const T *weight = ops.weight();

  const T *x = ops.x();
  // Tiles of `rows` rows from `data` [rows, K]: 16-byte segments, 4 a row.
  auto copyTile = [&](T *tile, const T *data, int64_t r0, int64_t rows,
                      int64_t k0) {
    constexpr int kSegments = kRows * kStep / 8;
    static_assert(kRows == kColumns, "x's and W's tiles copy alike");
#pragma unroll
    for (int pass = 0; pass < kSegments / kThreads; ++pass) {
      const int segment = thread + pass * kThreads;
      const int row = segment >> 2, c = (segment & 3) * 8;
      const int64_t r = r0 + row, k = k0 + c;
      const bool valid = r < rows && k < K;
      copyAsync16(&tile[row * kPitch + c], valid ? data + r * K + k : data,
                  valid);
    }
  };
  auto copyStep = [&](int buffer, int64_t k0) {
    copyTile(xTile[buffer], x, m0, M, k0);
    copyTile(wTile[buffer], weight, n0, N, k0);
    copyAsyncCommit();
  };

  float accumulators[4][4][4] = {};
  const int steps = static_cast<int>((K + kStep - 1) / kStep);
  copyStep(0, 0);
  for (int step = 0; step < steps; ++step) {
    const int buffer = step & 1;
    copyAsyncWait<0>();
    __syncthreads(); // this step's tiles are in; the other buffer is free
    if (step + 1 < steps)
      copyStep(buffer ^ 1, static_cast<int64_t>(step + 1) * kStep);
#pragma unroll
    for (int kk = 0; kk < kStep; kk += 16) {
      uint32_t a[4][4];
#pragma unroll
      for (int i = 0; i < 4; ++i)
        loadA<T>(a[i], xTile[buffer], kPitch, warpRow + 16 * i, kk, lane);
#pragma unroll
      for (int pair = 0; pair < 2; ++pair) {
        uint32_t b0[2], b1[2];
        loadBPairNMajor<T>(b0, b1, wTile[buffer], kPitch, kk,
                           warpColumn + 16 * pair, lane);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          mma16816<T>(accumulators[i][2 * pair], a[i], b0);
          mma16816<T>(accumulators[i][2 * pair + 1], a[i], b1);
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t m = m0 + warpRow + 16 * i + accumulatorRow(lane, e);
        const int64_t n = n0 + warpColumn + 8 * j + accumulatorColumn(lane, e);
        if (m < M && n < N)
          ops.store(m, n, accumulators[i][j][e]);
      }
}

/// 128 × 256 of y on wgmma (sm_90a): warpgroup g computes rows 64g..64g+63
/// of the block's, all 256 columns (two m64n128k16 products a k step). Step
/// s's tiles land in buffer s % kStages; the copies of step s + kStages - 2
/// are issued once every warpgroup is past step s - 2's products (the buffer
/// they take).
template <class T, class Ops>
SSM_DEVICE void projectionTilesWgmma(const Ops &ops) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kRows = geometry::kProjectionRows;
  constexpr int kColumns = geometry::kProjectionTileColumns;
  constexpr int kStep = geometry::kProjectionWgmmaStep;
  constexpr int kStages = geometry::kProjectionWgmmaStages;
  constexpr int kXBytes = kRows * kStep * 2, kWBytes = kColumns * kStep * 2;
  static_assert(kColumns == 256 && kStep == 64 && sizeof(T) == 2,
                "two products of 128 columns, one swizzled block a row");
  static_assert(kStages >= 3, "copies ahead of one group of products");
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  const int64_t M = ops.rows();
  unsigned char *shared = sharedMemory<unsigned char>();
  unsigned char *tiles =
      shared + ((1024 - sharedAddress(shared) % 1024) % 1024);
  const uint32_t tilesAddress = sharedAddress(tiles);
  const int thread = static_cast<int>(threadIdx.x);
  const int group = thread / 128;
  const geometry::ProjectionTile position = geometry::projectionTileAt(
      blockIdx.x + gridDim.x * blockIdx.y, gridDim.x, gridDim.y);
  const int64_t m0 = static_cast<int64_t>(position.row) * kRows;
  const int64_t n0 = static_cast<int64_t>(position.column) * kColumns;
  const T *x = ops.x();
  const T *weight = ops.weight();
  auto copyStep = [&](int step) {
    unsigned char *stage = tiles + (step % kStages) * (kXBytes + kWBytes);
    const int64_t k0 = static_cast<int64_t>(step) * kStep;
    copySwizzledRowsAsync<kRows, kStep, kThreads>(stage, x, m0, M, k0, K);
    copySwizzledRowsAsync<kColumns, kStep, kThreads>(stage + kXBytes, weight,
                                                     n0, N, k0, K);
  };

  float left[16][4], right[16][4];
#pragma unroll
  for (int j = 0; j < 16; ++j)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      left[j][i] = right[j][i] = 0.0f;
  const int steps = static_cast<int>((K + kStep - 1) / kStep);
  wgmmaPipeline<kStages>(steps, copyStep, [&](int buffer) {
    const uint32_t stage = tilesAddress + buffer * (kXBytes + kWBytes);
#pragma unroll
    for (int ks = 0; ks < kStep / 16; ++ks) {
      const uint64_t a = kMajorDescriptor<kRows>(stage, 64 * group, ks);
      wgmmaSS<T, 128>(left, a,
                      kMajorDescriptor<kColumns>(stage + kXBytes, 0, ks), 1);
      wgmmaSS<T, 128>(right, a,
                      kMajorDescriptor<kColumns>(stage + kXBytes, 128, ks), 1);
    }
  });
  wgmmaFenceOperands(left);
  wgmmaFenceOperands(right);
  copyAsyncWait<0>();

  const int lane = thread % 32, warpRow = 64 * group + 16 * (thread / 32 % 4);
#pragma unroll
  for (int j = 0; j < 16; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t m = m0 + warpRow + accumulatorRow(lane, e);
      const int64_t n = n0 + 8 * j + accumulatorColumn(lane, e);
      if (m < M) {
        if (n < N)
          ops.store(m, n, left[j][e]);
        if (n + 128 < N)
          ops.store(m, n + 128, right[j][e]);
      }
    }
}

template <class T, class Ops>
SSM_DEVICE void projectionFewRowsMma(const Ops &ops, int half);
template <class T, class Ops>
SSM_DEVICE void projectionFewRowsWgmma(const Ops &ops);

/// The K steps of split blockIdx.z of Ops::kSplits (the last may be short).
template <class Ops> struct ProjectionSplit {
  int firstStep, steps;
};
template <class Ops, int kStep>
SSM_DEVICE ProjectionSplit<Ops> projectionSplitOfBlock() {
  constexpr int kSteps = static_cast<int>((Ops::kDepth + kStep - 1) / kStep);
  constexpr int kSplitSteps = (kSteps + Ops::kSplits - 1) / Ops::kSplits;
  const int firstStep = static_cast<int>(blockIdx.z) * kSplitSteps;
  const int left = kSteps - firstStep;
  return {firstStep, left < kSplitSteps ? (left > 0 ? left : 0) : kSplitSteps};
}

/// Every row (M ≤ 64) × 256 columns of y a block, over split blockIdx.z of
/// Ops::kSplits of K: wgmma where the build has it (sm_90a), mma.sync (a
/// half of the columns at a time) otherwise. One split stores y; more store
/// partial sums (ops.storePartial), which the kernel after adds.
template <class T, class Ops> SSM_DEVICE void projectionFewRows(const Ops &ops) {
  static_assert(Ops::kDepth % 8 == 0, "W's rows are copied 16 bytes at a time");
#if defined(SSM_DEVICE_EMULATION) || defined(__CUDA_ARCH_FEAT_SM90_ALL)
  projectionFewRowsWgmma<T>(ops);
#else
  for (int half = 0; half < 2; ++half) {
    __syncthreads(); // the first half's buffers are used up
    projectionFewRowsMma<T>(ops, half);
  }
#endif
}

/// Every row × 128 columns (column `half` of the block's 256) on mma.sync:
/// warp w computes columns 16w..16w+15 of them for the 16-row tiles that
/// hold rows (x's copies skip the others). Step s's tiles land in buffer
/// s % kStages, the copies running kStages - 1 steps ahead.
template <class T, class Ops>
SSM_DEVICE void projectionFewRowsMma(const Ops &ops, int half) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kRows = geometry::kProjectionFewRows;
  constexpr int kColumns = geometry::kProjectionColumns;
  constexpr int kStep = geometry::kProjectionFewStep;
  constexpr int kPitch = geometry::kProjectionFewPitch;
  constexpr int kStages = geometry::kProjectionFewMmaStages;
  constexpr int kStageElements = (kRows + kColumns) * kPitch;
  static_assert(kRows == 64 && kColumns == 128 && kThreads == 256,
                "8 warps of 16 columns, 4 row tiles");
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  const auto [firstStep, steps] = projectionSplitOfBlock<Ops, kStep>();
  const int64_t M = ops.rows();
  const int rowTiles = static_cast<int>((M + 15) / 16);
  T *shared = sharedMemory<T>();
  const int thread = static_cast<int>(threadIdx.x);
  const int lane = thread & 31, warp = thread >> 5;
  const int64_t n0 =
      static_cast<int64_t>(blockIdx.y) * geometry::kProjectionFewColumns +
      half * kColumns;
  const int warpColumn = 16 * warp;
  const T *x = ops.x();
  const T *weight = ops.weight();
  // `rows` rows × 64 of K from `data` [limit, K] into a tile of pitch kPitch:
  // 8 segments of 16 bytes a row, zeros past `limit` and past K.
  auto copyTile = [&](T *tile, const T *data, int64_t r0, int rows,
                      int64_t limit, int64_t k0) {
    for (int segment = thread; segment < rows * 8; segment += kThreads) {
      const int row = segment / 8, c = (segment % 8) * 8;
      const int64_t r = r0 + row, k = k0 + c;
      const bool valid = r < limit && k < K;
      copyAsync16(&tile[row * kPitch + c], valid ? data + r * K + k : data,
                  valid);
    }
  };
  auto copyStep = [&](int step) {
    T *stage = shared + (step % kStages) * kStageElements;
    const int64_t k0 = static_cast<int64_t>(firstStep + step) * kStep;
    copyTile(stage, x, 0, 16 * rowTiles, M, k0);
    copyTile(stage + kRows * kPitch, weight, n0, kColumns, N, k0);
  };

  float accumulators[4][2][4] = {};
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < steps)
      copyStep(s);
    copyAsyncCommit();
  }
  for (int step = 0; step < steps; ++step) {
    copyAsyncWait<kStages - 2>();
    __syncthreads(); // step's tiles are in; step - 1's buffer is free
    if (step + kStages - 1 < steps)
      copyStep(step + kStages - 1);
    copyAsyncCommit();
    const T *xTile = shared + (step % kStages) * kStageElements;
    const T *wTile = xTile + kRows * kPitch;
#pragma unroll
    for (int kk = 0; kk < kStep; kk += 16) {
      uint32_t b0[2], b1[2];
      loadBPairNMajor<T>(b0, b1, wTile, kPitch, kk, warpColumn, lane);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        if (i >= rowTiles)
          break;
        uint32_t a[4];
        loadA<T>(a, xTile, kPitch, 16 * i, kk, lane);
        mma16816<T>(accumulators[i][0], a, b0);
        mma16816<T>(accumulators[i][1], a, b1);
      }
    }
  }
  copyAsyncWait<0>();
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if (i >= rowTiles)
      break;
#pragma unroll
    for (int j = 0; j < 2; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t m = 16 * i + accumulatorRow(lane, e);
        const int64_t n = n0 + warpColumn + 8 * j + accumulatorColumn(lane, e);
        if (m < M && n < N) {
          if constexpr (Ops::kSplits == 1)
            ops.store(m, n, accumulators[i][j][e]);
          else
            ops.storePartial(blockIdx.z, m, n, accumulators[i][j][e]);
        }
      }
  }
}

/// Every row × 256 columns on wgmma (sm_90a): warpgroup g computes all 64
/// rows × columns 128g..128g+127 of the block's (one m64n128k16 product a
/// k step), both reading the one x tile. Step s's tiles land in buffer
/// s % kStages; the copies of step s + kStages - 2 are issued once every
/// warpgroup is past step s - 2's products (the buffer they take), so that
/// kStages - 2 steps of W are in flight while a step's products run.
template <class T, class Ops>
SSM_DEVICE void projectionFewRowsWgmma(const Ops &ops) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kRows = geometry::kProjectionFewRows;
  constexpr int kColumns = geometry::kProjectionFewColumns;
  constexpr int kStep = geometry::kProjectionWgmmaStep;
  constexpr int kStages = geometry::kProjectionFewStages;
  constexpr int kXBytes = kRows * kStep * 2, kWBytes = kColumns * kStep * 2;
  static_assert(kRows == 64 && kColumns == 256 && kThreads == 256 &&
                    kStep == 64 && sizeof(T) == 2,
                "two warpgroups of 64 × 128, one swizzled block a row");
  static_assert(kStages >= 3, "copies ahead of one group of products");
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  const auto [firstStep, steps] = projectionSplitOfBlock<Ops, kStep>();
  const int64_t M = ops.rows();
  unsigned char *shared = sharedMemory<unsigned char>();
  unsigned char *tiles =
      shared + ((1024 - sharedAddress(shared) % 1024) % 1024);
  const uint32_t tilesAddress = sharedAddress(tiles);
  const int thread = static_cast<int>(threadIdx.x);
  const int group = thread / 128;
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kColumns;
  const T *x = ops.x();
  const T *weight = ops.weight();
  auto copyStep = [&, firstStep = firstStep](int step) {
    unsigned char *stage = tiles + (step % kStages) * (kXBytes + kWBytes);
    const int64_t k0 = static_cast<int64_t>(firstStep + step) * kStep;
    copySwizzledRowsAsync<kRows, kStep, kThreads>(stage, x, 0, M, k0, K);
    copySwizzledRowsAsync<kColumns, kStep, kThreads>(stage + kXBytes, weight,
                                                     n0, N, k0, K);
  };

  float accumulators[16][4];
#pragma unroll
  for (int j = 0; j < 16; ++j)
#pragma unroll
    for (int i = 0; i < 4; ++i)
      accumulators[j][i] = 0.0f;
  wgmmaPipeline<kStages>(steps, copyStep, [&](int buffer) {
    const uint32_t stage = tilesAddress + buffer * (kXBytes + kWBytes);
#pragma unroll
    for (int ks = 0; ks < kStep / 16; ++ks)
      wgmmaSS<T, 128>(accumulators, kMajorDescriptor<kRows>(stage, 0, ks),
                      kMajorDescriptor<kColumns>(stage + kXBytes, 128 * group,
                                                 ks),
                      1);
  });
  wgmmaFenceOperands(accumulators);
  copyAsyncWait<0>();

  const int lane = thread % 32, warpRow = 16 * (thread / 32 % 4);
#pragma unroll
  for (int j = 0; j < 16; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int64_t m = warpRow + accumulatorRow(lane, e);
      const int64_t n = n0 + 128 * group + 8 * j + accumulatorColumn(lane, e);
      if (m < M && n < N) {
        if constexpr (Ops::kSplits == 1)
          ops.store(m, n, accumulators[j][e]);
        else
          ops.storePartial(blockIdx.z, m, n, accumulators[j][e]);
      }
    }
}

template <class T, class Ops> SSM_DEVICE void projectionVector(const Ops &ops) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kColumns = geometry::kProjectionColumns;
  constexpr int kMaxRows = geometry::kProjectionVectorRows;
  constexpr int kSplit = Ops::kVectorSplit;
  static_assert(kSplit >= 4 && kSplit <= 16 && (kSplit & (kSplit - 1)) == 0,
                "whole rows of W a warp");
  constexpr int kRowsPerWarp = kColumns / kSplit / (kThreads / 32);
  constexpr int kSlice = geometry::kProjectionSlice;
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  float *xSlice = sharedMemory<float>();
  const int thread = static_cast<int>(threadIdx.x);
  const int lane = thread & 31, warp = thread >> 5;
  const int64_t M = ops.rows();
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kColumns +
                     static_cast<int64_t>(blockIdx.z) * (kColumns / kSplit) +
                     static_cast<int64_t>(warp) * kRowsPerWarp;
  const T *weight = ops.weight();
  const T *x = ops.x();
  float sums[kRowsPerWarp][kMaxRows] = {};
  for (int64_t s0 = 0; s0 < K; s0 += kSlice) {
    const int width = static_cast<int>(K - s0 < kSlice ? K - s0 : kSlice);
    __syncthreads(); // the last slice is used up
    for (int i = thread; i < kMaxRows * kSlice; i += kThreads) {
      const int m = i / kSlice, k = i % kSlice;
      xSlice[i] = m < M && k < width ? toFloat(x[m * K + s0 + k]) : 0.0f;
    }
    __syncthreads();
    // Each lane takes 8 consecutive k of each 256-wide segment, the loads
    // of four segments issued before their products (more bytes in flight
    // a warp: the form is bound by W's stream).
    constexpr int kUnroll = 4;
    for (int k0 = lane * 8; k0 < width; k0 += 256 * kUnroll) {
      uint4 words[kUnroll][kRowsPerWarp];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          const int64_t n = n0 + r;
          const int k = k0 + 256 * u;
          if (n < N && k < width)
            words[u][r] =
                *reinterpret_cast<const uint4 *>(weight + n * K + s0 + k);
          else
            words[u][r] = uint4{0, 0, 0, 0};
        }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int k = k0 + 256 * u;
        if (k >= width)
          break;
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) {
          const T *w = reinterpret_cast<const T *>(&words[u][r]);
#pragma unroll
          for (int m = 0; m < kMaxRows; ++m) {
            const float *x = xSlice + m * kSlice + k;
            float sum = sums[r][m];
#pragma unroll
            for (int e = 0; e < 8; ++e)
              sum += toFloat(w[e]) * x[e];
            sums[r][m] = sum;
          }
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r)
#pragma unroll
    for (int m = 0; m < kMaxRows; ++m) {
      float sum = warpSum(sums[r][m]);
      const int64_t n = n0 + r;
      if (lane == 0 && m < M && n < N)
        ops.store(m, n, sum);
    }
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_MATMUL_CUH
