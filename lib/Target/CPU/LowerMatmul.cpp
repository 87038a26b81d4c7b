//===- LowerMatmul.cpp - ssm-lower-matmul ---------------------------------===//
//
// C[M, N] += A[M, K] · B[N, K]ᵀ (batched: A [batch, M, K]) as a parallel loop over 4 × 4 tiles of
// (rows of A, rows of B): the 16 dot products accumulate in vectors along
// K and are reduced once at the end. A model's projections are this shape
// (B the weight, as checkpoints store it), and at decode M is the batch.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/CpuPipeline.h"
#include "ssm/Target/CPU/Passes.h"

#include "MixLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERMATMUL
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
using lowering::KernelBuilder;

namespace {

/// Rows of A and of B per tile.
constexpr int64_t kTileRows = 4;

/// Whether `op` is C = A · Bᵀ on f32 memrefs with static N and K: a
/// linalg.matmul (A [M, K]) or a linalg.batch_matmul whose B is broadcast
/// (A [batch, M, K], the rows of every batch alike).
bool isTransposedProjection(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() ||
      !isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op.getOperation()))
    return false;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  MLIRContext *context = op.getContext();
  SmallVector<AffineMap> expected;
  if (isa<linalg::MatmulOp>(op.getOperation())) {
    AffineExpr m, n, k;
    bindDims(context, m, n, k);
    expected = {AffineMap::get(3, 0, {m, k}, context),
                AffineMap::get(3, 0, {n, k}, context),
                AffineMap::get(3, 0, {m, n}, context)};
  } else {
    AffineExpr b, m, n, k;
    bindDims(context, b, m, n, k);
    expected = {AffineMap::get(4, 0, {b, m, k}, context),
                AffineMap::get(4, 0, {n, k}, context),
                AffineMap::get(4, 0, {b, m, n}, context)};
  }
  if (maps != expected)
    return false;
  auto a = cast<MemRefType>(op.getDpsInputs()[0].getType());
  auto b = cast<MemRefType>(op.getDpsInputs()[1].getType());
  auto c = cast<MemRefType>(op.getDpsInits()[0].getType());
  for (MemRefType type : {a, b, c})
    if (!type.getElementType().isF32() || !type.getLayout().isIdentity())
      return false;
  return b.hasStaticShape() && !a.isDynamicDim(a.getRank() - 1) &&
         !c.isDynamicDim(c.getRank() - 1);
}

/// A [batch, M, K] buffer as [batch · M, K] (identity layouts collapse).
Value rowsOf(ImplicitLocOpBuilder &builder, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 2)
    return buffer;
  return memref::CollapseShapeOp::create(
      builder, buffer, ArrayRef<ReassociationIndices>{{0, 1}, {2}});
}

/// C[row0 + r, col0 + j] += Σ_k A[row0 + r, k] · B[col0 + j, k] for
/// r < rows, j < columns.
void emitTile(KernelBuilder &k, Value a, Value b, Value c, Value row0,
              Value col0, int64_t rows, int64_t columns, int64_t depth,
              VectorType lanes) {
  const int64_t width = lanes.getNumElements();
  SmallVector<Value> zeros(rows * columns, k.floatConst(lanes, 0.0));
  SmallVector<Value> acc = k.loop(
      k.index(0), k.index(depth), k.index(width), zeros,
      [&](KernelBuilder &k, Value kk, ValueRange acc) {
        SmallVector<Value> aRows, bRows;
        for (int64_t r = 0; r < rows; ++r)
          aRows.push_back(k.load(lanes, a, {k.addi(row0, k.index(r)), kk}));
        for (int64_t j = 0; j < columns; ++j)
          bRows.push_back(k.load(lanes, b, {k.addi(col0, k.index(j)), kk}));
        SmallVector<Value> next;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < columns; ++j)
            next.push_back(k.fma(aRows[r], bRows[j], acc[r * columns + j]));
        return next;
      });
  Type f32 = lanes.getElementType();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < columns; ++j) {
      SmallVector<Value> at = {k.addi(row0, k.index(r)),
                               k.addi(col0, k.index(j))};
      Value sum = k.reduceAdd(acc[r * columns + j]);
      k.store(k.add(k.load(f32, c, at), sum), c, at);
    }
}

void lowerMatmul(linalg::LinalgOp op, int64_t maxLanes) {
  ImplicitLocOpBuilder builder(op.getLoc(), op);
  Value a = rowsOf(builder, op.getDpsInputs()[0]), b = op.getDpsInputs()[1],
        c = rowsOf(builder, op.getDpsInits()[0]);
  auto bType = cast<MemRefType>(b.getType());
  const int64_t n = bType.getDimSize(0), depth = bType.getDimSize(1);
  const int64_t width = lowering::lanesDividing(depth, maxLanes);
  VectorType lanes = VectorType::get({width}, bType.getElementType());
  const int64_t columns = n % kTileRows == 0 ? kTileRows : 1;

  KernelBuilder k(builder);
  Value m = memref::DimOp::create(builder, a, 0);
  Value rowTiles = k.divui(k.addi(m, k.index(kTileRows - 1)),
                           k.index(kTileRows));
  // Tiles of B (the weight) outermost: consecutive iterations of a thread
  // keep one tile of B in cache and sweep the rows of A (the activations,
  // far smaller for a prompt than a vocabulary-sized head), so that B
  // streams from memory once rather than once per tile of A.
  lowering::emitParallel(
      k, {k.index(n / columns), rowTiles},
      [&](KernelBuilder &k, ValueRange ivs) {
        Value row0 = k.muli(ivs[1], k.index(kTileRows));
        Value col0 = k.muli(ivs[0], k.index(columns));
        Value full = k.cmpi(arith::CmpIPredicate::ule,
                            k.addi(row0, k.index(kTileRows)), m);
        auto branch = scf::IfOp::create(k.builder(), full,
                                        /*withElseRegion=*/true);
        {
          OpBuilder::InsertionGuard guard(k.builder());
          k.builder().setInsertionPointToStart(branch.thenBlock());
          emitTile(k, a, b, c, row0, col0, kTileRows, columns, depth, lanes);
          k.builder().setInsertionPointToStart(branch.elseBlock());
          // The last, partial tile of rows, one row at a time.
          k.loop(row0, m, k.index(1), [&](KernelBuilder &k, Value row) {
            emitTile(k, a, b, c, row, col0, 1, columns, depth, lanes);
          });
        }
      });
  op->erase();
}

struct SsmLowerMatmulPass
    : mlir::ssm::impl::SsmLowerMatmulBase<SsmLowerMatmulPass> {
  using Base::Base;
  void runOnOperation() override {
    int64_t lanes = vectorWidth > 0 ? vectorWidth.getValue()
                                    : getHostVectorWidth();
    SmallVector<linalg::LinalgOp> matmuls;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (isTransposedProjection(op))
        matmuls.push_back(op);
    });
    for (linalg::LinalgOp op : matmuls)
      lowerMatmul(op, lanes);
  }
};

} // namespace
