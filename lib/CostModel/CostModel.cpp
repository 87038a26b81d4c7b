//===- CostModel.cpp - Time estimates of ssm.mix algorithms ---------------===//
//
// Counts the FLOPs, exponentials, bytes and dependent steps of the kernels
// that ssm-lower-{quadratic,recurrent,chunked} generate, and turns them into
// seconds on a target (formula in CostModel.h).
//
//===----------------------------------------------------------------------===//

#include "ssm/CostModel/CostModel.h"
#include "ssm/CostModel/Measurements.h"

#include "ssm/device/geometry.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <numeric>

using namespace llvm;
using namespace ssm::cost;

int64_t MixShape::elementBytes() const {
  switch (elementType) {
  case ElementType::F32:
    return 4;
  case ElementType::BF16:
  case ElementType::F16:
    return 2;
  case ElementType::F64:
    return 8;
  }
  llvm_unreachable("unknown element type");
}

std::optional<std::string> ssm::cost::whyIllegal(const MixShape &shape,
                                                 Algorithm algorithm) {
  return contract::whyIllegal(algorithm, shape.score, shape.mask, shape.decay,
                              shape.isAgainstCache());
}

std::vector<int64_t>
ssm::cost::candidateChunkSizes(const MixShape &shape,
                               const TargetDescription &target) {
  std::vector<int64_t> sizes;
  if (target.kind == TargetKind::Gpu) {
    bool sixteenBit = shape.elementType == ElementType::BF16 ||
                      shape.elementType == ElementType::F16;
    if (sixteenBit && ::ssm::device::geometry::chunkedMmaTakes(
                          shape.stateSize, shape.valueHeadDim))
      return {::ssm::device::geometry::kChunkedMmaChunk};
    return {16, 32, 64};
  }
  for (int64_t size : {32, 64, 128, 256})
    if (size <= std::max<int64_t>(shape.length, 32))
      sizes.push_back(size);
  return sizes;
}

//===----------------------------------------------------------------------===//
// Work of each algorithm
//===----------------------------------------------------------------------===//

namespace {
/// What a candidate computes and moves, before it becomes seconds.
struct Work {
  double matrixFlops = 0, vectorFlops = 0, specialOps = 0, bytes = 0;
  int64_t depth = 0, workItems = 1;
  /// Share of the vector lanes the kernel fills.
  double laneFraction = 1;
  /// Scratch of one work item (bytes) and how often a step touches it.
  double scratchBytes = 0;
  int64_t scratchSteps = 0;
  std::string remark;
};
} // namespace

// Tile sizes of the generated kernels (LowerRecurrent.cpp: positions per
// block; LowerQuadratic.cpp: query rows and keys per tile).
static constexpr int64_t kRecurrentBlock = 64;
static constexpr int64_t kQuadraticTile = 64;
// Scratch is f32 whatever the storage type.
static constexpr double kScratchElementBytes = 4;

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// The lanes the lowerings use for an extent: the largest power of two up to
/// `maxLanes` dividing it (MixLowering's lanesDividing).
int64_t ssm::cost::lanesDividing(int64_t extent, int64_t maxLanes) {
  int64_t lanes = 1;
  while (lanes * 2 <= maxLanes && extent % (lanes * 2) == 0)
    lanes *= 2;
  return lanes;
}

MatmulTile ssm::cost::chooseMatmulTile(int64_t m, int64_t n, int64_t width) {
  MatmulTile tile;
  int64_t vectorsPerRow = std::max<int64_t>(1, n / width);
  tile.columnVectors = std::min<int64_t>(vectorsPerRow, m >= 8 ? 2 : 4);
  while (vectorsPerRow % tile.columnVectors != 0)
    --tile.columnVectors;
  for (int64_t candidate : {8, 4, 2, 1})
    if (m % candidate == 0 && candidate * tile.columnVectors <= 16) {
      tile.rows = candidate;
      break;
    }
  return tile;
}

/// FLOPs of the register-tiled matmul micro-kernel (MixLowering's
/// emitMatmul) for C[m, n] (+)= A[m, k] · B[k, n] with `width`-lane vectors;
/// with `triangularC` it visits only the column tiles reaching the diagonal,
/// with `triangularA` only the k ≤ row part of A. Counting its tiles rather
/// than Q²/2 keeps the diagonal tiles' waste in the estimate.
static double matmulFlops(int64_t m, int64_t n, int64_t k, int64_t width,
                          bool triangularC = false, bool triangularA = false) {
  MatmulTile tile = chooseMatmulTile(m, n, width);
  int64_t rows = tile.rows, tileColumns = tile.columnVectors * width;
  double multiplyAdds = 0;
  for (int64_t row = 0; row < m; row += rows) {
    int64_t columns =
        triangularC
            ? std::min(n, ceilDiv(std::min(n, row + rows), tileColumns) *
                              tileColumns)
            : n;
    int64_t depth = triangularA ? std::min(k, row + rows) : k;
    multiplyAdds += static_cast<double>(rows) * columns * depth;
  }
  return 2 * multiplyAdds;
}

/// Every input read and every output written once.
static double inputOutputBytes(const MixShape &s) {
  double tokens = static_cast<double>(s.batch) * s.length;
  double keys = static_cast<double>(s.batch) * s.numKeys();
  double elements =
      tokens * (s.numQueryHeads * s.stateSize + s.numHeads * s.valueHeadDim) +
      keys * (s.numKeyHeads * s.stateSize + s.numValueHeads * s.valueHeadDim);
  if (s.decay != Decay::None)
    elements +=
        tokens * s.numHeads +
        (s.decay == Decay::Diagonal ? s.numHeads * s.stateSize : s.numHeads);
  double state =
      static_cast<double>(s.batch) * s.numHeads * s.valueHeadDim * s.stateSize;
  if (s.hasInitialState)
    elements += state;
  if (s.hasFinalState)
    elements += state;
  return elements * s.elementBytes();
}

/// S_t = a_t ∘ S_{t−1} + k_t v_tᵀ, y_t = S_tᵀ q_t: per token and head,
/// N·P state updates (mul + fma) and outputs (fma), vectorised over value
/// dims, or over heads when a vector of heads shares q and k (Mamba-1), or
/// over state rows at a single position (LowerRecurrent.cpp's plan).
/// With `stateOnly`, the scan that only carries the state to the final one
/// (the GPU quadratic form's): no outputs, no queries read.
static Work recurrentWork(const MixShape &s, const TargetDescription &t,
                          bool stateOnly = false) {
  Work w;
  const int64_t n = s.stateSize, p = s.valueHeadDim;
  int64_t valueLanes = lanesDividing(p, t.vectorLanes);
  int64_t headLanes = 1;
  if (s.numValueHeads == s.numHeads)
    headLanes = lanesDividing(
        std::gcd(s.numHeads / s.numQueryHeads, s.numHeads / s.numKeyHeads),
        t.vectorLanes);
  bool overHeads = headLanes > valueLanes;
  // The CPU lowering at a single position: lanes over state rows, each
  // state element read and written once, no scratch.
  const bool overRows = s.length == 1 && t.kind == TargetKind::Cpu;
  int64_t lanes = overRows    ? lanesDividing(n, t.vectorLanes)
                  : overHeads ? headLanes
                              : valueLanes;
  w.laneFraction = static_cast<double>(lanes) / t.vectorLanes;
  w.workItems =
      s.batch * (overHeads && !overRows ? s.numHeads / headLanes : s.numHeads);
  w.depth = s.length;

  double tokenHeads = static_cast<double>(s.batch) * s.length * s.numHeads;
  // The output's fma is 2 of them.
  double flopsPerUpdate =
      (s.decay == Decay::None ? 4 : 5) - (stateOnly ? 2 : 0);
  w.vectorFlops = tokenHeads * flopsPerUpdate * n * p;
  if (s.decay == Decay::Scalar) {
    // exp(dt · A) once per token and head.
    w.vectorFlops += tokenHeads;
    w.specialOps = tokenHeads;
  } else if (s.decay == Decay::Diagonal) {
    // exp(dt · A_n) per token, head and state row.
    w.vectorFlops += tokenHeads * n;
    w.specialOps = tokenHeads * n;
  }

  w.bytes = inputOutputBytes(s);
  if (stateOnly) // Neither q read nor y written.
    w.bytes -= static_cast<double>(s.batch) * s.length *
               (s.numQueryHeads * s.stateSize + s.numHeads * s.valueHeadDim) *
               s.elementBytes();
  if (overRows) {
    if (w.laneFraction < 1)
      w.remark = formatv("{0} of {1} lanes", lanes, t.vectorLanes).str();
    return w;
  }
  int64_t rowWidth = overHeads ? p * headLanes : p;
  w.scratchBytes =
      kScratchElementBytes *
      (n * rowWidth + 2 * kRecurrentBlock * rowWidth + kRecurrentBlock * lanes +
       (s.decay == Decay::Diagonal ? n * lanes : 0));
  w.scratchSteps = ceilDiv(s.length, kRecurrentBlock);
  if (overHeads)
    w.remark = formatv("lanes over {0} heads", headLanes).str();
  else if (w.laneFraction < 1)
    w.remark = formatv("{0} of {1} lanes", lanes, t.vectorLanes).str();
  return w;
}

/// SSD's four steps per chunk of Q positions and head: (C Bᵀ ∘ L) X on the
/// lower triangle, C · S, Bᵀ · X, the state scan; the (padded) last chunk
/// costs a full one.
static Work chunkedWork(const MixShape &s, const TargetDescription &t,
                        int64_t q) {
  Work w;
  const int64_t n = s.stateSize, p = s.valueHeadDim;
  int64_t chunkLanes = lanesDividing(q, t.vectorLanes);
  int64_t valueLanes = lanesDividing(p, t.vectorLanes);
  bool decay = s.decay != Decay::None;

  double matrix =
      matmulFlops(q, q, n, chunkLanes, /*triangularC=*/true) +
      matmulFlops(q, p, q, valueLanes, false, /*triangularA=*/true) +
      matmulFlops(q, p, n, valueLanes) + matmulFlops(n, p, q, valueLanes);
  double squares = static_cast<double>(q) * q;
  // The mask loop visits the whole Q × Q block: select (no decay) or
  // sub, exp, mul, select; a decay also needs the cumulative sums, the
  // decayed values, the decayed state and their exponentials.
  double vector = decay ? 3 * squares + 2 * q + q * p + n * p : squares;
  double special = decay ? squares + 2 * q + 1 : 0;

  int64_t chunks = ceilDiv(s.length, q);
  double chunkHeads = static_cast<double>(s.batch) * s.numHeads * chunks;
  w.matrixFlops = chunkHeads * matrix;
  w.vectorFlops = chunkHeads * vector;
  w.specialOps = chunkHeads * special;
  w.workItems = s.batch * s.numHeads;
  w.depth = chunks;
  w.scratchBytes =
      kScratchElementBytes * (2 * q * n + 3 * q * p + squares + n * p + 2 * q);
  w.scratchSteps = chunks;
  w.bytes = inputOutputBytes(s);
  return w;
}

/// Flash-style tiles of 64 queries × 64 keys per (batch, head, query block):
/// S = Q Kᵀ (∘ decay), masked, online softmax, O += S V. A diagonal decay has
/// no matmul form: each score sums N decayed products.
static Work quadraticWork(const MixShape &s, const TargetDescription &t) {
  Work w;
  const int64_t n = s.stateSize, p = s.valueHeadDim, tile = kQuadraticTile;
  int64_t keyLanes = lanesDividing(tile, t.vectorLanes);
  int64_t valueLanes = lanesDividing(p, t.vectorLanes);
  bool diagonal = s.decay == Decay::Diagonal;
  bool softmax = s.score == Score::Softmax;

  // Key tiles each block of query rows visits (LowerQuadratic's key range):
  // queries against a cache sit Lk − Lq positions after the first key.
  const int64_t keys = s.numKeys(), offset = keys - s.length;
  int64_t blocks = ceilDiv(s.length, tile);
  double tiles = 0;
  int64_t maxTiles = 0;
  for (int64_t block = 0; block < blocks; ++block) {
    int64_t rowStart = block * tile + offset;
    int64_t keyEnd =
        s.mask == Mask::Full ? keys : std::min(keys, rowStart + tile);
    int64_t keyStart = 0;
    if (s.mask == Mask::Window)
      keyStart = std::max<int64_t>(0, rowStart - (s.window - 1)) / tile * tile;
    int64_t count = ceilDiv(keyEnd - keyStart, tile);
    tiles += count;
    maxTiles = std::max(maxTiles, count);
  }

  double scores = static_cast<double>(tile) * tile;
  double tileMatrix = matmulFlops(tile, p, tile, valueLanes);
  double perScoreVector = 1, perScoreSpecial = 0;
  double tileVector = 0, tileSpecial = 0;
  if (diagonal) {
    // Σ_n q_n k_n exp(cum_in − cum_jn): mul, mul, sub and a reduction add.
    perScoreVector += 4.0 * n;
    perScoreSpecial += n;
  } else {
    tileMatrix += matmulFlops(tile, tile, n, keyLanes);
  }
  if (s.decay == Decay::Scalar) {
    perScoreVector += 2;
    perScoreSpecial += 1;
  }
  if (softmax) {
    // max, sub, add per score; per row a correction exp and O rescaled.
    perScoreVector += 3;
    perScoreSpecial += 1;
    tileVector += tile * p;
    tileSpecial += tile;
  }

  double heads = static_cast<double>(s.batch) * s.numHeads;
  w.matrixFlops = heads * tiles * tileMatrix;
  w.vectorFlops = heads * tiles * (scores * perScoreVector + tileVector);
  w.specialOps = heads * tiles * (scores * perScoreSpecial + tileSpecial);
  if (s.hasInitialState) {
    // Per query block, what the initial state adds: Q_blk · S0 (decayed).
    w.matrixFlops += heads * blocks * matmulFlops(tile, p, n, valueLanes);
    if (s.decay != Decay::None)
      w.specialOps += heads * blocks * tile * (diagonal ? n : 1);
  }
  if (s.hasFinalState) {
    // A second pass per head: Σ_j decayed k_j v_jᵀ, block by block.
    w.matrixFlops += heads * blocks * matmulFlops(n, p, tile, valueLanes);
    if (s.decay != Decay::None) {
      w.vectorFlops += heads * s.length * n;
      w.specialOps += heads * s.length * (diagonal ? n : 1);
    }
  }

  w.workItems = s.batch * s.numHeads * blocks;
  w.depth = maxTiles;
  w.scratchBytes =
      kScratchElementBytes *
      (2 * tile * n + 2 * tile * p + scores + (diagonal ? 3 * tile * n : 0));
  w.scratchSteps = maxTiles;
  w.bytes = inputOutputBytes(s);
  // K and V of the heads in flight are re-read per query block when they do
  // not stay in the last-level cache.
  double keyValueBytes = static_cast<double>(keys) * (n + p) * s.elementBytes();
  double headsInFlight = std::min<double>(heads, t.cores);
  if (keyValueBytes * headsInFlight >
      static_cast<double>(t.lastLevelCacheBytes()))
    w.bytes += heads * (tiles - blocks) * tile * (n + p) * s.elementBytes();
  if (diagonal)
    w.remark = "diagonal decay: no matmul form, O(L²·N) exps (very slow)";
  return w;
}

//===----------------------------------------------------------------------===//
// Seconds
//===----------------------------------------------------------------------===//

static Estimate toEstimate(const MixShape &s, const TargetDescription &t,
                           Algorithm algorithm, int64_t chunkSize, Work w) {
  const KernelEfficiency &efficiency = t.efficiency(algorithm);
  Estimate e;
  e.algorithm = algorithm;
  e.chunkSize = chunkSize;
  e.workItems = std::max<int64_t>(1, w.workItems);
  e.depth = w.depth;

  // A scratch that does not fit the core's fast memory is streamed through
  // DRAM once per step.
  if (w.scratchBytes > static_cast<double>(t.fastMemoryBytes()))
    w.bytes += 2 * w.scratchBytes * w.scratchSteps * e.workItems;

  e.matrixFlops = w.matrixFlops;
  e.vectorFlops = w.vectorFlops;
  e.specialOps = w.specialOps;
  e.bytes = w.bytes;

  double rounds = static_cast<double>(ceilDiv(e.workItems, t.cores));
  double utilisation = e.workItems / (rounds * t.cores);
  auto seconds = [](double work, double rate) {
    return work > 0 ? work / rate : 0.0;
  };
  e.matrixSeconds = seconds(w.matrixFlops, t.matrixFlops.get(s.elementType) *
                                               efficiency.matrix * utilisation);
  e.vectorSeconds = seconds(w.vectorFlops, t.vectorFlops.get(s.elementType) *
                                               efficiency.vector * utilisation *
                                               w.laneFraction);
  e.specialSeconds =
      seconds(w.specialOps, t.specialOpsPerSecond * efficiency.vector *
                                utilisation * w.laneFraction);
  double sum = e.matrixSeconds + e.vectorSeconds + e.specialSeconds;
  double largest =
      std::max({e.matrixSeconds, e.vectorSeconds, e.specialSeconds});
  e.computeSeconds = largest + (1 - t.unitOverlap) * (sum - largest);
  e.memorySeconds = seconds(w.bytes, t.memoryBandwidth);
  e.latencySeconds =
      (w.depth * efficiency.stepSeconds + efficiency.itemSeconds) * rounds +
      efficiency.launchSeconds;
  e.seconds =
      std::max(e.computeSeconds, e.memorySeconds) +
      (1 - t.memoryOverlap) * std::min(e.computeSeconds, e.memorySeconds) +
      e.latencySeconds;

  if (e.latencySeconds > std::max(e.computeSeconds, e.memorySeconds))
    e.note = "latency-bound";
  else if (e.memorySeconds >= e.computeSeconds)
    e.note = "memory-bound";
  else if (largest == e.matrixSeconds)
    e.note = "matrix-bound";
  else if (largest == e.vectorSeconds)
    e.note = "vector-bound";
  else
    e.note = "exp-bound";
  if (!w.remark.empty())
    e.note += "; " + w.remark;
  return e;
}

Estimate ssm::cost::estimate(const MixShape &shape,
                             const TargetDescription &target,
                             Algorithm algorithm, int64_t chunkSize) {
  switch (algorithm) {
  case Algorithm::Quadratic: {
    if (target.kind != TargetKind::Gpu || !shape.hasFinalState)
      return toEstimate(shape, target, algorithm, 0,
                        quadraticWork(shape, target));
    // The GPU's quadratic kernels leave the final state to a recurrent scan
    // over the sequence that stores nothing else (CudaMapping's stateScan):
    // both times add.
    MixShape outputs = shape;
    outputs.hasFinalState = false;
    Estimate e = toEstimate(outputs, target, algorithm, 0,
                            quadraticWork(outputs, target));
    Estimate scan =
        toEstimate(shape, target, Algorithm::Recurrent, 0,
                   recurrentWork(shape, target, /*stateOnly=*/true));
    e.matrixFlops += scan.matrixFlops;
    e.vectorFlops += scan.vectorFlops;
    e.specialOps += scan.specialOps;
    e.bytes += scan.bytes;
    e.depth += scan.depth;
    e.matrixSeconds += scan.matrixSeconds;
    e.vectorSeconds += scan.vectorSeconds;
    e.specialSeconds += scan.specialSeconds;
    e.computeSeconds += scan.computeSeconds;
    e.memorySeconds += scan.memorySeconds;
    e.latencySeconds += scan.latencySeconds;
    e.seconds += scan.seconds;
    e.note = (scan.seconds > e.seconds - scan.seconds ? scan.note : e.note) +
             "; final state by a recurrent scan";
    return e;
  }
  case Algorithm::Recurrent:
    return toEstimate(shape, target, algorithm, 0,
                      recurrentWork(shape, target));
  case Algorithm::Chunked:
    assert(chunkSize > 0 && "chunked needs a chunk size");
    return toEstimate(shape, target, algorithm, chunkSize,
                      chunkedWork(shape, target, chunkSize));
  }
  llvm_unreachable("unknown algorithm");
}

std::vector<Estimate> ssm::cost::estimateAll(const MixShape &shape,
                                             const TargetDescription &target,
                                             const CandidateFilter &filter) {
  std::vector<Estimate> estimates;
  for (Algorithm algorithm :
       {Algorithm::Quadratic, Algorithm::Recurrent, Algorithm::Chunked}) {
    if ((filter.algorithm && *filter.algorithm != algorithm) ||
        whyIllegal(shape, algorithm))
      continue;
    if (algorithm != Algorithm::Chunked) {
      estimates.push_back(estimate(shape, target, algorithm));
      continue;
    }
    std::vector<int64_t> sizes = filter.chunkSize > 0
                                     ? std::vector<int64_t>{filter.chunkSize}
                                     : candidateChunkSizes(shape, target);
    for (int64_t size : sizes)
      estimates.push_back(estimate(shape, target, algorithm, size));
  }
  return estimates;
}

const Estimate *ssm::cost::choose(ArrayRef<Estimate> estimates) {
  const Estimate *best = nullptr;
  for (const Estimate &estimate : estimates)
    if (!best || estimate.seconds < best->seconds)
      best = &estimate;
  return best;
}

std::optional<Estimate> ssm::cost::choose(const MixShape &shape,
                                          const TargetDescription &target,
                                          const CandidateFilter &filter) {
  std::vector<Estimate> estimates = estimateAll(shape, target, filter);
  if (const Estimate *best = choose(estimates))
    return *best;
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

/// "1.23 T" style: a rate or count with an SI prefix.
static std::string si(double value) {
  const char *prefixes[] = {"", "K", "M", "G", "T", "P"};
  int index = 0;
  while (value >= 1000 && index < 5) {
    value /= 1000;
    ++index;
  }
  return formatv("{0:g} {1}", value, prefixes[index]).str();
}

std::string ssm::cost::describe(const TargetDescription &t) {
  bool gpu = t.kind == TargetKind::Gpu;
  return formatv("{0} ({1}, {2} {3}, {4} f32 lanes): matrix {5}FLOP/s f32, "
                 "{6}FLOP/s bf16; vector {7}FLOP/s f32; {8}exp/s; {9}B/s; "
                 "{10} {11} KiB",
                 t.name, toString(t.kind), t.cores, gpu ? "SMs" : "cores",
                 t.vectorLanes, si(t.matrixFlops.f32), si(t.matrixFlops.bf16),
                 si(t.vectorFlops.f32), si(t.specialOpsPerSecond),
                 si(t.memoryBandwidth), gpu ? "shared memory/SM" : "L2/core",
                 t.fastMemoryBytes() / 1024)
      .str();
}

void ssm::cost::printEstimates(raw_ostream &os, ArrayRef<Estimate> estimates,
                               const Estimate *chosen,
                               const Measurement *measured) {
  os << formatv("  {0,-10} {1,5} {2,12} {3,12} {4,11} {5,10} {6,7} {7,7} "
                "{8,13}",
                "algorithm", "chunk", "matrix GFLOP", "vector GFLOP",
                "special Gop", "MB moved", "depth", "items", "time µs");
  if (measured)
    os << formatv(" {0,13}", "measured µs");
  os << "  bound\n";
  for (const Estimate &e : estimates) {
    os << formatv("{0} {1,-10} {2,5} {3,12:f3} {4,12:f3} {5,11:f4} "
                  "{6,10:f2} {7,7} {8,7} {9,12:f1}",
                  &e == chosen ? "*" : " ", toString(e.algorithm), e.chunkSize,
                  e.matrixFlops / 1e9, e.vectorFlops / 1e9, e.specialOps / 1e9,
                  e.bytes / 1e6, e.depth, e.workItems, e.seconds * 1e6);
    if (measured) {
      const MeasuredCandidate *run = measured->find(e.algorithm, e.chunkSize);
      os << (run ? formatv(" {0,12:f1}", run->seconds * 1e6).str()
                 : formatv(" {0,12}", "-").str());
    }
    os << "  " << e.note << "\n";
  }
}
