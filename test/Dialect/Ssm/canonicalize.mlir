// RUN: ssm-opt %s -canonicalize -split-input-file | FileCheck %s
// Canonicalization of ssm.mix: drop what cannot change the result.

// An unused final_state is not computed.
// CHECK-LABEL: func @unused_final_state
// CHECK: %[[Y:.*]] = ssm.mix linear causal %arg0, %arg1, %arg2 decay(%arg3, %arg4) : ({{.*}}) -> tensor<1x8x2x4xf32>
// CHECK-NEXT: return %[[Y]]
func.func @unused_final_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x2x4xf32>,
                              %dt: tensor<1x8x2xf32>, %A: tensor<2xf32>) -> tensor<1x8x2x4xf32> {
  %y, %s = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x2x4xf32>, tensor<1x8x2xf32>, tensor<2xf32>)
      -> (tensor<1x8x2x4xf32>, tensor<1x2x4x4xf32>)
  return %y : tensor<1x8x2x4xf32>
}

// -----

// A used final_state stays.
// CHECK-LABEL: func @used_final_state
// CHECK: %{{.*}}, %{{.*}} = ssm.mix linear causal
func.func @used_final_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>)
    -> tensor<1x1x4x4xf32> {
  %y, %s = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
  return %s : tensor<1x1x4x4xf32>
}

// -----

// A zero initial_state is the same as none; the final state is kept.
// CHECK-LABEL: func @zero_initial_state
// CHECK-NOT: arith.constant
// CHECK: %[[Y:.*]], %[[S:.*]] = ssm.mix linear causal %arg0, %arg1, %arg2 : ({{.*}}) -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
// CHECK-NEXT: return %[[Y]], %[[S]]
func.func @zero_initial_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>)
    -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>) {
  %zero = arith.constant dense<0.0> : tensor<1x1x4x4xf32>
  %y, %s = ssm.mix linear causal %q, %k, %v initial_state(%zero)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
      -> (tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>)
  return %y, %s : tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>
}

// -----

// A non-zero constant initial_state stays.
// CHECK-LABEL: func @nonzero_initial_state
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 initial_state(%{{.*}})
func.func @nonzero_initial_state(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>)
    -> tensor<1x8x1x4xf32> {
  %one = arith.constant dense<1.0> : tensor<1x1x4x4xf32>
  %y = ssm.mix linear causal %q, %k, %v initial_state(%one)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// A = 0 makes every decay factor exp(0) = 1.
// CHECK-LABEL: func @zero_decay
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 algorithm<recurrent> : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x3x4xf32>) -> tensor<1x8x3x4xf32>
func.func @zero_decay(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x3x4xf32>,
                      %dt: tensor<1x8x3xf32>) -> tensor<1x8x3x4xf32> {
  %A = arith.constant dense<0.0> : tensor<3xf32>
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<recurrent>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x3x4xf32>, tensor<1x8x3xf32>, tensor<3xf32>)
      -> tensor<1x8x3x4xf32>
  return %y : tensor<1x8x3x4xf32>
}

// -----

// A non-zero decay stays.
// CHECK-LABEL: func @nonzero_decay
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 decay(%arg3, %{{.*}})
func.func @nonzero_decay(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x3x4xf32>,
                         %dt: tensor<1x8x3xf32>) -> tensor<1x8x3x4xf32> {
  %A = arith.constant dense<[0.0, -1.0, 0.0]> : tensor<3xf32>
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x3x4xf32>, tensor<1x8x3xf32>, tensor<3xf32>)
      -> tensor<1x8x3x4xf32>
  return %y : tensor<1x8x3x4xf32>
}

// -----

// An unused mix is dead code (the op is pure).
// CHECK-LABEL: func @dead_mix
// CHECK-NOT: ssm.mix
func.func @dead_mix(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) {
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return
}
