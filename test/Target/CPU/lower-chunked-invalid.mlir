// RUN: ssm-opt %s -split-input-file -ssm-lower-chunked -verify-diagnostics
// The chunked lowering refuses ops it cannot compute, even when a plan (here
// written by hand) says chunked.

func.func @diagonal(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x6x1xf32>,
                    %dt: tensor<1x8x6xf32>, %A: tensor<6x4xf32>) -> tensor<1x8x6x1xf32> {
  // expected-error @below {{algorithm 'chunked' needs a scalar (or no) decay; a diagonal decay (A [H, N]) takes 'recurrent' or 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<chunked, chunk_size = 4, kernel = loops, vector_width = 16>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x6x1xf32>, tensor<1x8x6xf32>, tensor<6x4xf32>) -> tensor<1x8x6x1xf32>
  return %y : tensor<1x8x6x1xf32>
}

// -----

func.func @window(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'chunked' needs a causal mask, got 'window'; use 'quadratic'}}
  %y = ssm.mix linear window(4) %q, %k, %v algorithm<chunked, chunk_size = 4, kernel = loops, vector_width = 16>
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}
