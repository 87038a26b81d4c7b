// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm="force=chunked chunk-size=64 vector-width=16" -ssm-lower-chunked -canonicalize -cse | FileCheck %s
// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm="force=chunked chunk-size=32 vector-width=16" -ssm-lower-chunked -canonicalize | FileCheck %s --check-prefix=Q32
// The lowering takes the plan's chunk size and vector width.

// SSD with chunks of 64 positions: per (batch, head), packed chunk buffers [Q, N] (C rows),
// [N, Q] (B transposed), [Q, P] (x), scores [Q, Q], the state [N, P]; the
// intra-chunk scores decay by exp(cum_i − cum_j) and are masked above the
// diagonal; then the four products.
// CHECK-LABEL: func @ssd
// CHECK:       scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%c2, %c4)
// CHECK-DAG:     memref.alloca() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK-DAG:     memref.alloca() {alignment = 64 : i64} : memref<32x64xf32>
// CHECK-DAG:     memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK-DAG:     memref.alloca() {alignment = 64 : i64} : memref<32x16xf32>
// CHECK:         scf.for %{{.*}} = %c0 to %c200 step %c64
// CHECK:           vector.step : vector<16xindex>
// CHECK:           arith.cmpi ule, %{{.*}}, %{{.*}} : vector<16xindex>
// CHECK:           math.exp %{{.*}} : vector<16xf32>
// CHECK:           arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
// CHECK-COUNT-4:   vector.fma
// CHECK-NOT:   ssm.mix
func.func @ssd(%q: tensor<2x200x1x32xf32>, %k: tensor<2x200x1x32xf32>, %v: tensor<2x200x4x16xf32>,
               %dt: tensor<2x200x4xf32>, %A: tensor<4xf32>) -> (tensor<2x200x4x16xf32>, tensor<2x4x16x32xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<2x200x1x32xf32>, tensor<2x200x1x32xf32>, tensor<2x200x4x16xf32>, tensor<2x200x4xf32>, tensor<4xf32>)
      -> (tensor<2x200x4x16xf32>, tensor<2x4x16x32xf32>)
  return %y, %s : tensor<2x200x4x16xf32>, tensor<2x4x16x32xf32>
}
// Q32-LABEL: func @ssd
// Q32:       memref<32x32xf32>
// Q32-NOT:   memref<64x64xf32>
// Q32:       return

// -----

// Without a decay no exponential is needed.
// CHECK-LABEL: func @linear_attention
// CHECK:       memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK-NOT:   math.exp
// CHECK:       return
// Q32-LABEL: func @linear_attention
// Q32:       memref.alloca() {alignment = 64 : i64} : memref<32x32xf32>
func.func @linear_attention(%q: tensor<1x90x2x16xf32>, %k: tensor<1x90x2x16xf32>, %v: tensor<1x90x2x24xf32>)
    -> tensor<1x90x2x24xf32> {
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x90x2x16xf32>, tensor<1x90x2x16xf32>, tensor<1x90x2x24xf32>) -> tensor<1x90x2x24xf32>
  return %y : tensor<1x90x2x24xf32>
}
