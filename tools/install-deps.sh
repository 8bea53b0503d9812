#!/usr/bin/env bash
# Installs, from Debian's packages, whatever this project needs and the machine lacks.
# Used by the demo and test commands; safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config   # the build
  python3-dev                                    # CPython 3 to embed (python3-embed.pc)
  libuv1-dev nlohmann-json3-dev catch2           # host loop, control messages, tests
  clang libclang-rt-dev                          # libFuzzer targets and sanitizer runtimes
  python3-numpy                                  # proves C extension modules import in the host
  mypy                                           # checks the docs' examples against the midimonster stubs
  python3-pytest                                 # runs the test harness mm_pyhost.testing and its plugin
  scdoc                                          # the man pages, from docs/man
  debhelper dh-python lintian                    # the Debian package (tools/package.sh)
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    sudo=sudo
  else
    sudo=
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
