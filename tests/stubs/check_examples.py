"""The `midimonster` type stubs (python/midimonster-stubs) against the documentation.

Every ```python block of docs/python-backend.md, and examples/demo/example.py, must pass
mypy with the stubs; and calls that break the API must fail it, each on its line, so the
stubs are known to be read and to say something. Run by CTest:
    check_examples.py MYPY SOURCE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

# Wrong on purpose: each line must get a mypy error.
BROKEN = '''import midimonster
midimonster.output(1, 0.5)
midimonster.output("out", "full")
midimonster.fade("out", 1.0, 500, curve="bounce")
midimonster.interval(lambda: None)
midimonster.thread(print, 1)
x: int = midimonster.current()
midimonster.nosuchfunction()
'''


def mypy(mypy_program, stubs, folder):
    environment = dict(os.environ, PYTHONPATH=stubs, MYPY_CACHE_DIR=os.path.join(folder, ".cache"))
    run = subprocess.run([mypy_program, "--check-untyped-defs", "--no-error-summary", folder],
                         capture_output=True, text=True, env=environment)
    return run.returncode, run.stdout + run.stderr


def main():
    mypy_program, source = sys.argv[1], sys.argv[2]
    stubs = os.path.join(source, "python")
    failed = False
    with tempfile.TemporaryDirectory() as good:
        with open(os.path.join(source, "docs", "python-backend.md"), encoding="utf-8") as doc:
            blocks = re.findall(r"```python\n(.*?)```", doc.read(), re.S)
        if not blocks:
            print("no ```python block found in docs/python-backend.md")
            return 1
        for number, block in enumerate(blocks):
            with open(os.path.join(good, "python_backend_example_%d.py" % number), "w", encoding="utf-8") as f:
                f.write(block)
        with open(os.path.join(source, "examples", "demo", "example.py"), encoding="utf-8") as f:
            demo = f.read()
        with open(os.path.join(good, "demo_example.py"), "w", encoding="utf-8") as f:
            f.write(demo)
        status, output = mypy(mypy_program, stubs, good)
        print("the documentation's %d examples and the demo's module: mypy exit %d" % (len(blocks), status))
        if status != 0:
            print(output)
            failed = True
    with tempfile.TemporaryDirectory() as bad:
        with open(os.path.join(bad, "broken.py"), "w", encoding="utf-8") as f:
            f.write(BROKEN)
        status, output = mypy(mypy_program, stubs, bad)
        flagged = {int(line) for line in re.findall(r"broken\.py:(\d+): error", output)}
        expected = set(range(2, BROKEN.count("\n") + 1))
        print("calls that break the API: mypy flagged lines %s" % sorted(flagged))
        if status == 0 or flagged != expected:
            print("expected errors on lines %s\n%s" % (sorted(expected), output))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
