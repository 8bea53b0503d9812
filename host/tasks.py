# The asyncio side of mm-pyhost, compiled into the host (host/tasks.h) and run as the module
# _mmpy_tasks: the instance's asyncio event loop, the tasks that async handlers, thread() and
# fades run as, and midimonster.sleep(), thread() and fade().
#
# The loop is asyncio's own SelectorEventLoop; its selector waits on libuv's backend and on
# its own epoll at once (the wait is host/event_loop.cpp), so libuv's callbacks (the core's
# events, interval(), manage()) run inside asyncio's select(). docs/architecture.md says why.
import asyncio
import contextvars
import inspect
import math
import numbers
import selectors
import sys
import traceback
import weakref

import midimonster

# The channel whose handler started a task: midimonster.current() inside an async handler.
current_channel = contextvars.ContextVar("midimonster_current_channel", default=None)

# The ShowTasks of the session this host serves.
_show = None

CURVES = {
    "linear": lambda f: f,
    # smoothstep: eases in and out, the S-curve of lighting desks
    "s-curve": lambda f: f * f * (3.0 - 2.0 * f),
    # 2^(10f), scaled to 0..1: slow at first, as an audio fader's level feels
    "exponential": lambda f: (2.0 ** (10.0 * f) - 1.0) / 1023.0,
}


class HostSelector(selectors.EpollSelector):
    """asyncio's selector: `wait` sleeps on libuv's backend and this epoll at once, runs
    libuv's callbacks, and says whether this epoll has something."""

    def __init__(self, wait):
        super().__init__()
        self._wait = wait

    def select(self, timeout=None):
        if self._wait(self.fileno(), timeout):
            return super().select(0)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """The loop under the test harness: its time is the show's virtual clock, which the host
    moves from one timer to the next (host/virtual_time.h), so sleeps and fades take no time."""

    def __init__(self, selector, clock):
        self._show_clock = clock
        super().__init__(selector)

    def time(self):
        return self._show_clock()


def _label(function):
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", None) or type(function).__name__
    return "%s.%s" % (module, name) if module else name


def _coroutine_label(coro):
    code = getattr(coro, "cr_code", None)
    frame = getattr(coro, "cr_frame", None)
    module = frame.f_globals.get("__name__") if frame is not None else None
    name = code.co_qualname if code is not None else type(coro).__name__
    return "%s.%s" % (module, name) if module else name


def _milliseconds(function, what, value):
    """A time in ms: a real number, finite, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError("%s(): %s must be a number of milliseconds, not %s" % (function, what, type(value).__name__))
    ms = float(value)
    if not math.isfinite(ms) or ms < 0:
        raise ValueError("%s(): %s must be a finite number of milliseconds, 0 or more, not %r" % (function, what, value))
    return ms


def _require_show(function):
    if _show is None or _show.closed:
        raise RuntimeError("midimonster.%s(): this host serves no show now" % function)
    return _show


class ShowTasks:
    """The tasks of one instance: started for handlers and thread(), named with who started
    them, their exceptions logged, listed for the shim, cancelled at shutdown."""

    def __init__(self, wait, report, clock=None):
        global _show
        if clock is None:
            self.loop = asyncio.SelectorEventLoop(HostSelector(wait))
        else:
            self.loop = VirtualTimeLoop(HostSelector(wait), clock)
        self.loop.set_task_factory(self._make_task)
        self.loop.set_exception_handler(self._on_loop_exception)
        asyncio.set_event_loop(self.loop)
        self.fade_rate = 40  # steps per second; the instance option fade-rate
        self.closed = False
        self._report = report  # report(running: [(name, count)], others) when the set changed
        self._origins = weakref.WeakKeyDictionary()  # task -> (label, who started it)
        self._owned = set()  # started here: kept alive until done, their exceptions logged at once
        self._by_key = {}  # key -> the task of that key (overlap = cancel, intervals, sockets)
        self._keys = {}  # task -> its key, while it runs
        self._fades = {}  # channel -> the token of its running fade
        self._settling = weakref.WeakSet()  # the settle() tasks
        self._started = asyncio.Event()
        self._report_due = None
        _show = self

    # --- tasks ---

    def _make_task(self, loop, coro, **kwargs):
        task = asyncio.Task(coro, loop=loop, **kwargs)
        self._origins[task] = (_coroutine_label(coro), self._starter())
        task.add_done_callback(self._on_done)
        self._changed()
        return task

    def _starter(self):
        task = asyncio.current_task(self.loop)
        if task is not None:
            return "the task " + self._origins.get(task, (task.get_name(), None))[0]
        calling = midimonster._calling()
        if calling:
            return calling
        return "an asyncio callback" if self._started.is_set() else "the module's code"

    def describe(self, task):
        label, origin = self._origins.get(task, (task.get_name(), None))
        return "the task %s (started by %s)" % (label, origin) if origin else "the task %s" % label

    def spawn(self, coro, origin, key=None, overlap="both", channel=None, label=None):
        """A handler returned `coro`: runs it as a task, or drops it (returns None) when
        `overlap` is "skip" and the task of `key` still runs; "cancel" cancels that one."""
        if key is not None:
            older = self._by_key.get(key)
            if older is not None and not older.done():
                if overlap == "skip":
                    coro.close()
                    return None
                if overlap == "cancel":
                    older.cancel()
        context = contextvars.copy_context()
        if channel is not None:
            context.run(current_channel.set, channel)
        task = self.loop.create_task(coro, context=context)
        self._origins[task] = (label or _coroutine_label(coro), origin)
        self._owned.add(task)
        if key is not None:
            self._by_key[key] = task
            self._keys[task] = key
        return task

    def _on_done(self, task):
        self._changed()
        key = self._keys.pop(task, None)
        if key is not None and self._by_key.get(key) is task:
            del self._by_key[key]
        if task not in self._owned:
            return  # someone may await it; if nobody does, the loop reports it when it goes
        self._owned.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log_exception(self.describe(task), task.exception())

    def log_exception(self, what, exc):
        midimonster._log(0, what + " raised an exception:")
        if isinstance(exc, SystemExit):
            midimonster._log(0, "SystemExit ignored: the host only stops when the core shuts down")
            return
        traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.flush()

    def _on_loop_exception(self, loop, context):
        if self.closed:
            return
        exc = context.get("exception")
        task = context.get("future") or context.get("task")
        if isinstance(task, asyncio.Task):
            what = self.describe(task)
        else:
            what = "an asyncio callback (%s)" % context.get("message", "")
        if exc is not None:
            self.log_exception(what, exc)
        else:
            midimonster._log(0, "%s: %s" % (what, context.get("message", "")))

    def running(self):
        """The description of the task that holds the loop now, or None."""
        task = asyncio.current_task(self.loop)
        return self.describe(task) if task is not None else None

    # --- the shim hears which tasks run, so it can name them if this host dies ---

    def _changed(self):
        if self._report_due is None and not self.closed:
            self._report_due = self.loop.call_later(0.25, self._send_report)

    def _send_report(self):
        self._report_due = None
        counts = {}
        for task in asyncio.all_tasks(self.loop):
            label = self._origins.get(task, (task.get_name(), None))[0]
            counts[label] = counts.get(label, 0) + 1
        self._report(sorted(counts.items()))

    # --- the show ---

    def show_started(self):
        self._started.set()

    def thread(self, function, args):
        coro = function(*args)
        if not self._started.is_set():
            coro = self._after_start(coro)
        return self.spawn(coro, self._starter(), label=_label(function))

    async def _after_start(self, coro):
        try:
            await self._started.wait()
        except BaseException:
            coro.close()
            raise
        return await coro

    async def fade(self, channel, start, target, ms, curve):
        token = object()
        self._fades[channel] = token
        loop = self.loop
        steps = max(1, math.ceil(ms * self.fade_rate / 1000.0))
        began = loop.time()
        last = start
        try:
            for step in range(1, steps + 1):
                delay = began + ms / 1000.0 * step / steps - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                # Latest takes precedence: a newer fade or output() on the channel ends this one.
                if self._fades.get(channel) is not token or midimonster.outputvalue(channel) != last:
                    return False
                last = target if step == steps else start + (target - start) * curve(step / steps)
                midimonster.output(channel, last)
                last = midimonster.outputvalue(channel)
            return True
        finally:
            if self._fades.get(channel) is token:
                del self._fades[channel]

    def start_settle(self, bound, cancel_first, then):
        """settle() as a task. It counts as settling from now, not from its first step: a
        reload's settle and the shutdown's, started in the same turn, must not cancel each
        other before either has run."""
        task = self.loop.create_task(self.settle(bound, cancel_first, then))
        self._settling.add(task)
        return task

    async def settle(self, bound, cancel_first, then):
        """Shutdown: waits up to `bound` s for every other task (cancelled first, or cancelled
        when the time is up), names those that did not end, then calls then()."""
        try:
            # Another settle (a reload's, when the show ends during it) ends on its own.
            tasks = [task for task in asyncio.all_tasks(self.loop) if task not in self._settling]
            if tasks:
                if cancel_first:
                    for task in tasks:
                        task.cancel()
                _, pending = await asyncio.wait(tasks, timeout=bound)
                if pending and not cancel_first:
                    for task in pending:
                        task.cancel()
                    _, pending = await asyncio.wait(pending, timeout=bound)
                if pending:
                    names = ", ".join(sorted(self.describe(task) for task in pending))
                    midimonster._log(0, "%d tasks did not end within %d ms of being cancelled and are left behind: %s"
                              % (len(pending), round(bound * 1000), names))
        finally:
            then()

    def close(self):
        global _show
        self.closed = True
        if self._report_due is not None:
            self._report_due.cancel()
        self._by_key.clear()
        self._keys.clear()
        self._owned.clear()
        self.loop.close()
        asyncio.set_event_loop(None)
        if _show is self:
            _show = None


# --- the midimonster module's functions of time ---

def sleep(ms):
    """await midimonster.sleep(ms): waits ms milliseconds; the instance handles events meanwhile."""
    return asyncio.sleep(_milliseconds("sleep", "ms", ms) / 1000.0)


def thread(function, *args):
    """midimonster.thread(fn, *args): runs the coroutine function fn(*args) as a task (started
    with the show when called earlier); returns the task, which .cancel() stops."""
    if not inspect.iscoroutinefunction(function):
        what = _label(function) if callable(function) else "a %s" % type(function).__name__
        raise TypeError("thread(): the function must be a coroutine function (async def), not %s" % what)
    return _require_show("thread").thread(function, args)


def fade(channel, target, ms, curve="linear"):
    """await midimonster.fade(channel, target, ms, curve="linear"): steps the channel from its
    last output value to target over ms at the instance's fade-rate, ending exactly on target.
    A newer fade or output() on the channel ends it; it then returns False, else True."""
    if not isinstance(channel, str):
        raise TypeError("fade(): the channel name must be a str, not %s" % type(channel).__name__)
    if isinstance(target, bool) or not isinstance(target, numbers.Real):
        raise TypeError("fade(): the target for channel '%s' must be a number, not %s" % (channel, type(target).__name__))
    value = float(target)
    if not math.isfinite(value):
        raise ValueError("fade(): the target for channel '%s' must be a finite number, not %r" % (channel, target))
    duration = _milliseconds("fade", "ms", ms)
    shape = CURVES.get(curve) if isinstance(curve, str) else None
    if shape is None:
        raise ValueError("fade(): unknown curve %r (known: %s)" % (curve, ", ".join(CURVES)))
    show = _require_show("fade")
    start = midimonster.outputvalue(channel)
    if start is None:
        raise ValueError("fade(): '%s' is not a channel of this instance" % channel)
    return show.fade(channel, start, min(max(value, 0.0), 1.0), duration, shape)


midimonster.sleep = sleep
midimonster.thread = thread
midimonster.fade = fade
