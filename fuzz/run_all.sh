#!/usr/bin/env bash
# Usage: run_all.sh [SECONDS [TARGET...]]. Runs every fuzz target (or those named) in turn, one at a time (one core), for
# SECONDS each (default 180),
# from its seeds and the corpus it grew before; prints each target's CPU time and result.
# Crashes land in fuzz/artifacts/<target>/. Build first: cargo fuzz build -s none (README).
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-180}"
shift || true
bin="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^statusrelay-fuzz$')
fi
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  /usr/bin/time -f "%U %S" -o "/tmp/fuzz-time-$target" \
    "$bin/$target" "corpus/$target" "seeds/$target" -max_total_time="$seconds" \
    -rss_limit_mb=4096 -max_len=65536 -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
    > "/tmp/fuzz-$target.log" 2>&1
  status=$?
  read -r user sys < <(tail -1 "/tmp/fuzz-time-$target")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "/tmp/fuzz-$target.log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "/tmp/fuzz-$target.log" | tail -1)
  printf '%-16s cpu %6.1fs  runs %-9s %-10s exit %s\n' "$target" "$(echo "$user + $sys" | bc)" "${runs:-?}" "$cov" "$status"
done
