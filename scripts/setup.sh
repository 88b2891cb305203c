#!/usr/bin/env bash
# Installs what tanxiao needs (Debian packages) when missing, then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true

packages=(build-essential cmake pkg-config libhdf5-dev hdf5-tools libzstd-dev zstd
          libcmocka-dev libinih-dev libxxhash-dev python3 python3-h5py python3-numpy
          python3-pandas chromium fonts-wqy-microhei)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(npm) # NodeSource's nodejs ships its own npm
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

# Apache ECharts for the HTML report, pinned by package-lock.json.
[ -f node_modules/echarts/dist/echarts.min.js ] || npm ci --no-audit --no-fund --silent

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
