// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm=vector-width=16 -ssm-lower-recurrent -canonicalize -cse | FileCheck %s
// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm=vector-width=8 -ssm-lower-recurrent | FileCheck %s --check-prefix=AVX2

// Mamba-2 shape (scalar decay, 4 heads over one group): lanes run over the
// value dim P = 32, work items are (batch, head), the state lives in a
// [N, P] scratch buffer and a tile of 8 state rows × 2 vectors stays in
// registers across every position of a 64-position block.
// CHECK-LABEL: func @scalar_decay
// CHECK-DAG:   %[[Y:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x100x4x32xf32>
// CHECK-DAG:   %[[S:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x4x32x16xf32>
// CHECK:       scf.parallel (%[[B:.*]], %[[H:.*]]) = (%c0, %c0) to (%c2, %c4)
// CHECK:         memref.alloca() {alignment = 64 : i64} : memref<16x32xf32>
// CHECK:         scf.for %[[T0:.*]] = %c0 to %c100 step %c64
// CHECK:           math.exp %{{.*}} : vector<16xf32>
// CHECK:           scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-32:    vector.fma
// CHECK:       %[[YT:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK:       %[[ST:.*]] = bufferization.to_tensor %[[S]] restrict writable
// CHECK:       return %[[YT]], %[[ST]]
// CHECK-NOT:   ssm.mix
func.func @scalar_decay(%q: tensor<2x100x1x16xf32>, %k: tensor<2x100x1x16xf32>, %v: tensor<2x100x4x32xf32>,
                        %dt: tensor<2x100x4xf32>, %A: tensor<4xf32>)
    -> (tensor<2x100x4x32xf32>, tensor<2x4x32x16xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<recurrent>
      : (tensor<2x100x1x16xf32>, tensor<2x100x1x16xf32>, tensor<2x100x4x32xf32>, tensor<2x100x4xf32>, tensor<4xf32>)
      -> (tensor<2x100x4x32xf32>, tensor<2x4x32x16xf32>)
  return %y, %s : tensor<2x100x4x32xf32>, tensor<2x4x32x16xf32>
}
// AVX2-LABEL: func @scalar_decay
// AVX2: vector.fma {{.*}} : vector<8xf32>

// -----

// Mamba-1 shape (P = 1, diagonal A): lanes run over 16 channels sharing the
// single group; work items are 16-channel groups (the unit batch folds
// away); exp(dt · A) is a vector per state row.
// CHECK-LABEL: func @diagonal_decay
// CHECK:       scf.parallel (%{{.*}}) = (%c0) to (%c2)
// CHECK:         scf.for
// CHECK:           %[[RATE:.*]] = vector.from_elements
// CHECK:           scf.for
// CHECK:             %[[E:.*]] = math.exp %{{.*}} : vector<16xf32>
// CHECK:             arith.mulf %[[E]], %{{.*}} : vector<16xf32>
func.func @diagonal_decay(%q: tensor<1x50x1x8xf32>, %k: tensor<1x50x1x8xf32>, %v: tensor<1x50x32x1xf32>,
                          %dt: tensor<1x50x32xf32>, %A: tensor<32x8xf32>) -> tensor<1x50x32x1xf32> {
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<recurrent>
      : (tensor<1x50x1x8xf32>, tensor<1x50x1x8xf32>, tensor<1x50x32x1xf32>, tensor<1x50x32xf32>, tensor<32x8xf32>)
      -> tensor<1x50x32x1xf32>
  return %y : tensor<1x50x32x1xf32>
}

// -----

// The elementwise glue fuses into the scan: softplus(dt + bias) and Δ·x are
// recomputed where the kernel reads them, and (y + D·x) is computed where
// it writes; no linalg.generic is left.
// CHECK-LABEL: func @fused_glue
// CHECK-NOT:   linalg.generic
// CHECK:       scf.parallel
// CHECK:         math.log1p
// CHECK-NOT:   linalg.generic
// CHECK:       return
#id3 = affine_map<(b, l, h) -> (b, l, h)>
#bias = affine_map<(b, l, h) -> (h)>
#id4 = affine_map<(b, l, h, p) -> (b, l, h, p)>
#step = affine_map<(b, l, h, p) -> (b, l, h)>
#skip = affine_map<(b, l, h, p) -> (h)>
func.func @fused_glue(%x: tensor<1x40x2x16xf32>, %dt: tensor<1x40x2xf32>, %bias: tensor<2xf32>, %A: tensor<2xf32>,
                      %B: tensor<1x40x1x8xf32>, %C: tensor<1x40x1x8xf32>, %D: tensor<2xf32>) -> tensor<1x40x2x16xf32> {
  %e3 = tensor.empty() : tensor<1x40x2xf32>
  %delta = linalg.generic {indexing_maps = [#id3, #bias, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%dt, %bias : tensor<1x40x2xf32>, tensor<2xf32>) outs(%e3 : tensor<1x40x2xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %e = math.exp %s : f32
    %l = math.log1p %e : f32
    linalg.yield %l : f32
  } -> tensor<1x40x2xf32>
  %e4 = tensor.empty() : tensor<1x40x2x16xf32>
  %v = linalg.generic {indexing_maps = [#id4, #step, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %delta : tensor<1x40x2x16xf32>, tensor<1x40x2xf32>) outs(%e4 : tensor<1x40x2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %m = arith.mulf %a, %b : f32
    linalg.yield %m : f32
  } -> tensor<1x40x2x16xf32>
  %y = ssm.mix linear causal %C, %B, %v decay(%delta, %A) algorithm<recurrent>
      : (tensor<1x40x1x8xf32>, tensor<1x40x1x8xf32>, tensor<1x40x2x16xf32>, tensor<1x40x2xf32>, tensor<2xf32>)
      -> tensor<1x40x2x16xf32>
  %out = linalg.generic {indexing_maps = [#id4, #id4, #skip, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y, %x, %D : tensor<1x40x2x16xf32>, tensor<1x40x2x16xf32>, tensor<2xf32>) outs(%e4 : tensor<1x40x2x16xf32>) {
  ^bb0(%a: f32, %b: f32, %d: f32, %o: f32):
    %m = arith.mulf %d, %b : f32
    %s = arith.addf %a, %m : f32
    linalg.yield %s : f32
  } -> tensor<1x40x2x16xf32>
  return %out : tensor<1x40x2x16xf32>
}

// -----

// Dynamic batch and length; an initial state; ops of another algorithm are
// left alone. A length known at run time only gets both kernels: the single
// position's (lanes over state rows, no scratch) when it is 1, the scan's.
// CHECK-LABEL: func @dynamic_and_other_algorithms
// CHECK:       %[[B:.*]] = tensor.dim %arg0, %c0
// CHECK:       %[[L:.*]] = tensor.dim %arg0, %c1
// CHECK:       memref.alloc(%[[B]], %[[L]]) {alignment = 64 : i64} : memref<?x?x2x8xf32>
// CHECK:       %[[ONE:.*]] = arith.cmpi eq, %[[L]], %c1
// CHECK:       scf.if %[[ONE]] {
// CHECK:         scf.parallel {{.*}} to (%[[B]], %c2)
// CHECK-NOT:       memref.alloca
// CHECK:           vector.reduction <add>
// CHECK:       } else {
// CHECK:         scf.parallel {{.*}} to (%[[B]], %c2)
// CHECK:           memref.alloca
// CHECK:       ssm.mix linear causal %arg0, %arg1, %arg2 algorithm<quadratic, kernel = loops, vector_width = 16>
func.func @dynamic_and_other_algorithms(%q: tensor<?x?x2x4xf32>, %k: tensor<?x?x2x4xf32>, %v: tensor<?x?x2x8xf32>,
                                        %s0: tensor<?x2x8x4xf32>) -> (tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>) {
  %y = ssm.mix linear causal %q, %k, %v initial_state(%s0) algorithm<recurrent>
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x8xf32>, tensor<?x2x8x4xf32>) -> tensor<?x?x2x8xf32>
  %z = ssm.mix linear causal %q, %k, %v algorithm<quadratic>
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x8xf32>) -> tensor<?x?x2x8xf32>
  return %y, %z : tensor<?x?x2x8xf32>, tensor<?x?x2x8xf32>
}

// -----

// A decode step (L = 1, Mamba-2 shape): each state element is read and
// written once, so lanes run over the state rows n, contiguous in the
// [B, H, P, N] state: S[p, :] is loaded and stored as whole vectors (no
// scratch, no gather), and y_p is a lane reduction.
// CHECK-LABEL: func @decode_step_scalar_decay
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c4)
// CHECK-NOT:     memref.alloca
// CHECK:         math.exp %{{.*}} : f32
// CHECK:         scf.for %[[P:.*]] = %c0 to %c32 step %c1
// CHECK:           scf.for %[[N:.*]] = %c0 to %c64 step %c16 iter_args(%{{.*}} = %{{.*}}) -> (vector<16xf32>)
// CHECK:             vector.load %{{.*}} : memref<2x4x32x64xf32>, vector<16xf32>
// CHECK-NOT:         vector.from_elements
// CHECK:             vector.store %{{.*}} : memref<2x4x32x64xf32>, vector<16xf32>
// CHECK:           vector.reduction <add>
// CHECK-NOT:   ssm.mix
// AVX2-LABEL: func @decode_step_scalar_decay
// AVX2:         vector.store {{.*}} : memref<2x4x32x64xf32>, vector<8xf32>
func.func @decode_step_scalar_decay(%q: tensor<2x1x1x64xf32>, %k: tensor<2x1x1x64xf32>, %v: tensor<2x1x4x32xf32>,
                                    %dt: tensor<2x1x4xf32>, %A: tensor<4xf32>, %s0: tensor<2x4x32x64xf32>)
    -> (tensor<2x1x4x32xf32>, tensor<2x4x32x64xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A) initial_state(%s0) algorithm<recurrent>
      : (tensor<2x1x1x64xf32>, tensor<2x1x1x64xf32>, tensor<2x1x4x32xf32>, tensor<2x1x4xf32>, tensor<4xf32>, tensor<2x4x32x64xf32>)
      -> (tensor<2x1x4x32xf32>, tensor<2x4x32x64xf32>)
  return %y, %s : tensor<2x1x4x32xf32>, tensor<2x4x32x64xf32>
}

// -----

// A Mamba-1 decode step (P = 1, diagonal A): one vector of 16 state rows a
// channel, exp(dt · A) a vector of them.
// CHECK-LABEL: func @decode_step_diagonal_decay
// CHECK:       scf.parallel (%{{.*}}) = (%c0) to (%c32)
// CHECK:         vector.load %{{.*}} : memref<32x16xf32>, vector<16xf32>
// CHECK:         math.exp %{{.*}} : vector<16xf32>
// CHECK:         vector.store %{{.*}} : memref<1x32x1x16xf32>, vector<16xf32>
// CHECK:         vector.reduction <add>
func.func @decode_step_diagonal_decay(%q: tensor<1x1x1x16xf32>, %k: tensor<1x1x1x16xf32>, %v: tensor<1x1x32x1xf32>,
                                      %dt: tensor<1x1x32xf32>, %A: tensor<32x16xf32>, %s0: tensor<1x32x1x16xf32>)
    -> (tensor<1x1x32x1xf32>, tensor<1x32x1x16xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A) initial_state(%s0) algorithm<recurrent>
      : (tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x32x1xf32>, tensor<1x1x32xf32>, tensor<32x16xf32>, tensor<1x32x1x16xf32>)
      -> (tensor<1x1x32x1xf32>, tensor<1x32x1x16xf32>)
  return %y, %s : tensor<1x1x32x1xf32>, tensor<1x32x1x16xf32>
}
