"""The pytest plugin of mm_pyhost.testing (loaded by pytest on its own once mm-pyhost is
installed): the fixture `show_runner`, and the show's log in the report of a failed test.

    def test_fader(show_runner):
        show = show_runner.from_config("show.cfg", "py1")
        show.input("example.in1", 0.25)
        assert show.value("out1") == 0.75

Every show made through the fixture is stopped after the test. An exception the show's code
raised and the test did not take (`show.take_errors()`) fails the test, with its traceback.
"""

import pytest

from mm_pyhost.testing import Show


class ShowRunner:
    """Makes shows (Show.from_config, Show.from_modules) and keeps them for the teardown."""

    def __init__(self, folder):
        self.shows = []
        self._folder = folder

    def from_config(self, path, instance, **kwargs):
        return self._keep(Show.from_config(path, instance, **kwargs))

    def from_modules(self, *modules, **kwargs):
        kwargs.setdefault("directory", self._folder)
        return self._keep(Show.from_modules(*modules, **kwargs))

    def _keep(self, show):
        self.shows.append(show)
        return show


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    runner = getattr(item, "_mm_pyhost_runner", None)
    if runner is None or not report.failed:
        return
    for show in runner.shows:
        report.sections.append(("mm-pyhost %s" % show.where(), show.summary()))


@pytest.fixture
def show_runner(request):
    """Makes shows running in the real mm-pyhost on a virtual clock; modules are found next
    to the test file unless `directory` says otherwise. Stops them after the test."""
    runner = ShowRunner(str(request.path.parent))
    request.node._mm_pyhost_runner = runner
    yield runner
    unexpected = []
    for show in runner.shows:
        show.stop()
        unexpected += show.take_errors()
    if unexpected:
        count = "an exception" if len(unexpected) == 1 else "%d exceptions" % len(unexpected)
        pytest.fail("the show's code raised %s the test did not take with show.take_errors():\n\n%s"
                    % (count, "\n\n".join(unexpected)), pytrace=False)
