// Elementwise kernels: the glue a mixer does not absorb (and copies into a
// function's outputs) as one grid-stride loop over the result's elements.
// The generated `Ops` provides `int64_t size()` and `void compute(index)`,
// which reads its inputs (fused producers recomputed) and stores element
// `index` of the row-major result.
#ifndef SSM_DEVICE_ELEMENTWISE_CUH
#define SSM_DEVICE_ELEMENTWISE_CUH

#include "ssm/device/device.cuh"

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

} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_ELEMENTWISE_CUH
