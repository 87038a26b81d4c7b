// RUN: ssm-opt %s --ssm-cpu-pipeline="algorithm=recurrent" | FileCheck %s --implicit-check-not=scf. --implicit-check-not=memref.
// RUN: ssm-opt %s --ssm-cpu-selection-pipeline="algorithm=chunked chunk-size=32 vector-width=16" | FileCheck %s --check-prefix=SELECT
// RUN: ssm-opt %s --ssm-cpu-selection-pipeline="algorithm=recurrent" --ssm-cpu-lowering-pipeline | FileCheck %s --check-prefix=LOOPS --implicit-check-not=linalg.generic --implicit-check-not=memref.copy

// What ssmc --target=cpu runs, end to end: arith glue on tensors becomes a
// fused linalg.generic, the plan is recorded (algorithm, chunk, the CPU loops
// and their vector width), the lowering folds the
// glue into its loads, results become out-parameters, work items become an
// OpenMP parallel loop, and everything ends in the LLVM dialect. The
// implicit CHECK-NOTs look at the whole output, not only after a match.
// SELECT-LABEL: func @scaled_values
// SELECT:       linalg.generic
// SELECT:       ssm.mix linear causal {{.*}} algorithm<chunked, chunk_size = 32, kernel = loops, vector_width = 16>
// LOOPS-LABEL:  func @scaled_values(
// LOOPS-SAME:     memref<1x64x2x16xf32>) {
// LOOPS:        scf.parallel
// LOOPS:        return
// CHECK-LABEL:  llvm.func @scaled_values
// CHECK:        omp.parallel
// CHECK:        omp.wsloop
// CHECK:        llvm.fmul {{.*}} : vector<{{[0-9]+}}xf32>
func.func @scaled_values(%q: tensor<1x64x1x8xf32>, %k: tensor<1x64x1x8xf32>, %x: tensor<1x64x2x16xf32>,
                         %two: tensor<1x64x2x16xf32>) -> tensor<1x64x2x16xf32> {
  %v = arith.mulf %x, %two : tensor<1x64x2x16xf32>
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x64x1x8xf32>, tensor<1x64x1x8xf32>, tensor<1x64x2x16xf32>) -> tensor<1x64x2x16xf32>
  return %y : tensor<1x64x2x16xf32>
}
