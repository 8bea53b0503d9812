# What a test sees when the show's code or the test itself goes wrong.
import textwrap

import pytest

from mm_pyhost.testing import Show, ShowError


def write(folder, name, code):
    (folder / name).write_text(textwrap.dedent(code))


def test_a_handler_that_raises_is_reported_with_its_traceback(show_runner, tmp_path):
    write(tmp_path, "cue.py", """
        import midimonster
        def go(value):
            if value > 0.5:
                raise ValueError("no such cue: %r" % value)
            midimonster.output("out", value)
    """)
    show = show_runner.from_modules("cue", channels=["cue.go", "out"], directory=tmp_path)
    show.input("cue.go", 0.9)
    errors = show.take_errors()
    assert len(errors) == 1
    assert errors[0].splitlines()[0] == "the handler of channel cue.go raised an exception:"
    assert 'cue.py", line 5, in go' in errors[0]
    assert errors[0].splitlines()[-1] == "ValueError: no such cue: 0.9"
    # the show goes on
    show.input("cue.go", 0.25)
    assert show.value("out") == 0.25
    assert show.take_errors() == []


def test_a_module_that_does_not_import_stops_the_start(tmp_path):
    write(tmp_path, "cue.py", "import midimonster\ndef go(value)\n    pass\n")
    with pytest.raises(ShowError) as raised:
        Show.from_modules("cue", channels=["cue.go"], directory=tmp_path)
    message = str(raised.value)
    assert message.startswith("the show has problems:\n  option: module = cue: ")
    assert "cue.py, line 2" in message
    assert "channel cue.go has no handler" in message
    assert any("SyntaxError" in line for line in raised.value.log)


def test_problems_may_be_allowed(tmp_path):
    write(tmp_path, "cue.py", "def go(a, b):\n    pass\n")
    with Show.from_modules("cue", channels=["cue.go"], directory=tmp_path, allow_problems=True) as show:
        assert show.problems == ["channel cue.go has no handler: 'cue.go' takes (a, b); a channel handler is "
                                 "called with one argument, the value"]


def test_a_host_that_crashes_is_said(show_runner, tmp_path):
    write(tmp_path, "cue.py", """
        import ctypes
        def crash(value):
            ctypes.string_at(0)
    """)
    show = show_runner.from_modules("cue", channels=["cue.crash"], directory=tmp_path)
    # signal 11, or 6 where AddressSanitizer reports the crash and aborts
    with pytest.raises(ShowError, match=r"the host closed the connection; the host was killed by signal (11|6)"):
        show.input("cue.crash", 1.0)
    with pytest.raises(ShowError, match="the host is gone"):
        show.advance(10)


def test_bad_requests_name_what_is_wrong(show_runner, tmp_path):
    write(tmp_path, "cue.py", "def go(value):\n    pass\n")
    show = show_runner.from_modules("cue", channels=["cue.go"], directory=tmp_path)
    with pytest.raises(ShowError, match="no channel cue.went in instance py1"):
        show.input("cue.went", 0.5)
    with pytest.raises(ShowError, match="a channel value must be a number from 0 to 1, not 1.5"):
        show.input("cue.go", 1.5)
    show.input("cue.go", 1.0)  # still usable


def test_a_configuration_without_the_instance(tmp_path):
    (tmp_path / "show.cfg").write_text("[python py1]\n[python py2]\n")
    with pytest.raises(ShowError, match=r"show.cfg: no \[python py3\] section \(it has: py1, py2\)"):
        Show.from_config(tmp_path / "show.cfg", "py3")


def test_no_host_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("MM_PYHOST")
    with pytest.raises(ShowError, match="mm-pyhost not found"):
        Show.from_modules("cue", directory=tmp_path)
