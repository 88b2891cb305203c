#!/usr/bin/env bash
# Instruction counts per element of every kernel, compared with bench/icount_baseline.csv.
# Usage: scripts/icount.sh [--update] [--threshold PCT] [BUILD_DIR]
#
# Builds bench/icount in BUILD_DIR (default build-icount) for a fixed ISA, runs it once per
# kernel under callgrind, prints a table (kernel, baseline, now, change) and exits 1 when
# any kernel needs more than PCT per cent (default 10) instructions per element than the
# baseline. --update rewrites the baseline with this run's counts instead.
#
# Why callgrind with --toggle-collect: collection is off at start and on only while
# txk_<kernel> (and whatever it calls) runs, so the input generation, the reference kernel,
# the validation, the dynamic loader and libc start-up are not counted, and no second run
# is needed to cancel them. A function that disappears (inlined, renamed) collects nothing,
# which is reported as an error rather than as a 100 % improvement. Valgrind counts guest
# instructions, so the figures do not depend on the load of the machine, its frequency or
# its caches, and repeated runs give the same numbers.
#
# Why a fixed ISA: the counts depend on the vector width the compiler targets, so -march is
# fixed (x86-64-v3: AVX2, what most servers run) and recorded in the baseline with the
# compiler. Valgrind 3.19 cannot execute AVX-512, so -march=native is not an option on
# AVX-512 machines anyway. A baseline taken with another ISA or compiler is still compared,
# with a warning: the difference may then be the compiler's, not the code's.
set -euo pipefail
cd "$(dirname "$0")/.."

isa=x86-64-v3
baseline=bench/icount_baseline.csv
threshold=10
update=0
build="build-icount"
while (($#)); do
  case $1 in
    --update) update=1 ;;
    --threshold) threshold=${2:?--threshold needs a value}; shift ;;
    -h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "icount: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done

[[ $threshold =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "icount: --threshold must be a number" >&2; exit 2; }

if ! command -v valgrind >/dev/null; then
  echo "icount: installing valgrind"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q valgrind
fi

# Every setting that changes the generated code is given explicitly, so a reused build
# directory or CFLAGS in the environment cannot change the counts.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS= \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g -DNDEBUG" -DTANXIAO_ISA="$isa" \
  -DTANXIAO_REFERENCE_KERNELS=OFF -DTANXIAO_SANITIZE= -DTANXIAO_TESTS=OFF \
  -DTANXIAO_BENCH=ON -DTANXIAO_FUZZ=OFF >/dev/null
cmake --build "$build" --target icount -j"$(nproc)" >/dev/null
bin=$build/bench/icount

info=$("$bin" --info) # "isa,compiler"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "icount: $(valgrind --version), callgrind collecting inside txk_<kernel> only"
echo "icount: build -O2 -g -march=${info%%,*}, ${info#*,}, one thread, no OpenMP"

now=$tmp/now.csv
echo "kernel,instructions_per_element,isa,compiler,elements" >"$now"
for k in $("$bin" --list); do
  if ! valgrind --tool=callgrind --collect-atstart=no --toggle-collect="txk_$k" \
      --callgrind-out-file="$tmp/$k.cg" "$bin" "$k" >"$tmp/$k.out" 2>"$tmp/$k.log"; then
    cat "$tmp/$k.out" "$tmp/$k.log" >&2
    echo "icount: $k failed (mismatch with the reference kernel, or valgrind error)" >&2
    exit 2
  fi
  ir=$(awk '$1 == "totals:" { print $2 }' "$tmp/$k.cg")
  elements=$(sed -n 's/.* elements=\([0-9]*\) .*/\1/p' "$tmp/$k.out")
  if [ -z "$ir" ] || [ "$ir" -eq 0 ] || [ -z "$elements" ]; then
    echo "icount: no instructions collected inside txk_$k (inlined or renamed?)" >&2
    exit 2
  fi
  awk -v k="$k" -v ir="$ir" -v e="$elements" -v info="$info" \
    'BEGIN { printf "%s,%.4f,%s,%s\n", k, ir / e, info, e }' >>"$now"
done

if ((update)); then
  cp "$now" "$baseline"
  echo "icount: baseline $baseline rewritten"
fi
[ -f "$baseline" ] || { echo "icount: no baseline $baseline (run with --update)" >&2; exit 2; }

# The table; exit status 1 when some kernel regressed by more than the threshold.
awk -F, -v thr="$threshold" -v info="$info" '
  FNR == 1 { next }
  NR == FNR { base[$1] = $2; binfo[$1] = $3 "," $4; next }
  {
    kern[++n] = $1; now[$1] = $2; elem[$1] = $5
  }
  END {
    printf "\n%-17s %10s %10s %8s  %s\n", "kernel", "baseline", "now", "change", "(instructions per element)"
    bad = 0
    for (i = 1; i <= n; i++) {
      k = kern[i]
      if (!(k in base)) {
        printf "%-17s %10s %10.3f %8s  NO BASELINE\n", k, "-", now[k], "-"
        bad++
        continue
      }
      ch = 100 * (now[k] - base[k]) / base[k]
      verdict = ch > thr ? "REGRESSION" : ch < -thr ? "improved: update the baseline" : "ok"
      if (ch > thr) bad++
      printf "%-17s %10.3f %10.3f %+7.1f%%  %s\n", k, base[k], now[k], ch, verdict
      if (binfo[k] != info) other = binfo[k]
      delete base[k]
    }
    for (k in base) printf "%-17s %10.3f %10s %8s  no longer measured\n", k, base[k], "-", "-"
    if (other != "")
      printf "\nWARNING: baseline taken with %s, this build is %s: differences may be the compiler'\''s\n", other, info
    if (bad) {
      printf "\nicount: %d kernel(s) need more than %s %% more instructions per element than the baseline (or have none).\n", bad, thr
      printf "If intended, rewrite the baseline with scripts/icount.sh --update and commit it.\n"
      exit 1
    }
    printf "\nicount: no kernel regressed by more than %s %%\n", thr
  }' "$baseline" "$now"
