//===- LowerRecurrent.cpp - ssm-lower-recurrent ---------------------------===//
//
// Lowers ssm.mix to a scan that carries the [N, P] state per (batch, head):
//   S_t = exp(dt_t A) ∘ S_{t-1} + k_t ⊗ v_t,   y_t = S_tᵀ q_t.
// Lanes of a vector hold either consecutive value dims p of one head (any
// decay) or the same p of consecutive heads (Mamba-1: P = 1, diagonal A).
// Positions are processed in blocks; within a block, a tile of state rows is
// kept in registers across every position of the block, and y accumulates
// the tiles' contributions in a small buffer.
//
// A single position (a decode step) reads and writes each state element
// once, so the state's [B, H, P, N] layout decides: lanes run over state
// rows n (contiguous there) and y_p is a lane reduction, instead of
// gathering and scattering the state along p. A length known only at run
// time gets both kernels, chosen by whether it is 1.
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

#define DEBUG_TYPE "ssm-lower-recurrent"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERRECURRENT
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

namespace {

/// How the lanes of a vector are assigned, and the tiling derived from it.
struct RecurrentPlan {
  /// A single position: lanes run over state rows n (the decode step).
  bool stateLanes = false;
  /// Lanes run over heads (Mamba-1) instead of over value dims.
  bool headLanes = false;
  int64_t lanes = 1;
  /// Columns of the state: P / lanes (value lanes) or P (head lanes).
  int64_t columns = 1;
  /// Work items per batch: H (value lanes) or H / lanes (head lanes).
  int64_t headGroups = 1;
  /// Register tile of state rows × columns kept across a position block.
  int64_t tileRows = 1, tileColumns = 1;
  /// Positions per block.
  int64_t blockLength = 64;
};

/// The plan of a single position.
RecurrentPlan planStep(const MixContext &ctx, int64_t vectorWidth) {
  RecurrentPlan plan;
  plan.stateLanes = true;
  plan.lanes = lanesDividing(ctx.stateSize, vectorWidth);
  return plan;
}

RecurrentPlan planRecurrent(const MixContext &ctx, int64_t vectorWidth) {
  RecurrentPlan plan;
  int64_t valueLanes = lanesDividing(ctx.valueHeadDim, vectorWidth);
  // Head lanes need heads of a vector to share their q and k heads and to
  // have value heads of their own.
  int64_t headLanes = 1;
  if (ctx.numValueHeads == ctx.numHeads) {
    int64_t queryGroup = ctx.numHeads / ctx.numQueryHeads;
    int64_t keyGroup = ctx.numHeads / ctx.numKeyHeads;
    headLanes = lanesDividing(std::gcd(queryGroup, keyGroup), vectorWidth);
  }
  if (headLanes > valueLanes) {
    plan.headLanes = true;
    plan.lanes = headLanes;
    plan.columns = ctx.valueHeadDim;
    plan.headGroups = ctx.numHeads / headLanes;
  } else {
    plan.lanes = valueLanes;
    plan.columns = ctx.valueHeadDim / valueLanes;
    plan.headGroups = ctx.numHeads;
  }
  plan.tileColumns = std::min<int64_t>(plan.columns, 4);
  while (plan.columns % plan.tileColumns != 0)
    --plan.tileColumns;
  int64_t maxRows = std::max<int64_t>(1, 16 / plan.tileColumns);
  for (int64_t rows = std::min(maxRows, ctx.stateSize); rows >= 1; --rows)
    if (ctx.stateSize % rows == 0) {
      plan.tileRows = rows;
      break;
    }
  return plan;
}

/// Emits the recurrent kernel of one prepared mix.
class RecurrentKernel {
public:
  RecurrentKernel(MixContext &ctx, const RecurrentPlan &plan)
      : ctx(ctx), plan(plan) {}

  void emit(ImplicitLocOpBuilder &b) {
    KernelBuilder k(b);
    if (plan.stateLanes) {
      emitParallel(k, {ctx.batch, k.index(ctx.numHeads)},
                   [&](KernelBuilder &k, ValueRange ivs) {
                     emitStep(k, ivs[0], ivs[1]);
                   });
      return;
    }
    emitParallel(k, {ctx.batch, k.index(plan.headGroups)},
                 [&](KernelBuilder &k, ValueRange ivs) {
                   emitWorkItem(k, ivs[0], ivs[1]);
                 });
  }

private:
  Type f() const { return ctx.computeType; }
  VectorType vec() const { return VectorType::get({plan.lanes}, f()); }
  int64_t rowWidth() const { return plan.columns * plan.lanes; }

  /// Indices and lane dim of value column `column` (index) at `position`,
  /// in the [B, L, H, P] layout shared by v and y.
  std::pair<SmallVector<Value>, unsigned>
  valueIndices(KernelBuilder &k, Value position, Value column) {
    if (plan.headLanes)
      return {{batch, position, firstHead, column}, 2};
    return {{batch, position, firstHead, k.muli(column, k.index(plan.lanes))},
            3};
  }

  /// Indices and lane dim of state element (column, row n) in [B, H, P, N].
  std::pair<SmallVector<Value>, unsigned>
  stateIndices(KernelBuilder &k, Value column, Value row) {
    if (plan.headLanes)
      return {{batch, firstHead, column, row}, 1};
    return {{batch, firstHead, k.muli(column, k.index(plan.lanes)), row}, 2};
  }

  void emitWorkItem(KernelBuilder &k, Value b, Value group) {
    batch = b;
    firstHead = plan.headLanes ? k.muli(group, k.index(plan.lanes)) : group;
    queryHead = ctx.queryHead(k, firstHead);
    keyHead = ctx.keyHead(k, firstHead);
    valueHead = ctx.valueHead(k, firstHead);
    const int64_t n = ctx.stateSize, t = plan.blockLength;

    auto buffer = [&](int64_t rows, int64_t cols) {
      return k.scratch(MemRefType::get({rows, cols}, f()));
    };
    state = buffer(n, rowWidth());
    values = buffer(t, rowWidth());
    outputs = buffer(t, rowWidth());
    if (ctx.hasDecay()) {
      steps = buffer(t, plan.lanes);
      if (ctx.hasDiagonalDecay()) {
        decayRates = buffer(n, plan.lanes);
        k.loop(0, n, 1, [&](KernelBuilder &k, Value row) {
          Value rate =
              ctx.decayRate->read(k, {firstHead, row}, 0,
                                  plan.headLanes ? plan.lanes : 1, f());
          k.store(k.broadcast(rate, vec()), decayRates, {row, k.index(0)});
        });
      } else {
        scalarRate = k.broadcast(
            ctx.decayRate->read(k, {firstHead}, 0,
                                plan.headLanes ? plan.lanes : 1, f()),
            vec());
      }
    }
    emitInitialState(k);

    k.loop(k.index(0), ctx.length, k.index(t),
           [&](KernelBuilder &k, Value blockStart) {
             Value count =
                 k.minui(k.index(t), k.subi(ctx.length, blockStart));
             emitPack(k, blockStart, count);
             k.loop(0, n, plan.tileRows, [&](KernelBuilder &k, Value row0) {
               k.loop(0, plan.columns, plan.tileColumns,
                      [&](KernelBuilder &k, Value column0) {
                        emitTile(k, blockStart, count, row0, column0);
                      });
             });
             emitOutputs(k, blockStart, count);
           });

    if (ctx.finalState)
      emitFinalState(k);
  }

  /// One position of head `head`: for each value dim p, the state row
  /// S[p, :] in vectors along n, decayed, plus k v_p, into the final state,
  /// and y_p = Σ_n q_n S[p, n].
  void emitStep(KernelBuilder &k, Value b, Value head) {
    const int64_t lanes = plan.lanes;
    Value position = k.index(0);
    Value queryHead = ctx.queryHead(k, head), keyHead = ctx.keyHead(k, head),
          valueHead = ctx.valueHead(k, head);
    Value step, scalarDecay;
    if (ctx.hasDecay()) {
      step = ctx.dt->read(k, {b, position, head}, 2, 1, f());
      if (!ctx.hasDiagonalDecay())
        scalarDecay = k.broadcast(
            k.exp(k.mul(step, ctx.decayRate->read(k, {head}, 0, 1, f()))),
            vec());
    }
    auto finalElement =
        ctx.finalState
            ? cast<MemRefType>(ctx.finalState.getType()).getElementType()
            : Type();
    k.loop(0, ctx.valueHeadDim, 1, [&](KernelBuilder &k, Value p) {
      Value value = k.broadcast(
          ctx.v->read(k, {b, position, valueHead, p}, 3, 1, f()), vec());
      SmallVector<Value> sum = k.loop(
          k.index(0), k.index(ctx.stateSize), k.index(lanes),
          {k.floatConst(vec(), 0.0)},
          [&](KernelBuilder &k, Value n, ValueRange sum) -> SmallVector<Value> {
            Value s = ctx.initialState
                          ? ctx.initialState->read(k, {b, head, p, n}, 3,
                                                   lanes, f())
                          : k.floatConst(vec(), 0.0);
            if (scalarDecay) {
              s = k.mul(scalarDecay, s);
            } else if (step) {
              Value rate = ctx.decayRate->read(k, {head, n}, 1, lanes, f());
              s = k.mul(k.exp(k.mul(k.broadcast(step, vec()), rate)), s);
            }
            Value key =
                ctx.k->read(k, {b, position, keyHead, n}, 3, lanes, f());
            Value query =
                ctx.q->read(k, {b, position, queryHead, n}, 3, lanes, f());
            s = k.fma(key, value, s);
            if (ctx.finalState)
              storeAlong(k, k.convert(s, finalElement), ctx.finalState,
                         {b, head, p, n}, 3, lanes);
            return {k.fma(query, s, sum[0])};
          });
      ctx.y->write(k, k.reduceAdd(sum[0]), {b, position, head, p}, 3, 1);
    });
  }

  void emitInitialState(KernelBuilder &k) {
    if (!ctx.initialState) {
      k.fill(state, k.index(ctx.stateSize), rowWidth(), vec(), 0.0);
      return;
    }
    k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
      k.loop(0, plan.columns, 1, [&](KernelBuilder &k, Value column) {
        auto [indices, dim] = stateIndices(k, column, row);
        Value lanes =
            ctx.initialState->read(k, indices, dim, plan.lanes, f());
        k.store(k.broadcast(lanes, vec()), state,
                {row, k.muli(column, k.index(plan.lanes))});
      });
    });
  }

  /// Reads the block's values, step sizes and decays; clears its outputs.
  void emitPack(KernelBuilder &k, Value blockStart, Value count) {
    Value zeroVector = k.floatConst(vec(), 0.0);
    k.loop(k.index(0), count, k.index(1), [&](KernelBuilder &k, Value i) {
      Value position = k.addi(blockStart, i);
      k.loop(0, plan.columns, 1, [&](KernelBuilder &k, Value column) {
        auto [indices, dim] = valueIndices(k, position, column);
        indices[2] = valueHead;
        Value value = ctx.v->read(k, indices, dim, plan.lanes, f());
        Value offset = k.muli(column, k.index(plan.lanes));
        k.store(k.broadcast(value, vec()), values, {i, offset});
        k.store(zeroVector, outputs, {i, offset});
      });
      if (!ctx.hasDecay())
        return;
      Value step = k.broadcast(
          ctx.dt->read(k, {batch, position, firstHead}, 2,
                       plan.headLanes ? plan.lanes : 1, f()),
          vec());
      // A scalar decay is the same for every state row: exponentiate once.
      if (!ctx.hasDiagonalDecay())
        step = k.exp(k.mul(step, scalarRate));
      k.store(step, steps, {i, k.index(0)});
    });
  }

  /// Runs the block's positions over one register tile of the state.
  void emitTile(KernelBuilder &k, Value blockStart, Value count, Value row0,
                Value column0) {
    const int64_t rows = plan.tileRows, cols = plan.tileColumns;
    auto offsetOf = [&](KernelBuilder &k, int64_t j) {
      return k.muli(k.addi(column0, k.index(j)), k.index(plan.lanes));
    };
    SmallVector<Value> tile;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        tile.push_back(k.load(vec(), state,
                              {k.addi(row0, k.index(i)), offsetOf(k, j)}));

    SmallVector<Value> result = k.loop(
        k.index(0), count, k.index(1), tile,
        [&](KernelBuilder &k, Value t, ValueRange tile) {
          Value position = k.addi(blockStart, t);
          SmallVector<Value> acc, value;
          for (int64_t j = 0; j < cols; ++j) {
            acc.push_back(k.load(vec(), outputs, {t, offsetOf(k, j)}));
            value.push_back(k.load(vec(), values, {t, offsetOf(k, j)}));
          }
          Value decay;
          if (ctx.hasDecay())
            decay = k.load(vec(), steps, {t, k.index(0)});
          SmallVector<Value> next;
          for (int64_t i = 0; i < rows; ++i) {
            Value row = k.addi(row0, k.index(i));
            Value key = k.broadcast(
                ctx.k->read(k, {batch, position, keyHead, row}, 3, 1, f()),
                vec());
            Value query = k.broadcast(
                ctx.q->read(k, {batch, position, queryHead, row}, 3, 1, f()),
                vec());
            Value rowDecay = decay;
            if (ctx.hasDiagonalDecay())
              rowDecay = k.exp(
                  k.mul(decay, k.load(vec(), decayRates, {row, k.index(0)})));
            for (int64_t j = 0; j < cols; ++j) {
              Value s = tile[i * cols + j];
              if (rowDecay)
                s = k.mul(rowDecay, s);
              s = k.fma(key, value[j], s);
              acc[j] = k.fma(query, s, acc[j]);
              next.push_back(s);
            }
          }
          for (int64_t j = 0; j < cols; ++j)
            k.store(acc[j], outputs, {t, offsetOf(k, j)});
          return next;
        });

    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        k.store(result[i * cols + j], state,
                {k.addi(row0, k.index(i)), offsetOf(k, j)});
  }

  void emitOutputs(KernelBuilder &k, Value blockStart, Value count) {
    k.loop(k.index(0), count, k.index(1), [&](KernelBuilder &k, Value i) {
      Value position = k.addi(blockStart, i);
      k.loop(0, plan.columns, 1, [&](KernelBuilder &k, Value column) {
        Value value = k.load(vec(), outputs,
                             {i, k.muli(column, k.index(plan.lanes))});
        auto [indices, dim] = valueIndices(k, position, column);
        ctx.y->write(k, plan.lanes == 1 ? extractScalar(k, value) : value,
                     indices, dim, plan.lanes);
      });
    });
  }

  void emitFinalState(KernelBuilder &k) {
    k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
      k.loop(0, plan.columns, 1, [&](KernelBuilder &k, Value column) {
        Value value = k.load(vec(), state,
                             {row, k.muli(column, k.index(plan.lanes))});
        auto [indices, dim] = stateIndices(k, column, row);
        auto element =
            cast<MemRefType>(ctx.finalState.getType()).getElementType();
        value = k.convert(plan.lanes == 1 ? extractScalar(k, value) : value,
                          element);
        storeAlong(k, value, ctx.finalState, indices, dim, plan.lanes);
      });
    });
  }

  static Value extractScalar(KernelBuilder &k, Value vector) {
    return vector::ExtractOp::create(k.builder(), vector, 0);
  }

  MixContext &ctx;
  const RecurrentPlan &plan;
  Value batch, firstHead, queryHead, keyHead, valueHead;
  Value state, values, outputs, steps, decayRates, scalarRate;
};

struct SsmLowerRecurrentPass
    : mlir::ssm::impl::SsmLowerRecurrentBase<SsmLowerRecurrentPass> {
  using Base::Base;
  void runOnOperation() override {
    auto emit = [](ImplicitLocOpBuilder &b, MixContext &ctx) {
      const int64_t width = ctx.op.getAlgorithmAttr().getVectorWidth();
      RecurrentPlan step = planStep(ctx, width);
      RecurrentPlan scan = planRecurrent(ctx, width);
      if (std::optional<int64_t> length = getConstantIntValue(ctx.length)) {
        RecurrentKernel(ctx, *length == 1 ? step : scan).emit(b);
        return success();
      }
      KernelBuilder k(b);
      Value single = k.cmpi(arith::CmpIPredicate::eq, ctx.length, k.index(1));
      scf::IfOp::create(
          b, single,
          [&](OpBuilder &nested, Location loc) {
            ImplicitLocOpBuilder inner(loc, nested);
            RecurrentKernel(ctx, step).emit(inner);
            scf::YieldOp::create(inner);
          },
          [&](OpBuilder &nested, Location loc) {
            ImplicitLocOpBuilder inner(loc, nested);
            RecurrentKernel(ctx, scan).emit(inner);
            scf::YieldOp::create(inner);
          });
      return success();
    };
    if (failed(lowerMixes(getOperation(), AlgorithmKind::Recurrent, emit)))
      signalPassFailure();
  }
};

} // namespace
