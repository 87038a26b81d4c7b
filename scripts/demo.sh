#!/usr/bin/env bash
# The newcomer's tour: the one op on four mixers, what the verifier says about
# a malformed one, and the float64 reference against the peers' vectors.
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
echo
echo "Next: 'make test' runs the $(ctest --test-dir "$root/$build" -N | sed -n 's/^Total Tests: //p') tests (lit files and unit tests) through ctest."
