//===- MixLowering.h - Shared machinery of the ssm.mix lowerings -*- C++ -*-===//
//
// What the three lowerings (quadratic, recurrent, chunked) share: a small
// builder for vector kernels, readers that fuse elementwise producers into
// the kernels' loads, a sink that fuses an elementwise consumer into the
// kernels' stores, a register-tiled matmul, and the scaffold that replaces an
// ssm.mix by buffers, a parallel loop over work items and the kernel.
//
//===----------------------------------------------------------------------===//

#ifndef SSM_LIB_TRANSFORMS_MIXLOWERING_H
#define SSM_LIB_TRANSFORMS_MIXLOWERING_H

#include "ssm/CostModel/CostModel.h"
#include "ssm/SsmOps.h"
#include "ssm/Transforms/GlueFusion.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <functional>
#include <memory>
#include <optional>

namespace mlir::ssm::lowering {

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

/// Thin helpers over an ImplicitLocOpBuilder for writing vector kernels:
/// constants, float and index arithmetic that works on scalars and vectors
/// alike, loads/stores, loops.
class KernelBuilder {
public:
  explicit KernelBuilder(ImplicitLocOpBuilder &builder) : b(builder) {}

  ImplicitLocOpBuilder &builder() { return b; }
  MLIRContext *context() { return b.getContext(); }

  // Constants.
  Value index(int64_t value);
  Value floatConst(Type type, double value); // scalar or splat vector
  Value boolConst(bool value);

  // Index arithmetic.
  Value addi(Value a, Value c);
  Value subi(Value a, Value c);
  Value muli(Value a, Value c);
  Value divui(Value a, Value c);
  Value minui(Value a, Value c);
  Value maxui(Value a, Value c);
  Value cmpi(arith::CmpIPredicate predicate, Value a, Value c);
  Value select(Value condition, Value a, Value c);

  // Float arithmetic on scalars or vectors of the same type.
  Value add(Value a, Value c);
  Value sub(Value a, Value c);
  Value mul(Value a, Value c);
  Value div(Value a, Value c);
  Value maximum(Value a, Value c);
  Value neg(Value a);
  /// a * x + c, fused.
  Value fma(Value a, Value x, Value c);
  Value exp(Value a);
  /// Broadcasts a scalar to `type` (identity when already of that type).
  Value broadcast(Value scalar, Type type);
  /// Horizontal sum / maximum of a vector.
  Value reduceAdd(Value vector);
  Value reduceMax(Value vector);
  /// Converts a float scalar/vector to element type `elementType`.
  Value convert(Value value, Type elementType);

  // Memory. A vector value loads/stores `vector.load`/`vector.store` along
  // the innermost dimension; a scalar uses memref.load/store.
  Value load(Type type, Value memref, ValueRange indices);
  void store(Value value, Value memref, ValueRange indices);
  /// A 64-byte aligned heap buffer for a result (bufferization's
  /// deallocation pipeline or result hoisting takes care of freeing it).
  Value alloc(MemRefType type, ValueRange dynamicSizes = {});
  /// A 64-byte aligned stack buffer of static shape for a work item's
  /// scratch; it lives until the enclosing `memref.alloca_scope` ends.
  Value scratch(MemRefType type);
  /// Fills a buffer of static shape [rows, cols] (cols a multiple of the
  /// vector width of `vectorType`) with a constant.
  void fill(Value memref, Value rows, int64_t cols, VectorType vectorType,
            double value);

  // Loops. The body returns the values to yield (empty without iter args).
  using LoopBody =
      function_ref<SmallVector<Value>(KernelBuilder &, Value, ValueRange)>;
  SmallVector<Value> loop(Value lower, Value upper, Value step,
                          ValueRange iterArgs, LoopBody body);
  void loop(Value lower, Value upper, Value step,
            function_ref<void(KernelBuilder &, Value)> body);
  void loop(int64_t lower, int64_t upper, int64_t step,
            function_ref<void(KernelBuilder &, Value)> body);
  /// Emits `then` only when `condition` holds.
  void ifThen(Value condition, function_ref<void(KernelBuilder &)> then);

private:
  ImplicitLocOpBuilder &b;
};

//===----------------------------------------------------------------------===//
// FusedTensor: reads through elementwise producers
//===----------------------------------------------------------------------===//

/// Reads a ranked tensor inside kernel loops. If the tensor is produced by an
/// elementwise `linalg.generic` whose inputs broadcast into it (projected
/// maps with dims in order), the producer is fused: its inputs are read and
/// its body is recomputed on the spot, recursively. Other tensors are read
/// from their buffers (`bufferization.to_buffer`).
class FusedTensor {
public:
  /// Prepares reads of `tensor`; leaf buffers are created at the builder's
  /// insertion point, which must dominate every later read.
  static FusedTensor create(ImplicitLocOpBuilder &builder, Value tensor);
  /// The same from an analysis already made.
  static FusedTensor fromRead(ImplicitLocOpBuilder &builder,
                              const FusedRead &read);

  /// Reads `width` consecutive elements along dimension `dim` starting at
  /// `indices` (a scalar when width is 1), converted to `computeType`
  /// (the element type of the kernel's arithmetic).
  Value read(KernelBuilder &k, ValueRange indices, unsigned dim, int64_t width,
             Type computeType) const;

  RankedTensorType getType() const { return type; }
  /// Whether an elementwise producer was fused.
  bool isFused() const { return static_cast<bool>(generic); }

private:
  RankedTensorType type;
  Value buffer;                 // leaf: the tensor's buffer
  linalg::GenericOp generic;    // fused: the producer
  std::vector<FusedTensor> inputs;
  SmallVector<AffineMap> inputMaps;
};

/// What the CPU's vector loads and stores fuse (GlueFusion.h).
FusionPolicy cpuFusionPolicy();

/// Recomputes `generic`'s body for one element (or vector) given the values
/// of its inputs (scalars are broadcast against vectors as needed).
Value emitElementwiseBody(KernelBuilder &k, linalg::GenericOp generic,
                          ArrayRef<Value> inputValues);

/// Stores the rows of y, optionally through an elementwise consumer of y that
/// is fused into the store.
class ResultSink {
public:
  /// Plans the output for `y`: if its only user is a fusable elementwise
  /// generic whose other inputs are available before `mix`, that consumer is
  /// fused and its result is what gets written.
  static ResultSink create(ImplicitLocOpBuilder &builder, MixOp mix,
                           ValueRange dynamicSizes);

  /// Writes `value` (`width` elements along `dim`, a scalar when width is 1)
  /// of y at `indices`.
  void write(KernelBuilder &k, Value value, ValueRange indices, unsigned dim,
             int64_t width) const;

  /// Replaces the uses of y (or of the fused consumer) with the written
  /// buffer, and erases the fused consumer.
  void finish(RewriterBase &rewriter, Location loc);

  Value getBuffer() const { return buffer; }

private:
  Value y;
  Value buffer;
  linalg::GenericOp consumer;
  unsigned yOperandIndex = 0;
  std::vector<FusedTensor> otherInputs; // indexed like consumer inputs
};

/// Writes `value` into `memref` at `indices`: a vector of `width` lanes
/// along `dim` (contiguous when dim is innermost or followed by unit dims,
/// scattered otherwise).
void storeAlong(KernelBuilder &k, Value value, Value memref,
                ValueRange indices, unsigned dim, int64_t width);
/// Loads `width` lanes along `dim` from `memref` (see storeAlong).
Value loadAlong(KernelBuilder &k, Value memref, ValueRange indices,
                unsigned dim, int64_t width);

//===----------------------------------------------------------------------===//
// Matmul micro-kernel
//===----------------------------------------------------------------------===//

/// C[M, N] (+)= rowScale ∘ (A[M, K] · B[K, N]) on row-major 2-D buffers with
/// static M, N, K (B and C may be views with larger row strides). Register
/// tiles of `rows` × (`columnVectors` · lanes) accumulate over K.
struct MatmulOptions {
  /// Add into C instead of overwriting it.
  bool accumulate = false;
  /// Optional [M] buffer: each result row is multiplied by it before being
  /// added into C.
  Value rowScale;
  /// A (and so C) is lower-triangular in blocks: for a row tile starting at
  /// i0, only k < i0 + rows contribute.
  bool lowerTriangularA = false;
  /// Only column tiles j0 < i0 + rows are computed (the rest is untouched).
  bool lowerTriangularC = false;
};
void emitMatmul(KernelBuilder &k, Value a, Value bMatrix, Value c, int64_t m,
                int64_t n, int64_t kDim, VectorType lanes,
                const MatmulOptions &options = {});

//===----------------------------------------------------------------------===//
// Scaffold
//===----------------------------------------------------------------------===//

/// Sizes and readers of one ssm.mix, prepared before its kernel.
struct MixContext {
  MixOp op;
  int64_t numHeads, numQueryHeads, numKeyHeads, numValueHeads;
  int64_t stateSize, valueHeadDim;
  /// Index values of B, L of the queries (Lq) and L of the keys (Lk; the
  /// same unless queries against a cache, which only quadratic takes).
  Value batch, length, keyLength;
  /// Element type of the arithmetic (f32, or f64 for f64 ops).
  Type computeType;
  std::optional<FusedTensor> q, k, v, dt, decayRate, initialState;
  std::optional<ResultSink> y;
  /// [B, H, P, N] buffer of the final state, when the op returns it.
  Value finalState;

  /// Heads of q, k, v read by output head `head` (an index value).
  Value queryHead(KernelBuilder &k, Value head) const;
  Value keyHead(KernelBuilder &k, Value head) const;
  Value valueHead(KernelBuilder &k, Value head) const;
  bool hasDecay() const { return dt.has_value(); }
  bool hasDiagonalDecay() const;
};

/// The largest power of two ≤ maxLanes that divides `extent` (shared with
/// the cost model, which counts what the lowerings emit).
using ::ssm::cost::lanesDividing;

/// Emits `scf.parallel` over [0, upperBounds) whose body runs `workItem`
/// inside a `memref.alloca_scope`, so scratch is released per work item.
void emitParallel(KernelBuilder &k, ValueRange upperBounds,
                  function_ref<void(KernelBuilder &, ValueRange)> workItem);

/// Emits one algorithm's kernel for a prepared mix at the builder's
/// insertion point (buffers exist; the kernel writes y and the final state).
using KernelEmitter = std::function<LogicalResult(ImplicitLocOpBuilder &,
                                                  MixContext &)>;

/// Lowers every ssm.mix in `func` whose algorithm is `kind` (or that has
/// none) with `emitKernel`; other mixes are left for their own pass. Ops
/// illegal for `kind` are errors.
LogicalResult lowerMixes(Operation *func, AlgorithmKind kind,
                         const KernelEmitter &emitKernel);

} // namespace mlir::ssm::lowering

#endif // SSM_LIB_TRANSFORMS_MIXLOWERING_H
