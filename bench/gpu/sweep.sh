#!/usr/bin/env bash
# Here (with the compiler): the cost-model calibration sweep. Every shape of
# the list below compiled for the GPU with every algorithm it can take
# (quadratic, recurrent, chunked with the tensor cores' chunk of 64) and
# with the h200 cost model's own pick, into .device/sweep/<shape>-<algorithm>
# and .device/sweep/<shape>-auto. The GPU machine times them all with
# ssm-gpu-bench (bench/gpu/run.sh's build); the fastest per shape is what
# the cost model should pick.
#   bash bench/gpu/sweep.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
ssmc=$build/bin/ssmc
out=.device/sweep
rm -rf "$out" && mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# kind template batch length: the B1 L2048 bench shapes with their batch and
# length replaced, and a linear attention template.
shapes="
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 1 256
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 1 1024
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 4 512
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 2 4096
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 16 256
ssd bench/gpu/shapes/ssd_b1_l2048.mlir 1 8192
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 1 256
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 1 512
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 2 1024
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 8 512
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 4 4096
gla bench/gpu/shapes/gla_b1_l2048_h16_k128_v128.mlir 16 128
mamba1 bench/gpu/shapes/mamba1_b1_l2048.mlir 1 256
mamba1 bench/gpu/shapes/mamba1_b1_l2048.mlir 2 1024
mamba1 bench/gpu/shapes/mamba1_b1_l2048.mlir 4 512
mamba1 bench/gpu/shapes/mamba1_b1_l2048.mlir 16 128
linear bench/gpu/sweep/linear_attention.mlir.in 1 512
linear bench/gpu/sweep/linear_attention.mlir.in 4 2048
linear bench/gpu/sweep/linear_attention.mlir.in 8 256
linear bench/gpu/sweep/linear_attention.mlir.in 1 4096
"
echo "$shapes" | while read -r kind template batch length; do
  [ -n "$kind" ] || continue
  name=${kind}_b${batch}_l${length}
  source=$work/$name.mlir
  if [ "$kind" = linear ]; then
    sed "s/@B@/$batch/g; s/@L@/$length/g" "$template" > "$source"
  else
    sed "s/\b1x2048x/${batch}x${length}x/g; s/tensor<1x16x128x128xf32>/tensor<${batch}x16x128x128xf32>/g" \
      "$template" > "$source"
  fi
  "$ssmc" "$source" --target=cuda -o "$out/$name-auto"
  for algorithm in quadratic recurrent chunked; do
    case $kind:$algorithm in
      mamba1:chunked) continue ;; # diagonal decays have no chunked form
    esac
    flags=(--algorithm=$algorithm)
    [ $algorithm = chunked ] && flags+=(--chunk-size=64)
    "$ssmc" "$source" --target=cuda "${flags[@]}" -o "$out/$name-$algorithm"
  done
done
ls "$out" | wc -l
