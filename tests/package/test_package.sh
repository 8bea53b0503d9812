#!/usr/bin/env bash
# The Debian package end to end (CTest package-deb; docs/packaging.md): builds it with
# tools/package.sh (lintian without errors), checks its file list, installs it on this
# machine over a stand-in for a MIDIMonster's own python.so, runs the demo show and the test
# harness from the installed paths only, reads a man page, then purges it and checks that
# nothing is left and the stand-in is back. Needs root (apt-get, dpkg-divert): skipped
# otherwise, as on a machine whose MIDIMonster or mm-pyhost was installed by other means.
#   test_package.sh SOURCE_DIR MMCORE OUTDIR
set -euo pipefail
source_dir=$1 mmcore=$2 out=$3
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
! dpkg-query -W -f='${Status}' mm-pyhost 2>/dev/null | grep -q installed || skip "mm-pyhost is installed on this machine already"
plugin=/usr/lib/midimonster/python.so
[ ! -e "$plugin" ] || skip "$plugin exists (a MIDIMonster of this machine's own)"

"$source_dir/tools/package.sh" "$out"
deb=$(ls "$out"/mm-pyhost_*.deb)

echo "== its files"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | sort > "$out/files.txt"
for expected in /usr/bin/mm-pyhost /usr/lib/midimonster/python.so \
    /usr/share/man/man1/mm-pyhost.1.gz /usr/share/man/man1/mm-pyhost-check.1.gz \
    /usr/share/man/man1/mm-pyhost-console.1.gz /usr/share/man/man1/mm-pyhost-drive.1.gz \
    /usr/share/doc/mm-pyhost/python-backend.md /usr/share/doc/mm-pyhost/running-a-show.md \
    /usr/share/doc/mm-pyhost/copyright /usr/share/doc/mm-pyhost/examples/demo/demo.cfg \
    /usr/lib/systemd/user/mm-pyhost.service /usr/lib/systemd/user/mm-pyhost.socket \
    /usr/lib/python3/dist-packages/midimonster-stubs/__init__.pyi \
    /usr/lib/python3/dist-packages/mm_pyhost/testing.py \
    /usr/lib/python3/dist-packages/mm_pyhost/pytest_plugin.py; do
  grep -qx "$expected" "$out/files.txt" || fail "the package lacks $expected"
done
grep -q '^/usr/lib/python3/dist-packages/mm_pyhost-.*\.dist-info/entry_points.txt$' "$out/files.txt" ||
  fail "the package lacks the harness's dist-info"
! grep -E '/(build|tests|tools)/|mmcore|mmpy-bench|__pycache__' "$out/files.txt" || fail "the package holds files of the build or the tests"

echo "== installed over a MIDIMonster's own python.so"
mkdir -p /usr/lib/midimonster
echo "the in-process backend of a MIDIMonster installed before" > "$plugin"
cleanup() {
  apt-get purge -y -qq mm-pyhost >/dev/null 2>&1 || true
  [ "$(cat "$plugin" 2>/dev/null)" = "the in-process backend of a MIDIMonster installed before" ] && rm -f "$plugin"
  rmdir /usr/lib/midimonster 2>/dev/null || true
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" >/dev/null
dpkg-divert --list /usr/lib/midimonster/python.so | grep -q 'by mm-pyhost' || fail "no diversion of python.so"
[ "$(cat /usr/lib/midimonster/python.so.in-process)" = "the in-process backend of a MIDIMonster installed before" ] ||
  fail "the old python.so was not moved to python.so.in-process"
file -L "$plugin" | grep -q 'ELF' || fail "$plugin is not the package's plugin"

echo "== from the installed paths"
version=$(sed -n '1s/^mm-pyhost (\([^)]*\)).*/\1/p' "$source_dir/debian/changelog")
/usr/bin/mm-pyhost --version | grep -qx "mm-pyhost $version (protocol [0-9]*)" || fail "mm-pyhost --version: $(/usr/bin/mm-pyhost --version)"
MANWIDTH=80 man -l /usr/share/man/man1/mm-pyhost.1.gz | grep -q "mm-pyhost - the Python of MIDIMonster's python backend" ||
  fail "man -l mm-pyhost.1.gz does not show the page"
grep -qx 'ExecStart=/usr/bin/mm-pyhost --listen' /usr/lib/systemd/user/mm-pyhost.service || fail "the unit does not start /usr/bin/mm-pyhost"

show=$(mktemp -d)
cp -r /usr/share/doc/mm-pyhost/examples/demo/. "$show"/
# The demo's module connects to the lighting desk at import (port 8990, taken in turns).
exec 9>/tmp/mmpy-tests-port-8990.lock
flock 9
python3 -c '
import socket, sys
desk = socket.socket(); desk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
desk.bind(("127.0.0.1", 8990)); desk.listen(4); desk.settimeout(60)
print("ready", flush=True)
while True:
    client, _ = desk.accept()
    client.close()
' > "$show/desk.log" &
desk=$!
for _ in $(seq 50); do grep -q ready "$show/desk.log" && break; sleep 0.1; done
/usr/bin/mm-pyhost check "$show/demo.cfg" | tee "$show/check.txt"
grep -qx 'py1: ok (1 option lines, 2 mapped channels)' "$show/check.txt" || fail "check of the installed demo show"
{ sleep 1; echo "inject console.fader 0.25"; sleep 1; echo quit; } |
  (cd "$show" && timeout 60 "$mmcore" -p /usr/lib/midimonster demo.cfg) > "$show/core.txt" 2>&1 || true
cat "$show/core.txt"
grep -q 'console.led.*0.75' "$show/core.txt" || fail "the demo show did not light the LED (0.75) through the installed plugin and host"

cat > "$show/test_demo.py" <<'PY'
def test_the_fader_inverts(show_runner):
    show = show_runner.from_config("demo.cfg", "py1")
    show.input("example.in1", 0.25)
    assert show.value("out1") == 0.75
PY
(cd "$show" && env -u PYTHONPATH -u MM_PYHOST -u PYTEST_DISABLE_PLUGIN_AUTOLOAD PATH=/usr/bin:/bin \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider test_demo.py) || fail "the installed harness (pytest plugin by its entry point)"
(cd "$show" && env -u PYTHONPATH MYPYPATH= /usr/bin/mypy --check-untyped-defs --no-error-summary example.py) ||
  fail "mypy with the installed stubs"
kill "$desk" 2>/dev/null || true
flock -u 9
rm -rf "$show"

echo "== purged"
dpkg -L mm-pyhost | sort > "$out/installed.txt"
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq mm-pyhost >/dev/null
while read -r path; do
  [ "$path" = "$plugin" ] || [ ! -f "$path" ] || fail "$path is left after the purge"
done < "$out/installed.txt"
[ ! -e /usr/lib/python3/dist-packages/mm_pyhost ] || fail "/usr/lib/python3/dist-packages/mm_pyhost is left (byte code?)"
[ "$(cat "$plugin")" = "the in-process backend of a MIDIMonster installed before" ] || fail "the old python.so is not back"
[ ! -e /usr/lib/midimonster/python.so.in-process ] || fail "python.so.in-process is left"
! dpkg-divert --list | grep -q mm-pyhost || fail "the diversion is left"
echo "package: built, installed, the demo show ran, purged clean"
