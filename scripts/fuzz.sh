#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang and runs each for SECONDS on a copy
# of its seed corpus (tests/fuzz/corpus/<name>/ is never modified). Exits non-zero when a
# target crashes (an invariant fails or a sanitizer reports), printing the reproducer; replay
# it with BUILD_DIR/tests/fuzz/fuzz_<name> FILE, or with fuzz_replay_<name> FILE of a test build.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]      (defaults: 20, build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=${2:-build-fuzz}
targets=(csv enterprises meters events readings financials deflators scalars)

# clang with libFuzzer and the sanitizer runtimes; OpenMP for clang, since the top-level
# CMakeLists requires it; the usual build dependencies.
packages=(clang-14 libclang-rt-14-dev libomp-14-dev cmake make pkg-config libhdf5-dev libzstd-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi
cc=$(command -v clang-14 || command -v clang)

CC=$cc cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTANXIAO_FUZZ=ON \
  -DTANXIAO_TESTS=OFF -DTANXIAO_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$build/fuzz-run
rm -rf "$work"
status=0
for t in "${targets[@]}"; do
  dir=$work/$t
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -dict=tests/fuzz/tanxiao.dict -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
      "$dir/corpus" >"$dir/log" 2>&1; then
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -n 1 || true)
    cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+) corp: ([^ ]+).*/cov \1, ft \2, corpus \3/p' \
      <<<"$done_line")
    eps=$(sed -nE 's/^stat::average_exec_per_sec:[[:space:]]*([0-9]+).*/\1/p' "$dir/log")
    runs=$(sed -nE 's/^stat::number_of_executed_units:[[:space:]]*([0-9]+).*/\1/p' "$dir/log")
    printf 'fuzz_%-12s ok: %s runs, %s exec/s, %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}"
  else
    status=1
    echo "fuzz_$t FAILED; last lines of $dir/log:"
    tail -n 40 "$dir/log" | sed 's/^/  /'
    for a in "$dir"/artifacts/*; do
      [ -e "$a" ] && echo "fuzz_$t reproducer: $a"
    done
  fi
done
exit $status
