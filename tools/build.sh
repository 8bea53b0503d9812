#!/usr/bin/env bash
# Configures and builds one flavour of the project: `tools/build.sh [release|sanitize] [build dir]`.
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
case "$flavour" in
  release)  dir=${2:-build};          flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  sanitize) dir=${2:-build-sanitize}; flags=(-DCMAKE_BUILD_TYPE=Debug -DMMPY_SANITIZE=ON) ;;
  *) echo "usage: tools/build.sh [release|sanitize] [build dir]" >&2; exit 2 ;;
esac

cmake -S . -B "$dir" -G Ninja -DMMPY_WERROR=ON "${flags[@]}" >/dev/null
cmake --build "$dir" --parallel "$(nproc)"
