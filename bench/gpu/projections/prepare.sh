#!/usr/bin/env bash
# Here (with the compiler): the projections of a Mamba-2 2.7B-sized layer
# (d_model 2560, in_proj to 10576, out_proj from 5120) as lone functions,
# y = x · Wᵀ of bf16 x and W, at the rows of a prefill of 8 × 2048 tokens
# and of decode steps at batch 64 and 1 (each takes one form of the kernel:
# runtime/include/ssm/device/matmul.cuh), compiled into .device/projections/
# for run.sh on the GPU machine.
#   bash bench/gpu/projections/prepare.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
out=.device/projections
rm -rf "$out" && mkdir -p "$out/mlir"
# name rows K N
shapes=(
  "in_proj_m16384 16384 2560 10576"
  "out_proj_m16384 16384 5120 2560"
  "in_proj_m64 64 2560 10576"
  "in_proj_m16 16 2560 10576"
  "out_proj_m64 64 5120 2560"
  "in_proj_m1 1 2560 10576"
  "out_proj_m1 1 5120 2560"
)
for shape in "${shapes[@]}"; do
  read -r name m k n <<<"$shape"
  cat >"$out/mlir/$name.mlir" <<MLIR
// $name: y = x · Wᵀ, x [$m, $k] and W [$n, $k] in bf16, y in f32.
#lhs = affine_map<(m, n, k) -> (m, k)>
#rhs = affine_map<(m, n, k) -> (n, k)>
#out = affine_map<(m, n, k) -> (m, n)>
func.func @project(%x: tensor<${m}x${k}xbf16> {ssm.name = "x"},
                   %w: tensor<${n}x${k}xbf16> {ssm.name = "w"})
    -> (tensor<${m}x${n}xf32> {ssm.name = "y"}) {
  %zero = arith.constant 0.0 : f32
  %xWide = arith.extf %x : tensor<${m}x${k}xbf16> to tensor<${m}x${k}xf32>
  %wWide = arith.extf %w : tensor<${n}x${k}xbf16> to tensor<${n}x${k}xf32>
  %e = tensor.empty() : tensor<${m}x${n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<${m}x${n}xf32>) -> tensor<${m}x${n}xf32>
  %y = linalg.matmul indexing_maps = [#lhs, #rhs, #out] ins(%xWide, %wWide : tensor<${m}x${k}xf32>, tensor<${n}x${k}xf32>)
      outs(%z : tensor<${m}x${n}xf32>) -> tensor<${m}x${n}xf32>
  return %y : tensor<${m}x${n}xf32>
}
MLIR
  "$build/bin/ssmc" "$out/mlir/$name.mlir" --target=cuda -o "$out/$name"
  rm -f "$out/$name/model_cuda.cu"
  echo "$name $m $k $n" >>"$out/shapes.txt"
done
du -sh "$out"
