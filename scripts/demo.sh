#!/usr/bin/env bash
# The main job on a default generated city: set up, generate 2,000 enterprises with a full
# year of 15-minute electricity for 2025 and for the base year 2020 straight into a meter
# store, run 2025 against 2020, and print the summary.
# Usage: scripts/demo.sh [ENTERPRISES]   (outputs in out/)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
scripts/setup.sh build
mkdir -p out
rm -rf out/city out/store.h5 out/results.h5
/usr/bin/time -f "generate: %e s, peak %M KiB" \
  build/tanxiao generate out/city --enterprises "$n" --seed 1 --store out/store.h5
/usr/bin/time -f "run: %e s, peak %M KiB" \
  build/tanxiao run --store out/store.h5 --financials out/city --period 2025 --baseline 2020 \
  --output out/results.h5
ls -l out/store.h5 out/results.h5
echo "read the results: HDF5_PLUGIN_PATH=$PWD/build/plugin h5dump -H out/results.h5"
