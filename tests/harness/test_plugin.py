# The pytest plugin as a show programmer meets it: a passing and a failing test of a show
# module, run by pytest itself (pytester), and what the failure says.
import textwrap

MODULE = """
    import midimonster
    def in1(value):
        midimonster.output("out1", 1 - value)
    async def blackout(value):
        await midimonster.fade("out1", 0.0, 2000)
"""

TESTS = """
    def test_inverts(show_runner):
        show = show_runner.from_modules("cues", channels=["cues.in1", "cues.blackout", "out1"])
        show.input("cues.in1", 0.25)
        assert show.value("out1") == 0.75

    def test_blackout_is_dark_after_a_second(show_runner):
        show = show_runner.from_modules("cues", channels=["cues.in1", "cues.blackout", "out1"])
        show.input("cues.in1", 0.0)
        show.input("cues.blackout", 1.0)
        show.advance(1000)
        assert show.value("out1") == 0.0
"""


def run(pytester, module, tests):
    pytester.makepyfile(cues=textwrap.dedent(module), test_cues=textwrap.dedent(tests))
    return pytester.runpytest_subprocess("-p", "mm_pyhost.pytest_plugin", "-p", "no:cacheprovider")


def test_a_passing_and_a_failing_test(pytester):
    result = run(pytester, MODULE, TESTS)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*def test_blackout_is_dark_after_a_second*",
        ">       assert show.value(\"out1\") == 0.0",
        "E       AssertionError: assert 0.5 == 0.0",
        "*mm-pyhost py1 at 1000 ms*",
        "*outputs*",
        "*  1000 ms  out1 = 0.5",
    ])


def test_an_exception_the_test_did_not_take_fails_it(pytester):
    result = run(pytester, MODULE.replace("1 - value", "1 / value"), """
        def test_inverts(show_runner):
            show = show_runner.from_modules("cues", channels=["cues.in1", "out1"])
            show.input("cues.in1", 0.0)
    """)
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "the show's code raised an exception the test did not take with show.take_errors():",
        "",
        "the handler of channel cues.in1 raised an exception:",
        "Traceback (most recent call last):",
        '*cues.py", line 3, in in1',
        "ZeroDivisionError: float division by zero",
    ])
