// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda force=chunked" | FileCheck %s --check-prefix=CHUNKED
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda force=chunked chunk-size=128" | FileCheck %s --check-prefix=Q128
// RUN: ssm-opt %s -ssm-select-algorithm="target=host force=recurrent chunk-size=128" | FileCheck %s --check-prefix=RECURRENT
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda force=chunked explain=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda force=chunked explain=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=CHOSEN

// Forcing a legal algorithm sets it on every op, recorded or not. Forced
// chunked without a chunk size lets the model pick the size among the
// target's candidates (a GPU's SIMT kernel for f32: 16, 32, 64); chunk-size
// means nothing to the other algorithms.

// CHUNKED-LABEL: func @decode
// CHUNKED:       algorithm<chunked, chunk_size = 16, kernel = {{[a-z_]+[^>]*}}>
// Q128-LABEL:    func @decode
// Q128:          algorithm<chunked, chunk_size = 128, kernel = {{[a-z_]+[^>]*}}>
// RECURRENT-LABEL: func @decode
// RECURRENT:     algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// Only chunked candidates are estimated.
// EXPLAIN:       remark: ssm-select-algorithm: chose #ssm.algorithm<chunked, chunk_size = 16, kernel = {{[a-z_]+[^>]*}}> (forced)
// EXPLAIN:         algorithm  chunk
// EXPLAIN-NEXT: * chunked 16
// EXPLAIN-NEXT:   chunked 32
// EXPLAIN-NEXT:   chunked 64
// EXPLAIN-NEXT:    %y = ssm.mix
func.func @decode(%C: tensor<4x1x1x64xf32>, %B: tensor<4x1x1x64xf32>, %x: tensor<4x1x8x32xf32>,
                  %dt: tensor<4x1x8xf32>, %A: tensor<8xf32>) -> tensor<4x1x8x32xf32> {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A)
      : (tensor<4x1x1x64xf32>, tensor<4x1x1x64xf32>, tensor<4x1x8x32xf32>, tensor<4x1x8xf32>, tensor<8xf32>)
      -> tensor<4x1x8x32xf32>
  return %y : tensor<4x1x8x32xf32>
}

// CHUNKED-LABEL: func @recorded
// CHUNKED:       algorithm<chunked, chunk_size = {{16|32|64}}, kernel = {{[a-z_]+[^>]*}}>
// Q128-LABEL:    func @recorded
// Q128:          algorithm<chunked, chunk_size = 128, kernel = {{[a-z_]+[^>]*}}>
// RECURRENT-LABEL: func @recorded
// RECURRENT:     algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:       remark: ssm-select-algorithm: chose #ssm.algorithm<chunked, chunk_size = {{[0-9]+}}, kernel = {{[a-z_]+[^>]*}}> (forced)
// EXPLAIN:         algorithm  chunk
// EXPLAIN-NEXT: {{\*?}} chunked 16
// EXPLAIN-NEXT: {{\*?}} chunked 32
// EXPLAIN-NEXT: {{\*?}} chunked 64
// EXPLAIN-NEXT:    %y = ssm.mix
// One of the three is marked as the chosen one.
// CHOSEN:        (forced)
// CHOSEN:        algorithm  chunk
// CHOSEN:        {{^}}* chunked
func.func @recorded(%q: tensor<1x1024x4x32xf32>, %k: tensor<1x1024x4x32xf32>, %v: tensor<1x1024x4x32xf32>)
    -> tensor<1x1024x4x32xf32> {
  %y = ssm.mix linear causal %q, %k, %v algorithm<quadratic>
      : (tensor<1x1024x4x32xf32>, tensor<1x1024x4x32xf32>, tensor<1x1024x4x32xf32>) -> tensor<1x1024x4x32xf32>
  return %y : tensor<1x1024x4x32xf32>
}
