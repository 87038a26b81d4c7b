//===- CudaMapping.cpp - Which device template runs a planned ssm.mix -----===//
//
// The CUDA backend's half of the plan: which kernel template runs an
// algorithm (planCudaKernel, called by ssm-select-algorithm), and, for the
// emitter, the parameters that follow from that plan (mapMixToCuda).
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CUDA/CudaEmitter.h"

#include "ssm/device/geometry.h"

#include "ssm/Transforms/KernelPlanner.h"

#include "llvm/Support/FormatVariadic.h"

#include <mutex>

using namespace mlir;
using namespace mlir::ssm;
namespace geometry = ::ssm::device::geometry;

static int64_t computeBytes(MixOp op) {
  return op.getV().getType().getElementType().isF64() ? 8 : 4;
}

/// "bf16" or "f16" when q, k and v are all stored in that type.
static std::string sixteenBitType(MixOp op) {
  Type q = op.getQ().getType().getElementType(),
       k = op.getK().getType().getElementType(),
       v = op.getV().getType().getElementType();
  if (q != k || q != v)
    return "";
  if (q.isBF16())
    return "bf16";
  if (q.isF16())
    return "f16";
  return "";
}

std::string CudaMixMapping::describe() const {
  switch (kernel) {
  case KernelKind::Loops: // Refused by whyKernelCannotRun.
    return "loops (the CPU's)";
  case KernelKind::RowPerThread:
    return std::string("recurrent, a state row per thread") +
           (stageKeys ? ", q and k staged in shared memory" : "");
  case KernelKind::RowSliced:
    return llvm::formatv("recurrent, state rows over {0} lanes ({1} "
                         "elements per access, {2} rows per lane group)",
                         lanes, vector, rows);
  case KernelKind::ChunkedSimt:
    return llvm::formatv("chunked (chunk {0}), SIMT", chunkSize);
  case KernelKind::ChunkedMma:
    return llvm::formatv("chunked (chunk {0}), tensor cores ({1} {2}, "
                         "{3} blocks an SM{4})",
                         chunkSize,
                         wgmmaOnSm90a ? "wgmma on sm_90a, else mma.sync,"
                                      : "mma.sync",
                         mmaType, blocksPerSM,
                         segments ? llvm::formatv(", {0} segments after a "
                                                  "state launch",
                                                  segments)
                                        .str()
                                  : std::string());
  case KernelKind::QuadraticSimt:
    return std::string("quadratic, SIMT") +
           (stateScan ? "; final state by a scan" : "");
  case KernelKind::QuadraticMma:
    return "quadratic, tensor cores (mma.sync " + mmaType + ", " +
           std::to_string(16 * mTiles) + " query rows a warp)" +
           (stateScan ? "; final state by a scan" : "");
  case KernelKind::QuadraticWgmma:
    return "quadratic, tensor cores (wgmma " + mmaType +
           ", two warpgroups of 64 query rows a block)" +
           (stateScan ? "; final state by a scan" : "");
  }
  return "";
}

static void planRowSliced(MixOp op, CudaMixMapping &mapping) {
  int64_t n = op.getStateSize(), p = op.getValueHeadDim();
  mapping.vector = n % 4 == 0 ? 4 : 1;
  int64_t runs = (n + mapping.vector - 1) / mapping.vector;
  mapping.lanes = 1;
  while (mapping.lanes < runs && mapping.lanes < 32)
    mapping.lanes *= 2;
  mapping.rows = p % 4 == 0 ? 4 : p % 2 == 0 ? 2 : 1;
}

/// Why `kernel` cannot run `op` with chunk `chunkSize`, or "".
static std::string whyKernelCannotRun(MixOp op, KernelKind kernel,
                                      int64_t chunkSize) {
  const int64_t n = op.getStateSize(), p = op.getValueHeadDim();
  const bool sixteenBit = !sixteenBitType(op).empty();
  switch (kernel) {
  case KernelKind::Loops:
    return "kernel 'loops' is the CPU's";
  case KernelKind::RowPerThread:
    if (n > geometry::kRowPerThreadMaxState)
      return llvm::formatv("kernel 'row_per_thread' keeps a state row in "
                           "registers, up to {0} elements, got state size {1}",
                           geometry::kRowPerThreadMaxState, n);
    return "";
  case KernelKind::RowSliced:
  case KernelKind::ChunkedSimt:
  case KernelKind::QuadraticSimt:
    return "";
  case KernelKind::ChunkedMma:
    if (!sixteenBit)
      return "kernel 'chunked_mma' needs q, k and v all bf16 or all f16";
    if (chunkSize != geometry::kChunkedMmaChunk)
      return llvm::formatv("kernel 'chunked_mma' takes chunk_size {0}, got {1}",
                           geometry::kChunkedMmaChunk, chunkSize);
    if (!geometry::chunkedMmaTakes(n, p))
      return llvm::formatv("kernel 'chunked_mma' does not tile state size {0} "
                           "and value dim {1}",
                           n, p);
    return "";
  case KernelKind::QuadraticMma:
    if (!sixteenBit)
      return "kernel 'quadratic_mma' needs q, k and v all bf16 or all f16";
    if (!geometry::quadraticMmaTakes(n, p))
      return llvm::formatv("kernel 'quadratic_mma' does not tile state size "
                           "{0} and value dim {1}",
                           n, p);
    if (op.hasDiagonalDecay())
      return "kernel 'quadratic_mma' takes no diagonal decay";
    return "";
  case KernelKind::QuadraticWgmma:
    if (!sixteenBit)
      return "kernel 'quadratic_wgmma' needs q, k and v all bf16 or all f16";
    if (!geometry::quadraticWgmmaTakes(n, p))
      return llvm::formatv("kernel 'quadratic_wgmma' takes state size and "
                           "value dim 64 or 128, got {0} and {1}",
                           n, p);
    if (op.hasDecay())
      return "kernel 'quadratic_wgmma' takes no decay";
    if (op.getInitialState())
      return "kernel 'quadratic_wgmma' takes no initial state";
    return "";
  }
  return "";
}

FailureOr<AlgorithmAttr> mlir::ssm::planCudaKernel(MixOp op,
                                                   AlgorithmAttr algorithm,
                                                   int64_t multiprocessors,
                                                   bool warpgroupMma) {
  const int64_t n = op.getStateSize();
  KernelKind kernel = KernelKind::QuadraticSimt;
  int64_t warpRowTiles = 0, blocksPerSM = 0, segments = 0;
  switch (algorithm.getKind()) {
  case AlgorithmKind::Recurrent:
    kernel = n <= geometry::kRowPerThreadMaxState ? KernelKind::RowPerThread
                                                  : KernelKind::RowSliced;
    break;
  case AlgorithmKind::Chunked:
    kernel = whyKernelCannotRun(op, KernelKind::ChunkedMma,
                                algorithm.getChunkSize())
                     .empty()
                 ? KernelKind::ChunkedMma
                 : KernelKind::ChunkedSimt;
    if (kernel == KernelKind::ChunkedMma) {
      // A block per (value tile, head, sequence); a dynamic batch counts
      // as one sequence, which keeps the default.
      int64_t batch = op.getY().getType().getDimSize(0);
      int64_t blocks = op.getValueHeadDim() / geometry::kChunkedMmaValueTile *
                       op.getNumHeads() *
                       (ShapedType::isDynamic(batch) ? 1 : batch);
      blocksPerSM = geometry::chunkedMmaBlocksPerSM(blocks, multiprocessors);
      // A dynamic length keeps whole sequences.
      int64_t length = op.getQueryLength();
      if (!ShapedType::isDynamic(length))
        segments = geometry::chunkedMmaSegments(
            blocks, (length + geometry::kChunkedMmaChunk - 1) /
                        geometry::kChunkedMmaChunk,
            multiprocessors);
      if (segments)
        blocksPerSM = 2;
    }
    break;
  case AlgorithmKind::Quadratic:
    kernel = whyKernelCannotRun(op, KernelKind::QuadraticMma, 0).empty()
                 ? KernelKind::QuadraticMma
                 : KernelKind::QuadraticSimt;
    // wgmma where the Q·Kᵀ product is deep enough to pay: at state size 64
    // the softmax dominates, and mma.sync's two blocks an SM hide it better
    // (H200, causal hd64 L2048: 0.61 ms on wgmma, 0.56 on mma.sync; hd128
    // L2048 0.44 against 0.51).
    if (warpgroupMma && n >= geometry::kQuadraticWgmmaMinState &&
        whyKernelCannotRun(op, KernelKind::QuadraticWgmma, 0).empty())
      kernel = KernelKind::QuadraticWgmma;
    // Queries against a cache: the one kernel that takes one.
    if (op.isAgainstCache())
      kernel = KernelKind::QuadraticSimt;
    // Two row tiles a warp halve the shared-memory reads per product;
    // decays keep one (their offsets need the block in one key tile).
    if (kernel == KernelKind::QuadraticMma)
      warpRowTiles = op.hasDecay() ? 1 : 2;
    break;
  }
  return algorithm.withKernel(kernel, /*vectorWidth=*/0, warpRowTiles,
                              blocksPerSM, segments);
}

void mlir::ssm::registerCudaKernelPlanner() {
  static std::once_flag once;
  std::call_once(once, [] {
    registerKernelPlanner("cuda", [](MixOp op, AlgorithmAttr algorithm,
                                     const PlanRequest &request) {
      return planCudaKernel(op, algorithm, request.multiprocessors,
                            request.arch == "sm_90a");
    });
  });
}

FailureOr<CudaMixMapping> mlir::ssm::mapMixToCuda(MixOp op) {
  AlgorithmAttr plan = op.getAlgorithmAttr();
  if (!plan || !plan.getKernel())
    return op.emitOpError()
           << "has no plan for the GPU: run ssm-select-algorithm "
              "(backend=cuda) before the CUDA backend (it obeys the plan, it "
              "does not choose)";
  // Only quadratic_simt takes a cache, without a decay or a state; the
  // other kernels' dynamic lengths are required equal at run time
  // (needsEqualLengths).
  if (op.isAgainstCache() && op.needsEqualLengths())
    return op.emitOpError()
           << "queries against a cache (Lq < Lk) run on kernel "
              "'quadratic_simt' only, without a decay or a state: 'q' has Lq = "
           << op.getQueryLength() << ", 'k' has Lk = " << op.getKeyLength()
           << "; compile for the CPU";
  CudaMixMapping mapping;
  mapping.kernel = *plan.getKernel();
  mapping.chunkSize = plan.getChunkSize();
  if (std::string why = whyKernelCannotRun(op, mapping.kernel,
                                           mapping.chunkSize);
      !why.empty())
    return op.emitOpError() << "cannot run as planned (" << plan
                            << "): " << why;
  const int64_t n = op.getStateSize(), p = op.getValueHeadDim();
  const int64_t bytes = computeBytes(op);
  switch (mapping.kernel) {
  case KernelKind::Loops:
    llvm_unreachable("rejected above");
  case KernelKind::RowPerThread: {
    int64_t rowsPerQueryHead = op.getNumHeads() / op.getNumQueryHeads() * p;
    int64_t rowsPerKeyHead = op.getNumHeads() / op.getNumKeyHeads() * p;
    mapping.stageKeys = rowsPerQueryHead % geometry::kMixThreads == 0 &&
                        rowsPerKeyHead % geometry::kMixThreads == 0;
    mapping.sharedBytes =
        geometry::rowPerThreadSharedBytes(bytes, n, mapping.stageKeys);
    break;
  }
  case KernelKind::RowSliced:
    planRowSliced(op, mapping);
    break;
  case KernelKind::ChunkedMma:
    mapping.mmaType = sixteenBitType(op);
    mapping.blocksPerSM = plan.getBlocksPerSM();
    mapping.segments = plan.getSegments();
    mapping.wgmmaOnSm90a = geometry::chunkedMmaTakesWgmma(n);
    mapping.sharedBytes =
        geometry::chunkedMmaSharedBytes(n, mapping.blocksPerSM);
    break;
  case KernelKind::ChunkedSimt:
    mapping.sharedBytes =
        geometry::chunkedSimtSharedBytes(bytes, mapping.chunkSize, n, p);
    break;
  case KernelKind::QuadraticMma:
    mapping.mmaType = sixteenBitType(op);
    mapping.mTiles = plan.getWarpRowTiles();
    if (mapping.mTiles == 2 && op.hasDecay())
      return op.emitOpError() << "cannot run as planned (" << plan
                              << "): a decay takes warp_row_tiles = 1";
    mapping.sharedBytes =
        geometry::quadraticMmaSharedBytes(n, p, mapping.mTiles);
    break;
  case KernelKind::QuadraticWgmma:
    mapping.mmaType = sixteenBitType(op);
    mapping.sharedBytes = geometry::quadraticWgmmaSharedBytes(n, p);
    break;
  case KernelKind::QuadraticSimt:
    mapping.sharedBytes = geometry::quadraticSimtSharedBytes(bytes, n, p);
    break;
  }
  bool quadratic = mapping.kernel == KernelKind::QuadraticMma ||
                   mapping.kernel == KernelKind::QuadraticWgmma ||
                   mapping.kernel == KernelKind::QuadraticSimt;
  if (quadratic && op.getFinalState()) {
    mapping.stateScan = true;
    planRowSliced(op, mapping);
  }
  if (mapping.sharedBytes > geometry::kMaxSharedBytes)
    return op.emitOpError()
           << "needs " << mapping.sharedBytes << " bytes of shared memory as "
           << mapping.describe() << " (state size " << n << ", value dim "
           << p << "), more than the " << geometry::kMaxSharedBytes
           << " a block has on sm_90; choose a smaller chunk size";
  return mapping;
}
