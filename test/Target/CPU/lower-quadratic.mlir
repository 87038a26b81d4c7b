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
