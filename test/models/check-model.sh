#!/bin/sh
# One shared checkpoint end to end: ssmc compiles the checkpoint directory
# into an artifact, ssm-run check-model runs it against the checkpoint's
# expected.safetensors (logits within 1e-3, greedy ids identical).
#   check-model.sh SSMC SSM_RUN CHECKPOINT_DIR WORK_DIR
set -e
ssmc=$1 run=$2 checkpoint=$3 work=$4
rm -rf "$work"
"$ssmc" "$checkpoint" -o "$work"
"$run" check-model "$work" --weights="$checkpoint" \
  --expected="$checkpoint/expected.safetensors"
