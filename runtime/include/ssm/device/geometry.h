// Launch geometry of the device kernel templates: threads per block, shared
// memory bytes and what the grid runs over. Plain C++ (no CUDA), included by
// the templates and by ssmc's CUDA emitter, so that the launch the manifest
// records is the one the kernel was written for.
#ifndef SSM_DEVICE_GEOMETRY_H
#define SSM_DEVICE_GEOMETRY_H

namespace ssm {
namespace device {
namespace geometry {

/// Every mixer kernel runs 4 warps per block.
constexpr int kMixThreads = 128;
/// Elementwise kernels: threads per block.
constexpr int kElementwiseThreads = 256;

/// recurrentRowPerThread: grid (ceil(H·P / 128), B); q and k steps staged.
constexpr int kRowPerThreadSteps = 16;
constexpr int rowPerThreadSharedBytes(int computeBytes, int stateSize,
                                      bool staged) {
  return staged ? 2 * kRowPerThreadSteps * stateSize * computeBytes : 0;
}
/// The largest state size a thread keeps in registers.
constexpr int kRowPerThreadMaxState = 32;

/// recurrentRowSliced: grid (ceil(H·P / (128 / lanes · rows)), B), no shared
/// memory.
constexpr int rowSlicedRowsPerBlock(int lanes, int rows) {
  return kMixThreads / lanes * rows;
}

/// chunkedSimt: grid (H, B).
constexpr int chunkedSimtSharedBytes(int computeBytes, int chunk, int stateSize,
                                     int valueDim) {
  return computeBytes * (2 * chunk * stateSize + chunk * valueDim +
                         chunk * chunk + valueDim * stateSize + chunk);
}

/// chunkedMma: chunks of 64, value tiles of 64; grid (P / 64, H, B).
constexpr int kChunkedMmaChunk = 64;
constexpr int kChunkedMmaValueTile = 64;
/// The head dims the tensor-core chunked kernel takes (with 16-bit q, k, v);
/// the cost model offers only its chunk size for them.
constexpr bool chunkedMmaTakes(long long stateSize, long long valueDim) {
  return stateSize % 16 == 0 && stateSize <= 128 &&
         valueDim % kChunkedMmaValueTile == 0;
}
/// Two buffers of the C and B chunks (the next chunk's copy lands while this
/// one is computed) and no minimum of blocks per SM: on the H200, one buffer
/// with three blocks an SM (168 registers, spilling) ran 1.2-2x slower than
/// two buffers with two blocks, except where two blocks an SM leave a
/// partial wave.
constexpr int kChunkedMmaBuffers = 2;
constexpr int kChunkedMmaBlocksPerSM = 0; // 0: none asked
/// The C and B buffers, X and w∘X, the 16-bit state copy (rows padded by 8
/// elements so that ldmatrix rows fall in distinct banks), cum (f32).
constexpr int chunkedMmaSharedBytes(int stateSize) {
  return 2 * (kChunkedMmaBuffers * 2 * 64 * (stateSize + 8) +
              2 * 64 * (kChunkedMmaValueTile + 8) +
              kChunkedMmaValueTile * (stateSize + 8)) +
         4 * 64;
}

/// quadraticSimt: blocks of 16 query rows, key tiles of 64; grid
/// (ceil(L / 16), H, B).
constexpr int kQuadraticSimtRows = 16;
constexpr int kQuadraticKeys = 64;
constexpr int quadraticSimtSharedBytes(int computeBytes, int stateSize,
                                       int valueDim) {
  return computeBytes *
         (kQuadraticSimtRows * stateSize + kQuadraticKeys * stateSize +
          kQuadraticKeys * valueDim + 2 * kQuadraticKeys + kQuadraticSimtRows +
          stateSize + 4 * kQuadraticKeys + 1);
}

/// quadraticMma: blocks of 64 query rows per m-tile of each warp; grid
/// (ceil(L / (64 · m-tiles)), H, B).
constexpr int quadraticMmaRows(int mTiles) { return 64 * mTiles; }
/// The head dims it takes (16-bit q, k, v; no diagonal decay).
constexpr bool quadraticMmaTakes(long long stateSize, long long valueDim) {
  return stateSize % 16 == 0 && valueDim % 16 == 0 && stateSize <= 128 &&
         valueDim <= 128;
}
/// The Q tile, two buffers of K and V tiles (16-bit, rows padded by 8) and
/// the decay sums (f32).
constexpr int quadraticMmaSharedBytes(int stateSize, int valueDim,
                                      int mTiles) {
  return 2 * (quadraticMmaRows(mTiles) * (stateSize + 8) +
              2 * 64 * (stateSize + 8) + 2 * 64 * (valueDim + 8)) +
         4 * (2 * 64 + quadraticMmaRows(mTiles) + 4);
}

/// What a block may use on sm_90 (227 KB with the opt-in attribute).
constexpr int kMaxSharedBytes = 227 * 1024;

} // namespace geometry
} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_GEOMETRY_H
