#!/usr/bin/env bash
# On the GPU machine: builds the runtime and ssm-gpu-bench (as run.sh does)
# and profiles the mix kernels of the named artifacts with Nsight Compute:
# throughput, occupancy, launch figures, warp stalls and the hottest source
# lines, one text report per artifact in $OUT.
#   bash bench/gpu/profile.sh ARTIFACT_DIR...
set -uo pipefail
out=${OUT:-/tmp}
build=build-device
cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSM_BUILD_COMPILER=OFF \
  -DSSM_BUILD_TESTS=OFF -DSSM_DLPACK_INCLUDE_DIR="$(pwd)/.device/include" \
  -DSSM_JSON_INCLUDE_DIR="$(pwd)/.device/include" \
  -DSSM_FMT_INCLUDE_DIR="$(pwd)/.device/include" >"$out/build.log" 2>&1 &&
  cmake --build $build -j "$(nproc)" >>"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 2; }
for dir in "$@"; do
  name=$(basename "$dir")
  ncu --kernel-name regex:_mix --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section LaunchStats \
    --section WarpStateStats --section SchedulerStats \
    --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
    --section SourceCounters --print-summary none \
    $build/bin/ssm-gpu-bench --repeat=5 "$dir" >"$out/ncu-$name.txt" 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Compute \(SM\) Throughput|Memory Throughput|Block Limit" "$out/ncu-$name.txt" | head -20
done
