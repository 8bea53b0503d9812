#!/usr/bin/env python3
"""CTest bench-pyref-roundtrip: the benchmark-only in-process backend pyref.so runs a
handler module inside mmcore: handlers called, outputs routed back, inputvalue(), current(),
outputvalue(), timestamp(), an initial output from import time, interval() ticks and cancel."""
import os
import select
import subprocess
import sys
import tempfile
import time

mmcore, plugins = sys.argv[1], sys.argv[2]
MODULE = '''
import midimonster
midimonster.output("boot", 0.5)
ticks = 0
def echo(value):
    midimonster.output("out", value)
def probe(value):
    assert midimonster.current() == "benchtest.probe", midimonster.current()
    previous = midimonster.inputvalue("benchtest.probe")
    midimonster.output("prev", previous)
    assert midimonster.outputvalue("prev") == previous
    assert midimonster.timestamp() > 0
def tick():
    global ticks
    ticks += 1
    midimonster.output("tick", ticks / 10)
    if ticks == 3:
        midimonster.interval(tick, 0)
def ticker(value):
    midimonster.interval(tick, 10)
'''


def main():
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "benchtest.py"), "w") as f:
            f.write(MODULE)
        with open(os.path.join(folder, "test.cfg"), "w") as cfg:
            cfg.write("[pyref py]\nmodule = benchtest\n[test t]\n[map]\n"
                      "t.in > py.benchtest.echo\npy.out > t.out\n"
                      "t.p > py.benchtest.probe\npy.prev > t.prev\n"
                      "t.go > py.benchtest.ticker\npy.tick > t.tick\npy.boot > t.boot\n")
        core = subprocess.Popen([mmcore, "-p", plugins, os.path.join(folder, "test.cfg")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        core.stdin.write("inject t.in 0.25\ninject t.p 0.125\nsync a\ninject t.p 0.375\ninject t.go 1\n")
        core.stdin.flush()
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and sum(1 for s in seen if s.startswith("event t.tick")) < 3:
            if select.select([core.stdout], [], [], 0.5)[0]:
                line = core.stdout.readline()
                if not line:
                    break
                seen.append(line.strip())
        time.sleep(0.1)  # a fourth tick would be a failed cancel
        core.stdin.write("sync end\nquit\n")
        core.stdin.flush()
        rest, _ = core.communicate(timeout=20)
        seen += rest.splitlines()
        print("\n".join(seen))
        values = [" ".join(s.split()[1:3]) for s in seen if s.startswith("event ")]
        assert core.returncode == 0, core.returncode
        assert "t.boot 0.500000" in values, values
        assert "t.out 0.250000" in values, values
        # inputvalue() inside its own handler: the previous value (0 before the first event).
        assert values.count("t.prev 0.000000") == 1 and values.count("t.prev 0.125000") == 1, values
        assert [v for v in values if v.startswith("t.tick")] == ["t.tick 0.100000", "t.tick 0.200000",
                                                                 "t.tick 0.300000"], values
        assert "started" in seen and "stopped" in seen, seen
    print("ok")


main()
