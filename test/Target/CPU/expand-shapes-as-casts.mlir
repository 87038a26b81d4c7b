// RUN: ssm-opt %s -split-input-file -ssm-expand-shapes-as-casts | FileCheck %s --implicit-check-not=memref.expand_shape

// A static split of a contiguous buffer: the expanded sizes with their
// row-major strides, at offset 0.
// CHECK-LABEL: func @static_split
// CHECK-SAME:    (%[[M:.*]]: memref<6x8xf32>)
// CHECK:       %[[CAST:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [2, 3, 8], strides: [24, 8, 1] : memref<6x8xf32> to memref<2x3x8xf32>
// CHECK:       return %[[CAST]]
func.func @static_split(%m: memref<6x8xf32>) -> memref<2x3x8xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [2, 3, 8] : memref<6x8xf32> into memref<2x3x8xf32>
  return %e : memref<2x3x8xf32>
}

// -----

// A model's [B·L, N] projection back into [B, L, N]: one dynamic dim split
// into two dynamic ones (the form expand-strided-metadata crashes on). The
// outer stride is L · N, computed at run time.
// CHECK-LABEL: func @dynamic_split
// CHECK-SAME:    (%[[M:.*]]: memref<?x16xf32>, %[[B:.*]]: index, %[[L:.*]]: index)
// CHECK:       %[[C16:.*]] = arith.constant 16 : index
// CHECK:       %[[ROW:.*]] = arith.muli %[[C16]], %[[L]] : index
// CHECK:       %[[CAST:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[L]], 16], strides: [%[[ROW]], 16, 1] : memref<?x16xf32> to memref<?x?x16xf32>
// CHECK:       return %[[CAST]]
func.func @dynamic_split(%m: memref<?x16xf32>, %b: index, %l: index) -> memref<?x?x16xf32> {
  %e = memref.expand_shape %m [[0, 1], [2]] output_shape [%b, %l, 16] : memref<?x16xf32> into memref<?x?x16xf32>
  return %e : memref<?x?x16xf32>
}

// -----

// A split of the inner dim ([4, H·8] into [4, H, 8]): the static inner size
// times the dynamic one is the outer stride.
// CHECK-LABEL: func @inner_split
// CHECK-SAME:    (%[[M:.*]]: memref<4x?xf32>, %[[H:.*]]: index)
// CHECK:       %[[C8:.*]] = arith.constant 8 : index
// CHECK:       %[[ROW:.*]] = arith.muli %[[C8]], %[[H]] : index
// CHECK:       %[[CAST:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [4, %[[H]], 8], strides: [%[[ROW]], 8, 1] : memref<4x?xf32> to memref<4x?x8xf32>
// CHECK:       return %[[CAST]]
func.func @inner_split(%m: memref<4x?xf32>, %h: index) -> memref<4x?x8xf32> {
  %e = memref.expand_shape %m [[0], [1, 2]] output_shape [4, %h, 8] : memref<4x?xf32> into memref<4x?x8xf32>
  return %e : memref<4x?x8xf32>
}

// -----

// Every size dynamic: each stride is the product of the sizes after it.
// CHECK-LABEL: func @all_dynamic
// CHECK-SAME:    (%[[M:.*]]: memref<?x?xf32>, %[[B:.*]]: index, %[[H:.*]]: index, %[[P:.*]]: index)
// CHECK:       %[[C1:.*]] = arith.constant 1 : index
// CHECK:       %[[S1:.*]] = arith.muli %[[C1]], %[[P]] : index
// CHECK:       %[[S0:.*]] = arith.muli %[[S1]], %[[H]] : index
// CHECK:       %[[CAST:.*]] = memref.reinterpret_cast %[[M]] to offset: [0], sizes: [%[[B]], %[[H]], %[[P]]], strides: [%[[S0]], %[[S1]], 1] : memref<?x?xf32> to memref<?x?x?xf32>
// CHECK:       return %[[CAST]]
func.func @all_dynamic(%m: memref<?x?xf32>, %b: index, %h: index, %p: index) -> memref<?x?x?xf32> {
  %e = memref.expand_shape %m [[0], [1, 2]] output_shape [%b, %h, %p] : memref<?x?xf32> into memref<?x?x?xf32>
  return %e : memref<?x?x?xf32>
}

// -----

// Views that are not contiguous from offset 0 keep their expand_shape.
// CHECK-LABEL: func @strided_views
// CHECK-SAME:    (%[[PADDED:.*]]: memref<6x8xf32, strided<[16, 1]>>, %[[SLICE:.*]]: memref<6x8xf32, strided<[8, 1], offset: ?>>)
// CHECK-NOT:   memref.reinterpret_cast
// CHECK:       memref.expand_shape %[[PADDED]] {{\[}}[0, 1], [2]] output_shape [2, 3, 8] : memref<6x8xf32, strided<[16, 1]>> into memref<2x3x8xf32, strided<[48, 16, 1]>>
// CHECK:       memref.expand_shape %[[SLICE]] {{\[}}[0, 1], [2]] output_shape [2, 3, 8] : memref<6x8xf32, strided<[8, 1], offset: ?>> into memref<2x3x8xf32, strided<[24, 8, 1], offset: ?>>
// CHECK-NOT:   memref.reinterpret_cast
// CHECK:       return
func.func @strided_views(%padded: memref<6x8xf32, strided<[16, 1]>>, %slice: memref<6x8xf32, strided<[8, 1], offset: ?>>)
    -> (memref<2x3x8xf32, strided<[48, 16, 1]>>, memref<2x3x8xf32, strided<[24, 8, 1], offset: ?>>) {
  %p = memref.expand_shape %padded [[0, 1], [2]] output_shape [2, 3, 8]
      : memref<6x8xf32, strided<[16, 1]>> into memref<2x3x8xf32, strided<[48, 16, 1]>>
  %s = memref.expand_shape %slice [[0, 1], [2]] output_shape [2, 3, 8]
      : memref<6x8xf32, strided<[8, 1], offset: ?>> into memref<2x3x8xf32, strided<[24, 8, 1], offset: ?>>
  return %p, %s : memref<2x3x8xf32, strided<[48, 16, 1]>>, memref<2x3x8xf32, strided<[24, 8, 1], offset: ?>>
}
