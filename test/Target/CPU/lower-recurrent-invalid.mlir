// RUN: ssm-opt %s -split-input-file -ssm-lower-recurrent -verify-diagnostics
// The recurrent lowering refuses ops it cannot compute, even when a plan
// (here written by hand) says recurrent, and ops without a CPU plan.

func.func @softmax(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' is illegal for score 'softmax' (no finite-state form); use 'quadratic'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v algorithm<recurrent, kernel = loops, vector_width = 16>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

func.func @full_mask(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' needs a causal mask, got 'full'; use 'quadratic'}}
  %y = ssm.mix linear full %q, %k, %v algorithm<recurrent, kernel = loops, vector_width = 16>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// Not planned: the lowering does not choose (before, every lowering took
// such an op, the first one to run winning).
func.func @unplanned(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{has no plan for the CPU: run ssm-select-algorithm (backend=cpu) before the lowerings}}
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// An algorithm without a lowering configuration is not a plan either.
func.func @algorithm_only(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{has no plan for the CPU}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// A plan for the GPU reaching the CPU's lowering.
func.func @cuda_plan(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{is planned for kernel 'row_per_thread' of another backend, not the CPU's loops}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = row_per_thread>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}
