// RUN: ssm-opt %s -split-input-file -ssm-hoist-parallel-scratch | FileCheck %s

// Scratch of a work-sharing loop's body moves to the parallel region: one
// buffer per thread, reused by its iterations; the emptied scopes go.
// CHECK-LABEL: func @per_thread
// CHECK:       omp.parallel {
// CHECK-NEXT:    %[[SCRATCH:.*]] = memref.alloca() {alignment = 64 : i64} : memref<64x16xf32>
// CHECK-NEXT:    omp.wsloop {
// CHECK-NOT:       memref.alloca_scope
// CHECK:           memref.store %{{.*}}, %[[SCRATCH]]
func.func @per_thread(%n: index, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.alloca_scope {
          %scratch = memref.alloca() {alignment = 64 : i64} : memref<64x16xf32>
          memref.store %x, %scratch[%c0, %c0] : memref<64x16xf32>
        }
        omp.yield
      }
    }
    omp.terminator
  }
  return
}

// -----

// A scope outside any loop frees nothing early: it is inlined.
// CHECK-LABEL: func @straight_line
// CHECK-NOT:   memref.alloca_scope
// CHECK:       memref.alloca() : memref<8xf32>
func.func @straight_line(%x: f32) {
  %c0 = arith.constant 0 : index
  memref.alloca_scope {
    %scratch = memref.alloca() : memref<8xf32>
    memref.store %x, %scratch[%c0] : memref<8xf32>
  }
  return
}

// -----

// A dynamically sized alloca stays in its scope.
// CHECK-LABEL: func @dynamic_stays
// CHECK:       omp.loop_nest
// CHECK-NEXT:    memref.alloca_scope
// CHECK-NEXT:      memref.alloca(%{{.*}}) : memref<?xf32>
func.func @dynamic_stays(%n: index, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  omp.parallel {
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%n) step (%c1) {
        memref.alloca_scope {
          %scratch = memref.alloca(%i) : memref<?xf32>
          memref.store %x, %scratch[%c0] : memref<?xf32>
        }
        omp.yield
      }
    }
    omp.terminator
  }
  return
}
