#!/usr/bin/env bash
# On the GPU machine: a Mamba-2 2.7B-sized model (config.json beside this
# script: d_model 2560, 64 layers, random bf16 weights) through ssmc's
# artifact and through transformers with mamba_ssm's kernels, in one call, at
# the same points (BATCHxPROMPTxNEW: prefill 2048 tokens at batch 8, decode at
# batch 1 and 64). The artifact comes from here (bench/gpu/model/prepare.sh:
# .device/model-bench/mamba2-2.7b); transformers makes the checkpoint both
# load. Results: $OUT/model-transformers.json, $OUT/model-ssmc.jsonl, and the
# table (report.py) on stdout.
#   bash bench/gpu/model/run.sh [POINT...]
set -uo pipefail
out=${OUT:-/tmp}
here=$(cd "$(dirname "$0")" && pwd)
points=("$@")
[ ${#points[@]} -eq 0 ] && points=(8x2048x4 1x16x64 64x16x64)
build=build-device
cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSM_BUILD_COMPILER=OFF \
  -DSSM_BUILD_TESTS=OFF -DSSM_DLPACK_INCLUDE_DIR="$(pwd)/.device/include" \
  -DSSM_JSON_INCLUDE_DIR="$(pwd)/.device/include" \
  -DSSM_FMT_INCLUDE_DIR="$(pwd)/.device/include" >"$out/model-build.log" 2>&1 &&
  cmake --build $build -j "$(nproc)" --target ssm-model-bench >>"$out/model-build.log" 2>&1 ||
  { tail -30 "$out/model-build.log"; exit 2; }
checkpoint=/tmp/mamba2-2.7b-random
PYTHONUNBUFFERED=1 python3 "$here/transformers_mamba2.py" "$here/mamba2-2.7b" \
  "$checkpoint" "$out/model-transformers.json" "${points[@]}" 2>"$out/model-transformers.log" ||
  { tail -20 "$out/model-transformers.log"; exit 2; }
: >"$out/model-ssmc.jsonl"
for point in "${points[@]}"; do
  IFS=x read -r batch prompt new <<<"$point"
  $build/bin/ssm-model-bench .device/model-bench/mamba2-2.7b "$checkpoint" \
    --batch="$batch" --prompt="$prompt" --new="$new" --repeat=5 \
    --label=mamba2-2.7b | tee -a "$out/model-ssmc.jsonl"
done
python3 "$here/report.py" "$out/model-ssmc.jsonl" "$out/model-transformers.json"
