//===- CudaMapping.cpp - Which device template runs a planned ssm.mix -----===//
//
// The plan fixes the algorithm (and chunk); this picks the template that
// runs it and its parameters: tensor cores where the operands are 16-bit and
// the head dims fit the tiles, the SIMT forms otherwise.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CUDA/CudaEmitter.h"

#include "ssm/device/geometry.h"

#include "llvm/Support/FormatVariadic.h"

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
  case Kernel::RecurrentRowPerThread:
    return std::string("recurrent, a state row per thread") +
           (stageKeys ? ", q and k staged in shared memory" : "");
  case Kernel::RecurrentRowSliced:
    return llvm::formatv("recurrent, state rows over {0} lanes ({1} "
                         "elements per access, {2} rows per lane group)",
                         lanes, vector, rows);
  case Kernel::ChunkedSimt:
    return llvm::formatv("chunked (chunk {0}), SIMT", chunkSize);
  case Kernel::ChunkedMma:
    return llvm::formatv("chunked (chunk {0}), tensor cores (mma.sync {1})",
                         chunkSize, mmaType);
  case Kernel::QuadraticSimt:
    return std::string("quadratic, SIMT") +
           (stateScan ? "; final state by a scan" : "");
  case Kernel::QuadraticMma:
    return "quadratic, tensor cores (mma.sync " + mmaType + ", " +
           std::to_string(16 * mTiles) + " query rows a warp)" +
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

FailureOr<CudaMixMapping> mlir::ssm::mapMixToCuda(MixOp op) {
  AlgorithmAttr plan = op.getAlgorithmAttr();
  if (!plan)
    return op.emitOpError()
           << "has no algorithm: run ssm-select-algorithm before the CUDA "
              "backend (the lowerings obey the plan, they do not choose)";
  CudaMixMapping mapping;
  const int64_t n = op.getStateSize(), p = op.getValueHeadDim();
  const int64_t bytes = computeBytes(op);
  const std::string mmaType = sixteenBitType(op);
  switch (plan.getKind()) {
  case AlgorithmKind::Recurrent:
    if (n <= geometry::kRowPerThreadMaxState) {
      mapping.kernel = CudaMixMapping::Kernel::RecurrentRowPerThread;
      int64_t rowsPerQueryHead =
          op.getNumHeads() / op.getNumQueryHeads() * p;
      int64_t rowsPerKeyHead = op.getNumHeads() / op.getNumKeyHeads() * p;
      mapping.stageKeys = rowsPerQueryHead % geometry::kMixThreads == 0 &&
                          rowsPerKeyHead % geometry::kMixThreads == 0;
      mapping.sharedBytes =
          geometry::rowPerThreadSharedBytes(bytes, n, mapping.stageKeys);
    } else {
      mapping.kernel = CudaMixMapping::Kernel::RecurrentRowSliced;
      planRowSliced(op, mapping);
    }
    break;
  case AlgorithmKind::Chunked: {
    mapping.chunkSize = plan.getChunkSize() > 0 ? plan.getChunkSize() : 64;
    if (!mmaType.empty() && mapping.chunkSize == geometry::kChunkedMmaChunk &&
        geometry::chunkedMmaTakes(n, p)) {
      mapping.kernel = CudaMixMapping::Kernel::ChunkedMma;
      mapping.mmaType = mmaType;
      mapping.sharedBytes = geometry::chunkedMmaSharedBytes(n);
    } else {
      mapping.kernel = CudaMixMapping::Kernel::ChunkedSimt;
      mapping.sharedBytes =
          geometry::chunkedSimtSharedBytes(bytes, mapping.chunkSize, n, p);
    }
    break;
  }
  case AlgorithmKind::Quadratic:
    if (!mmaType.empty() && geometry::quadraticMmaTakes(n, p) &&
        !op.hasDiagonalDecay()) {
      mapping.kernel = CudaMixMapping::Kernel::QuadraticMma;
      mapping.mmaType = mmaType;
      // Two row tiles a warp halve the shared-memory reads per product;
      // decays keep one (their offsets need the block in one key tile).
      mapping.mTiles = op.hasDecay() ? 1 : 2;
      mapping.sharedBytes =
          geometry::quadraticMmaSharedBytes(n, p, mapping.mTiles);
    } else {
      mapping.kernel = CudaMixMapping::Kernel::QuadraticSimt;
      mapping.sharedBytes = geometry::quadraticSimtSharedBytes(bytes, n, p);
    }
    if (op.getFinalState()) {
      mapping.stateScan = true;
      planRowSliced(op, mapping);
    }
    break;
  }
  if (mapping.sharedBytes > geometry::kMaxSharedBytes)
    return op.emitOpError()
           << "needs " << mapping.sharedBytes << " bytes of shared memory as "
           << mapping.describe() << " (state size " << n << ", value dim "
           << p << "), more than the " << geometry::kMaxSharedBytes
           << " a block has on sm_90; choose a smaller chunk size";
  return mapping;
}
