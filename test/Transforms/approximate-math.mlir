// RUN: ssm-opt %s -ssm-approximate-math | FileCheck %s

// f32 exp and log1p (scalar and vector) become polynomials in arith ops;
// f64 math is left for libm.
// CHECK-LABEL: func @approximate
// CHECK-NOT:   math.exp {{.*}} : vector<16xf32>
// CHECK-NOT:   math.log1p {{.*}} : f32
// CHECK:       arith.bitcast
// CHECK:       math.exp %{{.*}} : f64
func.func @approximate(%v: vector<16xf32>, %s: f32, %d: f64) -> (vector<16xf32>, f32, f64) {
  %0 = math.exp %v : vector<16xf32>
  %1 = math.log1p %s : f32
  %2 = math.exp %d : f64
  return %0, %1, %2 : vector<16xf32>, f32, f64
}
