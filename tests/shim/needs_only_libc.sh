#!/bin/sh
# CTest shim-needs-only-libc: python.so may need nothing but the C library and the dynamic
# loader. MIDIMonster is C; a shim that needed libstdc++, libm or libgcc_s would add about
# 1.4 MB of resident memory to the core (issue 5's budget is 1 MB; shim/CMakeLists.txt).
#   needs_only_libc.sh PATH/TO/python.so
set -eu
needed=$(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
echo "python.so needs: $needed"
for lib in $needed; do
  case "$lib" in
    libc.so.*|ld-linux*.so.*) ;;
    *) echo "FAILED: python.so needs $lib"; exit 1 ;;
  esac
done
