#!/usr/bin/env bash
# The whole-run benchmark (issue 5): for each city size, a generated city (15-minute
# electricity for all, hourly gas for about 40 %, daily water for all, PV, diesel, steam
# and heat for some) for the report year 2025 and the base year 2020, written straight into
# a meter store; then for each thread count `tanxiao run` 2025 vs 2020 and, in the same
# benchmark, `tanxiao floor` with the same options and threads (reading and decompressing
# every chunk the run needs through the same pipeline, nothing else). Then the ingest of one
# new day of readings for the whole city as CSV (with the city's catalogue files) into a
# copy of the store, three times (median).
#
# Usage: bench/whole_run.sh [-n "5000 20000 80000"] [-t "1 2"] [-d DIR] [--smoke] [--keep]
#   -n  city sizes (enterprises; default 20000)   -t  thread counts (default "1 2")
#   -d  work directory (default out/bench; a store per size is kept and reused unless
#       --fresh)   --smoke  a 300-enterprise city, for CI: checks that every step runs and
#       its figures are well formed, asserts no speed   --keep  keep the ingest copy
# Prints a Markdown table (the README's performance section is this table) and writes it
# to DIR/results.md. Every time is the median of 3 runs (run and floor alternating; the
# machine is shared and noisy). Timing is wall clock of the whole command; peak memory is the
# process's maximum resident set (GNU time). Nothing here asserts a speed: the ratios are
# for people and for the closing notes; CI guards instruction counts (scripts/icount.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="20000"
threads="1 2"
dir=out/bench
smoke=0
reps=3
fresh=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    -n) sizes="$2"; shift 2 ;;
    -t) threads="$2"; shift 2 ;;
    -d) dir="$2"; shift 2 ;;
    --smoke) smoke=1; sizes="300"; reps=1; shift ;;
    --fresh) fresh=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "bench/whole_run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
tx=${TANXIAO:-build/tanxiao}
[ -x "$tx" ] || { echo "bench/whole_run.sh: $tx not built (scripts/setup.sh)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (/usr/bin/time)" >&2; exit 1; }
mkdir -p "$dir"
out="$dir/results.md"

# "key=value" pairs of a GNU time line written with -f "wall=%e peak_kib=%M".
timed() { # timed LOGFILE cmd... ; prints "wall peak_mib" of the command
  local log=$1; shift
  /usr/bin/time -f "wall=%e peak_kib=%M" -o "$log.time" "$@" >"$log" 2>"$log.err" || {
    echo "bench/whole_run.sh: failed: $*" >&2; cat "$log.err" >&2; exit 1; }
  awk -F'[= ]' '/wall=/{printf "%s %.0f\n", $2, $4/1024}' "$log.time"
}

{
  echo "| enterprises | threads | readings | store B/reading | run s | floor s | run/floor | M readings/s | run peak MiB | 2-thread speed-up |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$out.tmp"
ingest_rows=()
for n in $sizes; do
  city="$dir/city-$n"
  store="$dir/store-$n.h5"
  if [ "$fresh" = 1 ] || [ ! -f "$store" ] || [ ! -f "$city/financials.csv" ]; then
    rm -rf "$city" "$store" "$store".*
    read -r gw gp < <(timed "$dir/gen-$n.log" "$tx" generate "$city" --enterprises "$n" \
      --seed 1 --store "$store")
    echo "generated $n enterprises into $store in $gw s (peak $gp MiB)" >&2
  fi
  bytes=$(stat -c %s "$store")
  declare -A runs=()
  for t in $threads; do
    # Run and floor alternate, $reps times each (3; 1 with --smoke): the median of each.
    rr=() fr=()
    for rep in $(seq "$reps"); do
      rr+=("$(timed "$dir/run-$n-$t.log" "$tx" run --store "$store" --financials "$city" \
        --period 2025 --baseline 2020 --output "$dir/results-$n-$t.h5" --threads "$t")")
      fr+=("$(timed "$dir/floor-$n-$t.log" "$tx" floor --store "$store" \
        --financials "$city" --period 2025 --baseline 2020 --threads "$t")")
    done
    read -r rw rp < <(printf '%s\n' "${rr[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
    read -r fw fp < <(printf '%s\n' "${fr[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
    readings=$(sed -n 's/.* \([0-9.]*\) M readings in.*/\1/p' "$dir/run-$n-$t.log")
    values=$(sed -n 's/^tanxiao floor: \([0-9]*\) values.*/\1/p' "$dir/floor-$n-$t.log")
    [ -n "$readings" ] && [ -n "$values" ] || {
      echo "bench/whole_run.sh: could not read the run or floor summary" >&2; exit 1; }
    runs[$t]=$rw
    speedup=""
    if [ "$t" != 1 ] && [ -n "${runs[1]:-}" ]; then
      speedup=$(awk -v a="${runs[1]}" -v b="$rw" 'BEGIN{printf "%.2f", a/b}')
    fi
    awk -v n="$n" -v t="$t" -v r="$readings" -v by="$bytes" -v rw="$rw" -v fw="$fw" \
        -v rp="$rp" -v sp="$speedup" 'BEGIN{
      printf "| %d | %d | %.1f M | %.2f | %.2f | %.2f | %.2f | %.1f | %d | %s |\n",
        n, t, r, by/(r*1e6), rw, fw, rw/fw, r/rw, rp, sp}' >>"$out.tmp"
  done
  unset runs
  # One new day (2026-01-01) of the whole city as CSV, ingested into a copy of the store:
  # the generator's day of readings beside the city's own catalogue files (a night's
  # delivery: the same enterprises and meters, one more day of readings).
  day="$dir/day-$n"
  if [ ! -f "$day.gen/readings/2026-01-01.csv" ]; then
    rm -rf "$day.gen"
    "$tx" generate "$day.gen" --enterprises "$n" --seed 1 --report-year 2026 --base-year 2026 \
      --csv-days 1 >/dev/null 2>&1
  fi
  rm -rf "$day"
  mkdir -p "$day"
  for f in enterprises.csv meters.csv meter_events.csv; do
    ln -s "$(realpath "$city/$f")" "$day/$f"
  done
  ln -s "$(realpath "$day.gen/readings")" "$day/readings"
  csv_bytes=$(cat "$day"/*.csv "$day"/readings/*.csv | wc -c)
  # $reps times, each into a fresh copy of the store written to disk first (so that the
  # copy's writeback does not fall into the ingest); the median is reported.
  walls=()
  for rep in $(seq "$reps"); do
    cp "$store" "$dir/ingest-$n.h5"
    rm -f "$dir/ingest-$n.h5".*
    sync
    read -r iw ip < <(timed "$dir/ingest-$n.log" "$tx" ingest "$day" --store "$dir/ingest-$n.h5")
    walls+=("$iw $ip")
  done
  read -r iw ip < <(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (reps + 1) / 2 ))p")
  rows=$(sed -n 's/.* files, \([0-9]*\) rows.*/\1/p' "$dir/ingest-$n.log")
  ingest_rows+=("$(awk -v n="$n" -v b="$csv_bytes" -v r="$rows" -v w="$iw" -v p="$ip" -v s="$bytes" 'BEGIN{
    printf "| %d | %.1f M | %.1f MB | %.2f | %.1f | %.2f | %d | %.2f GB |", n, r/1e6, b/1e6, w, b/1e6/w, r/1e6/w, p, s/1e9}')")
  [ "$keep" = 1 ] || rm -f "$dir/ingest-$n.h5" "$dir/ingest-$n.h5".*
done
{
  cat "$out.tmp"
  echo
  echo "Ingest of one new day (2026-01-01) of the whole city as CSV (its readings and the city's catalogue files) into the store of the two years, all threads, median of 3:"
  echo
  echo "| enterprises | rows | CSV | ingest s | MB/s | M rows/s | peak MiB | store |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ingest_rows[@]}"
} >"$out"
rm -f "$out.tmp"
cat "$out"
if [ "$smoke" = 1 ]; then
  # Well-formed figures: every ratio is a positive finite number.
  awk -F'|' 'NR>2 && NF>10 { if (!($8+0 > 0) || !($5+0 > 0)) { print "bad row: " $0; bad=1 } }
             END { exit bad }' "$out"
fi
