#!/usr/bin/env bash
# The shim inside a real, unmodified MIDIMonster core, when the user points to one:
#   MIDIMONSTER_BIN=/path/to/midimonster [MIDIMONSTER_PLUGINS=/path/to/its/backends] ctest -R real-core
# A value goes out of Python, through the core's loopback backend and back into a Python
# handler; the host is then killed mid-show and must come back by itself with a working
# round trip; then Ctrl-C ends the show and no host may be left. Skipped (exit 77) otherwise.
set -euo pipefail
plugin_dir=$1   # our build's folder: python.so and mm-pyhost

if [ -z "${MIDIMONSTER_BIN:-}" ]; then
  echo "skipped: set MIDIMONSTER_BIN to an installed midimonster to run this test"
  exit 77
fi
real_plugins=${MIDIMONSTER_PLUGINS:-$(dirname "$MIDIMONSTER_BIN")/backends}
if [ ! -f "$real_plugins/loopback.so" ]; then
  echo "FAILED: no loopback.so in $real_plugins (set MIDIMONSTER_PLUGINS to the core's plugin folder)"
  exit 1
fi

show=$(mktemp -d)
trap 'rm -rf "$show"' EXIT
mkdir "$show/backends"
# The real core loads every .so in ./backends: its own loopback, our python.so in place of its own.
ln -s "$real_plugins/loopback.so" "$show/backends/loopback.so"
ln -s "$plugin_dir/python.so" "$show/backends/python.so"
ln -s "$plugin_dir/mm-pyhost" "$show/backends/mm-pyhost"
cat > "$show/show.cfg" <<'CFG'
[python py1]
module = roundtrip

[loopback loop]

[map]
py1.out > loop.wire
loop.wire > py1.roundtrip.back
CFG
cat > "$show/roundtrip.py" <<'PY'
import os, midimonster
midimonster.output("out", 0.625)
open("host.pid", "w").write(str(os.getpid()))
def back(value):
    print("round trip complete:", value)
def tick():
    # The test asks for a second round trip by creating the file "go".
    if os.path.exists("go"):
        os.remove("go")
        midimonster.output("out", 0.375)
midimonster.interval(tick, 100)
PY

cd "$show"
"$MIDIMONSTER_BIN" show.cfg > core.log 2>&1 &
core=$!
# Waits up to 10 s for a line in the core's log.
wait_log() {
  for _ in $(seq 100); do
    grep -q "$1" core.log && return 0
    sleep 0.1
  done
  return 1
}
fail() {
  kill -INT "$core" 2>/dev/null || true
  wait "$core" || true
  cat core.log
  echo "FAILED: $1"
  exit 1
}
wait_log "round trip complete: 0.625" || fail "no round trip through the real core"
first_host=$(cat host.pid)
kill -9 "$first_host"
wait_log "py1: the host is back after" || fail "the host did not come back after kill -9"
[ "$(cat host.pid)" != "$first_host" ] || fail "no new host was started"
touch go
wait_log "round trip complete: 0.375" || fail "no round trip through the restarted host"
kill -INT "$core"
wait "$core" || true
cat core.log
if pgrep -f "$plugin_dir/mm-pyhost|$show/backends/mm-pyhost" >/dev/null; then
  echo "FAILED: a host outlived the core"; exit 1
fi
echo "passed: python.so works inside $MIDIMONSTER_BIN"
