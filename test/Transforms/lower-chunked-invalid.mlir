// RUN: ssm-opt %s -split-input-file -ssm-lower-chunked -verify-diagnostics
// RUN: not ssm-opt %s -split-input-file -ssm-lower-chunked=chunk-size=0 2>&1 | FileCheck %s --check-prefix=ZERO
// The chunked lowering refuses ops it cannot compute.

func.func @diagonal(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x6x1xf32>,
                    %dt: tensor<1x8x6xf32>, %A: tensor<6x4xf32>) -> tensor<1x8x6x1xf32> {
  // expected-error @below {{algorithm 'chunked' needs a scalar (or no) decay; a diagonal decay (A [H, N]) takes 'recurrent' or 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x6x1xf32>, tensor<1x8x6xf32>, tensor<6x4xf32>) -> tensor<1x8x6x1xf32>
  return %y : tensor<1x8x6x1xf32>
}

// -----

func.func @window(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'chunked' needs a causal mask, got 'window'; use 'quadratic'}}
  %y = ssm.mix linear window(4) %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}
// ZERO: chunk-size must be in [1, 1024], got 0
