// RUN: ssm-opt %s | FileCheck %s
// RUN: ssm-opt %s | ssm-opt | FileCheck %s
// RUN: ssm-opt %s --mlir-print-op-generic | ssm-opt | FileCheck %s
// Round trip of every mixer kind ssm.mix expresses.

// Mamba-2 SSD: q = C, k = B in 1 group, v = Δ·x over 8 heads, scalar decay,
// with an initial state and the final state.
// CHECK-LABEL: func @mamba2_ssd
// CHECK: %{{.*}}, %{{.*}} = ssm.mix linear causal %arg0, %arg1, %arg2 decay(%arg3, %arg4) initial_state(%arg5)
// CHECK-SAME: : (tensor<2x256x1x64xf32>, tensor<2x256x1x64xf32>, tensor<2x256x8x32xf32>, tensor<2x256x8xf32>, tensor<8xf32>, tensor<2x8x32x64xf32>) -> (tensor<2x256x8x32xf32>, tensor<2x8x32x64xf32>)
func.func @mamba2_ssd(%C: tensor<2x256x1x64xf32>, %B: tensor<2x256x1x64xf32>,
                      %x: tensor<2x256x8x32xf32>, %dt: tensor<2x256x8xf32>,
                      %A: tensor<8xf32>, %s0: tensor<2x8x32x64xf32>)
    -> (tensor<2x256x8x32xf32>, tensor<2x8x32x64xf32>) {
  %y, %s = ssm.mix linear causal %C, %B, %x decay(%dt, %A) initial_state(%s0)
      : (tensor<2x256x1x64xf32>, tensor<2x256x1x64xf32>, tensor<2x256x8x32xf32>,
         tensor<2x256x8xf32>, tensor<8xf32>, tensor<2x8x32x64xf32>)
      -> (tensor<2x256x8x32xf32>, tensor<2x8x32x64xf32>)
  return %y, %s : tensor<2x256x8x32xf32>, tensor<2x8x32x64xf32>
}

// Mamba-1 selective scan: 1536 channels as heads with P = 1, diagonal A [H, N].
// CHECK-LABEL: func @mamba1_selective_scan
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 decay(%arg3, %arg4) : (tensor<1x2048x1x16xf32>, tensor<1x2048x1x16xf32>, tensor<1x2048x1536x1xf32>, tensor<1x2048x1536xf32>, tensor<1536x16xf32>) -> tensor<1x2048x1536x1xf32>
func.func @mamba1_selective_scan(%C: tensor<1x2048x1x16xf32>, %B: tensor<1x2048x1x16xf32>,
                                 %u: tensor<1x2048x1536x1xf32>, %dt: tensor<1x2048x1536xf32>,
                                 %A: tensor<1536x16xf32>) -> tensor<1x2048x1536x1xf32> {
  %y = ssm.mix linear causal %C, %B, %u decay(%dt, %A)
      : (tensor<1x2048x1x16xf32>, tensor<1x2048x1x16xf32>, tensor<1x2048x1536x1xf32>,
         tensor<1x2048x1536xf32>, tensor<1536x16xf32>) -> tensor<1x2048x1536x1xf32>
  return %y : tensor<1x2048x1536x1xf32>
}

// Causal softmax attention with GQA: 8 query heads over 2 kv heads, bf16.
// CHECK-LABEL: func @softmax_attention_gqa
// CHECK: ssm.mix softmax(scale = 1.250000e-01) causal %arg0, %arg1, %arg2 : (tensor<1x128x8x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x128x2x64xbf16>) -> tensor<1x128x8x64xbf16>
func.func @softmax_attention_gqa(%q: tensor<1x128x8x64xbf16>, %k: tensor<1x128x2x64xbf16>,
                                 %v: tensor<1x128x2x64xbf16>) -> tensor<1x128x8x64xbf16> {
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v
      : (tensor<1x128x8x64xbf16>, tensor<1x128x2x64xbf16>, tensor<1x128x2x64xbf16>)
      -> tensor<1x128x8x64xbf16>
  return %y : tensor<1x128x8x64xbf16>
}

// Sliding-window attention with dynamic batch and length.
// CHECK-LABEL: func @sliding_window_attention
// CHECK: ssm.mix softmax(scale = 2.500000e-01) window(128) %arg0, %arg1, %arg2 : (tensor<?x?x4x16xf16>, tensor<?x?x4x16xf16>, tensor<?x?x4x16xf16>) -> tensor<?x?x4x16xf16>
func.func @sliding_window_attention(%q: tensor<?x?x4x16xf16>, %k: tensor<?x?x4x16xf16>,
                                    %v: tensor<?x?x4x16xf16>) -> tensor<?x?x4x16xf16> {
  %y = ssm.mix softmax(scale = 0.25) window(128) %q, %k, %v
      : (tensor<?x?x4x16xf16>, tensor<?x?x4x16xf16>, tensor<?x?x4x16xf16>) -> tensor<?x?x4x16xf16>
  return %y : tensor<?x?x4x16xf16>
}

// Bidirectional (unmasked) softmax attention.
// CHECK-LABEL: func @full_attention
// CHECK: ssm.mix softmax(scale = 1.000000e+00) full
func.func @full_attention(%q: tensor<1x10x1x8xf32>, %k: tensor<1x10x1x8xf32>,
                          %v: tensor<1x10x1x8xf32>) -> tensor<1x10x1x8xf32> {
  %y = ssm.mix softmax(scale = 1.0) full %q, %k, %v
      : (tensor<1x10x1x8xf32>, tensor<1x10x1x8xf32>, tensor<1x10x1x8xf32>) -> tensor<1x10x1x8xf32>
  return %y : tensor<1x10x1x8xf32>
}

// Decayed linear attention (log-decay per step and head, A = 1) with the
// algorithm recorded.
// CHECK-LABEL: func @decayed_linear_attention
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 decay(%arg3, %arg4) algorithm<chunked, chunk_size = 64> : (tensor<1x512x3x16xf32>, tensor<1x512x3x16xf32>, tensor<1x512x3x24xf32>, tensor<1x512x3xf32>, tensor<3xf32>) -> tensor<1x512x3x24xf32>
func.func @decayed_linear_attention(%q: tensor<1x512x3x16xf32>, %k: tensor<1x512x3x16xf32>,
                                    %v: tensor<1x512x3x24xf32>, %logDecay: tensor<1x512x3xf32>,
                                    %ones: tensor<3xf32>) -> tensor<1x512x3x24xf32> {
  %y = ssm.mix linear causal %q, %k, %v decay(%logDecay, %ones) algorithm<chunked, chunk_size = 64>
      : (tensor<1x512x3x16xf32>, tensor<1x512x3x16xf32>, tensor<1x512x3x24xf32>,
         tensor<1x512x3xf32>, tensor<3xf32>) -> tensor<1x512x3x24xf32>
  return %y : tensor<1x512x3x24xf32>
}

// Plain causal linear attention, recurrent, returning only the final state's
// companion output; and a quadratic one.
// CHECK-LABEL: func @linear_attention_algorithms
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 algorithm<recurrent> : (tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>) -> (tensor<2x33x2x8xf32>, tensor<2x2x8x8xf32>)
// CHECK: ssm.mix linear causal %arg0, %arg1, %arg2 algorithm<quadratic> : (tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>) -> tensor<2x33x2x8xf32>
func.func @linear_attention_algorithms(%q: tensor<2x33x2x8xf32>, %k: tensor<2x33x2x8xf32>,
                                       %v: tensor<2x33x2x8xf32>)
    -> (tensor<2x33x2x8xf32>, tensor<2x2x8x8xf32>, tensor<2x33x2x8xf32>) {
  %y, %s = ssm.mix linear causal %q, %k, %v algorithm<recurrent>
      : (tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>)
      -> (tensor<2x33x2x8xf32>, tensor<2x2x8x8xf32>)
  %z = ssm.mix linear causal %q, %k, %v algorithm<quadratic>
      : (tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>, tensor<2x33x2x8xf32>) -> tensor<2x33x2x8xf32>
  return %y, %s, %z : tensor<2x33x2x8xf32>, tensor<2x2x8x8xf32>, tensor<2x33x2x8xf32>
}

// Decay with a sliding window (quadratic only) and mixed precision: bf16
// activations, f32 dt/A.
// CHECK-LABEL: func @windowed_decay_bf16
// CHECK: ssm.mix linear window(16) %arg0, %arg1, %arg2 decay(%arg3, %arg4)
func.func @windowed_decay_bf16(%q: tensor<1x64x2x8xbf16>, %k: tensor<1x64x2x8xbf16>,
                               %v: tensor<1x64x2x4xbf16>, %dt: tensor<1x64x2xf32>,
                               %A: tensor<2xf32>) -> tensor<1x64x2x4xbf16> {
  %y = ssm.mix linear window(16) %q, %k, %v decay(%dt, %A)
      : (tensor<1x64x2x8xbf16>, tensor<1x64x2x8xbf16>, tensor<1x64x2x4xbf16>,
         tensor<1x64x2xf32>, tensor<2xf32>) -> tensor<1x64x2x4xbf16>
  return %y : tensor<1x64x2x4xbf16>
}

// Queries against a cache: decode (one query against 128 cached keys, GQA),
// a chunk of 5 queries after 8 cached keys under a window, linear attention
// against a cache, and dynamic Lq and Lk.
// CHECK-LABEL: func @queries_against_a_cache
// CHECK: ssm.mix softmax(scale = 1.250000e-01) causal %arg0, %arg1, %arg2 : (tensor<2x1x8x64xbf16>, tensor<2x128x2x64xbf16>, tensor<2x128x2x64xbf16>) -> tensor<2x1x8x64xbf16>
// CHECK: ssm.mix softmax(scale = 5.000000e-01) window(6) %arg3, %arg4, %arg5 : (tensor<1x5x2x4xf32>, tensor<1x13x2x4xf32>, tensor<1x13x2x4xf32>) -> tensor<1x5x2x4xf32>
// CHECK: ssm.mix linear causal %arg3, %arg4, %arg5 algorithm<quadratic> : (tensor<1x5x2x4xf32>, tensor<1x13x2x4xf32>, tensor<1x13x2x4xf32>) -> tensor<1x5x2x4xf32>
// CHECK: ssm.mix softmax(scale = 5.000000e-01) full %arg6, %arg7, %arg8 : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
func.func @queries_against_a_cache(%q: tensor<2x1x8x64xbf16>, %kCache: tensor<2x128x2x64xbf16>,
                                   %vCache: tensor<2x128x2x64xbf16>, %chunk: tensor<1x5x2x4xf32>,
                                   %k: tensor<1x13x2x4xf32>, %v: tensor<1x13x2x4xf32>,
                                   %qd: tensor<?x?x2x4xf32>, %kd: tensor<?x?x2x4xf32>,
                                   %vd: tensor<?x?x2x4xf32>)
    -> (tensor<2x1x8x64xbf16>, tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<?x?x2x4xf32>) {
  %decode = ssm.mix softmax(scale = 0.125) causal %q, %kCache, %vCache
      : (tensor<2x1x8x64xbf16>, tensor<2x128x2x64xbf16>, tensor<2x128x2x64xbf16>) -> tensor<2x1x8x64xbf16>
  %prefill = ssm.mix softmax(scale = 0.5) window(6) %chunk, %k, %v
      : (tensor<1x5x2x4xf32>, tensor<1x13x2x4xf32>, tensor<1x13x2x4xf32>) -> tensor<1x5x2x4xf32>
  %linear = ssm.mix linear causal %chunk, %k, %v algorithm<quadratic>
      : (tensor<1x5x2x4xf32>, tensor<1x13x2x4xf32>, tensor<1x13x2x4xf32>) -> tensor<1x5x2x4xf32>
  %dynamic = ssm.mix softmax(scale = 0.5) full %qd, %kd, %vd
      : (tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>, tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32>
  return %decode, %prefill, %linear, %dynamic
      : tensor<2x1x8x64xbf16>, tensor<1x5x2x4xf32>, tensor<1x5x2x4xf32>, tensor<?x?x2x4xf32>
}

// The attributes print in their own syntax inside other ops' dictionaries.
// CHECK-LABEL: func @attributes
// CHECK: test.attrs = [#ssm.mask<causal>, #ssm.mask<full>, #ssm.mask<window = 4>, #ssm.algorithm<quadratic>, #ssm.algorithm<chunked, chunk_size = 128>, #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 3>, #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 8>, #ssm.algorithm<recurrent, kernel = loops, vector_width = 16>, #ssm.algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>, #ssm.score<softmax>]
func.func @attributes() attributes {test.attrs = [#ssm.mask<causal>, #ssm.mask<full>, #ssm.mask<window = 4>, #ssm.algorithm<quadratic>, #ssm.algorithm<chunked, chunk_size = 128>, #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 3>, #ssm.algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 8>, #ssm.algorithm<recurrent, kernel = loops, vector_width = 16>, #ssm.algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>, #ssm.score<softmax>]} {
  return
}
