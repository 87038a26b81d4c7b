// Launch geometry of the device kernel templates: threads per block, shared
// memory bytes and what the grid runs over. Plain C++ (no CUDA), included by
// the templates and by ssmc's CUDA emitter, so that the launch the manifest
// records is the one the kernel was written for.
#ifndef SSM_DEVICE_GEOMETRY_H
#define SSM_DEVICE_GEOMETRY_H

// What the kernels evaluate on the device too (nvcc calls a plain constexpr
// function host-only).
#if defined(__CUDACC__)
#define SSM_GEOMETRY_DEVICE __host__ __device__
#else
#define SSM_GEOMETRY_DEVICE
#endif

namespace ssm {
namespace device {
namespace geometry {

/// Projections (x · Wᵀ, W of 16-bit values, matmul.cuh): three forms by the
/// rows M, each a launch of 8 warps a block that runs for its rows:
///   - M ≤ kProjectionVectorRows: a matrix-vector product (decode at batch
///     ≤ 4), grid (1, ceil(N / 128), projectionVectorSplit(N));
///   - M ≤ kProjectionFewRows: every row × 256 columns a block (decode at
///     larger batches), grid (1, ceil(N / 256), projectionSplits(N, K)):
///     the grid's z splits K, and a kernel after it adds the splits;
///   - larger M: 128 × 256 tiles, grid (ceil(M / 128), ceil(N / 256), 1).
constexpr int kProjectionThreads = 256;
constexpr int kProjectionRows = 128;
constexpr int kProjectionColumns = 128;
constexpr int kProjectionVectorRows = 4;
constexpr int kProjectionFewRows = 64;
constexpr int kProjectionTileColumns = 256;
/// The matrix-vector form's z: each 128 columns split among that many
/// blocks (4, 8 or 16: 4, 2 or 1 rows of W a warp), the fewest that give
/// kProjectionSplitBlocks blocks (more SMs streaming W).
constexpr int kProjectionVectorSplit = 4;
constexpr int kProjectionMaxVectorSplit = 16;
constexpr int kProjectionSplitBlocks = 264;
constexpr int projectionVectorSplit(long long columns) {
  const long long blocks = (columns + kProjectionColumns - 1) / kProjectionColumns;
  int split = kProjectionVectorSplit;
  while (split < kProjectionMaxVectorSplit && blocks * split < kProjectionSplitBlocks)
    split *= 2;
  return split;
}
/// Tiles on mma.sync (sm_90 without the `a` features): K steps of 32, rows
/// padded to 40 (16-byte aligned, ldmatrix without bank conflicts), two
/// buffers of x's and W's tiles.
constexpr int kProjectionStep = 32;
constexpr int kProjectionPitch = kProjectionStep + 8;
/// Tiles on wgmma (sm_90a): K steps of 64 (one 128-byte swizzled block a
/// row), kProjectionWgmmaStages buffers (copies two steps ahead of the
/// products, one group of products in flight), 1024-byte aligned.
constexpr int kProjectionWgmmaStep = 64;
constexpr int kProjectionWgmmaStages = 4;
/// The few-row form: 256 columns a block, K steps of 64. On wgmma (sm_90a)
/// kProjectionFewStages swizzled buffers (1024-byte aligned; one block an
/// SM); on mma.sync rows padded to 72, four buffers. K is split so that the
/// blocks fill the SMs' waves best (kProjectionFewSlots blocks at once:
/// the H100's and H200's 132 SMs), each split at least
/// kProjectionMinSplitSteps steps of K (the pipeline's start amortized);
/// of splits that fill about as well, the fewest (less to add after).
constexpr int kProjectionFewColumns = 256;
constexpr int kProjectionFewStep = 64;
constexpr int kProjectionFewPitch = kProjectionFewStep + 8;
constexpr int kProjectionFewStages = 5;
constexpr int kProjectionFewMmaStages = 4;
constexpr int kProjectionFewSlots = 132;
constexpr int kProjectionMinSplitSteps = 4;
constexpr long long projectionSplits(long long columns, long long depth) {
  const long long blocks =
      (columns + kProjectionFewColumns - 1) / kProjectionFewColumns;
  const long long steps = (depth + kProjectionFewStep - 1) / kProjectionFewStep;
  const long long most = steps / kProjectionMinSplitSteps;
  // The share of the waves' slots that `splits` fill, in thousandths, with
  // the splits a block's share of the steps leaves (none empty).
  auto filled = [&](long long splits) {
    const long long splitSteps = (steps + splits - 1) / splits;
    const long long used = blocks * ((steps + splitSteps - 1) / splitSteps);
    const long long waves = (used + kProjectionFewSlots - 1) / kProjectionFewSlots;
    return used * 1000 / (waves * kProjectionFewSlots);
  };
  long long best = 1;
  for (long long splits = 2; splits <= most; ++splits)
    if (filled(splits) * 50 > filled(best) * 51) // 2 % better
      best = splits;
  const long long splitSteps = (steps + best - 1) / best;
  return (steps + splitSteps - 1) / splitSteps;
}
/// The matrix-vector form stages slices of 1024 of K as f32.
constexpr int kProjectionSlice = 1024;
/// Shared memory of each form, 16-bit operands. The tiled launch holds the
/// wgmma form's (the kernel takes the mma.sync one on sm_90, in less).
constexpr int projectionTilesSharedBytes() {
  constexpr int wgmma = kProjectionWgmmaStages *
                            (kProjectionRows + kProjectionTileColumns) *
                            kProjectionWgmmaStep * 2 +
                        1024;
  constexpr int mma =
      2 * (kProjectionRows + kProjectionColumns) * kProjectionPitch * 2;
  return wgmma > mma ? wgmma : mma;
}
constexpr int projectionFewRowsSharedBytes() {
  constexpr int wgmma = kProjectionFewStages *
                            (kProjectionFewRows + kProjectionFewColumns) *
                            kProjectionFewStep * 2 +
                        1024;
  constexpr int mma = kProjectionFewMmaStages *
                      (kProjectionFewRows + kProjectionColumns) *
                      kProjectionFewPitch * 2;
  return wgmma > mma ? wgmma : mma;
}
constexpr int projectionVectorSharedBytes() {
  return kProjectionVectorRows * kProjectionSlice * 4;
}
/// The tiled form's order of tiles: the grid's linear block index (x
/// fastest) walks groups of kProjectionGroupRows row tiles, a column at a
/// time within each, so that the blocks running at once share their x rows
/// and W columns in L2 (in the grid's own order each wave of blocks would
/// cover all of x's rows, re-read from memory for every column of tiles).
constexpr unsigned kProjectionGroupRows = 16;
struct ProjectionTile {
  unsigned row, column;
};
SSM_GEOMETRY_DEVICE constexpr ProjectionTile
projectionTileAt(unsigned linear, unsigned rowTiles, unsigned columnTiles) {
  const unsigned perGroup = kProjectionGroupRows * columnTiles;
  const unsigned firstRow = linear / perGroup * kProjectionGroupRows;
  const unsigned rows = rowTiles - firstRow < kProjectionGroupRows
                            ? rowTiles - firstRow
                            : kProjectionGroupRows;
  const unsigned within = linear % perGroup;
  return {firstRow + within % rows, within / rows};
}

/// W's rows are copied 16 bytes at a time: K a multiple of 8.
constexpr bool projectionTakes(long long depth) { return depth % 8 == 0; }

/// Every mixer kernel runs 4 warps per block.
constexpr int kMixThreads = 128;
/// Elementwise kernels: threads per block.
constexpr int kElementwiseThreads = 256;
/// A row argmax (elementwise.cuh): a block a row, grid (rows); loads of
/// kArgmaxUnroll values a thread in flight (a 50K-entry vocabulary's logits
/// in a few rounds).
constexpr int kArgmaxThreads = 1024;
constexpr int kArgmaxUnroll = 8;
constexpr int argmaxSharedBytes() { return kArgmaxThreads / 32 * (8 + 4); }

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
/// The state sizes whose products run on wgmma where the build has it
/// (sm_90a): the swizzled tiles are 64 columns wide. Others (and sm_90
/// builds) run mma.sync.
SSM_GEOMETRY_DEVICE constexpr bool chunkedMmaTakesWgmma(long long stateSize) {
  return stateSize % 64 == 0;
}
/// Blocks an SM the plan may ask for. Two: two buffers of the C and B chunks
/// (the next chunk's copy lands while this one is computed). Three: one
/// buffer, 168 registers a thread (some spilled); on the H200 each block of
/// the mma.sync form ran about 1.9x slower, which pays only where the grid
/// has more blocks than two an SM and at most three (SSD B4 L16384: 320
/// blocks, 3.36 -> 3.13 ms), i.e. where two an SM would end on a second,
/// mostly idle wave.
constexpr bool chunkedMmaTakesBlocksPerSM(long long blocks) {
  return blocks == 2 || blocks == 3;
}
SSM_GEOMETRY_DEVICE constexpr int chunkedMmaBuffers(int blocksPerSM) {
  return blocksPerSM == 3 ? 1 : 2;
}
/// The blocks an SM that suit a grid of `blocks` on `multiprocessors` SMs
/// (0: unknown, two).
constexpr int chunkedMmaBlocksPerSM(long long blocks,
                                    long long multiprocessors) {
  return multiprocessors > 0 && blocks > 2 * multiprocessors &&
                 blocks <= 3 * multiprocessors
             ? 3
             : 2;
}
/// Sequence segments (the plan's `segments`): a first launch computes the
/// state each segment but the last ends with, from its own positions alone
/// (the state update only), a second folds those into the state each
/// segment starts from, then every segment runs as a block of its own. Pays
/// where the grid of whole sequences leaves SMs idle: few blocks (B1), or a
/// last wave mostly empty.
constexpr int kChunkedMmaMaxSegments = 64;
constexpr bool chunkedMmaTakesSegments(long long segments) {
  return segments >= 2 && segments <= kChunkedMmaMaxSegments &&
         (segments & (segments - 1)) == 0;
}
/// The segments that suit a grid of `blocks` whole sequences of `chunks`
/// chunks on `multiprocessors` SMs (0: no split). Estimated in chunk times
/// at two blocks an SM: each wave of blocks costs its chunks plus about one
/// more (start, state load and store, the wave's tail); the state launch's
/// chunks about 0.45 of one (the state update only); the fold one plus 0.2
/// a segment (dependent loads). Three blocks an SM (one buffer) ran a chunk
/// 1.9x slower than two (H200), which S = 1 may take. Against a sweep of S
/// on the H200 (SSD B1 L2048, B1 L8192, B4 L16384; GLA B1 L2048, B4 L16384)
/// it picked the fastest S or one within 8 % of it.
constexpr int chunkedMmaSegments(long long blocks, long long chunks,
                                 long long multiprocessors) {
  if (multiprocessors <= 0 || blocks <= 0 || chunks <= 1)
    return 0;
  const long long slots = 2 * multiprocessors;
  auto ceilDiv = [](long long a, long long b) { return (a + b - 1) / b; };
  const double whole =
      chunkedMmaBlocksPerSM(blocks, multiprocessors) == 3
          ? 1.9 * static_cast<double>(chunks) + 1.0
          : static_cast<double>(ceilDiv(blocks, slots)) *
                (static_cast<double>(chunks) + 1.0);
  double best = whole;
  int chosen = 0;
  for (long long segments = 2; segments <= kChunkedMmaMaxSegments &&
                               segments <= chunks;
       segments *= 2) {
    const double length = static_cast<double>(ceilDiv(chunks, segments));
    const double time =
        static_cast<double>(ceilDiv(blocks * segments, slots)) *
            (length + 1.0) +
        static_cast<double>(ceilDiv(blocks * (segments - 1), slots)) *
            (0.45 * length + 1.0) +
        1.0 + 0.2 * static_cast<double>(segments - 1);
    // A split must win clearly.
    if (time < 0.95 * best) {
      best = time;
      chosen = static_cast<int>(segments);
    }
  }
  return chosen;
}
/// The C and B buffers, X and w∘X, the 16-bit state copy (rows padded by 8
/// elements so that ldmatrix rows fall in distinct banks), cum (f32).
SSM_GEOMETRY_DEVICE constexpr int chunkedMmaSharedBytes(int stateSize,
                                                   int blocksPerSM) {
  return 2 * (chunkedMmaBuffers(blocksPerSM) * 2 * 64 * (stateSize + 8) +
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

/// quadraticWgmma (sm_90a): two warpgroups of 64 query rows a block, key
/// tiles of 128, head dims 64 or 128.
constexpr int kQuadraticWgmmaRows = 128;
constexpr int kQuadraticWgmmaKeys = 128;
constexpr int kQuadraticWgmmaThreads = 256;
/// The planner takes it from this state size up (CudaMapping.cpp says why).
constexpr int kQuadraticWgmmaMinState = 128;
SSM_GEOMETRY_DEVICE constexpr bool quadraticWgmmaTakes(long long stateSize,
                                                       long long valueDim) {
  return (stateSize == 64 || stateSize == 128) &&
         (valueDim == 64 || valueDim == 128);
}
/// The Q tile and two buffers of K and V tiles (16-bit, swizzled), and 1024
/// bytes to align them.
constexpr int quadraticWgmmaSharedBytes(int stateSize, int valueDim) {
  return 1024 + 2 * (kQuadraticWgmmaRows * stateSize +
                     2 * kQuadraticWgmmaKeys * (stateSize + valueDim));
}

/// quadraticMma visits heads in groups whose keys and values (length rows
/// of `rowBytes` each) take at most this much, so that the query blocks of
/// a group, running together, read them from L2. They walk the keys from
/// the diagonal down together, so the keys in use at once are a part of the
/// group's: on the H200 (50 MB of L2) groups of up to 64 MB ran fastest
/// (hd128 L8192: all 16 heads 1.72 ms, 6 heads 1.77, one 1.83).
constexpr long long kAttentionL2Bytes = 64ll << 20;
SSM_GEOMETRY_DEVICE constexpr int
attentionHeadGroup(long long length, long long rowBytes, int heads) {
  const long long fit =
      kAttentionL2Bytes / (length * rowBytes > 0 ? length * rowBytes : 1);
  return fit < 1 ? 1 : (fit > heads ? heads : static_cast<int>(fit));
}

/// What block `linear` = x + blocks·y of a sequence's (blocks, heads) grid
/// computes. Blocks start in the order of their linear index, so it is
/// re-read: groups of `group` heads (attentionHeadGroup) one after another,
/// within a group the query blocks, heads fastest; `longestFirst` (causal
/// and window masks) numbers query blocks from the last, which read the
/// most keys, so that the grid does not end on a few long blocks (head by
/// head, a list-scheduling model of L2048 and L8192 causal attention put the
/// end 15 % past the work's share per SM; measured, longest first in head
/// groups ran 5-6 % faster on the H200).
struct AttentionBlock {
  unsigned head, queryBlock;
};
SSM_GEOMETRY_DEVICE constexpr AttentionBlock
attentionBlockAt(unsigned linear, unsigned blocks, unsigned heads,
                 unsigned group, bool longestFirst) {
  const unsigned perGroup = group * blocks;
  const unsigned g = linear / perGroup, within = linear % perGroup;
  const unsigned inGroup =
      heads - g * group < group ? heads - g * group : group;
  const unsigned rank = within / inGroup;
  return {g * group + within % inGroup,
          longestFirst ? blocks - 1 - rank : rank};
}

/// What a block may use on sm_90 (227 KB with the opt-in attribute).
constexpr int kMaxSharedBytes = 227 * 1024;

} // namespace geometry
} // namespace device
} // namespace ssm

#endif // SSM_DEVICE_GEOMETRY_H
