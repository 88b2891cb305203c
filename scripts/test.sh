#!/usr/bin/env bash
# Set up, build and run every test (cmocka units, Python interop and end-to-end, benchmark
# smoke runs). Usage: scripts/test.sh [BUILD_DIR] [extra cmake arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
scripts/setup.sh "$build" "$@"
cd "$build"
ctest --output-on-failure -j"$(nproc)"
