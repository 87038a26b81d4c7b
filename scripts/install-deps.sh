#!/usr/bin/env bash
# Installs what ssmc needs to build and test from Debian's packages; silent
# and quick when everything is already there.
set -euo pipefail

packages=(
  cmake ninja-build g++ ccache python3
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libomp-22-dev libfmt-dev libgtest-dev libdlpack-dev nlohmann-json3-dev
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be stale or absent on a fresh machine.
if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ssmc-apt.log 2>&1; then
  $sudo apt-get update -q >/tmp/ssmc-apt-update.log 2>&1 || true
  if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/ssmc-apt.log 2>&1; then
    echo "install-deps: apt-get install failed; see /tmp/ssmc-apt.log" >&2
    tail -20 /tmp/ssmc-apt.log >&2
    exit 1
  fi
fi
