#!/usr/bin/env bash
# Here (the compiler's machine): compiles the 2.7B-sized config for the GPU
# into .device/model-bench/mamba2-2.7b (a config alone compiles: weights are
# parameters), with the headers the device build needs in .device/include.
#   bash bench/gpu/model/prepare.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf .device/model-bench/mamba2-2.7b
mkdir -p .device/model-bench
"$build/bin/ssmc" "$here/mamba2-2.7b" --target=cuda -o .device/model-bench/mamba2-2.7b
rm -f .device/model-bench/mamba2-2.7b/model_cuda.cu
du -sh .device/model-bench/mamba2-2.7b
