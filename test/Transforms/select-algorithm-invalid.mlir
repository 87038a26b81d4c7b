// RUN: ssm-opt %s -split-input-file -ssm-select-algorithm="target=h100 force=recurrent" -verify-diagnostics
// RUN: not ssm-opt %s -split-input-file -ssm-select-algorithm="target=h100 force=chunked" 2>&1 | FileCheck %s --check-prefix=CHUNKED
// RUN: not ssm-opt %s -ssm-select-algorithm="target=h100 force=fastest" 2>&1 | FileCheck %s --check-prefix=FORCE
// RUN: not ssm-opt %s -ssm-select-algorithm="target=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: echo '{"name": "broken",' > %t.json
// RUN: not ssm-opt %s -ssm-select-algorithm="target=%t.json" 2>&1 | FileCheck %s --check-prefix=JSON
// RUN: not ssm-opt %s -ssm-select-algorithm="target=h100 assumed-length=0" 2>&1 | FileCheck %s --check-prefix=LENGTH
// RUN: not ssm-opt %s -ssm-select-algorithm="target=h100 backend=tpu" 2>&1 | FileCheck %s --check-prefix=BACKEND
// RUN: not ssm-opt %s -ssm-select-algorithm="force=quadratic vector-width=3" 2>&1 | FileCheck %s --check-prefix=WIDTH

// Forcing an algorithm the op cannot use is an error on the op, with the
// words of the verifier.

// FORCE: error: ssm-select-algorithm: unknown algorithm 'fastest' for 'force', expected 'quadratic', 'recurrent' or 'chunked'
// TARGET: error: ssm-select-algorithm: unknown target '{{.*}}.missing.json': not 'host', 'h100' or 'h200', and not a readable JSON file
// JSON: error: ssm-select-algorithm: {{.*}}.json: malformed JSON
// BACKEND: error: ssm-select-algorithm: no backend 'tpu' (expected 'cpu' or 'cuda')
// WIDTH: error: 'ssm.mix' op vector_width goes with kernel 'loops' only, as a power of two in [1, 64], got 3
// LENGTH: error: ssm-select-algorithm: 'chunk-size' must be in [0, 1024] and 'assumed-length' > 0, got 0 and 0

// CHUNKED: error: algorithm 'chunked' is illegal for score 'softmax' (no finite-state form); use 'quadratic'
func.func @softmax(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' is illegal for score 'softmax' (no finite-state form); use 'quadratic'}}
  %y = ssm.mix softmax(scale = 0.5) causal %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// CHUNKED: error: algorithm 'chunked' needs a causal mask, got 'window'; use 'quadratic'
func.func @window(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' needs a causal mask, got 'window'; use 'quadratic'}}
  %y = ssm.mix linear window(4) %q, %k, %v
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x8x1x4xf32>
  return %y : tensor<1x8x1x4xf32>
}

// -----

// A diagonal decay has a recurrent form but no chunked one.
// CHUNKED: error: algorithm 'chunked' needs a scalar (or no) decay; a diagonal decay (A [H, N]) takes 'recurrent' or 'quadratic'
func.func @diagonal(%q: tensor<1x8x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x16x1xf32>,
                    %dt: tensor<1x8x16xf32>, %A: tensor<16x4xf32>) -> tensor<1x8x16x1xf32> {
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A)
      : (tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x16x1xf32>, tensor<1x8x16xf32>, tensor<16x4xf32>)
      -> tensor<1x8x16x1xf32>
  return %y : tensor<1x8x16x1xf32>
}

// -----

// Queries against a cache (Lq < Lk) are quadratic only.
// CHUNKED: error: algorithm 'chunked' needs as many queries as keys (Lq = Lk), got queries against a cache (Lq < Lk); use 'quadratic'
func.func @against_a_cache(%q: tensor<1x1x1x4xf32>, %k: tensor<1x8x1x4xf32>, %v: tensor<1x8x1x4xf32>) -> tensor<1x1x1x4xf32> {
  // expected-error @below {{algorithm 'recurrent' needs as many queries as keys (Lq = Lk), got queries against a cache (Lq < Lk); use 'quadratic'}}
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x1x1x4xf32>, tensor<1x8x1x4xf32>, tensor<1x8x1x4xf32>) -> tensor<1x1x1x4xf32>
  return %y : tensor<1x1x1x4xf32>
}
