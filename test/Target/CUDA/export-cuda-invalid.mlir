// RUN: ssm-opt %s -split-input-file -ssm-export-cuda="output=%t.cu" -verify-diagnostics
// The CUDA emitter obeys the plan and checks that its kernel can run the op.

func.func @unplanned(%q: tensor<1x8x1x16xbf16>, %k: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16> {
  // expected-error @below {{has no plan for the GPU: run ssm-select-algorithm (backend=cuda) before the CUDA backend}}
  %y = ssm.mix linear causal %q, %k, %v
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16>
  return %y : tensor<1x8x1x64xbf16>
}

// -----

func.func @cpu_plan(%q: tensor<1x8x1x16xbf16>, %k: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16> {
  // expected-error @below {{cannot run as planned (#ssm.algorithm<recurrent, kernel = loops, vector_width = 16>): kernel 'loops' is the CPU's}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = loops, vector_width = 16>
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16>
  return %y : tensor<1x8x1x64xbf16>
}

// -----

func.func @mma_in_f32(%q: tensor<1x8x1x16xf32>, %k: tensor<1x8x1x16xf32>, %v: tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @below {{kernel 'chunked_mma' needs q, k and v all bf16 or all f16}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
      : (tensor<1x8x1x16xf32>, tensor<1x8x1x16xf32>, tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  return %y : tensor<1x8x1x64xf32>
}

// -----

func.func @mma_chunk(%q: tensor<1x8x1x16xbf16>, %k: tensor<1x8x1x16xbf16>, %v: tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16> {
  // expected-error @below {{kernel 'chunked_mma' takes chunk_size 64, got 32}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<chunked, chunk_size = 32, kernel = chunked_mma, blocks_per_sm = 2>
      : (tensor<1x8x1x16xbf16>, tensor<1x8x1x16xbf16>, tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16>
  return %y : tensor<1x8x1x64xbf16>
}

// -----

func.func @row_per_thread_state(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x1x64xf32>, %v: tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @below {{kernel 'row_per_thread' keeps a state row in registers, up to 32 elements, got state size 64}}
  %y = ssm.mix linear causal %q, %k, %v algorithm<recurrent, kernel = row_per_thread>
      : (tensor<1x8x1x64xf32>, tensor<1x8x1x64xf32>, tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  return %y : tensor<1x8x1x64xf32>
}

// -----

func.func @two_tiles_with_decay(%q: tensor<1x8x1x64xbf16>, %k: tensor<1x8x1x64xbf16>, %v: tensor<1x8x2x64xbf16>,
                                %dt: tensor<1x8x2xbf16>, %A: tensor<2xbf16>) -> tensor<1x8x2x64xbf16> {
  // expected-error @below {{a decay takes warp_row_tiles = 1}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
      : (tensor<1x8x1x64xbf16>, tensor<1x8x1x64xbf16>, tensor<1x8x2x64xbf16>, tensor<1x8x2xbf16>, tensor<2xbf16>) -> tensor<1x8x2x64xbf16>
  return %y : tensor<1x8x2x64xbf16>
}

// -----

func.func @against_a_cache(%q: tensor<1x1x2x64xbf16>, %k: tensor<1x13x1x64xbf16>, %v: tensor<1x13x1x64xbf16>) -> tensor<1x1x2x64xbf16> {
  // expected-error @below {{queries against a cache (Lq < Lk) run on kernel 'quadratic_simt' only, without a decay or a state: 'q' has Lq = 1, 'k' has Lk = 13; compile for the CPU}}
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
      : (tensor<1x1x2x64xbf16>, tensor<1x13x1x64xbf16>, tensor<1x13x1x64xbf16>) -> tensor<1x1x2x64xbf16>
  return %y : tensor<1x1x2x64xbf16>
}

// -----

func.func @wgmma_with_decay(%q: tensor<1x8x1x128xbf16>, %k: tensor<1x8x1x128xbf16>, %v: tensor<1x8x2x64xbf16>,
                            %dt: tensor<1x8x2xbf16>, %A: tensor<2xbf16>) -> tensor<1x8x2x64xbf16> {
  // expected-error @below {{kernel 'quadratic_wgmma' takes no decay}}
  %y = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<quadratic, kernel = quadratic_wgmma>
      : (tensor<1x8x1x128xbf16>, tensor<1x8x1x128xbf16>, tensor<1x8x2x64xbf16>, tensor<1x8x2xbf16>, tensor<2xbf16>) -> tensor<1x8x2x64xbf16>
  return %y : tensor<1x8x2x64xbf16>
}

// -----

func.func @wgmma_head_dim(%q: tensor<1x8x1x32xbf16>, %k: tensor<1x8x1x32xbf16>, %v: tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16> {
  // expected-error @below {{kernel 'quadratic_wgmma' takes state size and value dim 64 or 128, got 32 and 64}}
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v algorithm<quadratic, kernel = quadratic_wgmma>
      : (tensor<1x8x1x32xbf16>, tensor<1x8x1x32xbf16>, tensor<1x8x1x64xbf16>) -> tensor<1x8x1x64xbf16>
  return %y : tensor<1x8x1x64xbf16>
}

// -----

func.func @wgmma_f32(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x1x64xf32>, %v: tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32> {
  // expected-error @below {{kernel 'quadratic_wgmma' needs q, k and v all bf16 or all f16}}
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v algorithm<quadratic, kernel = quadratic_wgmma>
      : (tensor<1x8x1x64xf32>, tensor<1x8x1x64xf32>, tensor<1x8x1x64xf32>) -> tensor<1x8x1x64xf32>
  return %y : tensor<1x8x1x64xf32>
}

// -----

#pairs = affine_map<(d0, d1) -> (d0 floordiv 2, d1)>
#rows = affine_map<(d0, d1) -> (d0)>
func.func @reduction_with_floordiv(%x: tensor<4x8xf32>) -> tensor<8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8xf32>
  %z = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      outs(%e : tensor<8xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  } -> tensor<8xf32>
  // expected-error @below {{is not supported by the CUDA backend: its inputs must be indexed by sums of multiples of loops}}
  %s = linalg.generic {indexing_maps = [#pairs, #rows], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x8xf32>) outs(%z : tensor<8xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %sum = arith.addf %acc, %in : f32
    linalg.yield %sum : f32
  } -> tensor<8xf32>
  return %s : tensor<8xf32>
}

// -----

// Keys are a cache with the new positions appended: Lk = cache + Lq, which
// no input dim gives; the tensor-core kernels take one length.
func.func @against_a_grown_cache(%q: tensor<1x?x1x16xbf16>, %cache: tensor<1x?x1x16xbf16>,
                                 %v: tensor<1x?x1x16xbf16>) -> tensor<1x?x1x16xbf16> {
  %c1 = arith.constant 1 : index
  %lq = tensor.dim %q, %c1 : tensor<1x?x1x16xbf16>
  %lc = tensor.dim %cache, %c1 : tensor<1x?x1x16xbf16>
  %lk = arith.addi %lc, %lq : index
  %e = tensor.empty(%lk) : tensor<1x?x1x16xbf16>
  %old = tensor.insert_slice %cache into %e[0, 0, 0, 0] [1, %lc, 1, 16] [1, 1, 1, 1]
      : tensor<1x?x1x16xbf16> into tensor<1x?x1x16xbf16>
  %k = tensor.insert_slice %q into %old[0, %lc, 0, 0] [1, %lq, 1, 16] [1, 1, 1, 1]
      : tensor<1x?x1x16xbf16> into tensor<1x?x1x16xbf16>
  // expected-error @below {{has query and key lengths the program does not make equal (queries against a cache, Lq <= Lk): only kernel 'quadratic_simt' takes a cache}}
  %y = ssm.mix softmax(scale = 0.25) causal %q, %k, %k algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
      : (tensor<1x?x1x16xbf16>, tensor<1x?x1x16xbf16>, tensor<1x?x1x16xbf16>) -> tensor<1x?x1x16xbf16>
  return %y : tensor<1x?x1x16xbf16>
}
