// RUN: ssm-opt %s -split-input-file -ssm-lower-matmul=vector-width=8 -canonicalize -cse | FileCheck %s
// RUN: ssm-opt %s -split-input-file -ssm-lower-matmul=vector-width=16 -cse | FileCheck %s --check-prefix=W16

// A projection x · Wᵀ with M dynamic: a parallel loop over ⌈M / 4⌉ × N / 4
// tiles; a full tile keeps its 4 × 4 dot products in vectors along K
// (A row r times B row j into accumulator 4r + j), sums each horizontally and
// adds it to C[row0 + r, col0 + j]; the last, partial tile of rows goes one
// row at a time against the same 4 rows of B.
// CHECK-LABEL: func @projection
// CHECK-SAME:    (%[[A:.*]]: memref<?x16xf32>, %[[B:.*]]: memref<8x16xf32>, %[[C:.*]]: memref<?x8xf32>)
// CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG:   %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:   %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK:       %[[M:.*]] = memref.dim %[[A]], %[[C0]] : memref<?x16xf32>
// CHECK:       %[[M3:.*]] = arith.addi %[[M]], %[[C3]] : index
// CHECK:       %[[ROW_TILES:.*]] = arith.divui %[[M3]], %[[C4]] : index
// The tiles of B (the weight) are the outer dimension: a thread keeps one
// in cache while it sweeps the rows of A.
// CHECK:       scf.parallel (%[[J:.*]], %[[I:.*]]) = (%[[C0]], %[[C0]]) to (%[[C2]], %[[ROW_TILES]]) step (%[[C1]], %[[C1]]) {
// CHECK-NEXT:    %[[ROW0:.*]] = arith.muli %[[I]], %[[C4]] : index
// CHECK-NEXT:    %[[COL0:.*]] = arith.muli %[[J]], %[[C4]] : index
// CHECK-NEXT:    %[[END:.*]] = arith.addi %[[ROW0]], %[[C4]] : index
// CHECK-NEXT:    %[[FULL:.*]] = arith.cmpi ule, %[[END]], %[[M]] : index
// CHECK-NEXT:    scf.if %[[FULL]] {
// CHECK-NEXT:      %[[ACC:.*]]:16 = scf.for %[[K:.*]] = %[[C0]] to %[[C16]] step %[[C8]] iter_args(%[[ACC0:[^ ]*]] = %[[ZERO]], {{.*}}) -> ({{(vector<8xf32>, ){15}vector<8xf32>}}) {
// CHECK-NEXT:        %[[A0:.*]] = vector.load %[[A]][%[[ROW0]], %[[K]]] : memref<?x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[R1:.*]] = arith.addi %[[ROW0]], %[[C1]] : index
// CHECK-NEXT:        %[[A1:.*]] = vector.load %[[A]][%[[R1]], %[[K]]] : memref<?x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[R2:.*]] = arith.addi %[[ROW0]], %[[C2]] : index
// CHECK-NEXT:        %[[A2:.*]] = vector.load %[[A]][%[[R2]], %[[K]]] : memref<?x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[R3:.*]] = arith.addi %[[ROW0]], %[[C3]] : index
// CHECK-NEXT:        %[[A3:.*]] = vector.load %[[A]][%[[R3]], %[[K]]] : memref<?x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[B0:.*]] = vector.load %[[B]][%[[COL0]], %[[K]]] : memref<8x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[N1:.*]] = arith.addi %[[COL0]], %[[C1]] : index
// CHECK-NEXT:        %[[B1:.*]] = vector.load %[[B]][%[[N1]], %[[K]]] : memref<8x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[N2:.*]] = arith.addi %[[COL0]], %[[C2]] : index
// CHECK-NEXT:        %[[B2:.*]] = vector.load %[[B]][%[[N2]], %[[K]]] : memref<8x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[N3:.*]] = arith.addi %[[COL0]], %[[C3]] : index
// CHECK-NEXT:        %[[B3:.*]] = vector.load %[[B]][%[[N3]], %[[K]]] : memref<8x16xf32>, vector<8xf32>
// CHECK-NEXT:        %[[F0:.*]] = vector.fma %[[A0]], %[[B0]], %[[ACC0]] : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A0]], %[[B1]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A0]], %[[B2]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A0]], %[[B3]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A1]], %[[B0]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A1]], %[[B1]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A1]], %[[B2]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A1]], %[[B3]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A2]], %[[B0]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A2]], %[[B1]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A2]], %[[B2]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A2]], %[[B3]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A3]], %[[B0]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A3]], %[[B1]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        vector.fma %[[A3]], %[[B2]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        %[[F15:.*]] = vector.fma %[[A3]], %[[B3]], %{{.*}} : vector<8xf32>
// CHECK-NEXT:        scf.yield %[[F0]], {{.*}}, %[[F15]] :
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[S0:.*]] = vector.reduction <add>, %[[ACC]]#0 : vector<8xf32> into f32
// CHECK-NEXT:      %[[OLD0:.*]] = memref.load %[[C]][%[[ROW0]], %[[COL0]]] : memref<?x8xf32>
// CHECK-NEXT:      %[[NEW0:.*]] = arith.addf %[[OLD0]], %[[S0]] : f32
// CHECK-NEXT:      memref.store %[[NEW0]], %[[C]][%[[ROW0]], %[[COL0]]] : memref<?x8xf32>
// CHECK:           vector.reduction <add>, %[[ACC]]#1
// CHECK-NEXT:      memref.load %[[C]][%[[ROW0]], %{{.*}}]
// CHECK-COUNT-13:  vector.reduction <add>
// CHECK:           %[[S15:.*]] = vector.reduction <add>, %[[ACC]]#15 : vector<8xf32> into f32
// CHECK-NEXT:      %[[OLD15:.*]] = memref.load %[[C]][%{{.*}}, %{{.*}}] : memref<?x8xf32>
// CHECK-NEXT:      %[[NEW15:.*]] = arith.addf %[[OLD15]], %[[S15]] : f32
// CHECK-NEXT:      memref.store %[[NEW15]], %[[C]]
// CHECK-NEXT:    } else {
// CHECK-NEXT:      scf.for %[[ROW:.*]] = %[[ROW0]] to %[[M]] step %[[C1]] {
// CHECK-NEXT:        %[[RACC:.*]]:4 = scf.for %[[RK:.*]] = %[[C0]] to %[[C16]] step %[[C8]] iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// CHECK-NEXT:          %[[RA:.*]] = vector.load %[[A]][%[[ROW]], %[[RK]]] : memref<?x16xf32>, vector<8xf32>
// CHECK-NEXT:          vector.load %[[B]][%[[COL0]], %[[RK]]]
// CHECK-COUNT-3:       vector.load %[[B]]
// CHECK-COUNT-4:       vector.fma %[[RA]],
// CHECK-NEXT:          scf.yield
// CHECK-NEXT:        }
// CHECK-NEXT:        vector.reduction <add>, %[[RACC]]#0
// CHECK-NEXT:        memref.load %[[C]][%[[ROW]], %[[COL0]]]
// CHECK-COUNT-3:     vector.reduction <add>
// CHECK-NOT:         vector.reduction
// CHECK:           }
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.reduce
// CHECK-NEXT:  }
// CHECK-NEXT:  return
// W16-LABEL:   func @projection
// W16:         scf.for %{{.*}} = %c0 to %c16 step %c16 iter_args({{.*}}) -> ({{(vector<16xf32>, ){15}vector<16xf32>}})
// W16-COUNT-16:  vector.fma {{.*}} : vector<16xf32>
func.func @projection(%a: memref<?x16xf32>, %b: memref<8x16xf32>, %c: memref<?x8xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<?x16xf32>, memref<8x16xf32>) outs(%c : memref<?x8xf32>)
  return
}

// -----

// Remainders: N = 6 is no multiple of 4, so a tile is 4 rows of A by one row
// of B (6 column tiles); M = 5 leaves a partial tile of one row; K = 12 takes
// 4 lanes, the widest power of two dividing it.
// CHECK-LABEL: func @remainders
// CHECK-SAME:    (%[[A:.*]]: memref<5x12xf32>, %[[B:.*]]: memref<6x12xf32>, %[[C:.*]]: memref<5x6xf32>)
// CHECK-DAG:   %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG:   %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:   %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG:   %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG:   %[[C5:.*]] = arith.constant 5 : index
// CHECK-DAG:   %[[C6:.*]] = arith.constant 6 : index
// CHECK-DAG:   %[[C12:.*]] = arith.constant 12 : index
// CHECK:       scf.parallel (%[[J:.*]], %[[I:.*]]) = (%[[C0]], %[[C0]]) to (%[[C6]], %[[C2]]) step (%[[C1]], %[[C1]]) {
// CHECK-NEXT:    %[[ROW0:.*]] = arith.muli %[[I]], %[[C4]] : index
// CHECK-NEXT:    %[[END:.*]] = arith.addi %[[ROW0]], %[[C4]] : index
// CHECK-NEXT:    %[[FULL:.*]] = arith.cmpi ule, %[[END]], %[[C5]] : index
// CHECK-NEXT:    scf.if %[[FULL]] {
// CHECK-NEXT:      %[[ACC:.*]]:4 = scf.for %[[K:.*]] = %[[C0]] to %[[C12]] step %[[C4]] iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>) {
// CHECK-COUNT-4:     vector.load %[[A]]{{.*}} : memref<5x12xf32>, vector<4xf32>
// CHECK-NEXT:        %[[BROW:.*]] = vector.load %[[B]][%[[J]], %[[K]]] : memref<6x12xf32>, vector<4xf32>
// CHECK-NEXT:        vector.fma %{{.*}}, %[[BROW]], %{{.*}} : vector<4xf32>
// CHECK-NEXT:        vector.fma %{{.*}}, %[[BROW]], %{{.*}} : vector<4xf32>
// CHECK-NEXT:        vector.fma %{{.*}}, %[[BROW]], %{{.*}} : vector<4xf32>
// CHECK-NEXT:        vector.fma %{{.*}}, %[[BROW]], %{{.*}} : vector<4xf32>
// CHECK-NEXT:        scf.yield
// CHECK-NEXT:      }
// CHECK-NEXT:      vector.reduction <add>, %[[ACC]]#0 : vector<4xf32> into f32
// CHECK-NEXT:      memref.load %[[C]][%[[ROW0]], %[[J]]] : memref<5x6xf32>
// CHECK-COUNT-3:   vector.reduction <add>
// CHECK-NOT:       vector.reduction
// CHECK:         } else {
// CHECK-NEXT:      scf.for %[[ROW:.*]] = %[[ROW0]] to %[[C5]] step %[[C1]] {
// CHECK-NEXT:        %[[RACC:.*]] = scf.for %[[RK:.*]] = %[[C0]] to %[[C12]] step %[[C4]] iter_args(%[[RSUM:[^ ]*]] = %{{.*}}) -> (vector<4xf32>) {
// CHECK-NEXT:          %[[RA:.*]] = vector.load %[[A]][%[[ROW]], %[[RK]]] : memref<5x12xf32>, vector<4xf32>
// CHECK-NEXT:          %[[RB:.*]] = vector.load %[[B]][%[[J]], %[[RK]]] : memref<6x12xf32>, vector<4xf32>
// CHECK-NEXT:          %[[RF:.*]] = vector.fma %[[RA]], %[[RB]], %[[RSUM]] : vector<4xf32>
// CHECK-NEXT:          scf.yield %[[RF]] : vector<4xf32>
// CHECK-NEXT:        }
// CHECK-NEXT:        %[[RS:.*]] = vector.reduction <add>, %[[RACC]] : vector<4xf32> into f32
// CHECK-NEXT:        %[[ROLD:.*]] = memref.load %[[C]][%[[ROW]], %[[J]]] : memref<5x6xf32>
// CHECK-NEXT:        %[[RNEW:.*]] = arith.addf %[[ROLD]], %[[RS]] : f32
// CHECK-NEXT:        memref.store %[[RNEW]], %[[C]][%[[ROW]], %[[J]]] : memref<5x6xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NOT:   linalg.matmul
func.func @remainders(%a: memref<5x12xf32>, %b: memref<6x12xf32>, %c: memref<5x6xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<5x12xf32>, memref<6x12xf32>) outs(%c : memref<5x6xf32>)
  return
}

// -----

// An odd K leaves a single lane: the dot products run on vector<1xf32>, one
// element of K per step.
// CHECK-LABEL: func @odd_depth
// CHECK:       scf.parallel
// CHECK:         scf.for %{{.*}} = %c0 to %c7 step %c1 iter_args({{.*}}) -> ({{(vector<1xf32>, ){15}vector<1xf32>}})
// CHECK-COUNT-16:  vector.fma {{.*}} : vector<1xf32>
// CHECK-NOT:   linalg.matmul
func.func @odd_depth(%a: memref<?x7xf32>, %b: memref<4x7xf32>, %c: memref<?x4xf32>) {
  linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                 affine_map<(m, n, k) -> (n, k)>,
                                 affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : memref<?x7xf32>, memref<4x7xf32>) outs(%c : memref<?x4xf32>)
  return
}

// -----

// Matmuls the pass does not take are left to convert-linalg-to-loops: B read
// as [K, N], element types other than f32, a dynamic N or K, a strided
// operand, tensors, and batch matmuls (linalg.batch_matmul's verifier admits
// a shared B only as [K, N], and a per-batch B is no projection).
// CHECK-LABEL: func @untouched
// CHECK-NOT:   scf.parallel
// CHECK-NOT:   vector.
// CHECK-COUNT-8: linalg.matmul
// CHECK-NOT:   scf.parallel
// CHECK-NOT:   vector.
// CHECK-COUNT-2: linalg.batch_matmul
// CHECK-NOT:   scf.parallel
// CHECK-NOT:   vector.
// CHECK:       return
#mA = affine_map<(m, n, k) -> (m, k)>
#mB = affine_map<(m, n, k) -> (n, k)>
#mC = affine_map<(m, n, k) -> (m, n)>
func.func @untouched(%a: memref<?x16xf32>, %b: memref<8x16xf32>, %c: memref<?x8xf32>,
                     %bkn: memref<16x8xf32>,
                     %a16: memref<?x16xf16>, %b16: memref<8x16xf16>, %c16: memref<?x8xf16>,
                     %bdyn: memref<?x16xf32>, %adyn: memref<?x?xf32>, %cdyn: memref<?x?xf32>,
                     %astrided: memref<?x16xf32, strided<[32, 1]>>,
                     %ta: tensor<?x16xf32>, %tb: tensor<8x16xf32>, %tc: tensor<?x8xf32>,
                     %ba: memref<2x?x16xf32>, %bb: memref<16x8xf32>, %bbt: memref<2x8x16xf32>,
                     %bc: memref<2x?x8xf32>) -> tensor<?x8xf32> {
  linalg.matmul ins(%a, %bkn : memref<?x16xf32>, memref<16x8xf32>) outs(%c : memref<?x8xf32>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%a16, %b16 : memref<?x16xf16>, memref<8x16xf16>) outs(%c16 : memref<?x8xf16>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%a16, %b16 : memref<?x16xf16>, memref<8x16xf16>) outs(%c : memref<?x8xf32>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%a, %bdyn : memref<?x16xf32>, memref<?x16xf32>) outs(%cdyn : memref<?x?xf32>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%adyn, %b : memref<?x?xf32>, memref<8x16xf32>) outs(%c : memref<?x8xf32>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%a, %b : memref<?x16xf32>, memref<8x16xf32>) outs(%cdyn : memref<?x?xf32>)
  linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%astrided, %b : memref<?x16xf32, strided<[32, 1]>>, memref<8x16xf32>) outs(%c : memref<?x8xf32>)
  %t = linalg.matmul indexing_maps = [#mA, #mB, #mC]
      ins(%ta, %tb : tensor<?x16xf32>, tensor<8x16xf32>) outs(%tc : tensor<?x8xf32>) -> tensor<?x8xf32>
  linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>,
                                       affine_map<(b, m, n, k) -> (k, n)>,
                                       affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%ba, %bb : memref<2x?x16xf32>, memref<16x8xf32>) outs(%bc : memref<2x?x8xf32>)
  linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>,
                                       affine_map<(b, m, n, k) -> (b, n, k)>,
                                       affine_map<(b, m, n, k) -> (b, m, n)>]
      ins(%ba, %bbt : memref<2x?x16xf32>, memref<2x8x16xf32>) outs(%bc : memref<2x?x8xf32>)
  return %t : tensor<?x8xf32>
}
