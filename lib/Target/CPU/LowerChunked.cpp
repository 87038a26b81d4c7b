//===- LowerChunked.cpp - ssm-lower-chunked -------------------------------===//
//
// Lowers ssm.mix with SSD's chunked block decomposition. Per (batch, head)
// and chunk of Q positions (the last one zero-padded: padded steps have
// dt = 0 and k = v = 0, so they change nothing):
//   1. intra-chunk:   Y  = ((C Bᵀ) ∘ L) X,  L[i, j] = exp(cum_i − cum_j), j ≤ i
//   2. state-output:  Y += diag(exp(cum)) · C · S
//   3. chunk state:   the chunk's own state Bᵀ · (w ∘ X), w_j = exp(cum_Q − cum_j)
//   4. state scan:    S = exp(cum_Q) · S + that chunk state
// with cum the running sum of dt·A inside the chunk. Every product is a
// register-tiled matmul on packed chunk buffers.
//
//===----------------------------------------------------------------------===//

#include "ssm/Target/CPU/Passes.h"

#include "MixLowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#define DEBUG_TYPE "ssm-lower-chunked"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERCHUNKED
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

namespace {

class ChunkedKernel {
public:
  ChunkedKernel(MixContext &ctx, int64_t chunkSize, int64_t vectorWidth)
      : ctx(ctx), chunk(chunkSize) {
    stateLanes = lanesDividing(ctx.stateSize, vectorWidth);
    valueLanes = lanesDividing(ctx.valueHeadDim, vectorWidth);
    chunkLanes = lanesDividing(chunk, vectorWidth);
  }

  void emit(ImplicitLocOpBuilder &b) {
    KernelBuilder k(b);
    emitParallel(k, {ctx.batch, k.index(ctx.numHeads)},
                 [&](KernelBuilder &k, ValueRange ivs) {
                   emitWorkItem(k, ivs[0], ivs[1]);
                 });
  }

private:
  Type f() const { return ctx.computeType; }
  VectorType lanes(int64_t width) const {
    return VectorType::get({width}, f());
  }
  Value buffer(KernelBuilder &k, ArrayRef<int64_t> shape) {
    return k.scratch(MemRefType::get(shape, f()));
  }

  void emitWorkItem(KernelBuilder &k, Value b, Value h) {
    batch = b;
    head = h;
    queryHead = ctx.queryHead(k, h);
    keyHead = ctx.keyHead(k, h);
    valueHead = ctx.valueHead(k, h);
    const int64_t n = ctx.stateSize, p = ctx.valueHeadDim, q = chunk;
    queries = buffer(k, {q, n});
    keysT = buffer(k, {n, q});
    values = buffer(k, {q, p});
    weighted = buffer(k, {q, p});
    scores = buffer(k, {q, q});
    outputs = buffer(k, {q, p});
    state = buffer(k, {n, p});
    cumulative = buffer(k, {q});
    rowScale = buffer(k, {q});
    if (ctx.hasDecay())
      rate = ctx.decayRate->read(k, {head}, 0, 1, f());
    emitInitialState(k);

    k.loop(k.index(0), ctx.length, k.index(q),
           [&](KernelBuilder &k, Value chunkStart) {
             Value count = k.minui(k.index(q), k.subi(ctx.length, chunkStart));
             emitPack(k, chunkStart, count);
             emitIntraChunk(k);
             emitStateToOutput(k);
             emitStateUpdate(k);
             emitOutputs(k, chunkStart, count);
           });
    if (ctx.finalState)
      emitFinalState(k);
  }

  void emitInitialState(KernelBuilder &k) {
    if (!ctx.initialState) {
      k.fill(state, k.index(ctx.stateSize), ctx.valueHeadDim,
             lanes(valueLanes), 0.0);
      return;
    }
    k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes) {
        Value value = ctx.initialState->read(
            k, {batch, head, k.index(col), row}, 2, valueLanes, f());
        k.store(k.broadcast(value, lanes(valueLanes)), state,
                {row, k.index(col)});
      }
    });
  }

  /// Packs the chunk's rows of q, k (transposed) and v, zero beyond
  /// `count`, and the running sum of dt·A.
  void emitPack(KernelBuilder &k, Value chunkStart, Value count) {
    const int64_t n = ctx.stateSize, p = ctx.valueHeadDim;
    Value last = k.subi(ctx.length, k.index(1));
    Value zero = k.floatConst(f(), 0.0);
    SmallVector<Value> sum = k.loop(
        k.index(0), k.index(chunk), k.index(1), {zero},
        [&](KernelBuilder &k, Value t, ValueRange running) {
          Value valid = k.cmpi(arith::CmpIPredicate::ult, t, count);
          // Padded steps read the last position and discard it.
          Value position = k.minui(k.addi(chunkStart, t), last);
          for (int64_t col = 0; col < n; col += stateLanes) {
            VectorType type = lanes(stateLanes);
            Value zeros = k.floatConst(type, 0.0);
            Value query = k.broadcast(
                ctx.q->read(k, {batch, position, queryHead, k.index(col)}, 3,
                            stateLanes, f()),
                type);
            k.store(k.select(valid, query, zeros), queries, {t, k.index(col)});
            Value key = k.broadcast(
                ctx.k->read(k, {batch, position, keyHead, k.index(col)}, 3,
                            stateLanes, f()),
                type);
            key = k.select(valid, key, zeros);
            for (int64_t lane = 0; lane < stateLanes; ++lane)
              k.store(vector::ExtractOp::create(k.builder(), key, lane), keysT,
                      {k.index(col + lane), t});
          }
          for (int64_t col = 0; col < p; col += valueLanes) {
            VectorType type = lanes(valueLanes);
            Value value = k.broadcast(
                ctx.v->read(k, {batch, position, valueHead, k.index(col)}, 3,
                            valueLanes, f()),
                type);
            k.store(k.select(valid, value, k.floatConst(type, 0.0)), values,
                    {t, k.index(col)});
          }
          Value next = running[0];
          if (ctx.hasDecay()) {
            Value step = ctx.dt->read(k, {batch, position, head}, 2, 1, f());
            next = k.add(next, k.select(valid, k.mul(step, rate), zero));
          }
          k.store(next, cumulative, {t});
          return SmallVector<Value>{next};
        });
    chunkLogDecay = sum[0];
  }

  /// Y = ((C Bᵀ) ∘ L) X over the chunk.
  void emitIntraChunk(KernelBuilder &k) {
    VectorType chunkVector = lanes(chunkLanes);
    MatmulOptions lowerTriangle;
    lowerTriangle.lowerTriangularC = true;
    emitMatmul(k, queries, keysT, scores, chunk, chunk, ctx.stateSize,
               chunkVector, lowerTriangle);

    // Scores above the diagonal become 0 (they may hold stale values or
    // overflow in exp; select does not propagate them).
    Value iota = vector::StepOp::create(
        k.builder(), VectorType::get({chunkLanes}, k.builder().getIndexType()));
    k.loop(0, chunk, 1, [&](KernelBuilder &k, Value i) {
      Value rowSum = k.broadcast(k.load(f(), cumulative, {i}), chunkVector);
      Value rowIndex = k.broadcast(
          i, VectorType::get({chunkLanes}, k.builder().getIndexType()));
      for (int64_t col = 0; col < chunk; col += chunkLanes) {
        Value columns = k.addi(
            iota, k.broadcast(k.index(col), iota.getType()));
        Value keep = k.cmpi(arith::CmpIPredicate::ule, columns, rowIndex);
        Value score = k.load(chunkVector, scores, {i, k.index(col)});
        if (ctx.hasDecay()) {
          Value colSum = k.load(chunkVector, cumulative, {k.index(col)});
          score = k.mul(score, k.exp(k.sub(rowSum, colSum)));
        }
        score = k.select(keep, score, k.floatConst(chunkVector, 0.0));
        k.store(score, scores, {i, k.index(col)});
      }
    });

    MatmulOptions triangularA;
    triangularA.lowerTriangularA = true;
    emitMatmul(k, scores, values, outputs, chunk, ctx.valueHeadDim, chunk,
               lanes(valueLanes), triangularA);
  }

  /// Y += diag(exp(cum)) · C · S: what the state before the chunk adds.
  void emitStateToOutput(KernelBuilder &k) {
    if (ctx.hasDecay()) {
      k.loop(0, chunk, 1, [&](KernelBuilder &k, Value i) {
        k.store(k.exp(k.load(f(), cumulative, {i})), rowScale, {i});
      });
    }
    MatmulOptions options;
    options.accumulate = true;
    if (ctx.hasDecay())
      options.rowScale = rowScale;
    emitMatmul(k, queries, state, outputs, chunk, ctx.valueHeadDim,
               ctx.stateSize, lanes(valueLanes), options);
  }

  /// S = exp(cum_Q) · S + Bᵀ · (w ∘ X).
  void emitStateUpdate(KernelBuilder &k) {
    VectorType valueVector = lanes(valueLanes);
    Value source = values;
    if (ctx.hasDecay()) {
      k.loop(0, chunk, 1, [&](KernelBuilder &k, Value j) {
        Value weight = k.broadcast(
            k.exp(k.sub(chunkLogDecay, k.load(f(), cumulative, {j}))),
            valueVector);
        for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes)
          k.store(k.mul(weight, k.load(valueVector, values, {j, k.index(col)})),
                  weighted, {j, k.index(col)});
      });
      Value decay = k.broadcast(k.exp(chunkLogDecay), valueVector);
      k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
        for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes)
          k.store(k.mul(decay, k.load(valueVector, state, {row, k.index(col)})),
                  state, {row, k.index(col)});
      });
      source = weighted;
    }
    MatmulOptions accumulate;
    accumulate.accumulate = true;
    emitMatmul(k, keysT, source, state, ctx.stateSize, ctx.valueHeadDim, chunk,
               valueVector, accumulate);
  }

  void emitOutputs(KernelBuilder &k, Value chunkStart, Value count) {
    VectorType valueVector = lanes(valueLanes);
    k.loop(k.index(0), count, k.index(1), [&](KernelBuilder &k, Value t) {
      Value position = k.addi(chunkStart, t);
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes) {
        Value value = k.load(valueVector, outputs, {t, k.index(col)});
        if (valueLanes == 1)
          value = vector::ExtractOp::create(k.builder(), value, 0);
        ctx.y->write(k, value, {batch, position, head, k.index(col)}, 3,
                     valueLanes);
      }
    });
  }

  void emitFinalState(KernelBuilder &k) {
    VectorType valueVector = lanes(valueLanes);
    auto element = cast<MemRefType>(ctx.finalState.getType()).getElementType();
    k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes) {
        Value value = k.load(valueVector, state, {row, k.index(col)});
        if (valueLanes == 1)
          value = vector::ExtractOp::create(k.builder(), value, 0);
        storeAlong(k, k.convert(value, element), ctx.finalState,
                   {batch, head, k.index(col), row}, 2, valueLanes);
      }
    });
  }

  MixContext &ctx;
  int64_t chunk, stateLanes, valueLanes, chunkLanes;
  Value batch, head, queryHead, keyHead, valueHead, rate;
  Value queries, keysT, values, weighted, scores, outputs, state, cumulative,
      rowScale, chunkLogDecay;
};

struct SsmLowerChunkedPass
    : mlir::ssm::impl::SsmLowerChunkedBase<SsmLowerChunkedPass> {
  using Base::Base;
  void runOnOperation() override {
    auto emit = [](ImplicitLocOpBuilder &b, MixContext &ctx) {
      AlgorithmAttr plan = ctx.op.getAlgorithmAttr();
      ChunkedKernel(ctx, plan.getChunkSize(), plan.getVectorWidth()).emit(b);
      return success();
    };
    if (failed(lowerMixes(getOperation(), AlgorithmKind::Chunked, emit)))
      signalPassFailure();
  }
};

} // namespace
