#!/usr/bin/env bash
# Here: for the GPU machine's check of the bf16 model path
# (bench/gpu/model/check-agreement.sh there), each named shared checkpoint's
# weights rounded to bf16 (F32) and stored as BF16, compiled for the GPU:
# .device/agreement/<name>/{rounded,bf16,f32.art,bf16.art}.
#   bash bench/gpu/model/prepare-agreement.sh BUILD_DIR NAME...
set -euo pipefail
build=$1
shift
edit=test/models/edit_checkpoint.py
for name in "$@"; do
  source=../shared/testdata/models/$name
  work=.device/agreement/$name
  rm -rf "$work" && mkdir -p "$work"
  python3 $edit "$source" "$work/rounded" round:bf16
  python3 $edit "$source" "$work/bf16" store:bf16
  "$build/bin/ssmc" "$work/rounded" --target=cuda -o "$work/f32.art"
  "$build/bin/ssmc" "$work/bf16" --target=cuda -o "$work/bf16.art"
  rm -f "$work"/*.art/model_cuda.cu
done
du -sh .device/agreement
