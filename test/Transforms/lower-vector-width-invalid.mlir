// RUN: ssm-opt %s -ssm-lower-recurrent=vector-width=3 -verify-diagnostics
// RUN: ssm-opt %s -ssm-lower-quadratic=vector-width=0 -verify-diagnostics
// RUN: ssm-opt %s -ssm-lower-chunked="chunk-size=32 vector-width=128" -verify-diagnostics
// RUN: not ssm-opt %s -ssm-lower-chunked=chunk-size=2048 2>&1 | FileCheck %s --check-prefix=CHUNK
// Every lowering refuses a vector width that is not a power of two in
// [1, 64], and the chunked one a chunk size beyond 1024.

// CHUNK: chunk-size must be in [1, 1024], got 2048
// expected-error @below {{vector-width must be a power of two in [1, 64], got}}
func.func @mix(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}
