# `mm-pyhost check`, the pre-show check, as a show programmer runs it before the doors open.
import os
import subprocess
import textwrap

from conftest import EXAMPLE_DIR


def check(path):
    run = subprocess.run([os.environ["MM_PYHOST"], "check", str(path)], capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout


def test_each_problem_with_its_file_and_line(tmp_path):
    (tmp_path / "good.py").write_text("def on(value):\n    pass\ndef two(a, b):\n    pass\n")
    (tmp_path / "syntax.py").write_text("def on(value)\n    pass\n")
    (tmp_path / "imports.py").write_text("import no_such_module\n")
    (tmp_path / "show.cfg").write_text(textwrap.dedent("""\
        [python a]
        module = good
        colour = blue
        [python b]
        module = syntax
        [python c]
        module = imports
        [test x]
        [map]
        x.1 > a.good.on
        x.2 > a.good.missing
        x.3 > a.good.two
    """))
    status, out = check(tmp_path / "show.cfg")
    cfg = str(tmp_path / "show.cfg")
    assert status == 1
    lines = out.splitlines()
    assert any(line.startswith(cfg + ", line 3: [python a] colour = blue: unknown instance option 'colour'")
               for line in lines)
    assert cfg + ", line 11: [python a] channel good.missing has no handler: module 'good' has no function " \
                 "'missing'" in lines
    assert cfg + ", line 12: [python a] channel good.two has no handler: 'good.two' takes (a, b); a channel " \
                 "handler is called with one argument, the value" in lines
    assert any(line.startswith(cfg + ", line 5: [python b] module = syntax: ") and "syntax.py, line 1" in line
               for line in lines), out
    assert any(line.startswith(cfg + ", line 7: [python c] module = imports: ") and "no_such_module" in line
               for line in lines), out
    summaries = [line for line in lines if line[:3] in ("a: ", "b: ", "c: ")]
    assert summaries == ["a: 3 problems (2 option lines, 3 mapped channels)",
                         "b: 1 problem (1 option lines, 0 mapped channels)",
                         "c: 1 problem (1 option lines, 0 mapped channels)"]


def test_the_demo_show_passes(lighting_desk):
    status, out = check(os.path.join(EXAMPLE_DIR, "demo.cfg"))
    assert (status, out) == (0, "py1: ok (1 option lines, 2 mapped channels)\n")
