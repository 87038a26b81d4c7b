#!/usr/bin/env bash
# On the GPU machine: builds the runtime and ssm-gpu-bench with CMake alone,
# times every artifact bench/gpu/prepare.sh made (.device/bench), then, in the
# same call, the peers with ../shared/anchors/peers_gpu.py (copied to
# .device/peers_gpu.py) when their packages are on PYTHONPATH. Results:
# $OUT/ssmc.jsonl and $OUT/peers.json, for bench/gpu/report.py here.
#   bash bench/gpu/run.sh [--peers=ssd,decode,...] [--no-ssmc]
set -uo pipefail
out=${OUT:-/tmp}
peers=""
ssmc=1
for arg in "$@"; do
  case $arg in
    --peers=*) peers=${arg#--peers=} ;;
    --no-ssmc) ssmc=0 ;;
  esac
done
build=build-device
if [ $ssmc -eq 1 ]; then
  cmake -S . -B $build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSSM_BUILD_COMPILER=OFF \
    -DSSM_BUILD_TESTS=OFF -DSSM_DLPACK_INCLUDE_DIR="$(pwd)/.device/include" \
    -DSSM_JSON_INCLUDE_DIR="$(pwd)/.device/include" \
    -DSSM_FMT_INCLUDE_DIR="$(pwd)/.device/include" >"$out/build.log" 2>&1 &&
    cmake --build $build -j "$(nproc)" >>"$out/build.log" 2>&1 ||
    { tail -30 "$out/build.log"; exit 2; }
  nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv,noheader
  $build/bin/ssm-gpu-bench --repeat=200 .device/bench/* | tee "$out/ssmc.jsonl"
fi
if [ -n "$peers" ]; then
  PYTHONUNBUFFERED=1 python3 .device/peers_gpu.py --only "$peers" --out "$out/peers.json" \
    >"$out/peers.log" 2>&1
  tail -5 "$out/peers.log"
fi
