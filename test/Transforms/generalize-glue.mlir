// RUN: ssm-opt %s -split-input-file -ssm-generalize-glue -mlir-print-local-scope | FileCheck %s

// Named elementwise ops become linalg.generic with identity maps and the
// op's arithmetic as the body, on tensors and on buffers.
// CHECK-LABEL: func @elementwise
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<4x8xf32>, %[[M:.*]]: memref<4x8xf32>, %[[N:.*]]: memref<4x8xf32>)
// CHECK-NOT:   linalg.add
// CHECK:       %[[ADD:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK:         arith.addf
// CHECK:       %[[EXP:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[ADD]] : tensor<4x8xf32>)
// CHECK:         math.exp
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[M]], %[[M]] : memref<4x8xf32>, memref<4x8xf32>) outs(%[[N]] : memref<4x8xf32>)
// CHECK:         arith.subf
// CHECK-NOT:   linalg.exp
// CHECK-NOT:   linalg.sub
// CHECK:       return %[[EXP]]
func.func @elementwise(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>, %m: memref<4x8xf32>, %n: memref<4x8xf32>) -> tensor<4x8xf32> {
  %e = tensor.empty() : tensor<4x8xf32>
  %add = linalg.add ins(%a, %b : tensor<4x8xf32>, tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %exp = linalg.exp ins(%add : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  linalg.sub ins(%m, %m : memref<4x8xf32>, memref<4x8xf32>) outs(%n : memref<4x8xf32>)
  return %exp : tensor<4x8xf32>
}

// -----

// Data movement: a broadcast reads its input through a projection, a
// transpose through a permutation; linalg.map, fill, copy and reduce become
// generics too.
// CHECK-LABEL: func @data_movement
// CHECK-SAME:    (%[[A:.*]]: tensor<4x8xf32>, %[[V:.*]]: tensor<8xf32>, %[[M:.*]]: memref<4x8xf32>, %[[N:.*]]: memref<4x8xf32>)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[V]] : tensor<8xf32>)
// CHECK-NEXT:  ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:    linalg.yield %[[IN]] : f32
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[A]] : tensor<4x8xf32>) outs(%{{.*}} : tensor<8x4xf32>)
// CHECK:       linalg.generic {{.*}} ins(%[[A]] : tensor<4x8xf32>)
// CHECK:         math.absf
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%{{.*}} : f32)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[M]] : memref<4x8xf32>) outs(%[[N]] : memref<4x8xf32>)
// CHECK:       linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]} ins(%[[A]] : tensor<4x8xf32>)
// CHECK:         arith.maximumf
// CHECK-NOT:   linalg.broadcast
// CHECK-NOT:   linalg.transpose
// CHECK-NOT:   linalg.map
// CHECK-NOT:   linalg.fill
// CHECK-NOT:   linalg.copy
// CHECK-NOT:   linalg.reduce
// CHECK:       return
func.func @data_movement(%a: tensor<4x8xf32>, %v: tensor<8xf32>, %m: memref<4x8xf32>, %n: memref<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %bc = linalg.broadcast ins(%v : tensor<8xf32>) outs(%e : tensor<4x8xf32>) dimensions = [0]
  %et = tensor.empty() : tensor<8x4xf32>
  %t = linalg.transpose ins(%a : tensor<4x8xf32>) outs(%et : tensor<8x4xf32>) permutation = [1, 0]
  %abs = linalg.map { math.absf } ins(%a : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>)
  %zero = arith.constant 0.0 : f32
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  linalg.copy ins(%m : memref<4x8xf32>) outs(%n : memref<4x8xf32>)
  %er = tensor.empty() : tensor<4xf32>
  %r = linalg.reduce ins(%a : tensor<4x8xf32>) outs(%er : tensor<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %max = arith.maximumf %in, %acc : f32
      linalg.yield %max : f32
    }
  return %bc, %t, %abs, %f, %r : tensor<4x8xf32>, tensor<8x4xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>
}

// -----

// Contractions stay named, whatever their maps and whether on tensors or
// buffers: matmul (plain and the projection form x · Wᵀ), batch_matmul,
// matvec, dot.
// CHECK-LABEL: func @contractions
// CHECK-NOT:   linalg.generic
// CHECK:       linalg.matmul ins
// CHECK:       linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>]
// CHECK:       linalg.matmul indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>] ins({{.*}} : memref<4x8xf32>, memref<16x8xf32>)
// CHECK:       linalg.batch_matmul
// CHECK:       linalg.matvec
// CHECK:       linalg.dot
// CHECK-NOT:   linalg.generic
// CHECK:       return
func.func @contractions(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %wt: tensor<16x8xf32>, %y: tensor<4x16xf32>,
                        %xm: memref<4x8xf32>, %wm: memref<16x8xf32>, %ym: memref<4x16xf32>,
                        %bx: tensor<2x4x8xf32>, %bw: tensor<2x8x16xf32>, %by: tensor<2x4x16xf32>,
                        %v: tensor<8xf32>, %r: tensor<4xf32>, %s: tensor<f32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x16xf32>, tensor<4xf32>, tensor<f32>) {
  %mm = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%y : tensor<4x16xf32>) -> tensor<4x16xf32>
  %proj = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                         affine_map<(m, n, k) -> (n, k)>,
                                         affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %wt : tensor<4x8xf32>, tensor<16x8xf32>) outs(%y : tensor<4x16xf32>) -> tensor<4x16xf32>
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%xm, %wm : memref<4x8xf32>, memref<16x8xf32>) outs(%ym : memref<4x16xf32>)
  %bmm = linalg.batch_matmul ins(%bx, %bw : tensor<2x4x8xf32>, tensor<2x8x16xf32>) outs(%by : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  %mv = linalg.matvec ins(%x, %v : tensor<4x8xf32>, tensor<8xf32>) outs(%r : tensor<4xf32>) -> tensor<4xf32>
  %d = linalg.dot ins(%v, %v : tensor<8xf32>, tensor<8xf32>) outs(%s : tensor<f32>) -> tensor<f32>
  return %mm, %proj, %bmm, %mv, %d : tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x16xf32>, tensor<4xf32>, tensor<f32>
}

// -----

// A projection with its glue: the fill of its init and the bias add around
// it are generalized, the matmul between them is not.
// CHECK-LABEL: func @projection_glue
// CHECK:       %[[INIT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK:       %[[MM:.*]] = linalg.matmul indexing_maps = {{.*}} outs(%[[INIT]] : tensor<4x16xf32>)
// CHECK:       %[[OUT:.*]] = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%[[MM]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK:       return %[[OUT]]
func.func @projection_glue(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %bias: tensor<16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %mm = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                       affine_map<(m, n, k) -> (n, k)>,
                                       affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<4x8xf32>, tensor<16x8xf32>) outs(%init : tensor<4x16xf32>) -> tensor<4x16xf32>
  %out = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>,
                                          affine_map<(d0, d1) -> (d0, d1)>],
                         iterator_types = ["parallel", "parallel"]}
      ins(%mm, %bias : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %out : tensor<4x16xf32>
}
