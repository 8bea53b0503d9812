#!/usr/bin/env bash
# Long fuzz runs by hand (docs/fuzzing.md):
#   tools/fuzz.sh TARGET [SECONDS] [libFuzzer flags...]   fuzz TARGET for SECONDS (default 600)
#   tools/fuzz.sh --write-seeds                            regenerate tests/fuzz/corpus
# TARGET: fuzz_frame_decoder, fuzz_control, fuzz_host_command, fuzz_host_session, fuzz_shim_decoder,
# fuzz_operator or fuzz_driver.
# Builds build-fuzz first. The corpus grows in build-fuzz/corpus-work/TARGET (seeded from
# tests/fuzz/corpus/TARGET, kept between runs); crashes land in build-fuzz/artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build-fuzz

tools/build.sh fuzz "$build"

if [ "${1:-}" = "--write-seeds" ]; then
  rm -rf tests/fuzz/corpus
  "$build/tests/fuzz/mmpy_fuzz_seeds" tests/fuzz/corpus
  echo "wrote tests/fuzz/corpus:"
  find tests/fuzz/corpus -type f | sort
  exit 0
fi

target=${1:?usage: tools/fuzz.sh TARGET [SECONDS] [libFuzzer flags...] | --write-seeds}
seconds=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
binary=$build/tests/fuzz/$target
if [ ! -x "$binary" ]; then
  echo "fuzz.sh: no fuzz target '$target' (see tests/fuzz/CMakeLists.txt)" >&2
  exit 2
fi

work=$build/corpus-work/$target
artifacts=$build/artifacts/$target
mkdir -p "$work" "$artifacts"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:handle_abort=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "fuzz.sh: $target for $seconds s; corpus $work; crashes in $artifacts/"
exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$artifacts/" "$@" "$work" "$root/tests/fuzz/corpus/$target"
