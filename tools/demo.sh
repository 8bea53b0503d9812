#!/usr/bin/env bash
# The demo show: builds what is missing, then runs the documentation's example module
# in mm-pyhost behind the test core, moving a fader and printing every event and log line.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/install-deps.sh
tools/build.sh release build >/dev/null

# The example module connects to localhost:8990 and prints what it receives.
python3 - <<'PY' &
import socket, time
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 8990))
server.listen(1)
server.settimeout(30)
client, _ = server.accept()
for n in range(3):
    time.sleep(1.5)
    client.sendall(b"hello from the lighting desk #%d" % n)
time.sleep(1)
client.close()
PY
feeder=$!
sleep 0.5

echo "demo: console.fader -> py1.example.in1 (Python) -> py1.out1 -> console.led"
{
  for value in 0.0 0.25 0.5 0.75 1.0; do
    sleep 1
    echo "inject console.fader $value"
  done
  sleep 2
  echo quit
} | build/tools/mmcore -p build/backends examples/demo/demo.cfg 2>&1
wait "$feeder" || true
