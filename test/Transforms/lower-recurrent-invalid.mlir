// RUN: ssm-opt %s -split-input-file -ssm-lower-recurrent -verify-diagnostics
// The recurrent lowering refuses ops it cannot compute.

func.func @softmax(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' is illegal for score 'softmax' (no finite-state form); use 'quadratic'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

func.func @full_mask(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' needs a causal mask, got 'full'; use 'quadratic'}}
  %y = ssm.mix linear full %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}
