#!/usr/bin/env bash
# One fuzz target's smoke run in the test suite (CTest, fuzz build):
#   smoke.sh BINARY SECONDS SEEDS REGRESSIONS WORKDIR
# Replays every input in REGRESSIONS (crashes found before; each must pass now), then
# fuzzes for SECONDS starting from SEEDS, writing new inputs only into WORKDIR. Any crash,
# leak, timeout or failed check fails the test; the input is left in WORKDIR/artifacts.
set -euo pipefail

binary=$1 seconds=$2 seeds=$3 regressions=$4 work=$5

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
# Our own settings, not those of the caller (run-tests.sh switches leak detection off for
# the sanitizer build); a target that must not check leaks says so itself.
export ASAN_OPTIONS=abort_on_error=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
options=(-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" -print_final_stats=1)

shopt -s nullglob
replay=("$regressions"/*)
if [ ${#replay[@]} -gt 0 ]; then
  echo "== $(basename "$binary"): ${#replay[@]} regression inputs"
  "$binary" "${options[@]}" "${replay[@]}"
fi

echo "== $(basename "$binary"): seeds, then ${seconds} s of fuzzing"
"$binary" "${options[@]}" -max_total_time="$seconds" "$work/corpus" "$seeds"
