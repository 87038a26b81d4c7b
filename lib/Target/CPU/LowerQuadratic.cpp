//===- LowerQuadratic.cpp - ssm-lower-quadratic ---------------------------===//
//
// Lowers ssm.mix by materialising M one tile at a time (flash-attention
// style). Work items are (batch, head, block of query rows); for every block
// of keys the mask allows:
//   S = (scale ·) Q_blk K_blkᵀ               register-tiled matmul
//   S ∘= decay, masked                        exp(cum_i − cum_j), j kept
//   softmax: running max m and sum l per row, S = exp(S − m), O rescaled
//   O += S V_blk                              register-tiled matmul
// and O / l (softmax) is written through the fused epilogue. A diagonal
// decay (A [H, N]) cannot be factored out of Q Kᵀ: its scores are summed
// per state index (slow, but exact). Queries against a cache (Lq < Lk) are
// the last Lq positions: query row i is masked as position i + Lk − Lq.
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

#include <limits>

#define DEBUG_TYPE "ssm-lower-quadratic"

namespace mlir::ssm {
#define GEN_PASS_DEF_SSMLOWERQUADRATIC
#include "ssm/Target/CPU/Passes.h.inc"
} // namespace mlir::ssm

using namespace mlir;
using namespace mlir::ssm;
using namespace mlir::ssm::lowering;

namespace {

// Query rows and keys per tile.
constexpr int64_t kQueryBlock = 64;
constexpr int64_t kKeyBlock = 64;

class QuadraticKernel {
public:
  QuadraticKernel(MixContext &ctx, int64_t vectorWidth) : ctx(ctx) {
    stateLanes = lanesDividing(ctx.stateSize, vectorWidth);
    valueLanes = lanesDividing(ctx.valueHeadDim, vectorWidth);
    keyLanes = lanesDividing(kKeyBlock, vectorWidth);
    isSoftmax = ctx.op.isSoftmax();
    mask = ctx.op.getMask();
    if (isSoftmax)
      scale = ctx.op.getScaleAttr().getValueAsDouble();
  }

  void emit(ImplicitLocOpBuilder &b) {
    KernelBuilder k(b);
    queryOffset = k.subi(ctx.keyLength, ctx.length);
    Value blocks = k.divui(k.addi(ctx.length, k.index(kQueryBlock - 1)),
                           k.index(kQueryBlock));
    emitParallel(k, {ctx.batch, k.index(ctx.numHeads), blocks},
                 [&](KernelBuilder &k, ValueRange ivs) {
                   emitWorkItem(k, ivs[0], ivs[1],
                                k.muli(ivs[2], k.index(kQueryBlock)));
                 });
    if (ctx.finalState)
      emitParallel(k, {ctx.batch, k.index(ctx.numHeads)},
                   [&](KernelBuilder &k, ValueRange ivs) {
                     emitFinalState(k, ivs[0], ivs[1]);
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
  bool isDiagonal() const { return ctx.hasDiagonalDecay(); }
  /// Lanes of a decay's cumulative sums: 1 (scalar) or N (diagonal).
  int64_t decayWidth() const { return isDiagonal() ? ctx.stateSize : 1; }

  /// dt_t · A (scalar, or a vector over state indices), 0 beyond L.
  Value stepLogDecay(KernelBuilder &k, Value position) {
    Value valid = k.cmpi(arith::CmpIPredicate::ult, position, ctx.length);
    Value clamped = k.minui(position, k.subi(ctx.length, k.index(1)));
    Value step = ctx.dt->read(k, {batch, clamped, head}, 2, 1, f());
    if (isDiagonal()) {
      VectorType type = lanes(ctx.stateSize);
      Value product = k.mul(k.broadcast(step, type), rateRow);
      return k.select(valid, product, k.floatConst(type, 0.0));
    }
    return k.select(valid, k.mul(step, rate), k.floatConst(f(), 0.0));
  }

  /// Heads and decay rates of work item (b, h).
  void setUpHead(KernelBuilder &k, Value b, Value h) {
    batch = b;
    head = h;
    queryHead = ctx.queryHead(k, h);
    keyHead = ctx.keyHead(k, h);
    valueHead = ctx.valueHead(k, h);
    if (!ctx.hasDecay())
      return;
    if (isDiagonal()) {
      rateRow = ctx.decayRate->read(k, {head, k.index(0)}, 1, ctx.stateSize,
                                    f());
      if (ctx.stateSize == 1)
        rateRow = k.broadcast(rateRow, lanes(1));
    } else {
      rate = ctx.decayRate->read(k, {head}, 0, 1, f());
    }
  }

  /// [N, P] buffer holding the initial state of (batch, head).
  Value loadInitialState(KernelBuilder &k) {
    Value initial = buffer(k, {ctx.stateSize, ctx.valueHeadDim});
    VectorType type = lanes(valueLanes);
    k.loop(0, ctx.stateSize, 1, [&](KernelBuilder &k, Value row) {
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes) {
        Value value = ctx.initialState->read(
            k, {batch, head, k.index(col), row}, 2, valueLanes, f());
        k.store(k.broadcast(value, type), initial, {row, k.index(col)});
      }
    });
    return initial;
  }

  void emitWorkItem(KernelBuilder &k, Value b, Value h, Value rowStart) {
    setUpHead(k, b, h);
    const int64_t n = ctx.stateSize, p = ctx.valueHeadDim;
    queries = buffer(k, {kQueryBlock, n});
    keysT = buffer(k, {n, kKeyBlock});
    values = buffer(k, {kKeyBlock, p});
    scores = buffer(k, {kQueryBlock, kKeyBlock});
    outputs = buffer(k, {kQueryBlock, p});
    if (isSoftmax) {
      rowMax = buffer(k, {kQueryBlock});
      rowSum = buffer(k, {kQueryBlock});
    }
    if (ctx.hasDecay()) {
      queryCum = buffer(k, {kQueryBlock, decayWidth()});
      keyCum = buffer(k, {kKeyBlock, decayWidth()});
      if (isDiagonal())
        keysRaw = buffer(k, {kKeyBlock, n});
    }
    Value count =
        k.minui(k.index(kQueryBlock), k.subi(ctx.length, rowStart));
    // Position of the block's first query among the keys. A decay or a state
    // comes with Lq = Lk, so their sums below use rowStart.
    Value queryStart = k.addi(rowStart, queryOffset);

    emitQueryPack(k, rowStart);
    k.fill(outputs, k.index(kQueryBlock), p, lanes(valueLanes), 0.0);
    if (isSoftmax) {
      k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
        k.store(k.floatConst(f(), -std::numeric_limits<double>::infinity()),
                rowMax, {i});
        k.store(k.floatConst(f(), 0.0), rowSum, {i});
      });
    }

    // Keys the mask allows for these rows.
    Value keyStart = k.index(0);
    Value keyEnd = ctx.keyLength;
    if (mask.getKind() != MaskKind::Full)
      keyEnd =
          k.minui(ctx.keyLength, k.addi(queryStart, k.index(kQueryBlock)));
    if (mask.getKind() == MaskKind::Window) {
      Value reach = k.index(mask.getWindow() - 1);
      Value first = k.select(
          k.cmpi(arith::CmpIPredicate::ugt, queryStart, reach),
          k.subi(queryStart, reach), k.index(0));
      keyStart = k.muli(k.divui(first, k.index(kKeyBlock)),
                        k.index(kKeyBlock));
    }
    SmallVector<Value> initial;
    if (ctx.hasDecay())
      initial.push_back(emitKeyOffset(k, rowStart, keyStart));
    if (ctx.initialState) {
      // cum_{-1} − cum_rowStart: the mask is causal, so keyStart is 0.
      Value start;
      if (ctx.hasDecay())
        start = k.convert(
            k.sub(initial[0], k.convert(stepLogDecay(k, keyStart), wide())),
            f());
      emitInitialStateOutputs(k, start);
    }
    k.loop(keyStart, keyEnd, k.index(kKeyBlock), initial,
           [&](KernelBuilder &k, Value keyBlock, ValueRange carried) {
             SmallVector<Value> next;
             if (ctx.hasDecay())
               next.push_back(emitKeyCum(k, keyBlock, carried[0]));
             emitKeyPack(k, keyBlock);
             emitScores(k, queryStart, keyBlock);
             if (isSoftmax)
               emitOnlineSoftmax(k);
             MatmulOptions accumulate;
             accumulate.accumulate = true;
             emitMatmul(k, scores, values, outputs, kQueryBlock,
                        ctx.valueHeadDim, kKeyBlock, lanes(valueLanes),
                        accumulate);
             return next;
           });
    emitOutputs(k, rowStart, count);
  }

  /// O += diag(exp(cum)) Q S0: what the initial state adds to these rows.
  /// `start` is −(cumulative log-decay up to the block's first row), the
  /// mask being causal (key blocks start at 0).
  void emitInitialStateOutputs(KernelBuilder &k, Value start) {
    const int64_t n = ctx.stateSize;
    Value initial = loadInitialState(k);
    MatmulOptions options;
    options.accumulate = true;
    Value source = queries;
    if (ctx.hasDecay()) {
      if (isDiagonal()) {
        // Q ∘ exp(cum) per state index, then a plain product.
        source = buffer(k, {kQueryBlock, n});
        VectorType type = lanes(n);
        k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
          Value cum = k.sub(k.broadcast(loadCum(k, queryCum, i), type),
                            k.broadcast(start, type));
          Value query =
              n == 1 ? k.broadcast(k.load(f(), queries, {i, k.index(0)}), type)
                     : k.load(type, queries, {i, k.index(0)});
          Value scaled = k.mul(query, k.exp(cum));
          if (n == 1)
            k.store(vector::ExtractOp::create(k.builder(), scaled, 0), source,
                    {i, k.index(0)});
          else
            k.store(scaled, source, {i, k.index(0)});
        });
      } else {
        Value scale = buffer(k, {kQueryBlock});
        k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
          k.store(k.exp(k.sub(loadCum(k, queryCum, i), start)), scale, {i});
        });
        options.rowScale = scale;
      }
    }
    emitMatmul(k, source, initial, outputs, kQueryBlock, ctx.valueHeadDim, n,
               lanes(valueLanes), options);
  }

  /// final_state = exp(Σ dt A) ∘ S0 + Σ_j exp(Σ_{r>j} dt_r A) ∘ k_j v_jᵀ,
  /// summed block by block from the end (suffix sums: no cancellation).
  void emitFinalState(KernelBuilder &k, Value b, Value h) {
    setUpHead(k, b, h);
    const int64_t n = ctx.stateSize, p = ctx.valueHeadDim;
    Value state = buffer(k, {n, p});
    keysT = buffer(k, {n, kKeyBlock});
    values = buffer(k, {kKeyBlock, p});
    k.fill(state, k.index(n), p, lanes(valueLanes), 0.0);
    Type sumType = isDiagonal() ? Type(lanes(n)) : f();
    Value blocks = k.divui(k.addi(ctx.length, k.index(kKeyBlock - 1)),
                           k.index(kKeyBlock));
    Value last = k.subi(ctx.length, k.index(1));
    SmallVector<Value> suffix = k.loop(
        k.index(0), blocks, k.index(1), {k.floatConst(sumType, 0.0)},
        [&](KernelBuilder &k, Value index, ValueRange carried) {
          Value keyBlock = k.muli(k.subi(k.subi(blocks, k.index(1)), index),
                                  k.index(kKeyBlock));
          SmallVector<Value> after = k.loop(
              k.index(0), k.index(kKeyBlock), k.index(1), {carried[0]},
              [&](KernelBuilder &k, Value c, ValueRange running) {
                Value column = k.subi(k.index(kKeyBlock - 1), c);
                Value position = k.addi(keyBlock, column);
                Value valid =
                    k.cmpi(arith::CmpIPredicate::ult, position, ctx.length);
                Value clamped = k.minui(position, last);
                Value weight;
                if (ctx.hasDecay())
                  weight = k.exp(running[0]);
                for (int64_t col = 0; col < n; col += stateLanes) {
                  VectorType type = lanes(stateLanes);
                  Value key = k.broadcast(
                      ctx.k->read(k, {batch, clamped, keyHead, k.index(col)},
                                  3, stateLanes, f()),
                      type);
                  key = k.select(valid, key, k.floatConst(type, 0.0));
                  for (int64_t lane = 0; lane < stateLanes; ++lane) {
                    Value element =
                        vector::ExtractOp::create(k.builder(), key, lane);
                    if (weight)
                      element = k.mul(
                          element,
                          isDiagonal() ? Value(vector::ExtractOp::create(
                                             k.builder(), weight, col + lane))
                                       : weight);
                    k.store(element, keysT, {k.index(col + lane), column});
                  }
                }
                VectorType valueType = lanes(valueLanes);
                for (int64_t col = 0; col < p; col += valueLanes) {
                  Value value = k.broadcast(
                      ctx.v->read(k, {batch, clamped, valueHead, k.index(col)},
                                  3, valueLanes, f()),
                      valueType);
                  k.store(k.select(valid, value,
                                   k.floatConst(valueType, 0.0)),
                          values, {column, k.index(col)});
                }
                if (!ctx.hasDecay())
                  return SmallVector<Value>{running[0]};
                return SmallVector<Value>{
                    k.add(running[0], stepLogDecay(k, position))};
              });
          MatmulOptions accumulate;
          accumulate.accumulate = true;
          emitMatmul(k, keysT, values, state, n, p, kKeyBlock,
                     lanes(valueLanes), accumulate);
          return after;
        });

    VectorType type = lanes(valueLanes);
    auto element = cast<MemRefType>(ctx.finalState.getType()).getElementType();
    Value initial;
    if (ctx.initialState)
      initial = loadInitialState(k);
    k.loop(0, n, 1, [&](KernelBuilder &k, Value row) {
      Value decay;
      if (initial && ctx.hasDecay()) {
        Value total = suffix[0];
        if (isDiagonal())
          total = vector::ExtractOp::create(k.builder(), total,
                                            ArrayRef<OpFoldResult>{row});
        decay = k.broadcast(k.exp(total), type);
      }
      for (int64_t col = 0; col < p; col += valueLanes) {
        Value value = k.load(type, state, {row, k.index(col)});
        if (initial) {
          Value start = k.load(type, initial, {row, k.index(col)});
          value = decay ? k.fma(decay, start, value) : k.add(value, start);
        }
        if (valueLanes == 1)
          value = vector::ExtractOp::create(k.builder(), value, 0);
        storeAlong(k, k.convert(value, element), ctx.finalState,
                   {batch, head, k.index(col), row}, 2, valueLanes);
      }
    });
  }

  /// Packs the block's query rows (pre-scaled for softmax; zero beyond L)
  /// and, with a decay, their cumulative log-decays relative to `rowStart`.
  void emitQueryPack(KernelBuilder &k, Value rowStart) {
    const int64_t n = ctx.stateSize;
    VectorType type = lanes(stateLanes);
    Value last = k.subi(ctx.length, k.index(1));
    k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
      Value position = k.addi(rowStart, i);
      Value valid = k.cmpi(arith::CmpIPredicate::ult, position, ctx.length);
      Value clamped = k.minui(position, last);
      for (int64_t col = 0; col < n; col += stateLanes) {
        Value query = k.broadcast(
            ctx.q->read(k, {batch, clamped, queryHead, k.index(col)}, 3,
                        stateLanes, f()),
            type);
        if (isSoftmax)
          query = k.mul(query, k.floatConst(type, scale));
        k.store(k.select(valid, query, k.floatConst(type, 0.0)), queries,
                {i, k.index(col)});
      }
    });
    if (!ctx.hasDecay())
      return;
    // queryCum[i] = Σ_{r = rowStart+1 .. rowStart+i} dt_r A.
    Type cumType = isDiagonal() ? Type(lanes(ctx.stateSize)) : f();
    k.loop(k.index(0), k.index(kQueryBlock), k.index(1),
           {k.floatConst(cumType, 0.0)},
           [&](KernelBuilder &k, Value i, ValueRange running) {
             Value sum = running[0];
             Value position = k.addi(rowStart, i);
             Value positive = k.cmpi(arith::CmpIPredicate::ugt, i, k.index(0));
             sum = k.select(positive, k.add(sum, stepLogDecay(k, position)),
                            sum);
             storeCum(k, sum, queryCum, i);
             return SmallVector<Value>{sum};
           });
  }

  void storeCum(KernelBuilder &k, Value sum, Value cum, Value row) {
    if (isDiagonal() && ctx.stateSize > 1)
      k.store(sum, cum, {row, k.index(0)});
    else
      k.store(isDiagonal() ? vector::ExtractOp::create(k.builder(), sum, 0)
                           : sum,
              cum, {row, k.index(0)});
  }

  Value loadCum(KernelBuilder &k, Value cum, Value row) {
    if (isDiagonal() && ctx.stateSize > 1)
      return k.load(lanes(ctx.stateSize), cum, {row, k.index(0)});
    return k.load(f(), cum, {row, k.index(0)});
  }

  /// Cumulative log-decays spanning many positions are summed in f64: exp
  /// turns an absolute error in a log-decay into a relative error in M, and
  /// an f32 running sum over thousands of positions near the diagonal would
  /// carry the rounding of its largest partial sums.
  Type wide() { return Float64Type::get(ctx.op.getContext()); }
  Type wideCumType() {
    return isDiagonal() ? Type(VectorType::get({ctx.stateSize}, wide()))
                        : wide();
  }

  /// cum_keyStart − cum_rowStart = −Σ_{r = keyStart+1 .. rowStart} dt_r A,
  /// in f64.
  Value emitKeyOffset(KernelBuilder &k, Value rowStart, Value keyStart) {
    SmallVector<Value> sum =
        k.loop(k.addi(keyStart, k.index(1)), k.addi(rowStart, k.index(1)),
               k.index(1), {k.floatConst(wideCumType(), 0.0)},
               [&](KernelBuilder &k, Value r, ValueRange running) {
                 return SmallVector<Value>{
                     k.add(running[0], k.convert(stepLogDecay(k, r), wide()))};
               });
    return k.neg(sum[0]);
  }

  /// keyCum[c] = cum_{keyBlock+c} − cum_rowStart: the block's f64 `offset`
  /// (cum_keyBlock − cum_rowStart) plus the sums within the block, which
  /// accumulate exactly like the query block's, so that on the diagonal
  /// block keys and queries see identical cumulative sums. Returns the next
  /// block's offset.
  Value emitKeyCum(KernelBuilder &k, Value keyBlock, Value offset) {
    Type cumType = isDiagonal() ? Type(lanes(ctx.stateSize)) : f();
    Value narrowOffset = k.convert(offset, f());
    SmallVector<Value> sums = k.loop(
        k.index(0), k.index(kKeyBlock), k.index(1),
        {k.floatConst(cumType, 0.0), k.floatConst(wideCumType(), 0.0)},
        [&](KernelBuilder &k, Value c, ValueRange running) {
          Value positive = k.cmpi(arith::CmpIPredicate::ugt, c, k.index(0));
          Value step = stepLogDecay(k, k.addi(keyBlock, c));
          Value local = k.select(positive, k.add(running[0], step), running[0]);
          Value total = k.select(
              positive, k.add(running[1], k.convert(step, wide())), running[1]);
          storeCum(k, k.add(local, narrowOffset), keyCum, c);
          return SmallVector<Value>{local, total};
        });
    Value nextStep = k.convert(
        stepLogDecay(k, k.addi(keyBlock, k.index(kKeyBlock))), wide());
    return k.add(k.add(offset, sums[1]), nextStep);
  }

  /// Packs Kᵀ and V of the key block (zero beyond Lk).
  void emitKeyPack(KernelBuilder &k, Value keyBlock) {
    const int64_t n = ctx.stateSize, p = ctx.valueHeadDim;
    Value last = k.subi(ctx.keyLength, k.index(1));
    k.loop(0, kKeyBlock, 1, [&](KernelBuilder &k, Value c) {
      Value position = k.addi(keyBlock, c);
      Value valid =
          k.cmpi(arith::CmpIPredicate::ult, position, ctx.keyLength);
      Value clamped = k.minui(position, last);
      VectorType keyType = lanes(stateLanes);
      for (int64_t col = 0; col < n; col += stateLanes) {
        Value key = k.broadcast(
            ctx.k->read(k, {batch, clamped, keyHead, k.index(col)}, 3,
                        stateLanes, f()),
            keyType);
        key = k.select(valid, key, k.floatConst(keyType, 0.0));
        if (isDiagonal())
          k.store(key, keysRaw, {c, k.index(col)});
        for (int64_t lane = 0; lane < stateLanes; ++lane)
          k.store(vector::ExtractOp::create(k.builder(), key, lane), keysT,
                  {k.index(col + lane), c});
      }
      VectorType valueType = lanes(valueLanes);
      for (int64_t col = 0; col < p; col += valueLanes) {
        Value value = k.broadcast(
            ctx.v->read(k, {batch, clamped, valueHead, k.index(col)}, 3,
                        valueLanes, f()),
            valueType);
        k.store(k.select(valid, value, k.floatConst(valueType, 0.0)), values,
                {c, k.index(col)});
      }
    });
  }

  /// S = Q Kᵀ ∘ decay, with masked entries at 0 (linear) or −inf (softmax);
  /// query row i sits at position queryStart + i.
  void emitScores(KernelBuilder &k, Value queryStart, Value keyBlock) {
    if (isDiagonal())
      emitDiagonalScores(k);
    else
      emitMatmul(k, queries, keysT, scores, kQueryBlock, kKeyBlock,
                 ctx.stateSize, lanes(keyLanes));

    VectorType type = lanes(keyLanes);
    auto indexType = VectorType::get({keyLanes}, k.builder().getIndexType());
    Value iota = vector::StepOp::create(k.builder(), indexType);
    double masked = isSoftmax ? -std::numeric_limits<double>::infinity() : 0.0;
    Value keyLength = k.broadcast(ctx.keyLength, indexType);
    k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
      Value row = k.broadcast(k.addi(queryStart, i), indexType);
      Value rowCum;
      if (ctx.hasDecay() && !isDiagonal())
        rowCum = k.broadcast(loadCum(k, queryCum, i), type);
      for (int64_t col = 0; col < kKeyBlock; col += keyLanes) {
        Value column = k.addi(
            iota, k.broadcast(k.addi(keyBlock, k.index(col)), indexType));
        Value keep = k.cmpi(arith::CmpIPredicate::ult, column, keyLength);
        if (mask.getKind() != MaskKind::Full)
          keep = arith::AndIOp::create(
              k.builder(), keep,
              k.cmpi(arith::CmpIPredicate::ule, column, row));
        if (mask.getKind() == MaskKind::Window) {
          Value distance = k.subi(row, column);
          Value inWindow =
              k.cmpi(arith::CmpIPredicate::ult, distance,
                     k.broadcast(k.index(mask.getWindow()), indexType));
          keep = arith::AndIOp::create(k.builder(), keep, inWindow);
        }
        Value score = k.load(type, scores, {i, k.index(col)});
        if (rowCum) {
          Value colCum = loadColumnCum(k, col);
          score = k.mul(score, k.exp(k.sub(rowCum, colCum)));
        }
        k.store(k.select(keep, score, k.floatConst(type, masked)), scores,
                {i, k.index(col)});
      }
    });
  }

  /// keyCum[col .. col + lanes) as a vector (scalar decay).
  Value loadColumnCum(KernelBuilder &k, int64_t col) {
    SmallVector<Value> elements;
    for (int64_t lane = 0; lane < keyLanes; ++lane)
      elements.push_back(
          k.load(f(), keyCum, {k.index(col + lane), k.index(0)}));
    return vector::FromElementsOp::create(k.builder(), lanes(keyLanes),
                                          elements);
  }

  /// S[i, j] = Σ_n q_in k_jn exp(cum_in − cum_jn): no matmul form.
  void emitDiagonalScores(KernelBuilder &k) {
    const int64_t n = ctx.stateSize;
    VectorType type = lanes(n);
    k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
      Value query =
          n == 1 ? k.broadcast(k.load(f(), queries, {i, k.index(0)}), type)
                 : k.load(type, queries, {i, k.index(0)});
      Value rowCum = k.broadcast(loadCum(k, queryCum, i), type);
      k.loop(0, kKeyBlock, 1, [&](KernelBuilder &k, Value c) {
        Value key =
            n == 1 ? k.broadcast(k.load(f(), keysRaw, {c, k.index(0)}), type)
                   : k.load(type, keysRaw, {c, k.index(0)});
        Value colCum = k.broadcast(loadCum(k, keyCum, c), type);
        // Masked pairs may overflow here; emitScores selects them away.
        Value terms = k.mul(k.mul(query, key), k.exp(k.sub(rowCum, colCum)));
        k.store(k.reduceAdd(terms), scores, {i, c});
      });
    });
  }

  /// Running max and sum per row; S becomes exp(S − max), O is rescaled.
  void emitOnlineSoftmax(KernelBuilder &k) {
    VectorType type = lanes(keyLanes);
    VectorType valueType = lanes(valueLanes);
    double inf = std::numeric_limits<double>::infinity();
    k.loop(0, kQueryBlock, 1, [&](KernelBuilder &k, Value i) {
      Value blockMax = k.floatConst(type, -inf);
      for (int64_t col = 0; col < kKeyBlock; col += keyLanes)
        blockMax =
            k.maximum(blockMax, k.load(type, scores, {i, k.index(col)}));
      Value oldMax = k.load(f(), rowMax, {i});
      Value newMax = k.maximum(oldMax, k.reduceMax(blockMax));
      // A row with no kept key so far keeps max = −inf; shift by 0 then so
      // that exp(−inf − shift) = 0 rather than NaN.
      Value isEmpty = arith::CmpFOp::create(k.builder(),
                                            arith::CmpFPredicate::OEQ, newMax,
                                            k.floatConst(f(), -inf));
      Value shift = k.select(isEmpty, k.floatConst(f(), 0.0), newMax);
      Value correction = k.exp(k.sub(oldMax, shift));
      Value shiftVector = k.broadcast(shift, type);
      Value sum = k.floatConst(type, 0.0);
      for (int64_t col = 0; col < kKeyBlock; col += keyLanes) {
        Value weight =
            k.exp(k.sub(k.load(type, scores, {i, k.index(col)}), shiftVector));
        sum = k.add(sum, weight);
        k.store(weight, scores, {i, k.index(col)});
      }
      Value oldSum = k.load(f(), rowSum, {i});
      k.store(k.fma(oldSum, correction, k.reduceAdd(sum)), rowSum, {i});
      k.store(newMax, rowMax, {i});
      Value scaleRow = k.broadcast(correction, valueType);
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes)
        k.store(k.mul(scaleRow, k.load(valueType, outputs, {i, k.index(col)})),
                outputs, {i, k.index(col)});
    });
  }

  void emitOutputs(KernelBuilder &k, Value rowStart, Value count) {
    VectorType type = lanes(valueLanes);
    k.loop(k.index(0), count, k.index(1), [&](KernelBuilder &k, Value i) {
      Value position = k.addi(rowStart, i);
      Value inverse;
      if (isSoftmax)
        inverse = k.broadcast(
            k.div(k.floatConst(f(), 1.0), k.load(f(), rowSum, {i})), type);
      for (int64_t col = 0; col < ctx.valueHeadDim; col += valueLanes) {
        Value value = k.load(type, outputs, {i, k.index(col)});
        if (inverse)
          value = k.mul(value, inverse);
        if (valueLanes == 1)
          value = vector::ExtractOp::create(k.builder(), value, 0);
        ctx.y->write(k, value, {batch, position, head, k.index(col)}, 3,
                     valueLanes);
      }
    });
  }

  MixContext &ctx;
  int64_t stateLanes, valueLanes, keyLanes;
  bool isSoftmax;
  double scale = 1.0;
  MaskAttr mask;
  /// Lk − Lq: where the queries sit among the keys.
  Value queryOffset;
  Value batch, head, queryHead, keyHead, valueHead, rate, rateRow;
  Value queries, keysT, keysRaw, values, scores, outputs, rowMax, rowSum;
  Value queryCum, keyCum;
};

struct SsmLowerQuadraticPass
    : mlir::ssm::impl::SsmLowerQuadraticBase<SsmLowerQuadraticPass> {
  using Base::Base;
  void runOnOperation() override {
    auto emit = [](ImplicitLocOpBuilder &b, MixContext &ctx) {
      QuadraticKernel(ctx, ctx.op.getAlgorithmAttr().getVectorWidth()).emit(b);
      return success();
    };
    if (failed(lowerMixes(getOperation(), AlgorithmKind::Quadratic, emit)))
      signalPassFailure();
  }
};

} // namespace
