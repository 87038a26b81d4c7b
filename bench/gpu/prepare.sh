#!/usr/bin/env bash
# Here (with the compiler): compiles every GPU bench shape (bench/gpu/shapes)
# into .device/bench/, each with the algorithm the h200 cost model picks
# (<shape>) and, where it differs, with the kernel the comparison is about
# (<shape>-<algorithm>). The GPU machine runs them with bench/gpu/run.sh.
#   bash bench/gpu/prepare.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
ssmc=$build/bin/ssmc
out=.device/bench
rm -rf "$out" && mkdir -p "$out" .device/include/dlpack
cp /usr/include/dlpack/dlpack.h .device/include/dlpack/
# The runtime builds there from these headers (no Debian packages there).
rm -rf .device/include/nlohmann .device/include/fmt &&
  cp -r /usr/include/nlohmann /usr/include/fmt .device/include/
for shape in bench/gpu/shapes/*.mlir; do
  name=$(basename "$shape" .mlir)
  "$ssmc" "$shape" --target=cuda -o "$out/$name"
  case $name in
    ssd_*|gla_*) "$ssmc" "$shape" --target=cuda --algorithm=chunked --chunk-size=64 -o "$out/$name-chunked-64" ;;
  esac
  case $name in
    gla_*) "$ssmc" "$shape" --target=cuda --algorithm=quadratic -o "$out/$name-quadratic" ;;
  esac
done
ls "$out" | wc -l
