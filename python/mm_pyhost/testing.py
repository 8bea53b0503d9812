"""Test show modules without a show: the real mm-pyhost on a virtual clock.

    from mm_pyhost.testing import Show

    def test_inverts():
        with Show.from_modules("example", channels=["example.in1", "out1"]) as show:
            show.input("example.in1", 0.25)
            assert show.value("out1") == 0.75

A Show starts ``mm-pyhost drive``, which plays MIDIMonster and its shim for one instance:
the modules run in a host of their own, the very runtime of the show (docs/python-backend.md,
"Testing your show"). Time is virtual: it starts at 0 and moves only by ``advance(ms)``, and
``midimonster.timestamp()``, ``interval()``, ``sleep()``, fades and asyncio timers all follow
it, so timed behaviour is tested exactly and at once.
"""

import collections
import json
import os
import select
import shutil
import subprocess
import time

__all__ = ["Show", "ShowError", "Output"]

# One output of the show: when (ms on the virtual clock), which channel, what value.
Output = collections.namedtuple("Output", "time channel value")

# How long the driver may take to answer one request, in real seconds: the modules' import at
# start, or every timer of a long advance.
DEFAULT_TIMEOUT = 120.0


class ShowError(Exception):
    """The show could not do what the test asked: it did not start, the host died, or the
    request was refused. The message says why; `log` holds the show's log lines."""

    def __init__(self, message, log=()):
        super().__init__(message)
        self.log = list(log)


def find_host(host=None):
    """The mm-pyhost to run: `host`, else $MM_PYHOST, else mm-pyhost on PATH."""
    found = host or os.environ.get("MM_PYHOST") or shutil.which("mm-pyhost")
    if not found:
        raise ShowError("mm-pyhost not found: install it, put it on PATH, or set MM_PYHOST to its path")
    return found


class Show:
    """One python instance running in the real mm-pyhost on a virtual clock.

    Make one with `from_config(path, instance)` or `from_modules(*modules, channels=...)`;
    close it with `stop()` or a `with` block. Problems a pre-show check would report (an
    import error, a missing handler, an unknown option) raise ShowError at the start unless
    `allow_problems` is true; they are in `problems` either way.
    """

    def __init__(self, start, *, host=None, cwd=None, allow_problems=False, timeout=DEFAULT_TIMEOUT):
        self.timeout = timeout
        self.now = 0
        self.outputs = []
        self.log = []
        self.errors = []
        self._error_open = False  # the log's last lines are an error's traceback
        self._error_last = 0
        self._values = {}
        self._inputs = {}
        self._stopped = False
        self._buffer = b""
        self._name = start["instance"]
        self._process = subprocess.Popen([find_host(host), "drive"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         cwd=cwd)
        try:
            reply = self._exchange(start)
        except BaseException:
            self._end_process()
            raise
        self.python = reply.get("python", "")
        self.host_pid = reply.get("host_pid", 0)
        self.channels = list(reply.get("channels", []))
        self.problems = list(reply.get("problems", []))
        if self.problems and not allow_problems:
            self.stop()
            raise ShowError("the show has problems:\n  " + "\n  ".join(self.problems), self.log)

    @classmethod
    def from_config(cls, path, instance, **kwargs):
        """The instance `instance` of a MIDIMonster configuration file, with its option lines
        and the channels its [map] lines use."""
        return cls({"op": "start", "instance": instance, "config": os.path.abspath(path)}, **kwargs)

    @classmethod
    def from_modules(cls, *modules, channels=(), options=(), directory=None, instance="py1", **kwargs):
        """An instance of `modules` (names, imported from `directory`, by default the current
        folder) with `channels`, the channel names the [map] lines would give it. `options`
        are further option lines as (key, value) pairs, e.g. [("handler-timeout", "500")]."""
        lines = [["module", module] for module in modules] + [[key, str(value)] for key, value in options]
        folder = os.path.abspath(directory or os.getcwd())
        return cls({"op": "start", "instance": instance, "directory": folder, "options": lines,
                    "channels": list(channels)}, cwd=folder, **kwargs)

    # --- driving the show ---

    def input(self, channel, value):
        """The core delivers `value` (0 to 1) on `channel`; returns the outputs the show made
        before it was idle again (async handlers run up to their first wait)."""
        return self.inputs([(channel, value)])

    def inputs(self, events):
        """Several (channel, value) events in one core iteration, in order."""
        events = [[channel, value] for channel, value in events]
        for channel, value in events:
            self._inputs[channel] = value
        return self._request({"op": "input", "events": events})

    def advance(self, ms):
        """Moves the virtual clock `ms` milliseconds on, running every interval tick, sleep,
        fade step and asyncio timer due on the way at its own time; returns the outputs."""
        if isinstance(ms, bool) or not isinstance(ms, int) or ms < 0:
            raise ValueError("advance(): ms must be a whole number of milliseconds, 0 or more, not %r" % (ms,))
        return self._request({"op": "advance", "ms": ms})

    def wait_for_log(self, text, timeout=5.0):
        """Real I/O (a socket the module manages) arrives in real time: waits up to `timeout`
        real seconds for a log line containing `text`, without moving the virtual clock.
        Returns the line."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.log[seen:]:
                if text in line:
                    return line
            seen = len(self.log)
            if time.monotonic() > deadline:
                raise AssertionError("no log line containing %r within %.1f s; the show's log:\n%s"
                                     % (text, timeout, self._log_tail()))
            time.sleep(0.01)
            self._request({"op": "advance", "ms": 0})

    def stop(self):
        """Runs the cleanup handler and ends the host; returns the outputs made meanwhile."""
        if self._stopped:
            return []
        self._stopped = True
        try:
            return self._request({"op": "stop"})
        finally:
            self._end_process()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # --- what the show did ---

    def value(self, channel):
        """The last value the show output on `channel`, None if none yet."""
        return self._values.get(channel)

    def input_value(self, channel):
        """The last value the test input on `channel`, None if none yet."""
        return self._inputs.get(channel)

    def outputs_of(self, channel):
        """Every output on `channel` so far, as (time, value) pairs."""
        return [(output.time, output.value) for output in self.outputs if output.channel == channel]

    def take_errors(self):
        """The exceptions the show's code raised so far (each its log line and traceback),
        which the pytest fixture would otherwise report as a failure; forgets them."""
        errors, self.errors = self.errors, []
        return errors

    def where(self):
        """'py1 at 1500 ms' (or 'py1, stopped at 1500 ms')."""
        return "%s%s at %d ms" % (self._name, ", stopped" if self._stopped else "", self.now)

    def summary(self, outputs=10, log=20):
        """The last outputs and log lines, as a failed test's report shows them."""
        def tail(title, lines, last):
            skipped = " (the last %d of %d)" % (last, len(lines)) if len(lines) > last else ""
            return ["%s%s:" % (title, skipped)] + (lines[-last:] or ["  (none)"])
        made = ["  %6d ms  %s = %s" % output for output in self.outputs]
        return "\n".join(tail("outputs", made, outputs) + tail("log", ["  " + line for line in self.log], log))

    def __repr__(self):
        return "<Show %s: %d outputs, %d log lines>" % (self.where(), len(self.outputs), len(self.log))

    # --- the driver ---

    def _request(self, message):
        """The outputs the show made while it answered `message`."""
        return self._exchange(message)["made"]

    def _exchange(self, message):
        if self._process.poll() is not None:
            raise ShowError("mm-pyhost drive has exited (status %s)" % self._process.returncode, self.log)
        try:
            self._process.stdin.write((json.dumps(message) + "\n").encode())
            self._process.stdin.flush()
        except BrokenPipeError:
            raise ShowError("mm-pyhost drive has exited", self.log) from None
        reply = json.loads(self._read_line())
        self.now = reply.get("now", self.now)
        made = [Output(time_ms, channel, value) for time_ms, channel, value in reply.get("outputs", [])]
        self.outputs.extend(made)
        for output in made:
            self._values[output.channel] = output.value
        self._take_log(reply.get("log", []))
        if not reply.get("ok"):
            raise ShowError(reply.get("error") or "the request failed", self.log)
        reply["made"] = made
        return reply

    def _take_log(self, lines):
        for line in lines:
            self.log.append(line)
            if line.endswith(" raised an exception:"):
                self.errors.append(line)
                self._error_open = True
            elif self.errors and self._in_error(line):
                self.errors[-1] += "\n" + line
                self._error_last = len(self.log)

    def _in_error(self, line):
        """A traceback follows its 'raised an exception' line: 'Traceback', indented frames,
        then the exception's own line, which ends it unless a chained one follows."""
        chained = line == "" or line.startswith(("During handling of the above exception",
                                                  "The above exception was the direct cause"))
        if not self._error_open:
            self._error_open = chained and self._error_last == len(self.log) - 1
            return self._error_open
        if not (line.startswith(("Traceback (most recent call last):", " ")) or chained):
            self._error_open = False  # the exception's line
        return True

    def _read_line(self):
        deadline = time.monotonic() + self.timeout
        fd = self._process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self._end_process()
                raise ShowError("mm-pyhost drive did not answer within %.0f s" % self.timeout, self.log)
            chunk = os.read(fd, 65536)
            if not chunk:
                raise ShowError("mm-pyhost drive has exited (status %s)" % self._process.wait(), self.log)
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def _end_process(self):
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()

    def _log_tail(self, lines=40):
        return "\n".join("  " + line for line in self.log[-lines:]) or "  (empty)"
