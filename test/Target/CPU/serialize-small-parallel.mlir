// RUN: ssm-opt --convert-scf-to-openmp --ssm-serialize-small-parallel %s | FileCheck %s
// RUN: ssm-opt --convert-scf-to-openmp --ssm-serialize-small-parallel="min-work=100 dynamic-trip-count=10" %s | FileCheck %s --check-prefix=SMALL

// The trip count, read from the bounds at run time, times the body's
// operations (4: the alloca scope, the store and the two terminators)
// against min-work.
// CHECK-LABEL: func @elementwise
// CHECK-SAME:    (%[[N:.*]]: index,
// CHECK:         %[[SPAN:.*]] = arith.subi %[[N]], %{{.*}} : index
// CHECK:         %[[COUNT:.*]] = arith.divsi
// CHECK:         %[[TRIPS:.*]] = arith.muli %{{.*}}, %[[COUNT]] : index
// CHECK:         %[[WORK:.*]] = arith.muli %[[TRIPS]], %c4 : index
// CHECK:         %[[WORTH:.*]] = arith.cmpi sge, %[[WORK]], %c32768 : index
// CHECK:         omp.parallel if(%[[WORTH]])
// CHECK-NEXT:      omp.wsloop
// SMALL-LABEL: func @elementwise
// SMALL:         arith.cmpi sge, %{{.*}}, %c100 : index
func.func @elementwise(%n: index, %m: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %z, %m[%i] : memref<?xf32>
  }
  return
}

// Two dimensions multiply their trip counts; an inner loop of 64 static
// trips multiplies its body's work (load, add, store, yield: 4) into each
// iteration's: 1 + 64 * 4 + the scope and terminators.
// CHECK-LABEL: func @nested
// CHECK:         arith.muli
// CHECK:         %[[TRIPS:.*]] = arith.muli
// CHECK:         %[[WORK:.*]] = arith.muli %[[TRIPS]], %c260 : index
// CHECK:         omp.parallel if(
// An inner loop of dynamic bounds counts dynamic-trip-count trips.
// SMALL-LABEL: func @nested
// SMALL:         arith.muli %{{.*}}, %c260 : index
// SMALL-LABEL: func @dynamic_inner
// SMALL:         arith.muli %{{.*}}, %c44 : index
func.func @nested(%n: index, %m: memref<?x8x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c8) step (%c1, %c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %x = memref.load %m[%i, %j, %k] : memref<?x8x64xf32>
      %y = arith.addf %x, %one : f32
      memref.store %y, %m[%i, %j, %k] : memref<?x8x64xf32>
    }
  }
  return
}

func.func @dynamic_inner(%n: index, %l: index, %m: memref<?x?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %k = %c0 to %l step %c1 {
      %x = memref.load %m[%i, %k] : memref<?x?xf32>
      %y = arith.addf %x, %one : f32
      memref.store %y, %m[%i, %k] : memref<?x?xf32>
    }
  }
  return
}
