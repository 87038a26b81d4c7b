// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda" | FileCheck %s
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda assumed-length=1" | FileCheck %s --check-prefix=SHORT
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda chunk-size=64" | FileCheck %s --check-prefix=Q64
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda force=quadratic" | FileCheck %s --check-prefix=QUADRATIC
// RUN: ssm-opt %s -ssm-select-algorithm=target=host | FileCheck %s --check-prefix=HOST
// RUN: ssm-opt %s -ssm-select-algorithm="target=h100 backend=cuda explain=true" -o /dev/null 2>&1 | FileCheck %s --check-prefix=EXPLAIN

// Selection on the H100 description, which (unlike the detected host) is the
// same on every machine. Every op gets an algorithm; `force` overrides even
// a recorded one.
// QUADRATIC-COUNT-8: algorithm<quadratic, kernel = quadratic_
// QUADRATIC-NOT: algorithm<

// Mamba-2 prefill (SSD, 80 heads in 1 group, L 4096, bf16): tensor cores make
// the chunked form the fastest.
// CHECK-LABEL: func @ssd_prefill
// CHECK:       ssm.mix {{.*}} algorithm<chunked, chunk_size = {{[0-9]+}}, kernel = {{[a-z_]+[^>]*}}>
// Q64-LABEL:   func @ssd_prefill
// Q64:         algorithm<chunked, chunk_size = 64, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:      remark: ssm-select-algorithm: chose #ssm.algorithm<chunked, chunk_size = {{[0-9]+}}, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN-NEXT:   target h100 (gpu, 132 SMs, 32 f32 lanes)
// EXPLAIN-NEXT:   shape B=1 L=4096 H=80 (Hq=1 Hk=1 Hv=80) N=128 P=64 linear causal, scalar decay, bf16
// EXPLAIN-NEXT:   algorithm  chunk matrix GFLOP vector GFLOP special Gop   MB moved   depth   items      time µs  bound
// EXPLAIN-NEXT:   quadratic      0
// EXPLAIN-NEXT:   recurrent      0        0.000       13.422      0.0003      86.64    4096      80
// EXPLAIN-NEXT: * chunked       64
func.func @ssd_prefill(%C: tensor<1x4096x1x128xbf16>, %B: tensor<1x4096x1x128xbf16>, %x: tensor<1x4096x80x64xbf16>,
                       %dt: tensor<1x4096x80xbf16>, %A: tensor<80xbf16>) -> tensor<1x4096x80x64xbf16> {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A)
      : (tensor<1x4096x1x128xbf16>, tensor<1x4096x1x128xbf16>, tensor<1x4096x80x64xbf16>, tensor<1x4096x80xbf16>, tensor<80xbf16>)
      -> tensor<1x4096x80x64xbf16>
  return %y : tensor<1x4096x80x64xbf16>
}

// One decode step with a state is the recurrent step.
// CHECK-LABEL: func @ssd_decode
// CHECK:       ssm.mix {{.*}} algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:     remark: ssm-select-algorithm: chose #ssm.algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:       shape B=1 L=1 H=80 (Hq=1 Hk=1 Hv=80) N=128 P=64 linear causal, scalar decay, initial state, final state, f32
func.func @ssd_decode(%C: tensor<1x1x1x128xf32>, %B: tensor<1x1x1x128xf32>, %x: tensor<1x1x80x64xf32>,
                      %dt: tensor<1x1x80xf32>, %A: tensor<80xf32>, %s: tensor<1x80x64x128xf32>)
    -> (tensor<1x1x80x64xf32>, tensor<1x80x64x128xf32>) {
  %y, %next = ssm.mix linear causal %C, %B, %x decay(%dt, %A) initial_state(%s)
      : (tensor<1x1x1x128xf32>, tensor<1x1x1x128xf32>, tensor<1x1x80x64xf32>, tensor<1x1x80xf32>, tensor<80xf32>,
         tensor<1x80x64x128xf32>) -> (tensor<1x1x80x64xf32>, tensor<1x80x64x128xf32>)
  return %y, %next : tensor<1x1x80x64xf32>, tensor<1x80x64x128xf32>
}

// Softmax has only the quadratic form.
// CHECK-LABEL: func @attention
// CHECK:       ssm.mix {{.*}} algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
// HOST-LABEL:  func @attention
// HOST:        algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:     remark: ssm-select-algorithm: chose #ssm.algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:       algorithm  chunk
// EXPLAIN-NEXT: * quadratic      0        4.429
// EXPLAIN-NOT:    recurrent
func.func @attention(%q: tensor<1x2048x8x64xf32>, %k: tensor<1x2048x8x64xf32>, %v: tensor<1x2048x8x64xf32>)
    -> tensor<1x2048x8x64xf32> {
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v
      : (tensor<1x2048x8x64xf32>, tensor<1x2048x8x64xf32>, tensor<1x2048x8x64xf32>) -> tensor<1x2048x8x64xf32>
  return %y : tensor<1x2048x8x64xf32>
}

// Mamba-1 (diagonal decay) has no chunked form, and its quadratic form has
// no matmul: recurrent.
// CHECK-LABEL: func @mamba1
// CHECK:       ssm.mix {{.*}} algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// HOST-LABEL:  func @mamba1
// HOST:        algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:     remark: ssm-select-algorithm: chose #ssm.algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:       quadratic {{.*}} exp-bound; diagonal decay: no matmul form
// EXPLAIN-NEXT: * recurrent {{.*}}; lanes over 32 heads
func.func @mamba1(%C: tensor<1x2048x1x16xf32>, %B: tensor<1x2048x1x16xf32>, %u: tensor<1x2048x1536x1xf32>,
                  %delta: tensor<1x2048x1536xf32>, %A: tensor<1536x16xf32>) -> tensor<1x2048x1536x1xf32> {
  %y = ssm.mix linear causal %C, %B, %u decay(%delta, %A)
      : (tensor<1x2048x1x16xf32>, tensor<1x2048x1x16xf32>, tensor<1x2048x1536x1xf32>, tensor<1x2048x1536xf32>,
         tensor<1536x16xf32>) -> tensor<1x2048x1536x1xf32>
  return %y : tensor<1x2048x1536x1xf32>
}

// A sliding window is quadratic only.
// CHECK-LABEL: func @window
// CHECK:       ssm.mix {{.*}} algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
func.func @window(%q: tensor<2x1024x4x32xf32>, %k: tensor<2x1024x4x32xf32>, %v: tensor<2x1024x4x32xf32>)
    -> tensor<2x1024x4x32xf32> {
  %y = ssm.mix linear window(256) %q, %k, %v
      : (tensor<2x1024x4x32xf32>, tensor<2x1024x4x32xf32>, tensor<2x1024x4x32xf32>) -> tensor<2x1024x4x32xf32>
  return %y : tensor<2x1024x4x32xf32>
}

// An algorithm already recorded is kept (explain says what the model would
// have picked: for f32 SSD at L4096 on the SIMT kernels, the recurrence, as
// the H200 measured: bench/gpu/results/h200-2026-12-02-f32-check.jsonl).
// CHECK-LABEL: func @recorded
// CHECK:       ssm.mix {{.*}} algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}> :
// Q64-LABEL:   func @recorded
// Q64:         algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}> :
// EXPLAIN:     remark: ssm-select-algorithm: keeps the recorded #ssm.algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}> (the cost model would pick #ssm.algorithm<recurrent
func.func @recorded(%C: tensor<1x4096x1x128xf32>, %B: tensor<1x4096x1x128xf32>, %x: tensor<1x4096x80x64xf32>,
                    %dt: tensor<1x4096x80xf32>, %A: tensor<80xf32>) -> tensor<1x4096x80x64xf32> {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<quadratic>
      : (tensor<1x4096x1x128xf32>, tensor<1x4096x1x128xf32>, tensor<1x4096x80x64xf32>, tensor<1x4096x80xf32>, tensor<80xf32>)
      -> tensor<1x4096x80x64xf32>
  return %y : tensor<1x4096x80x64xf32>
}

// Dynamic B and L: B is taken as 1 and L as assumed-length (2048 by
// default: chunked; 1: a decode step, recurrent).
// CHECK-LABEL: func @dynamic
// CHECK:       ssm.mix {{.*}} algorithm<chunked, chunk_size = {{[0-9]+}}, kernel = {{[a-z_]+[^>]*}}>
// SHORT-LABEL: func @dynamic
// SHORT:       ssm.mix {{.*}} algorithm<recurrent, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:     remark: ssm-select-algorithm: chose #ssm.algorithm<chunked
// EXPLAIN:       shape B=1 L=2048 {{.*}}; assumed B dynamic: 1, L dynamic: 2048 (assumed-length)
func.func @dynamic(%C: tensor<?x?x1x128xbf16>, %B: tensor<?x?x1x128xbf16>, %x: tensor<?x?x80x64xbf16>,
                   %dt: tensor<?x?x80xbf16>, %A: tensor<80xbf16>) -> tensor<?x?x80x64xbf16> {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A)
      : (tensor<?x?x1x128xbf16>, tensor<?x?x1x128xbf16>, tensor<?x?x80x64xbf16>, tensor<?x?x80xbf16>, tensor<80xbf16>)
      -> tensor<?x?x80x64xbf16>
  return %y : tensor<?x?x80x64xbf16>
}

// Linear attention with 5 queries against 13 keys (a cache): recurrent and
// chunked need Lq = Lk, so quadratic is the only candidate.
// CHECK-LABEL: func @linear_against_a_cache
// CHECK:       ssm.mix {{.*}} algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
// HOST-LABEL:  func @linear_against_a_cache
// HOST:        algorithm<quadratic, kernel = loops, vector_width = {{[0-9]+}}>
// EXPLAIN:     remark: ssm-select-algorithm: chose #ssm.algorithm<quadratic, kernel = {{[a-z_]+[^>]*}}>
// EXPLAIN:       shape B=1 Lq=5 Lk=13 H=2 (Hq=2 Hk=2 Hv=2) N=16 P=16 linear causal, f32
// EXPLAIN-NEXT:  algorithm  chunk
// EXPLAIN-NEXT: * quadratic
// EXPLAIN-NOT:    recurrent
func.func @linear_against_a_cache(%q: tensor<1x5x2x16xf32>, %k: tensor<1x13x2x16xf32>, %v: tensor<1x13x2x16xf32>)
    -> tensor<1x5x2x16xf32> {
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x5x2x16xf32>, tensor<1x13x2x16xf32>, tensor<1x13x2x16xf32>) -> tensor<1x5x2x16xf32>
  return %y : tensor<1x5x2x16xf32>
}
