#!/usr/bin/env bash
# Configures and builds one flavour of the project: `tools/build.sh [release|sanitize|fuzz] [build dir]`.
# fuzz: the libFuzzer targets only (tests/fuzz, docs/fuzzing.md), with clang.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
case "$flavour" in
  release)  dir=${2:-build};          flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=${2:-build-sanitize}; flags=(-DCMAKE_BUILD_TYPE=Debug -DMMPY_SANITIZE=ON) ;;
  fuzz)     dir=${2:-build-fuzz};     flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMMPY_FUZZ=ON)
            export CC=clang CXX=clang++ ;;
  *) echo "usage: tools/build.sh [release|sanitize|fuzz] [build dir]" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" -G Ninja -DMMPY_WERROR=ON "${flags[@]}" >/dev/null
cmake --build "$dir" --parallel "$(nproc)"
