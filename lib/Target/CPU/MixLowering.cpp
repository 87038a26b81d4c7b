//===- MixLowering.cpp - Shared machinery of the ssm.mix lowerings --------===//
//
// Kernel-building helpers, producer/consumer fusion into a kernel's loads
// and stores, the matmul micro-kernel and the scaffold of every lowering.
//
//===----------------------------------------------------------------------===//

#include "MixLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

#include <numeric>

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

//===----------------------------------------------------------------------===//
// KernelBuilder
//===----------------------------------------------------------------------===//

Value KernelBuilder::index(int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

Value KernelBuilder::floatConst(Type type, double value) {
  if (auto vectorType = dyn_cast<VectorType>(type)) {
    auto element = FloatAttr::get(vectorType.getElementType(), value);
    return arith::ConstantOp::create(
        b, vectorType, DenseElementsAttr::get(vectorType, element));
  }
  return arith::ConstantOp::create(b, type, FloatAttr::get(type, value));
}

Value KernelBuilder::boolConst(bool value) {
  return arith::ConstantOp::create(b, b.getI1Type(), b.getBoolAttr(value));
}

Value KernelBuilder::addi(Value a, Value c) {
  return arith::AddIOp::create(b, a, c);
}
Value KernelBuilder::subi(Value a, Value c) {
  return arith::SubIOp::create(b, a, c);
}
Value KernelBuilder::muli(Value a, Value c) {
  return arith::MulIOp::create(b, a, c);
}
Value KernelBuilder::divui(Value a, Value c) {
  return arith::DivUIOp::create(b, a, c);
}
Value KernelBuilder::minui(Value a, Value c) {
  return arith::MinUIOp::create(b, a, c);
}
Value KernelBuilder::maxui(Value a, Value c) {
  return arith::MaxUIOp::create(b, a, c);
}
Value KernelBuilder::cmpi(arith::CmpIPredicate predicate, Value a, Value c) {
  return arith::CmpIOp::create(b, predicate, a, c);
}
Value KernelBuilder::select(Value condition, Value a, Value c) {
  return arith::SelectOp::create(b, condition, a, c);
}

Value KernelBuilder::add(Value a, Value c) {
  return arith::AddFOp::create(b, a, c);
}
Value KernelBuilder::sub(Value a, Value c) {
  return arith::SubFOp::create(b, a, c);
}
Value KernelBuilder::mul(Value a, Value c) {
  return arith::MulFOp::create(b, a, c);
}
Value KernelBuilder::div(Value a, Value c) {
  return arith::DivFOp::create(b, a, c);
}
Value KernelBuilder::maximum(Value a, Value c) {
  return arith::MaximumFOp::create(b, a, c);
}
Value KernelBuilder::neg(Value a) { return arith::NegFOp::create(b, a); }

Value KernelBuilder::fma(Value a, Value x, Value c) {
  if (isa<VectorType>(a.getType()))
    return vector::FMAOp::create(b, a, x, c);
  return math::FmaOp::create(b, a, x, c);
}

Value KernelBuilder::exp(Value a) { return math::ExpOp::create(b, a); }

Value KernelBuilder::broadcast(Value scalar, Type type) {
  if (scalar.getType() == type)
    return scalar;
  return vector::BroadcastOp::create(b, type, scalar);
}

Value KernelBuilder::reduceAdd(Value vector) {
  if (!isa<VectorType>(vector.getType()))
    return vector;
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, vector);
}

Value KernelBuilder::reduceMax(Value vector) {
  if (!isa<VectorType>(vector.getType()))
    return vector;
  return vector::ReductionOp::create(b, vector::CombiningKind::MAXIMUMF,
                                     vector);
}

Value KernelBuilder::convert(Value value, Type elementType) {
  Type type = value.getType();
  Type current = getElementTypeOrSelf(type);
  if (current == elementType)
    return value;
  Type target = elementType;
  if (auto vectorType = dyn_cast<VectorType>(type))
    target = vectorType.clone(elementType);
  if (current.getIntOrFloatBitWidth() < elementType.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, target, value);
  return arith::TruncFOp::create(b, target, value);
}

Value KernelBuilder::load(Type type, Value memref, ValueRange indices) {
  if (isa<VectorType>(type))
    return vector::LoadOp::create(b, type, memref, indices);
  return memref::LoadOp::create(b, memref, indices);
}

void KernelBuilder::store(Value value, Value memref, ValueRange indices) {
  if (isa<VectorType>(value.getType()))
    vector::StoreOp::create(b, value, memref, indices);
  else
    memref::StoreOp::create(b, value, memref, indices);
}

Value KernelBuilder::alloc(MemRefType type, ValueRange dynamicSizes) {
  return memref::AllocOp::create(b, type, dynamicSizes,
                                 b.getI64IntegerAttr(64));
}

Value KernelBuilder::scratch(MemRefType type) {
  return memref::AllocaOp::create(b, type, b.getI64IntegerAttr(64));
}

void KernelBuilder::fill(Value memref, Value rows, int64_t cols,
                         VectorType vectorType, double value) {
  int64_t lanes = vectorType.getNumElements();
  Value constant = floatConst(vectorType, value);
  loop(index(0), rows, index(1), [&](KernelBuilder &k, Value row) {
    for (int64_t col = 0; col < cols; col += lanes)
      k.store(constant, memref, {row, k.index(col)});
  });
}

SmallVector<Value> KernelBuilder::loop(Value lower, Value upper, Value step,
                                       ValueRange iterArgs, LoopBody body) {
  auto forOp = scf::ForOp::create(
      b, lower, upper, step, iterArgs,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange args) {
        ImplicitLocOpBuilder nestedBuilder(loc, nested);
        KernelBuilder k(nestedBuilder);
        SmallVector<Value> yielded = body(k, iv, args);
        scf::YieldOp::create(nestedBuilder, yielded);
      });
  return SmallVector<Value>(forOp.getResults());
}

void KernelBuilder::loop(Value lower, Value upper, Value step,
                         function_ref<void(KernelBuilder &, Value)> body) {
  loop(lower, upper, step, ValueRange{},
       [&](KernelBuilder &k, Value iv, ValueRange) {
         body(k, iv);
         return SmallVector<Value>{};
       });
}

void KernelBuilder::loop(int64_t lower, int64_t upper, int64_t step,
                         function_ref<void(KernelBuilder &, Value)> body) {
  loop(index(lower), index(upper), index(step), body);
}

void KernelBuilder::ifThen(Value condition,
                           function_ref<void(KernelBuilder &)> then) {
  scf::IfOp::create(b, condition, [&](OpBuilder &nested, Location loc) {
    ImplicitLocOpBuilder nestedBuilder(loc, nested);
    KernelBuilder k(nestedBuilder);
    then(k);
    scf::YieldOp::create(nestedBuilder);
  });
}

//===----------------------------------------------------------------------===//
// Strided vector access
//===----------------------------------------------------------------------===//

/// Whether the lanes along `dim` are contiguous in an identity-layout memref
/// of this shape: `dim` is innermost or only unit dims follow it.
static bool isContiguousAlong(MemRefType type, unsigned dim) {
  for (unsigned d = dim + 1; d < type.getRank(); ++d)
    if (type.getDimSize(d) != 1)
      return false;
  return true;
}

/// A view of `memref` whose innermost dim is `dim` (collapsing the unit dims
/// after it), and the matching indices.
static std::pair<Value, SmallVector<Value>>
innermostView(KernelBuilder &k, Value memref, ValueRange indices,
              unsigned dim) {
  auto type = cast<MemRefType>(memref.getType());
  SmallVector<Value> viewIndices(indices.begin(), indices.begin() + dim + 1);
  if (dim + 1 == type.getRank())
    return {memref, viewIndices};
  SmallVector<ReassociationIndices> groups;
  for (unsigned d = 0; d < dim; ++d)
    groups.push_back({static_cast<int64_t>(d)});
  ReassociationIndices last;
  for (unsigned d = dim; d < type.getRank(); ++d)
    last.push_back(d);
  groups.push_back(last);
  Value view = memref::CollapseShapeOp::create(k.builder(), memref, groups);
  return {view, viewIndices};
}

Value lowering::loadAlong(KernelBuilder &k, Value memref, ValueRange indices,
                          unsigned dim, int64_t width) {
  auto type = cast<MemRefType>(memref.getType());
  Type element = type.getElementType();
  if (width == 1)
    return memref::LoadOp::create(k.builder(), memref, indices);
  auto vectorType = VectorType::get({width}, element);
  if (isContiguousAlong(type, dim)) {
    auto [view, viewIndices] = innermostView(k, memref, indices, dim);
    return vector::LoadOp::create(k.builder(), vectorType, view, viewIndices);
  }
  SmallVector<Value> lanes;
  SmallVector<Value> laneIndices(indices.begin(), indices.end());
  for (int64_t lane = 0; lane < width; ++lane) {
    laneIndices[dim] = k.addi(indices[dim], k.index(lane));
    lanes.push_back(memref::LoadOp::create(k.builder(), memref, laneIndices));
  }
  return vector::FromElementsOp::create(k.builder(), vectorType, lanes);
}

void lowering::storeAlong(KernelBuilder &k, Value value, Value memref,
                          ValueRange indices, unsigned dim, int64_t width) {
  auto type = cast<MemRefType>(memref.getType());
  if (width == 1) {
    memref::StoreOp::create(k.builder(), value, memref, indices);
    return;
  }
  if (isContiguousAlong(type, dim)) {
    auto [view, viewIndices] = innermostView(k, memref, indices, dim);
    vector::StoreOp::create(k.builder(), value, view, viewIndices);
    return;
  }
  SmallVector<Value> laneIndices(indices.begin(), indices.end());
  for (int64_t lane = 0; lane < width; ++lane) {
    laneIndices[dim] = k.addi(indices[dim], k.index(lane));
    Value element = vector::ExtractOp::create(k.builder(), value, lane);
    memref::StoreOp::create(k.builder(), element, memref, laneIndices);
  }
}

//===----------------------------------------------------------------------===//
// Elementwise fusion
//===----------------------------------------------------------------------===//

Value lowering::emitElementwiseBody(KernelBuilder &k,
                                    linalg::GenericOp generic,
                                    ArrayRef<Value> inputValues) {
  ImplicitLocOpBuilder &b = k.builder();
  Block *body = generic.getBody();
  IRMapping mapping;
  for (unsigned i = 0; i < generic.getNumDpsInputs(); ++i)
    mapping.map(body->getArgument(i), inputValues[i]);
  for (Operation &op : body->without_terminator()) {
    // The widest operand decides whether this op works on vectors.
    VectorType vectorShape;
    for (Value operand : op.getOperands())
      if (auto vectorType = dyn_cast<VectorType>(
              mapping.lookupOrDefault(operand).getType()))
        vectorShape = vectorType;
    SmallVector<Value> operands;
    for (Value operand : op.getOperands()) {
      Value mapped = mapping.lookupOrDefault(operand);
      if (vectorShape && !isa<VectorType>(mapped.getType()))
        mapped = k.broadcast(mapped, vectorShape.clone(mapped.getType()));
      operands.push_back(mapped);
    }
    SmallVector<Type> resultTypes;
    for (Type type : op.getResultTypes())
      resultTypes.push_back(vectorShape ? vectorShape.clone(type) : type);
    OperationState state(b.getLoc(), op.getName().getStringRef(), operands,
                         resultTypes, op.getAttrs());
    Operation *clone = b.create(state);
    mapping.map(op.getResults(), clone->getResults());
  }
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  return mapping.lookupOrDefault(yield.getOperand(0));
}

/// Reads `child` for the iteration point `indices` of a generic whose map
/// for that input is `map`; a lane dim the input does not have is broadcast.
static Value readMapped(KernelBuilder &k, const FusedTensor &child,
                        AffineMap map, ValueRange indices, unsigned dim,
                        int64_t width, Type computeType) {
  SmallVector<Value> childIndices;
  std::optional<unsigned> childDim;
  for (auto [position, result] : llvm::enumerate(map.getResults())) {
    unsigned d = cast<AffineDimExpr>(result).getPosition();
    childIndices.push_back(indices[d]);
    if (d == dim)
      childDim = position;
  }
  if (childDim)
    return child.read(k, childIndices, *childDim, width, computeType);
  Value scalar = child.read(k, childIndices, 0, 1, computeType);
  if (width == 1)
    return scalar;
  return k.broadcast(scalar, VectorType::get({width}, computeType));
}

FusionPolicy lowering::cpuFusionPolicy() {
  // Vector loads need the lanes' dim innermost: broadcasts in order only.
  return FusionPolicy();
}

FusedTensor FusedTensor::fromRead(ImplicitLocOpBuilder &builder,
                                  const FusedRead &read) {
  FusedTensor result;
  result.type = cast<RankedTensorType>(read.tensor.getType());
  if (!read.isLeaf()) {
    result.generic = read.producer;
    for (const FusedRead &input : read.inputs)
      result.inputs.push_back(fromRead(builder, input));
    result.inputMaps = read.inputMaps;
    return result;
  }
  auto bufferType = MemRefType::get(result.type.getShape(),
                                    result.type.getElementType());
  result.buffer = bufferization::ToBufferOp::create(
      builder, bufferType, read.tensor, /*read_only=*/true);
  return result;
}

FusedTensor FusedTensor::create(ImplicitLocOpBuilder &builder, Value tensor) {
  return fromRead(builder, analyzeFusedRead(tensor, cpuFusionPolicy()));
}

Value FusedTensor::read(KernelBuilder &k, ValueRange indices, unsigned dim,
                        int64_t width, Type computeType) const {
  if (!generic)
    return k.convert(loadAlong(k, buffer, indices, dim, width), computeType);
  linalg::GenericOp producer = generic; // op handles are not const-usable
  SmallVector<Value> inputValues;
  Block *body = producer.getBody();
  for (auto [i, child] : llvm::enumerate(inputs)) {
    Type argType = body->getArgument(i).getType();
    inputValues.push_back(
        readMapped(k, child, inputMaps[i], indices, dim, width, argType));
  }
  return k.convert(emitElementwiseBody(k, producer, inputValues), computeType);
}

//===----------------------------------------------------------------------===//
// ResultSink
//===----------------------------------------------------------------------===//

ResultSink ResultSink::create(ImplicitLocOpBuilder &builder, MixOp mix,
                              ValueRange dynamicSizes) {
  ResultSink sink;
  sink.y = mix.getY();
  auto yType = cast<RankedTensorType>(sink.y.getType());
  RankedTensorType outputType = yType;

  std::optional<FusedWrite> write =
      analyzeFusedWrite(sink.y, mix, cpuFusionPolicy());
  if (write && write->consumer.getResult(0).getType() == yType) {
    sink.consumer = write->consumer;
    sink.yOperandIndex = write->resultOperand;
    for (const FusedRead &input : write->otherInputs)
      sink.otherInputs.push_back(
          input.tensor ? FusedTensor::fromRead(builder, input) : FusedTensor());
    outputType = cast<RankedTensorType>(write->consumer.getResult(0).getType());
  }
  KernelBuilder k(builder);
  sink.buffer = k.alloc(
      MemRefType::get(outputType.getShape(), outputType.getElementType()),
      dynamicSizes);
  return sink;
}

void ResultSink::write(KernelBuilder &k, Value value, ValueRange indices,
                       unsigned dim, int64_t width) const {
  auto bufferType = cast<MemRefType>(buffer.getType());
  if (linalg::GenericOp fused = consumer) {
    SmallVector<Value> inputValues;
    Block *body = fused.getBody();
    for (OpOperand *input : fused.getDpsInputOperands()) {
      unsigned i = input->getOperandNumber();
      Type argType = body->getArgument(i).getType();
      if (i == yOperandIndex) {
        inputValues.push_back(k.convert(value, argType));
        continue;
      }
      inputValues.push_back(readMapped(k, otherInputs[i],
                                       fused.getMatchingIndexingMap(input),
                                       indices, dim, width, argType));
    }
    value = emitElementwiseBody(k, fused, inputValues);
  }
  storeAlong(k, k.convert(value, bufferType.getElementType()), buffer,
             indices, dim, width);
}

void ResultSink::finish(RewriterBase &rewriter, Location loc) {
  Value replaced = consumer ? consumer.getResult(0) : y;
  auto tensor = bufferization::ToTensorOp::create(
      rewriter, loc, replaced.getType(), buffer, /*restrict=*/true,
      /*writable=*/true);
  rewriter.replaceAllUsesWith(replaced, tensor);
  if (consumer)
    rewriter.eraseOp(consumer);
}

//===----------------------------------------------------------------------===//
// Matmul micro-kernel
//===----------------------------------------------------------------------===//

void lowering::emitMatmul(KernelBuilder &k, Value a, Value bMatrix, Value c,
                          int64_t m, int64_t n, int64_t kDim, VectorType lanes,
                          const MatmulOptions &options) {
  const int64_t width = lanes.getNumElements();
  assert(n % width == 0 && "columns must be a multiple of the lanes");
  ::ssm::cost::MatmulTile tile = ::ssm::cost::chooseMatmulTile(m, n, width);
  const int64_t rows = tile.rows, columnVectors = tile.columnVectors;
  const int64_t tileColumns = columnVectors * width;
  Type element = lanes.getElementType();

  k.loop(0, m, rows, [&](KernelBuilder &k, Value i0) {
    Value columnEnd = k.index(n);
    if (options.lowerTriangularC)
      columnEnd = k.minui(columnEnd, k.addi(i0, k.index(rows)));
    k.loop(k.index(0), columnEnd, k.index(tileColumns),
           [&](KernelBuilder &k, Value j0) {
      SmallVector<Value> zeros(rows * columnVectors,
                               k.floatConst(lanes, 0.0));
      Value kEnd = k.index(kDim);
      if (options.lowerTriangularA)
        kEnd = k.minui(kEnd, k.addi(i0, k.index(rows)));
      SmallVector<Value> acc = k.loop(
          k.index(0), kEnd, k.index(1), zeros,
          [&](KernelBuilder &k, Value kk, ValueRange acc) {
            SmallVector<Value> bRow;
            for (int64_t v = 0; v < columnVectors; ++v)
              bRow.push_back(k.load(
                  lanes, bMatrix, {kk, k.addi(j0, k.index(v * width))}));
            SmallVector<Value> next;
            for (int64_t r = 0; r < rows; ++r) {
              Value aElement =
                  k.load(element, a, {k.addi(i0, k.index(r)), kk});
              Value aSplat = k.broadcast(aElement, lanes);
              for (int64_t v = 0; v < columnVectors; ++v)
                next.push_back(
                    k.fma(aSplat, bRow[v], acc[r * columnVectors + v]));
            }
            return next;
          });
      for (int64_t r = 0; r < rows; ++r) {
        Value row = k.addi(i0, k.index(r));
        Value scale;
        if (options.rowScale)
          scale = k.broadcast(k.load(element, options.rowScale, {row}), lanes);
        for (int64_t v = 0; v < columnVectors; ++v) {
          Value column = k.addi(j0, k.index(v * width));
          Value value = acc[r * columnVectors + v];
          if (options.accumulate) {
            Value old = k.load(lanes, c, {row, column});
            value = scale ? k.fma(scale, value, old) : k.add(old, value);
          } else if (scale) {
            value = k.mul(scale, value);
          }
          k.store(value, c, {row, column});
        }
      }
    });
  });
}

//===----------------------------------------------------------------------===//
// Scaffold
//===----------------------------------------------------------------------===//

void lowering::emitParallel(
    KernelBuilder &k, ValueRange upperBounds,
    function_ref<void(KernelBuilder &, ValueRange)> workItem) {
  SmallVector<Value> lowerBounds(upperBounds.size(), k.index(0));
  SmallVector<Value> steps(upperBounds.size(), k.index(1));
  scf::ParallelOp::create(
      k.builder(), lowerBounds, upperBounds, steps,
      [&](OpBuilder &nested, Location loc, ValueRange ivs) {
        auto scope = memref::AllocaScopeOp::create(nested, loc, TypeRange{});
        OpBuilder::InsertionGuard guard(nested);
        nested.createBlock(&scope.getBodyRegion());
        ImplicitLocOpBuilder body(loc, nested);
        KernelBuilder bk(body);
        workItem(bk, ivs);
        memref::AllocaScopeReturnOp::create(body, ValueRange{});
      });
}

static Value groupedHead(KernelBuilder &k, Value head, int64_t numHeads,
                         int64_t numSourceHeads) {
  int64_t group = numHeads / numSourceHeads;
  return group == 1 ? head : k.divui(head, k.index(group));
}

Value MixContext::queryHead(KernelBuilder &k, Value head) const {
  return groupedHead(k, head, numHeads, numQueryHeads);
}
Value MixContext::keyHead(KernelBuilder &k, Value head) const {
  return groupedHead(k, head, numHeads, numKeyHeads);
}
Value MixContext::valueHead(KernelBuilder &k, Value head) const {
  return groupedHead(k, head, numHeads, numValueHeads);
}

bool MixContext::hasDiagonalDecay() const {
  return decayRate && decayRate->getType().getRank() == 2;
}

static Value dimOf(ImplicitLocOpBuilder &b, Value tensor, unsigned dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return arith::ConstantIndexOp::create(b, type.getDimSize(dim));
  return tensor::DimOp::create(b, tensor, dim);
}

static LogicalResult lowerMix(IRRewriter &rewriter, MixOp op,
                              const KernelEmitter &emitKernel) {
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  b.setInsertionPoint(op);
  MixContext ctx;
  ctx.op = op;
  ctx.numHeads = op.getNumHeads();
  ctx.numQueryHeads = op.getNumQueryHeads();
  ctx.numKeyHeads = op.getNumKeyHeads();
  ctx.numValueHeads = op.getNumValueHeads();
  ctx.stateSize = op.getStateSize();
  ctx.valueHeadDim = op.getValueHeadDim();
  ctx.batch = dimOf(b, op.getQ(), 0);
  ctx.length = dimOf(b, op.getQ(), 1);
  ctx.keyLength = dimOf(b, op.getK(), 1);
  Type valueElement = op.getV().getType().getElementType();
  ctx.computeType = valueElement.isF64() ? Type(b.getF64Type())
                                         : Type(b.getF32Type());

  ctx.q = FusedTensor::create(b, op.getQ());
  ctx.k = FusedTensor::create(b, op.getK());
  ctx.v = FusedTensor::create(b, op.getV());
  if (op.hasDecay()) {
    ctx.dt = FusedTensor::create(b, op.getDt());
    ctx.decayRate = FusedTensor::create(b, op.getA());
  }
  if (op.getInitialState())
    ctx.initialState = FusedTensor::create(b, op.getInitialState());

  RankedTensorType yType = op.getY().getType();
  SmallVector<Value> yDynamicSizes;
  if (yType.isDynamicDim(0))
    yDynamicSizes.push_back(ctx.batch);
  if (yType.isDynamicDim(1))
    yDynamicSizes.push_back(ctx.length);
  ctx.y = ResultSink::create(b, op, yDynamicSizes);
  if (Value finalState = op.getFinalState()) {
    auto type = cast<RankedTensorType>(finalState.getType());
    SmallVector<Value> dynamicSizes;
    if (type.isDynamicDim(0))
      dynamicSizes.push_back(ctx.batch);
    KernelBuilder k(b);
    ctx.finalState = k.alloc(
        MemRefType::get(type.getShape(), type.getElementType()), dynamicSizes);
  }

  if (failed(emitKernel(b, ctx)))
    return failure();

  rewriter.setInsertionPoint(op);
  ctx.y->finish(rewriter, op.getLoc());
  if (Value finalState = op.getFinalState()) {
    auto tensor = bufferization::ToTensorOp::create(
        rewriter, op.getLoc(), finalState.getType(), ctx.finalState,
        /*restrict=*/true, /*writable=*/true);
    rewriter.replaceAllUsesWith(finalState, tensor);
  }
  rewriter.eraseOp(op);
  return success();
}

LogicalResult lowering::lowerMixes(Operation *func, AlgorithmKind kind,
                                   const KernelEmitter &emitKernel) {
  SmallVector<MixOp> mixes;
  WalkResult planned = func->walk([&](MixOp op) {
    AlgorithmAttr algorithm = op.getAlgorithmAttr();
    if (!algorithm || !algorithm.getKernel()) {
      op.emitOpError() << "has no plan for the CPU: run ssm-select-algorithm "
                          "(backend=cpu) before the lowerings, which obey the "
                          "plan and do not choose";
      return WalkResult::interrupt();
    }
    if (algorithm.getKind() != kind)
      return WalkResult::advance();
    if (*algorithm.getKernel() != KernelKind::Loops) {
      op.emitOpError() << "is planned for kernel '"
                       << stringifyKernelKind(*algorithm.getKernel())
                       << "' of another backend, not the CPU's loops";
      return WalkResult::interrupt();
    }
    mixes.push_back(op);
    return WalkResult::advance();
  });
  if (planned.wasInterrupted())
    return failure();
  IRRewriter rewriter(func->getContext());
  for (MixOp op : mixes) {
    if (std::optional<std::string> why = op.whyIllegal(kind))
      return op.emitOpError() << *why;
    if (failed(lowerMix(rewriter, op, emitKernel)))
      return failure();
  }
  return success();
}
