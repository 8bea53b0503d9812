#!/usr/bin/env python3
"""CTest bench-mmcore-echo-inject: mmcore's `echo-inject = yes` prints one
`injected INST.CHAN VALUE T_US` line per injected event, with T_US on the same clock as the
`event` lines and no later than the event it caused; instances without it print none."""
import os
import subprocess
import sys
import tempfile

mmcore = sys.argv[1]
with tempfile.TemporaryDirectory() as folder:
    plugins = os.path.join(folder, "plugins")
    os.mkdir(plugins)
    with open(os.path.join(folder, "test.cfg"), "w") as cfg:
        cfg.write("[test a]\necho-inject = yes\n[test b]\n[map]\na.x > b.y\nb.z > a.w\n")
    run = subprocess.run([mmcore, "-p", plugins, os.path.join(folder, "test.cfg")],
                         input="inject a.x 0.25 b.z 0.5\nsync s1\ninject b.z 0.75\nsync s2\nquit\n",
                         capture_output=True, text=True, timeout=30)
    lines = run.stdout.splitlines()
    print(run.stdout, run.stderr, sep="\n")
    assert run.returncode == 0, run.returncode
    injected = [line.split() for line in lines if line.startswith("injected ")]
    events = {line.split()[1]: line.split() for line in lines if line.startswith("event ")}
    assert len(injected) == 1, injected
    assert injected[0][1:3] == ["a.x", "0.250000"], injected
    assert "b.y" in events and events["b.y"][2] == "0.250000", events
    assert int(injected[0][3]) <= int(events["b.y"][3]), (injected, events)
    # The line comes out before the sync that follows the inject.
    assert lines.index(" ".join(injected[0])) < lines.index("sync s1"), lines
print("ok")
