#!/usr/bin/env bash
# On the GPU machine, after bench/gpu/run.sh or model/run.sh built the runtime
# (build-device): ssmc's projections (.device/projections, from prepare.sh)
# through ssm-gpu-bench, and PyTorch's bf16 x · Wᵀ (cuBLAS) at the same
# shapes in the same call. Prints one line a shape: GPU times (CUDA graphs),
# TFLOP/s and the ratio. Results in $OUT/projections-{ssmc.jsonl,torch.json}.
#   bash bench/gpu/projections/run.sh
set -uo pipefail
out=${OUT:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
build-device/bin/ssm-gpu-bench --repeat=50 \
  $(awk '{print ".device/projections/" $1}' .device/projections/shapes.txt) \
  >"$out/projections-ssmc.jsonl" || exit 2
python3 "$here/torch_linear.py" .device/projections/shapes.txt \
  "$out/projections-torch.json" || exit 2
python3 "$here/report.py" .device/projections/shapes.txt \
  "$out/projections-ssmc.jsonl" "$out/projections-torch.json"
