// Elementwise kernels: the glue a mixer does not absorb (and copies into a
// function's outputs) as one grid-stride loop over the result's elements.
// The generated `Ops` provides `int64_t size()` and `void compute(index)`,
// which reads its inputs (fused producers recomputed) and stores element
// `index` of the row-major result.
#ifndef SSM_DEVICE_ELEMENTWISE_CUH
#define SSM_DEVICE_ELEMENTWISE_CUH

#include "ssm/device/device.cuh"
#include "ssm/device/geometry.h"

namespace ssm {
namespace device {

template <class Ops> SSM_DEVICE void elementwise(const Ops &ops) {
  const int64_t size = ops.size();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       index < size; index += stride)
    ops.compute(index);
}

/// A warp an element (a row's reduction): `compute(index, lane)` on every
/// lane of the warp, the loop warp-uniform so that lanes can combine.
template <class Ops> SSM_DEVICE void warpPerElement(const Ops &ops) {
  const int64_t size = ops.size();
  const int warpsPerBlock = static_cast<int>(blockDim.x) / 32;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * warpsPerBlock;
  const int lane = static_cast<int>(threadIdx.x) & 31;
  for (int64_t index = static_cast<int64_t>(blockIdx.x) * warpsPerBlock +
                       threadIdx.x / 32;
       index < size; index += stride)
    ops.compute(index, lane);
}

/// The index of each row's largest value (a row argmax: greedy decoding's
/// next token), a block of kArgmaxThreads a row: the first of equal largest
/// values, NaN never the largest, 0 where no value is above -inf (as the
/// reduction's initial value -inf and index 0 give). Each thread keeps the
/// best of every kArgmaxThreads-th value (kArgmaxUnroll loads in flight),
/// then the block combines them, the larger value or the lower index of
/// equal ones winning. The generated `Ops` provides `int64_t rows()`,
/// `int64_t length()`, `float value(row, i)` and `void store(row, index)`.
template <class Ops> SSM_DEVICE void rowArgmax(const Ops &ops) {
  constexpr int kThreads = geometry::kArgmaxThreads;
  constexpr int kUnroll = geometry::kArgmaxUnroll;
  constexpr int kWarps = kThreads / 32;
  int64_t *warpAt = sharedMemory<int64_t>(); // argmaxSharedBytes()
  float *warpBest = reinterpret_cast<float *>(warpAt + kWarps);
  const int thread = static_cast<int>(threadIdx.x);
  const int lane = thread & 31, warp = thread >> 5;
  const int64_t rows = ops.rows(), length = ops.length();
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    float best = -INFINITY;
    int64_t at = length; // none above -inf yet
    for (int64_t i0 = thread; i0 < length;
         i0 += static_cast<int64_t>(kThreads) * kUnroll) {
      float values[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const int64_t i = i0 + static_cast<int64_t>(u) * kThreads;
        values[u] = i < length ? ops.value(row, i) : -INFINITY;
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u)
        if (values[u] > best) { // a thread's indices ascend: the first kept
          best = values[u];
          at = i0 + static_cast<int64_t>(u) * kThreads;
        }
    }
    auto better = [](float value, int64_t index, float than, int64_t thanAt) {
      return value > than || (value == than && index < thanAt);
    };
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2) {
      const float otherBest = __shfl_xor_sync(0xffffffffu, best, offset);
      const int64_t otherAt = __shfl_xor_sync(0xffffffffu, at, offset);
      if (better(otherBest, otherAt, best, at)) {
        best = otherBest;
        at = otherAt;
      }
    }
    if (lane == 0) {
      warpBest[warp] = best;
      warpAt[warp] = at;
    }
    __syncthreads();
    if (thread == 0) {
      for (int w = 1; w < kWarps; ++w)
        if (better(warpBest[w], warpAt[w], best, at)) {
          best = warpBest[w];
          at = warpAt[w];
        }
      ops.store(row, at < length ? at : 0);
    }
    __syncthreads(); // the warps' bests are read before the next row's
  }
}

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_ELEMENTWISE_CUH
