// Projections y = x · Wᵀ (W [N, K] row-major, 16-bit values; x [M, K] the
// same type, staged row-major by the kernel before, which evaluates its
// fused glue once) on tensor cores: each block computes 128 rows × 128
// columns of y with 8 warps of 64 × 32 (mma.sync m16n8k16, f32
// accumulators), stepping through K 32 at a time with two shared buffers:
// the next step's tiles of x and W are copied asynchronously (16 bytes a
// thread) while this step's products run.
//
// With at most kProjectionVectorRows rows (decode) the same grid computes a
// matrix-vector product instead: the grid's z splits each block's columns
// four ways, x is staged in shared memory a slice of K at a time, and each
// warp streams 4 rows of W once, 16 bytes a lane, reducing across lanes at
// the end.
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

namespace ssm {
namespace device {

template <class T, class Ops> SSM_DEVICE void projectionVector(const Ops &ops);

template <class T, class Ops> SSM_DEVICE void projection(const Ops &ops) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kRows = geometry::kProjectionRows;
  constexpr int kColumns = geometry::kProjectionColumns;
  constexpr int kStep = geometry::kProjectionStep;
  constexpr int kPitch = geometry::kProjectionPitch;
  constexpr int64_t N = Ops::kColumns, K = Ops::kDepth;
  static_assert(K % 8 == 0, "W's rows are copied 16 bytes at a time");
  const int64_t M = ops.rows();
  if (M <= geometry::kProjectionVectorRows) {
    projectionVector<T>(ops);
    return;
  }
  if (blockIdx.z != 0)
    return; // the matrix-vector form's split
  T *shared = sharedMemory<T>();
  T *xTile[2] = {shared, shared + kRows * kPitch};
  T *wTile[2] = {shared + 2 * kRows * kPitch,
                 shared + 2 * kRows * kPitch + kColumns * kPitch};
  const int thread = static_cast<int>(threadIdx.x);
  const int lane = thread & 31, warp = thread >> 5;
  const int64_t m0 = static_cast<int64_t>(blockIdx.x) * kRows;
  const int64_t n0 = static_cast<int64_t>(blockIdx.y) * kColumns;
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

template <class T, class Ops> SSM_DEVICE void projectionVector(const Ops &ops) {
  constexpr int kThreads = geometry::kProjectionThreads;
  constexpr int kColumns = geometry::kProjectionColumns;
  constexpr int kMaxRows = geometry::kProjectionVectorRows;
  constexpr int kSplit = geometry::kProjectionVectorSplit;
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
