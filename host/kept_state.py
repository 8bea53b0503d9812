# midimonster.state across a crash, compiled into the host (host/kept_state.h) and run as the
# module _mmpy_kept_state. A live reload hands the very dict to the new code; a crash loses
# the process, so the shim keeps a pickled snapshot and gives it to the next host.
#
# Each key is pickled on its own: a value that cannot be pickled is named and left out, the
# rest is kept. A restarted host restores before the modules import (their top-level code
# may read the state); a value whose class lives in a module not imported yet waits until
# the modules are loaded.
import io
import pickle
import sys

import midimonster


class _NotYet(Exception):
    pass


class _Unpickler(pickle.Unpickler):
    """Restores values whose classes are already imported; never imports a module itself."""

    def __init__(self, data, imported):
        super().__init__(io.BytesIO(data))
        self._imported = imported

    def find_class(self, module, name):
        if not self._imported(module):
            raise _NotYet(module)
        return super().find_class(module, name)


# Opcodes whose argument is a memo index: the unpickler grows its memo to the index.
_MEMO_OPS = {"PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}


def _check(data):
    """A snapshot is the host's own pickle, but one the shim handed back: before it is loaded,
    its opcodes are read (not run) and a memo index beyond its length, which would make the
    unpickler allocate gigabytes, refuses it (found by fuzz_host_session)."""
    import pickletools  # only a host that restores a snapshot needs it: not at every start

    for opcode, arg, _ in pickletools.genops(data):
        if opcode.name in _MEMO_OPS and int(arg) > len(data):
            raise ValueError("a corrupt snapshot (memo index %s in %d bytes)" % (arg, len(data)))


def _current_class(module, qualname):
    """A class of the show as the running code defines it, by name: a live reload makes new
    class objects, and a value made before it still has the old one."""
    if module not in sys.modules:
        raise _NotYet(module)
    found = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


class _Pickler(pickle.Pickler):
    """Pickles a class that a reload replaced by its name, as the new code defines it
    (pickle's own check refuses a class that is not the module's attribute any more)."""

    def reducer_override(self, obj):
        if isinstance(obj, type):
            module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
            try:
                current = _current_class(module, qualname)
            except Exception:
                return NotImplemented
            if current is not obj and getattr(current, "__qualname__", None) == qualname:
                return _current_class, (module, qualname)
        return NotImplemented


def _dumps(value):
    out = io.BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return out.getvalue()


def _describe(key):
    return "midimonster.state[%r]" % (key,)


class KeptState:
    def __init__(self, limit):
        self._limit = limit  # bytes a snapshot may have (one frame)
        self._last = None  # the last snapshot taken or restored
        self._unpicklable = set()  # keys already said to be left out
        self._too_large = False
        self._waiting = {}  # key -> pickled value whose class is not imported yet

    def snapshot(self):
        """The pickled state if it changed since the last snapshot, else None."""
        state = midimonster.state
        if not isinstance(state, dict):
            if self._last is not False:
                midimonster._log(0, "midimonster.state is a %s, not a dict: it is not kept across a crash"
                                 % type(state).__name__)
                self._last = False
            return None
        values = {}
        unpicklable = set()
        for key, value in list(state.items()):
            try:
                values[key] = _dumps(value)
            except Exception as error:
                unpicklable.add(key)
                if key not in self._unpicklable:
                    midimonster._log(0, "%s is not kept across a crash: it cannot be pickled (%s: %s)"
                                     % (_describe(key), type(error).__name__, error))
        self._unpicklable = unpicklable
        values.update(self._waiting)  # not restored yet: kept as they came
        try:
            data = pickle.dumps(values, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:
            midimonster._log(0, "the keys of midimonster.state cannot be pickled (%s: %s): it is not kept across "
                             "a crash" % (type(error).__name__, error))
            return None
        if len(data) > self._limit:
            if not self._too_large:
                midimonster._log(0, "midimonster.state is %d bytes pickled, more than the %d a snapshot may have: "
                                 "the last snapshot that fitted is kept" % (len(data), self._limit))
                self._too_large = True
            return None
        self._too_large = False
        if data == self._last:
            return None
        self._last = data
        return data

    def restore(self, data):
        """A snapshot from the shim, into midimonster.state, before the modules import: a value
        whose class is in a module not imported yet waits for restore_waiting()."""
        # The outer dict holds only keys and bytes: it may name no class at all.
        _check(data)
        values = _Unpickler(data, lambda module: False).load()
        if not isinstance(values, dict):
            raise TypeError("a state snapshot is a dict, not %s" % type(values).__name__)
        self._last = data
        for key, value in values.items():
            self._restore(key, value, lambda module: module in sys.modules)

    def restore_waiting(self):
        waiting, self._waiting = self._waiting, {}
        for key, value in waiting.items():
            self._restore(key, value, lambda module: True)

    def _restore(self, key, data, imported):
        try:
            _check(data)
            midimonster.state[key] = _Unpickler(data, imported).load()
        except _NotYet:
            self._waiting[key] = data
        except Exception as error:
            midimonster._log(0, "%s could not be restored after the crash: %s: %s"
                             % (_describe(key), type(error).__name__, error))
