# The operator's console (`mm-pyhost console`, host/console.h), compiled into the host and
# run as the module _mmpy_console once an operator first opens one: statements typed at the
# prompt run here, on the host's loop between two events, in the globals of the show's
# first module.
import ast
import asyncio
import codeop
import contextvars
import inspect
import rlcompleter
import signal
import sys
import traceback

import midimonster

# Set while a console statement (and each task it starts) runs: print() goes to the console.
_capture = contextvars.ContextVar("mmpy_console_capture", default=None)

# The capture of the statement running synchronously now, if any: what Ctrl-C interrupts.
_running = None

# The most a statement's output may be: a statement that prints in a loop must not fill the
# show's memory.
_MOST_OUTPUT = 1 << 20


class _Capture:
    def __init__(self):
        self.parts = []
        self.size = 0
        self.cut = 0  # characters beyond _MOST_OUTPUT, dropped
        self.open = True  # until the statement's output is sent; a task it started then logs

    def write(self, text):
        text = str(text)
        room = max(0, _MOST_OUTPUT - self.size)
        self.parts.append(text[:room])
        self.size += min(room, len(text))
        self.cut += len(text) - min(room, len(text))
        return len(text)

    def text(self):
        tail = "\n(%d more characters of output were dropped)\n" % self.cut if self.cut else ""
        return "".join(self.parts) + tail


class _Routed:
    """sys.stdout / sys.stderr: the console's output inside a console statement, the host's
    stream (the core's log) everywhere else."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        capture = _capture.get()
        return capture.write(text) if capture is not None and capture.open else self._stream.write(text)

    def flush(self):
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _on_interrupt(signum, frame):
    if _running is not None:
        raise KeyboardInterrupt


def install(interrupt_signal):
    sys.stdout = _Routed(sys.stdout)
    sys.stderr = _Routed(sys.stderr)
    signal.signal(interrupt_signal, _on_interrupt)


def _report(exc):
    """The traceback the operator sees: the statement's frames, not the console's own."""
    report = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    report.stack = traceback.StackSummary.from_list(
        [frame for frame in report.stack if not frame.filename.startswith("<mm-pyhost ")])
    return "".join(report.format())


class _Names(dict):
    """The names a statement sees at its top level: the module's globals first, then the
    show's other modules and `midimonster`. Assignments go to the module."""

    def __init__(self, module_globals, extras):
        super().__init__()
        self._globals = module_globals
        self._extras = extras

    def __getitem__(self, name):
        if name in self._globals:
            return self._globals[name]
        return self._extras[name]

    def __setitem__(self, name, value):
        self._globals[name] = value

    def __delitem__(self, name):
        del self._globals[name]

    def __contains__(self, name):
        return name in self._globals or name in self._extras

    def keys(self):
        return set(self._globals) | set(self._extras)


class Session:
    """One operator at the prompt. `modules`: the names of the show's modules in
    sys.modules, in the order of the `module =` lines (looked up at every statement, so that
    a reload is followed)."""

    def __init__(self, modules):
        self._modules = modules
        self._awaiting = set()  # this operator's awaited statements not finished yet
        self._scratch = {"__name__": "__console__", "__builtins__": __builtins__}
        self._compile = codeop.CommandCompiler()
        self._compile.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT

    def where(self):
        """Whose globals statements run in, for the banner."""
        loaded = [name for name in self._modules if name in sys.modules]
        return "the globals of module %s" % loaded[0] if loaded else "a namespace of their own (no module is loaded)"

    def _namespace(self):
        loaded = [sys.modules[name] for name in self._modules if name in sys.modules]
        extras = {"midimonster": midimonster}
        for module in loaded:
            extras[module.__name__.split(".")[0]] = sys.modules[module.__name__.split(".")[0]]
        return (loaded[0].__dict__ if loaded else self._scratch), extras

    def run(self, source, done):
        """Runs `source` if it is a whole statement: done(more, output) now, or, for a
        statement that awaits, when it has finished (the loop runs on meanwhile; True)."""
        global _running
        try:
            code = self._compile(source, "<console>", "single")
        except (OverflowError, SyntaxError, ValueError) as exc:
            done(False, "".join(traceback.format_exception_only(type(exc), exc)))
            return False
        if code is None:
            done(True, "")
            return False
        module_globals, extras = self._namespace()
        capture = _Capture()
        context = contextvars.copy_context()
        context.run(_capture.set, capture)
        try:
            _running = capture
            try:
                result = context.run(eval, code, module_globals, _Names(module_globals, extras))
            finally:
                _running = None
        except BaseException as exc:
            result = None
            capture.write(_report(exc))
        if not inspect.iscoroutine(result):
            capture.open = False
            done(False, capture.text())
            return False
        task = asyncio.get_event_loop().create_task(result, context=context)
        self._awaiting.add(task)

        def finished(task):
            self._awaiting.discard(task)
            if task.cancelled():
                capture.write("KeyboardInterrupt: the awaited statement was cancelled\n")
            elif task.exception() is not None:
                capture.write(_report(task.exception()))
            capture.open = False
            done(False, capture.text())

        task.add_done_callback(finished)
        return True

    def interrupt(self):
        """Ctrl-C while this operator's statement awaits: it is cancelled."""
        for task in list(self._awaiting):
            task.cancel()

    def complete(self, text, most):
        if not text.strip():
            return []  # Tab on an empty line indents, at the operator's end
        module_globals, extras = self._namespace()
        namespace = dict(extras)
        namespace.update(module_globals)
        completer = rlcompleter.Completer(namespace)
        matches = []
        while len(matches) < most:
            match = completer.complete(text, len(matches))
            if match is None:
                break
            matches.append(match)
        return matches

    def close(self):
        """The operator has gone: what they still await is cancelled."""
        self.interrupt()
