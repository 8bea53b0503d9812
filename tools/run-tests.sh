#!/usr/bin/env bash
# The whole test suite: a normal build and an ASan+UBSan build, each through CTest, then
# the libFuzzer targets' smoke runs (build-fuzz, clang).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh

echo "== build (RelWithDebInfo, -Wall -Wextra -Werror)"
tools/build.sh release build
echo "== tests"
(cd build && ctest --output-on-failure --timeout 300 -j2)

echo "== build (AddressSanitizer + UndefinedBehaviorSanitizer)"
tools/build.sh sanitize build-sanitize
echo "== tests under sanitizers"
# CPython keeps its interpreter-lifetime allocations until exit; leak reports from it are noise.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-sanitize && ctest --output-on-failure --timeout 600 -j2)

echo "== build (libFuzzer targets, clang)"
tools/build.sh fuzz build-fuzz
echo "== fuzz smoke runs (regressions, seeds, then a short run of each target; docs/fuzzing.md)"
(cd build-fuzz && ctest --output-on-failure --timeout 300 -j2)
