// RUN: ssm-opt %s -ssm-select-algorithm="target=h200 backend=cuda" | FileCheck %s --check-prefix=CUDA
// RUN: ssm-opt %s -ssm-select-algorithm="target=h200 backend=cpu vector-width=8" | FileCheck %s --check-prefix=CPU
// RUN: ssm-opt %s -ssm-select-algorithm="target=h200 backend=cuda arch=sm_90" | FileCheck %s --check-prefix=SM90

// The plan is the algorithm and the backend's lowering configuration. These
// ops carry their algorithm (so the cost model does not choose); the backend
// completes each with its kernel: tensor cores where q, k and v are 16-bit
// and the head dims fit the tiles, the SIMT forms otherwise, a state row per
// thread up to 32 state elements; on the CPU, its loops at the vector width.

// CUDA-LABEL: func @ssd_bf16
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
// CUDA:       algorithm<chunked, chunk_size = 32, kernel = chunked_simt>
// CPU-LABEL:  func @ssd_bf16
// CPU:        algorithm<chunked, chunk_size = 64, kernel = loops, vector_width = 8>
// CPU:        algorithm<chunked, chunk_size = 32, kernel = loops, vector_width = 8>
func.func @ssd_bf16(%C: tensor<1x256x1x128xbf16>, %B: tensor<1x256x1x128xbf16>, %x: tensor<1x256x8x64xbf16>,
                    %dt: tensor<1x256x8xbf16>, %A: tensor<8xbf16>) -> (tensor<1x256x8x64xbf16>, tensor<1x256x8x64xbf16>) {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<1x256x1x128xbf16>, tensor<1x256x1x128xbf16>, tensor<1x256x8x64xbf16>, tensor<1x256x8xbf16>, tensor<8xbf16>)
      -> tensor<1x256x8x64xbf16>
  %z = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<chunked, chunk_size = 32>
      : (tensor<1x256x1x128xbf16>, tensor<1x256x1x128xbf16>, tensor<1x256x8x64xbf16>, tensor<1x256x8xbf16>, tensor<8xbf16>)
      -> tensor<1x256x8x64xbf16>
  return %y, %z : tensor<1x256x8x64xbf16>, tensor<1x256x8x64xbf16>
}

// The tensor-core chunked kernel runs a block per (64 values, head,
// sequence). Two an SM suit most grids; three (one C/B buffer) only a grid
// that two an SM would leave on a second, mostly idle wave: 4·80 = 320
// blocks on the h200's 132 SMs (> 264, ≤ 396) at two chunks a sequence
// (too short to gain from segments); 8·80 = 640 keep two, and so does a
// dynamic batch.
// CUDA-LABEL: func @ssd_wave
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 3>
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
func.func @ssd_wave(%C: tensor<4x128x1x128xbf16>, %B: tensor<4x128x1x128xbf16>, %x: tensor<4x128x80x64xbf16>,
                    %dt: tensor<4x128x80xbf16>, %A: tensor<80xbf16>,
                    %C8: tensor<8x128x1x128xbf16>, %B8: tensor<8x128x1x128xbf16>, %x8: tensor<8x128x80x64xbf16>,
                    %dt8: tensor<8x128x80xbf16>,
                    %Cd: tensor<?x128x1x128xbf16>, %Bd: tensor<?x128x1x128xbf16>, %xd: tensor<?x128x80x64xbf16>,
                    %dtd: tensor<?x128x80xbf16>)
    -> (tensor<4x128x80x64xbf16>, tensor<8x128x80x64xbf16>, tensor<?x128x80x64xbf16>) {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<4x128x1x128xbf16>, tensor<4x128x1x128xbf16>, tensor<4x128x80x64xbf16>, tensor<4x128x80xbf16>, tensor<80xbf16>)
      -> tensor<4x128x80x64xbf16>
  %y8 = ssm.mix linear causal %C8, %B8, %x8 decay(%dt8, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<8x128x1x128xbf16>, tensor<8x128x1x128xbf16>, tensor<8x128x80x64xbf16>, tensor<8x128x80xbf16>, tensor<80xbf16>)
      -> tensor<8x128x80x64xbf16>
  %yd = ssm.mix linear causal %Cd, %Bd, %xd decay(%dtd, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<?x128x1x128xbf16>, tensor<?x128x1x128xbf16>, tensor<?x128x80x64xbf16>, tensor<?x128x80xbf16>, tensor<80xbf16>)
      -> tensor<?x128x80x64xbf16>
  return %y, %y8, %yd : tensor<4x128x80x64xbf16>, tensor<8x128x80x64xbf16>, tensor<?x128x80x64xbf16>
}

// Grids of whole sequences that leave SMs idle split the sequence into
// segments (two blocks an SM, after a launch that computes the segments'
// states): 8 blocks of 32 chunks (B1 L2048 H8) take 16 segments of two
// chunks; 320 blocks of 256 chunks (B4 L16384 H80) take 4 rather than three
// blocks an SM; 640 blocks of 32 chunks (B8 L2048 H80) keep whole
// sequences, and so does a dynamic length.
// CUDA-LABEL: func @ssd_segments
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 16>
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2, segments = 4>
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_mma, blocks_per_sm = 2>
// CPU-LABEL:  func @ssd_segments
// CPU:        algorithm<chunked, chunk_size = 64, kernel = loops, vector_width = 8>
func.func @ssd_segments(%C: tensor<1x2048x1x128xbf16>, %B: tensor<1x2048x1x128xbf16>, %x: tensor<1x2048x8x64xbf16>,
                        %dt: tensor<1x2048x8xbf16>, %A: tensor<8xbf16>,
                        %C4: tensor<4x16384x1x128xbf16>, %B4: tensor<4x16384x1x128xbf16>, %x4: tensor<4x16384x80x64xbf16>,
                        %dt4: tensor<4x16384x80xbf16>, %A80: tensor<80xbf16>,
                        %C8: tensor<8x2048x1x128xbf16>, %B8: tensor<8x2048x1x128xbf16>, %x8: tensor<8x2048x80x64xbf16>,
                        %dt8: tensor<8x2048x80xbf16>,
                        %Cd: tensor<1x?x1x128xbf16>, %Bd: tensor<1x?x1x128xbf16>, %xd: tensor<1x?x8x64xbf16>,
                        %dtd: tensor<1x?x8xbf16>)
    -> (tensor<1x2048x8x64xbf16>, tensor<4x16384x80x64xbf16>, tensor<8x2048x80x64xbf16>, tensor<1x?x8x64xbf16>) {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<1x2048x1x128xbf16>, tensor<1x2048x1x128xbf16>, tensor<1x2048x8x64xbf16>, tensor<1x2048x8xbf16>, tensor<8xbf16>)
      -> tensor<1x2048x8x64xbf16>
  %y4 = ssm.mix linear causal %C4, %B4, %x4 decay(%dt4, %A80) algorithm<chunked, chunk_size = 64>
      : (tensor<4x16384x1x128xbf16>, tensor<4x16384x1x128xbf16>, tensor<4x16384x80x64xbf16>, tensor<4x16384x80xbf16>, tensor<80xbf16>)
      -> tensor<4x16384x80x64xbf16>
  %y8 = ssm.mix linear causal %C8, %B8, %x8 decay(%dt8, %A80) algorithm<chunked, chunk_size = 64>
      : (tensor<8x2048x1x128xbf16>, tensor<8x2048x1x128xbf16>, tensor<8x2048x80x64xbf16>, tensor<8x2048x80xbf16>, tensor<80xbf16>)
      -> tensor<8x2048x80x64xbf16>
  %yd = ssm.mix linear causal %Cd, %Bd, %xd decay(%dtd, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<1x?x1x128xbf16>, tensor<1x?x1x128xbf16>, tensor<1x?x8x64xbf16>, tensor<1x?x8xbf16>, tensor<8xbf16>)
      -> tensor<1x?x8x64xbf16>
  return %y, %y4, %y8, %yd : tensor<1x2048x8x64xbf16>, tensor<4x16384x80x64xbf16>, tensor<8x2048x80x64xbf16>, tensor<1x?x8x64xbf16>
}

// The same head sizes in f32 take the SIMT kernel.
// CUDA-LABEL: func @ssd_f32
// CUDA:       algorithm<chunked, chunk_size = 64, kernel = chunked_simt>
func.func @ssd_f32(%C: tensor<1x256x1x128xf32>, %B: tensor<1x256x1x128xf32>, %x: tensor<1x256x8x64xf32>,
                   %dt: tensor<1x256x8xf32>, %A: tensor<8xf32>) -> tensor<1x256x8x64xf32> {
  %y = ssm.mix linear causal %C, %B, %x decay(%dt, %A) algorithm<chunked, chunk_size = 64>
      : (tensor<1x256x1x128xf32>, tensor<1x256x1x128xf32>, tensor<1x256x8x64xf32>, tensor<1x256x8xf32>, tensor<8xf32>)
      -> tensor<1x256x8x64xf32>
  return %y : tensor<1x256x8x64xf32>
}

// Mamba-1 (diagonal decay, 16 state elements) keeps a state row per thread;
// SSD's 128 slice the rows over lanes.
// CUDA-LABEL: func @recurrent
// CUDA:       algorithm<recurrent, kernel = row_per_thread>
// CUDA:       algorithm<recurrent, kernel = row_sliced>
// CPU-LABEL:  func @recurrent
// CPU:        algorithm<recurrent, kernel = loops, vector_width = 8>
func.func @recurrent(%C: tensor<1x64x1x16xf32>, %B: tensor<1x64x1x16xf32>, %u: tensor<1x64x32x1xf32>,
                     %delta: tensor<1x64x32xf32>, %A: tensor<32x16xf32>,
                     %q: tensor<1x64x1x128xf32>, %k: tensor<1x64x1x128xf32>, %v: tensor<1x64x4x64xf32>)
    -> (tensor<1x64x32x1xf32>, tensor<1x64x4x64xf32>) {
  %y = ssm.mix linear causal %C, %B, %u decay(%delta, %A) algorithm<recurrent>
      : (tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>, tensor<1x64x32x1xf32>, tensor<1x64x32xf32>, tensor<32x16xf32>)
      -> tensor<1x64x32x1xf32>
  %z = ssm.mix linear causal %q, %k, %v algorithm<recurrent>
      : (tensor<1x64x1x128xf32>, tensor<1x64x1x128xf32>, tensor<1x64x4x64xf32>) -> tensor<1x64x4x64xf32>
  return %y, %z : tensor<1x64x32x1xf32>, tensor<1x64x4x64xf32>
}

// Flash-style attention on tensor cores: two 16-row query tiles a warp
// without a decay, one with.
// CUDA-LABEL: func @quadratic_bf16
// CUDA:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
// CUDA:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 1>
func.func @quadratic_bf16(%q: tensor<1x128x4x64xbf16>, %k: tensor<1x128x4x64xbf16>, %v: tensor<1x128x4x64xbf16>,
                          %dt: tensor<1x128x4xbf16>, %A: tensor<4xbf16>)
    -> (tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>) {
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v algorithm<quadratic>
      : (tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>) -> tensor<1x128x4x64xbf16>
  %z = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<quadratic>
      : (tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>, tensor<1x128x4xbf16>, tensor<4xbf16>)
      -> tensor<1x128x4x64xbf16>
  return %y, %z : tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>
}

// At state size 128 without a decay or an initial state, attention takes
// the warpgroup kernel on sm_90a (whatever the value dim and the mask), and
// mma.sync on plain sm_90, which has no wgmma; a decay keeps mma.sync.
// CUDA-LABEL: func @quadratic_state_128
// CUDA:       algorithm<quadratic, kernel = quadratic_wgmma>
// CUDA:       algorithm<quadratic, kernel = quadratic_wgmma>
// CUDA:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 1>
// SM90-LABEL: func @quadratic_state_128
// SM90:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
// SM90:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 2>
// SM90:       algorithm<quadratic, kernel = quadratic_mma, warp_row_tiles = 1>
func.func @quadratic_state_128(%q: tensor<1x256x4x128xbf16>, %k: tensor<1x256x2x128xbf16>, %v: tensor<1x256x2x64xbf16>,
                               %dt: tensor<1x256x4xbf16>, %A: tensor<4xbf16>)
    -> (tensor<1x256x4x64xbf16>, tensor<1x256x4x64xbf16>, tensor<1x256x4x64xbf16>) {
  %y = ssm.mix softmax(scale = 0.088) causal %q, %k, %v algorithm<quadratic>
      : (tensor<1x256x4x128xbf16>, tensor<1x256x2x128xbf16>, tensor<1x256x2x64xbf16>) -> tensor<1x256x4x64xbf16>
  %w = ssm.mix linear window(100) %q, %k, %v algorithm<quadratic>
      : (tensor<1x256x4x128xbf16>, tensor<1x256x2x128xbf16>, tensor<1x256x2x64xbf16>) -> tensor<1x256x4x64xbf16>
  %z = ssm.mix linear causal %q, %k, %v decay(%dt, %A) algorithm<quadratic>
      : (tensor<1x256x4x128xbf16>, tensor<1x256x2x128xbf16>, tensor<1x256x2x64xbf16>, tensor<1x256x4xbf16>, tensor<4xbf16>)
      -> tensor<1x256x4x64xbf16>
  return %y, %w, %z : tensor<1x256x4x64xbf16>, tensor<1x256x4x64xbf16>, tensor<1x256x4x64xbf16>
}

// A whole plan written by hand is kept as it is, by either backend.
// CUDA-LABEL: func @kept
// CUDA:       algorithm<quadratic, kernel = quadratic_simt>
// CPU-LABEL:  func @kept
// CPU:        algorithm<quadratic, kernel = quadratic_simt>
func.func @kept(%q: tensor<1x128x4x64xbf16>, %k: tensor<1x128x4x64xbf16>, %v: tensor<1x128x4x64xbf16>)
    -> tensor<1x128x4x64xbf16> {
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v algorithm<quadratic, kernel = quadratic_simt>
      : (tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>, tensor<1x128x4x64xbf16>) -> tensor<1x128x4x64xbf16>
  return %y : tensor<1x128x4x64xbf16>
}
