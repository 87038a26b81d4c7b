#!/usr/bin/env bash
# On the GPU machine, which has no MLIR: builds the runtime and ssm-run with
# CMake alone, then runs every check that `ninja gpu-cases` prepared here in
# .device/ (MakeGpuCases.cpp): each artifact on its inputs, compared with its
# reference within its tolerance, and each shared checkpoint through
# check-model --target=cuda (logits within 1e-3, every greedy id), each again
# under compute-sanitizer memcheck. Listed artifacts that are not here, or
# whose inputs are not (a call's carry limit splits them over calls), are
# skipped and counted.
# Prints one line per failure and a summary; the full log goes to
# $OUT/device-checks.log when $OUT is set. Exit 0 iff every check passes,
# 77 (skipped) where there is no GPU.
#
#   bash test/gpu/device-checks.sh [--no-sanitizer] [DIR]   (DIR: .device)
set -uo pipefail
sanitize=1
if [ "${1:-}" = "--no-sanitizer" ]; then sanitize=0; shift; fi
dir=$(cd "${1:-.device}" && pwd)
# Without a GPU there is nothing to check: 77, which ctest reads as skipped.
if ! nvidia-smi -L >/dev/null 2>&1; then
  echo "skipped: no NVIDIA GPU here (nvidia-smi lists none)"
  exit 77
fi
log=${OUT:-/tmp}/device-checks.log
build=build-device
: >"$log"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DSSM_BUILD_COMPILER=OFF -DSSM_BUILD_TESTS=OFF \
  -DSSM_DLPACK_INCLUDE_DIR="$dir/include" -DSSM_JSON_INCLUDE_DIR="$dir/include" \
  -DSSM_FMT_INCLUDE_DIR="$dir/include" >>"$log" 2>&1 &&
  cmake --build "$build" -j "$(nproc)" >>"$log" 2>&1 ||
  { tail -40 "$log"; echo "device-checks: the runtime did not build"; exit 2; }
run=$(pwd)/$build/bin/ssm-run
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | tee -a "$log"

# One check: `name kind result worst-rel` on stdout, details in the log.
check() {
  local artifact=$1 inputs=$2 reference=$3 tolerance=$4 kind=$5
  local command=("$run" run "$dir/$artifact" "--inputs=$dir/$inputs"
                 "--compare=$dir/$reference" "--tolerance=$tolerance"
                 --warmup=0 --repeat=1)
  # A checkpoint (models.txt): `inputs` is its directory.
  if [ "$reference" = model ]; then
    command=("$run" check-model "$dir/$artifact" "--weights=$dir/$inputs"
             "--expected=$dir/$inputs/expected.safetensors" --target=cuda)
  fi
  local output status
  if [ "$kind" = sanitized ]; then
    output=$(compute-sanitizer --tool memcheck --error-exitcode 99 \
      --print-limit 10 "${command[@]}" 2>&1)
  else
    output=$("${command[@]}" 2>&1)
  fi
  status=$?
  local worst
  worst=$({ grep -o 'rel=[0-9.e+-]*' <<<"$output" | cut -d= -f2
            grep -o 'logit error| [0-9.e+-]*' <<<"$output" | cut -d' ' -f3
          } | sort -g | tail -1)
  local verdict=PASS
  [ $status -eq 0 ] || verdict=FAIL
  if [ "$kind" = sanitized ] && ! grep -q "ERROR SUMMARY: 0 errors" <<<"$output"; then
    verdict=FAIL
  fi
  echo "$artifact $kind $verdict ${worst:-none}"
  { echo "== $artifact ($kind): exit $status"; echo "$output"; } >>"$log.$$.$RANDOM"
}
export -f check
export run dir log

jobs=$(( $(nproc) < 8 ? $(nproc) : 8 ))
results=$(
  {
    while read -r artifact inputs reference tolerance; do
      [ -d "$dir/$artifact" ] && [ -e "$dir/$inputs" ] || continue
      echo "$artifact $inputs $reference $tolerance plain"
      [ $sanitize -eq 1 ] && echo "$artifact $inputs $reference $tolerance sanitized"
    done <"$dir/cases.txt"
    while read -r artifact checkpoint; do
      [ -d "$dir/$artifact" ] && [ -d "$dir/$checkpoint" ] || continue
      echo "$artifact $checkpoint model 0 plain"
      [ $sanitize -eq 1 ] && echo "$artifact $checkpoint model 0 sanitized"
    done < <(cat "$dir/models.txt" 2>/dev/null)
  } | xargs -P "$jobs" -L 1 bash -c 'check "$@"' _)
cat "$log".* >>"$log" 2>/dev/null; rm -f "$log".*

echo "$results" | sort >>"$log"
echo "$results" | grep FAIL | sort
plain=$(grep -c ' plain ' <<<"$results")
plainPass=$(grep -c ' plain PASS' <<<"$results")
sanitized=$(grep -c ' sanitized ' <<<"$results")
sanitizedPass=$(grep -c ' sanitized PASS' <<<"$results")
worst16=$(grep -E -- '-(bf16|f16)-| plain ' <<<"$results" | grep -E 'bf16' |
          awk '{print $4}' | sort -g | tail -1)
worst32=$(grep ' plain ' <<<"$results" | grep -v -E 'bf16|f16|^models/' |
          awk '{print $4}' | sort -g | tail -1)
worstLogit=$(grep '^models/.* plain ' <<<"$results" | awk '{print $4}' |
             sort -g | tail -1)
# A call's carry limit may split the artifacts over several calls.
listed=$(cat "$dir/cases.txt" "$dir/models.txt" 2>/dev/null | wc -l)
present=$(cat "$dir/cases.txt" "$dir/models.txt" 2>/dev/null |
          while read -r artifact inputs rest; do
            [ -d "$dir/$artifact" ] && [ -e "$dir/$inputs" ] && echo
          done | wc -l)
[ "$present" -eq "$listed" ] ||
  echo "device-checks: $((listed - present)) of $listed listed checks skipped: their artifact or inputs are not here (not carried)"
echo "device-checks: $plainPass/$plain checks pass; memcheck clean on $sanitizedPass/$sanitized"
echo "device-checks: worst relative error: f32 ${worst32:-n/a}, bf16 ${worst16:-n/a}"
echo "device-checks: checkpoints: worst max |logit error| ${worstLogit:-n/a}"
[ "$plainPass" -eq "$plain" ] && [ "$sanitizedPass" -eq "$sanitized" ]
