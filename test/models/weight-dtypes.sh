#!/bin/sh
# Checkpoints stored in bf16 and f16: the shared checkpoint's weights rounded
# to bf16 (stored as F32), the same values stored as BF16 (config dtype
# bfloat16), and the weights stored as F16. An artifact compiled from each
# (bf16 and f16 weights are parameters of their dtype, widened where the
# kernels read them) must give the logits of the f32 artifact on the same
# values (to the rounding of activations to 16 bits), and the f32 artifact
# must take the bf16 and f16 files too (the runtime widens them at load).
#   weight-dtypes.sh SSMC AGREEMENT EDIT_CHECKPOINT CHECKPOINT_DIR WORK_DIR [SSMC_FLAGS]
set -e
ssmc=$1 agree=$2 edit=$3 checkpoint=$4 work=$5
shift 5
rm -rf "$work"
mkdir -p "$work"
expected="$checkpoint/expected.safetensors"
python3 "$edit" "$checkpoint" "$work/rounded" round:bf16
python3 "$edit" "$checkpoint" "$work/bf16" store:bf16
python3 "$edit" "$checkpoint" "$work/f16" store:f16
"$ssmc" "$work/rounded" -o "$work/f32.art"
for dtype in bf16 f16; do
  "$ssmc" "$work/$dtype" "$@" -o "$work/$dtype.art"
done
# Same weights; the 16-bit artifacts also round the mixers' q, k and v to
# their type (as transformers runs such a model), so within 1 % of the
# largest logit; each within the rounding's effect of transformers' logits
# from the f32 weights. The f32 artifact on the widened bf16 file: the same
# arithmetic on the same values, equal to rounding.
tolerance=${SSM_AGREEMENT_TOLERANCE:-1e-2}
"$agree" "$expected" "$tolerance" 0.2 "$work/bf16.art" "$work/bf16" \
  "$work/f32.art" "$work/rounded"
"$agree" "$expected" "$tolerance" 0.2 "$work/f16.art" "$work/f16" \
  "$work/f32.art" "$work/f16"
"$agree" "$expected" 1e-5 0.2 "$work/f32.art" "$work/bf16" \
  "$work/f32.art" "$work/rounded"
# --weight-dtype=f32 makes the bf16 checkpoint's artifact an f32 one.
"$ssmc" "$work/bf16" --weight-dtype=f32 -o "$work/widened.art"
"$agree" "$expected" 1e-5 0.2 "$work/widened.art" "$work/bf16" \
  "$work/f32.art" "$work/rounded"
