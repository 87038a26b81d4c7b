#!/usr/bin/env bash
# Here (with the compiler): the cost-model calibration sweep. Every shape of
# a list compiled for the GPU with every algorithm it can take
# (quadratic, recurrent, chunked with the tensor cores' chunk of 64) and
# with the h200 cost model's own pick, into <out>/<shape>-<algorithm> and
# <out>/<shape>-auto. The GPU machine times them all with ssm-gpu-bench
# (bench/gpu/run.sh's build);
# the fastest per shape is what the cost model should pick: ssm-calibrate
# turns the timings into bench/gpu/results/<target>-sweep.json and fits the
# target to it.
#   bash bench/gpu/sweep.sh [BUILD_DIR] [LIST]
# LIST (bench/gpu/sweep/<list>.txt, default calibration) names the shapes;
# its artifacts go to .device/sweep-<list>, its sources to
# .device/sweep-<list>-sources.
set -euo pipefail
build=${1:-build}
list=bench/gpu/sweep/${2:-calibration}.txt
ssmc=$build/bin/ssmc
out=.device/sweep-${2:-calibration}
work=$out-sources
rm -rf "$out" "$work" && mkdir -p "$out" "$work"
grep -v '^#' "$list" | while read -r kind template batch length; do
  [ -n "$kind" ] || continue
  name=${kind}_b${batch}_l${length}
  source=$work/$name.mlir
  if [ "$kind" = linear ]; then
    sed "s/@B@/$batch/g; s/@L@/$length/g" "$template" > "$source"
  elif [ "$kind" = attention64 ] || [ "$kind" = attention128 ]; then
    # Softmax attention: the B8 L2048 template's batch and length replaced.
    sed "s/\b8x2048x/${batch}x${length}x/g" "$template" > "$source"
  elif [ "$kind" = decode ]; then
    # One token: every tensor with a batch leads with the B1 template's 1.
    sed "s/tensor<1x/tensor<${batch}x/g" "$template" > "$source"
  else
    sed "s/\b1x2048x/${batch}x${length}x/g; s/tensor<1x16x128x128xf32>/tensor<${batch}x16x128x128xf32>/g" \
      "$template" > "$source"
  fi
  "$ssmc" "$source" --target=cuda -o "$out/$name-auto"
  for algorithm in quadratic recurrent chunked; do
    case $kind:$algorithm in
      mamba1:chunked) continue ;; # diagonal decays have no chunked form
      attention*:recurrent | attention*:chunked) continue ;; # softmax: quadratic only
    esac
    flags=(--algorithm=$algorithm)
    [ $algorithm = chunked ] && flags+=(--chunk-size=64)
    "$ssmc" "$source" --target=cuda "${flags[@]}" -o "$out/$name-$algorithm"
  done
done
ls "$out" | wc -l
