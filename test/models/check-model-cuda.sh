#!/bin/sh
# One shared checkpoint end to end on the CUDA backend, run by the runtime's
# CUDA loader on the host emulator (no GPU here or in CI): ssmc compiles the
# checkpoint for the GPU, ssm-run check-model --target=cuda runs it with its
# weights and states in the (emulated) device's memory against the
# checkpoint's expected.safetensors.
#   check-model-cuda.sh SSMC SSM_RUN CHECKPOINT_DIR WORK_DIR
set -e
ssmc=$1 run=$2 checkpoint=$3 work=$4
rm -rf "$work"
"$ssmc" "$checkpoint" --target=cuda --cuda-emulation -o "$work"
SSM_CUDA_EMULATOR=1 "$run" check-model "$work" --weights="$checkpoint" \
  --expected="$checkpoint/expected.safetensors" --target=cuda
