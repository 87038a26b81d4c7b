// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm=vector-width=16 -ssm-lower-quadratic -canonicalize -cse | FileCheck %s

// Causal softmax attention with GQA (4 query heads over 2 kv heads): work
// items are (batch, head, block of 64 query rows); scores of a 64 × 64 tile
// come from a register-tiled matmul, are masked to −inf, and go through an
// online softmax (running max and sum, rescaled outputs).
// CHECK-LABEL: func @softmax_gqa
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}, %{{.*}}) = (%c0, %c0, %c0) to (%c2, %c4, %c2)
// CHECK:         arith.divui %{{.*}}, %c2 : index
// CHECK:         scf.for
// CHECK:           vector.fma
// CHECK:           arith.cmpi ule
// CHECK:           vector.reduction <maximumf>
// CHECK:           math.exp
// CHECK:           vector.reduction <add>
// CHECK:         arith.divf
// CHECK-NOT:   ssm.mix
func.func @softmax_gqa(%q: tensor<2x100x4x32xf32>, %k: tensor<2x100x2x32xf32>, %v: tensor<2x100x2x32xf32>)
    -> tensor<2x100x4x32xf32> {
  %y = ssm.mix softmax(scale = 0.17677669529663687) causal %q, %k, %v algorithm<quadratic>
      : (tensor<2x100x4x32xf32>, tensor<2x100x2x32xf32>, tensor<2x100x2x32xf32>) -> tensor<2x100x4x32xf32>
  return %y : tensor<2x100x4x32xf32>
}

// -----

// A window only visits the key blocks that reach into it.
// CHECK-LABEL: func @window
// CHECK:       arith.cmpi ugt, %{{.*}}, %c15 : index
// CHECK:       arith.cmpi ult, %{{.*}}, %{{.*}} : vector<16xindex>
func.func @window(%q: tensor<1x300x1x16xf32>, %k: tensor<1x300x1x16xf32>, %v: tensor<1x300x1x16xf32>)
    -> tensor<1x300x1x16xf32> {
  %y = ssm.mix softmax(scale = 0.25) window(16) %q, %k, %v algorithm<quadratic>
      : (tensor<1x300x1x16xf32>, tensor<1x300x1x16xf32>, tensor<1x300x1x16xf32>) -> tensor<1x300x1x16xf32>
  return %y : tensor<1x300x1x16xf32>
}

// -----

// Linear scores with a scalar decay, an initial state and the final state:
// the decay multiplies scores by exp(cum_i − cum_j); a second parallel loop
// over (batch, head) sums the final state block by block (the unit batch
// folds away: heads × query blocks, then heads).
// CHECK-LABEL: func @linear_decay_state
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c2)
// CHECK:       scf.parallel (%{{.*}}) = (%c0) to (%c2)
func.func @linear_decay_state(%q: tensor<1x70x2x8xf32>, %k: tensor<1x70x2x8xf32>, %v: tensor<1x70x2x8xf32>,
                              %dt: tensor<1x70x2xf32>, %A: tensor<2xf32>, %s0: tensor<1x2x8x8xf32>)
    -> (tensor<1x70x2x8xf32>, tensor<1x2x8x8xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A) initial_state(%s0) algorithm<quadratic>
      : (tensor<1x70x2x8xf32>, tensor<1x70x2x8xf32>, tensor<1x70x2x8xf32>, tensor<1x70x2xf32>, tensor<2xf32>, tensor<1x2x8x8xf32>)
      -> (tensor<1x70x2x8xf32>, tensor<1x2x8x8xf32>)
  return %y, %s : tensor<1x70x2x8xf32>, tensor<1x2x8x8xf32>
}

// -----

// Queries against a cache: 70 queries after 30 cached keys (Lk = 100), GQA,
// under a window. Query row i sits at position i + 30: the block's first
// query position is rowStart + 30, its keys end at min(100, rowStart + 94),
// the window reaches back from it, and the mask compares key columns with
// the row's position. Query rows are read up to Lq, keys up to Lk.
// CHECK-LABEL: func @window_against_a_cache
// CHECK:       scf.parallel (%{{.*}}, %[[BLOCK:.*]]) = (%c0, %c0) to (%c2, %c2)
// CHECK:         %[[ROW:.*]] = arith.muli %[[BLOCK]], %c64 : index
// CHECK:         %[[QUERY:.*]] = arith.addi %[[ROW]], %c30 : index
// CHECK:         arith.cmpi ult, %{{.*}}, %c70 : index
// CHECK:         %[[REACH:.*]] = arith.addi %[[ROW]], %c94 : index
// CHECK:         %[[END:.*]] = arith.minui %[[REACH]], %c100 : index
// CHECK:         arith.cmpi ugt, %[[QUERY]], %c39 : index
// CHECK:         scf.for %[[KEYS:.*]] = %{{.*}} to %[[END]] step %c64
// CHECK:           arith.cmpi ult, %{{.*}}, %c100 : index
// CHECK:           scf.for %[[I:.*]] = %c0 to %c64 step %c1
// CHECK:             %[[POSITION:.*]] = arith.addi %[[QUERY]], %[[I]] : index
// CHECK:             %[[ROWS:.*]] = vector.broadcast %[[POSITION]] : index to vector<16xindex>
// CHECK:             arith.cmpi ule, %{{.*}}, %[[ROWS]] : vector<16xindex>
func.func @window_against_a_cache(%q: tensor<1x70x2x16xf32>, %k: tensor<1x100x1x16xf32>, %v: tensor<1x100x1x16xf32>)
    -> tensor<1x70x2x16xf32> {
  %y = ssm.mix softmax(scale = 0.25) window(40) %q, %k, %v algorithm<quadratic>
      : (tensor<1x70x2x16xf32>, tensor<1x100x1x16xf32>, tensor<1x100x1x16xf32>) -> tensor<1x70x2x16xf32>
  return %y : tensor<1x70x2x16xf32>
}

// -----

// Dynamic Lq and Lk: the offset is Lk − Lq, computed once; the query blocks
// cover Lq and the causal key range ends at min(Lk, position + 64).
// CHECK-LABEL: func @dynamic_against_a_cache
// CHECK-DAG:   %[[LQ:.*]] = tensor.dim %arg0, %c1
// CHECK-DAG:   %[[LK:.*]] = tensor.dim %arg1, %c1
// CHECK:       %[[OFFSET:.*]] = arith.subi %[[LK]], %[[LQ]] : index
// CHECK:       scf.parallel
// CHECK:         %[[QUERY:.*]] = arith.addi %{{.*}}, %[[OFFSET]] : index
// CHECK:         %[[REACH:.*]] = arith.addi %[[QUERY]], %c64 : index
// CHECK:         arith.minui %[[LK]], %[[REACH]] : index
func.func @dynamic_against_a_cache(%q: tensor<?x?x2x16xf32>, %k: tensor<?x?x1x16xf32>, %v: tensor<?x?x1x16xf32>)
    -> tensor<?x?x2x16xf32> {
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic>
      : (tensor<?x?x2x16xf32>, tensor<?x?x1x16xf32>, tensor<?x?x1x16xf32>) -> tensor<?x?x2x16xf32>
  return %y : tensor<?x?x2x16xf32>
}
