#!/usr/bin/env bash
# On the GPU machine: the bf16 artifacts of prepare-agreement.sh against the
# f32 artifacts on the same (rounded) values, both on the GPU, with
# ssm-model-agreement (test/models/ModelAgreement.cpp, built here against
# the runtime library), plainly and under compute-sanitizer's memcheck and
# racecheck (the projections' shared-memory double buffering).
#   bash bench/gpu/model/check-agreement.sh BUILD_DIR
set -uo pipefail
build=$1
tool=$build/ssm-model-agreement
c++ -O2 -std=c++17 test/models/ModelAgreement.cpp -Iruntime/include \
  -I.device/include "$build/runtime/libssm_runtime.a" -ldl -pthread -o "$tool" ||
  exit 2
status=0
for work in .device/agreement/*; do
  name=$(basename "$work")
  expected=$work/bf16/expected.safetensors
  run() {
    "$@" "$tool" "$expected" 1e-2 0.2 "$work/bf16.art" "$work/bf16" \
      "$work/f32.art" "$work/rounded"
  }
  echo "== $name"
  run || status=1
  for check in memcheck racecheck; do
    log=$(run compute-sanitizer --tool $check --error-exitcode 3 2>&1)
    code=$?
    echo "$check: exit $code; $(echo "$log" | grep -m1 'ERROR SUMMARY')"
    [ $code -eq 0 ] || { status=1; echo "$log" | tail -15; }
  done
done
exit $status
