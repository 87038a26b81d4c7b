// RUN: ssm-opt %s -ssm-approximate-math | FileCheck %s
// Each function's CHECK-NOTs span its whole body (label to return), so an
// exp, log or log1p left anywhere in it fails the test (fma and floor may
// stay).

// f32 exp and log1p (scalar and vector) become polynomials in arith ops.
// CHECK-LABEL: func @exp_vector
// CHECK-NOT:   math.exp
// CHECK-NOT:   math.log
// CHECK:       return
func.func @exp_vector(%v: vector<16xf32>) -> vector<16xf32> {
  %0 = math.exp %v : vector<16xf32>
  return %0 : vector<16xf32>
}

// CHECK-LABEL: func @exp_scalar
// CHECK-NOT:   math.exp
// CHECK-NOT:   math.log
// CHECK:       return
func.func @exp_scalar(%s: f32) -> f32 {
  %0 = math.exp %s : f32
  return %0 : f32
}

// CHECK-LABEL: func @log1p_scalar
// CHECK-NOT:   math.exp
// CHECK-NOT:   math.log
// CHECK:       return
func.func @log1p_scalar(%s: f32) -> f32 {
  %0 = math.log1p %s : f32
  return %0 : f32
}

// CHECK-LABEL: func @log1p_vector
// CHECK-NOT:   math.exp
// CHECK-NOT:   math.log
// CHECK:       return
func.func @log1p_vector(%v: vector<16xf32>) -> vector<16xf32> {
  %0 = math.log1p %v : vector<16xf32>
  return %0 : vector<16xf32>
}

// f64 math is left for libm.
// CHECK-LABEL: func @f64_left
// CHECK:       math.exp %{{.*}} : f64
// CHECK:       math.log1p %{{.*}} : f64
// CHECK:       return
func.func @f64_left(%d: f64) -> f64 {
  %0 = math.exp %d : f64
  %1 = math.log1p %0 : f64
  return %1 : f64
}
