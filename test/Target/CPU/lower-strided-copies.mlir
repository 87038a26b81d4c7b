// RUN: ssm-opt %s -split-input-file -ssm-lower-strided-copies | FileCheck %s

// Copies into and out of views become linalg.copy, whichever side is
// strided.
// CHECK-LABEL: func @strided
// CHECK-SAME:    (%[[BUF:.*]]: memref<4x8xf32>, %[[INTERIOR:.*]]: memref<4x8xf32, strided<[10, 1], offset: 11>>, %[[SLICE:.*]]: memref<?x8xf32, strided<[16, 1], offset: ?>>, %[[DYN:.*]]: memref<?x8xf32>)
// CHECK-NOT:   memref.copy
// CHECK:       linalg.copy ins(%[[INTERIOR]] : memref<4x8xf32, strided<[10, 1], offset: 11>>) outs(%[[BUF]] : memref<4x8xf32>)
// CHECK-NEXT:  linalg.copy ins(%[[BUF]] : memref<4x8xf32>) outs(%[[INTERIOR]] : memref<4x8xf32, strided<[10, 1], offset: 11>>)
// CHECK-NEXT:  linalg.copy ins(%[[SLICE]] : memref<?x8xf32, strided<[16, 1], offset: ?>>) outs(%[[DYN]] : memref<?x8xf32>)
// CHECK-NEXT:  linalg.copy ins(%[[INTERIOR]] : memref<4x8xf32, strided<[10, 1], offset: 11>>) outs(%[[INTERIOR]] : memref<4x8xf32, strided<[10, 1], offset: 11>>)
// CHECK-NOT:   memref.copy
// CHECK:       return
func.func @strided(%buf: memref<4x8xf32>, %interior: memref<4x8xf32, strided<[10, 1], offset: 11>>,
                   %slice: memref<?x8xf32, strided<[16, 1], offset: ?>>, %dyn: memref<?x8xf32>) {
  memref.copy %interior, %buf : memref<4x8xf32, strided<[10, 1], offset: 11>> to memref<4x8xf32>
  memref.copy %buf, %interior : memref<4x8xf32> to memref<4x8xf32, strided<[10, 1], offset: 11>>
  memref.copy %slice, %dyn : memref<?x8xf32, strided<[16, 1], offset: ?>> to memref<?x8xf32>
  memref.copy %interior, %interior : memref<4x8xf32, strided<[10, 1], offset: 11>> to memref<4x8xf32, strided<[10, 1], offset: 11>>
  return
}

// -----

// A view made by memref.subview inside the function is lowered the same way.
// CHECK-LABEL: func @subview
// CHECK:       %[[VIEW:.*]] = memref.subview
// CHECK-NEXT:  linalg.copy ins(%[[VIEW]] : memref<2x8xf32, strided<[8, 1], offset: 8>>) outs(%{{.*}} : memref<2x8xf32>)
// CHECK-NOT:   memref.copy
func.func @subview(%src: memref<4x8xf32>, %dst: memref<2x8xf32>) {
  %view = memref.subview %src[1, 0] [2, 8] [1, 1] : memref<4x8xf32> to memref<2x8xf32, strided<[8, 1], offset: 8>>
  memref.copy %view, %dst : memref<2x8xf32, strided<[8, 1], offset: 8>> to memref<2x8xf32>
  return
}

// -----

// Copies between identity layouts stay memref.copy (a memcpy), static or
// dynamic; so do unranked copies, which have no linalg.copy form.
// CHECK-LABEL: func @contiguous
// CHECK-SAME:    (%[[A:.*]]: memref<4x8xf32>, %[[B:.*]]: memref<4x8xf32>, %[[C:.*]]: memref<?x?xf32>, %[[D:.*]]: memref<?x?xf32>, %[[U:.*]]: memref<*xf32>, %[[V:.*]]: memref<*xf32>)
// CHECK-NOT:   linalg.copy
// CHECK:       memref.copy %[[A]], %[[B]] : memref<4x8xf32> to memref<4x8xf32>
// CHECK-NEXT:  memref.copy %[[C]], %[[D]] : memref<?x?xf32> to memref<?x?xf32>
// CHECK-NEXT:  memref.copy %[[U]], %[[V]] : memref<*xf32> to memref<*xf32>
// CHECK-NEXT:  memref.copy %[[U]], %[[A]] : memref<*xf32> to memref<4x8xf32>
// CHECK-NOT:   linalg.copy
// CHECK:       return
func.func @contiguous(%a: memref<4x8xf32>, %b: memref<4x8xf32>, %c: memref<?x?xf32>, %d: memref<?x?xf32>,
                      %u: memref<*xf32>, %v: memref<*xf32>) {
  memref.copy %a, %b : memref<4x8xf32> to memref<4x8xf32>
  memref.copy %c, %d : memref<?x?xf32> to memref<?x?xf32>
  memref.copy %u, %v : memref<*xf32> to memref<*xf32>
  memref.copy %u, %a : memref<*xf32> to memref<4x8xf32>
  return
}
