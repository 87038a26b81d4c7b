#!/usr/bin/env bash
# The newcomer's tour: the one op on four mixers, what the verifier says about
# a malformed one, the float64 reference against the peers' vectors, then the
# compiler: the cost model's choice, an artifact, generated code against a
# peer's vector, a C program running the artifact, and a whole model that
# generates.
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build/bin"
testdata="$root/../shared/testdata"

heading() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

heading "One op, four mixers: ssm-opt parses and verifies examples/mixers/*.mlir"
for example in "$root"/examples/mixers/*.mlir; do
  printf '\n-- %s\n' "examples/mixers/$(basename "$example")"
  grep -m 12 '^//' "$example" | sed 's|^// \{0,1\}|   |'
  echo "   ssm-opt prints back the ssm.mix it verified:"
  "$bin/ssm-opt" "$example" | grep 'ssm.mix' | sed 's/^ */     /'
done

heading "Canonicalization: an unused final state and a zero initial state go away"
cat <<'MLIR' > /tmp/ssmc-demo-canonicalize.mlir
func.func @f(%q: tensor<1x64x1x16xf32>, %k: tensor<1x64x1x16xf32>, %v: tensor<1x64x4x8xf32>) -> tensor<1x64x4x8xf32> {
  %zero = arith.constant dense<0.0> : tensor<1x4x8x16xf32>
  %y, %s = ssm.mix linear causal %q, %k, %v initial_state(%zero)
      : (tensor<1x64x1x16xf32>, tensor<1x64x1x16xf32>, tensor<1x64x4x8xf32>, tensor<1x4x8x16xf32>)
      -> (tensor<1x64x4x8xf32>, tensor<1x4x8x16xf32>)
  return %y : tensor<1x64x4x8xf32>
}
MLIR
echo "   before:"; grep -A1 'ssm.mix' /tmp/ssmc-demo-canonicalize.mlir | sed 's/^/   /'
echo "   after ssm-opt -canonicalize:"
"$bin/ssm-opt" -canonicalize /tmp/ssmc-demo-canonicalize.mlir | grep 'ssm.mix' | sed 's/^/   /'

heading "The verifier names the operand and the shape it expected"
cat <<'MLIR' > /tmp/ssmc-demo-invalid.mlir
func.func @gqa(%q: tensor<1x128x8x64xf32>, %k: tensor<1x128x3x64xf32>, %v: tensor<1x128x3x64xf32>) -> tensor<1x128x8x64xf32> {
  %y = ssm.mix softmax(scale = 0.125) causal %q, %k, %v
      : (tensor<1x128x8x64xf32>, tensor<1x128x3x64xf32>, tensor<1x128x3x64xf32>) -> tensor<1x128x8x64xf32>
  return %y : tensor<1x128x8x64xf32>
}
MLIR
"$bin/ssm-opt" /tmp/ssmc-demo-invalid.mlir 2>&1 | sed 's/^/   /'
echo "   (exit status $?: 8 query heads cannot share 3 kv heads)"

heading "The float64 reference reproduces the peers' vectors (mamba_ssm, PyTorch)"
if [ -d "$testdata/ops" ]; then
  echo "   per output: max |ours - theirs| / max |theirs|, tolerance 1e-4"
  "$bin/ssm-reference-check" "$testdata"/ops/*.safetensors | sed 's/^/   /'
else
  echo "   ($testdata not found: put the shared folder beside the checkout)"
fi

heading "The compiler: ssmc weighs the algorithms for a Mamba-2 layer (L 2048, 24 heads, d_state 128)"
artifact=/tmp/ssmc-demo-mamba2
rm -rf "$artifact"
"$bin/ssmc" "$root/examples/mixers/mamba2_ssd.mlir" --target=cpu --explain -o "$artifact" 2>&1 \
  | grep -v '^ *\^\|note: see current operation\|^ *%y' | sed 's/^/   /'
echo "   (* marks the choice; on a CPU matrix and vector FLOPs cost the same, so the recurrent"
echo "    form, with the fewest FLOPs, wins; --cost-model-target=h100 sees tensor cores)"
echo
echo "   the artifact: $(cd "$artifact" && ls | tr '\n' ' ')"
"$bin/ssm-run" info "$artifact" | sed 's/^/   /'

heading "Generated code against a peer's vector: ssm-run check (every algorithm legal for SSD)"
if [ -f "$testdata/ops/ssd_00.safetensors" ]; then
  for algorithm in quadratic recurrent chunked auto; do
    echo "   --algorithm=$algorithm:"
    "$bin/ssm-run" check "$testdata/ops/ssd_00.safetensors" --algorithm=$algorithm | sed 's/^/     /'
  done
  echo "   a softmax op cannot run as a recurrence; that is an error, not a fallback:"
  "$bin/ssm-run" check "$testdata/ops/softmax_attention_04.safetensors" --algorithm=recurrent 2>&1 | sed 's/^/     /'
  echo "     (exit status ${PIPESTATUS[0]})"
else
  echo "   ($testdata not found: put the shared folder beside the checkout)"
fi

heading "A plain C program runs the artifact through the runtime's C API (examples/c/run_artifact.c)"
"$bin/ssm-example-run" "$artifact" | sed 's/^/   /'

heading "A whole model: a small nemotron_h-style hybrid (examples/models/hybrid-demo) on the CPU"
model=/tmp/ssmc-demo-model
rm -rf "$model" "$model-artifact" && cp -r "$root/examples/models/hybrid-demo" "$model"
echo "   config.json: $(grep -c linear_attention "$model/config.json") Mamba-2 layers, one attention layer, two relu² MLPs"
"$bin/ssm-example-weights" "$model" | sed 's/^/   /'
echo "   (deterministic weights from ssm-example-weights, the same on every machine)"
"$bin/ssmc" "$model" -o "$model-artifact"
"$bin/ssm-run" info "$model-artifact" | grep -E '^function|algorithm' | sed 's/^/   /'
echo "   ssm-run generate: the prompt through prefill, then one decode step per token"
"$bin/ssm-run" generate "$model-artifact" --weights "$model" --prompt-ids 1,2,3,4,5 \
  --max-new-tokens 24 | sed 's/^/     /'
echo "   the same from a C program on the runtime's C API (examples/c/generate.c):"
"$bin/ssm-example-generate" "$model-artifact" "$model" 24 1 2 3 4 5 | sed 's/^/     /'

echo
echo "Next: 'make test' runs the $(ctest --test-dir "$root/$build" -N | sed -n 's/^Total Tests: //p') tests (lit files and unit tests) through ctest; 'make bench' times the generated kernels."
