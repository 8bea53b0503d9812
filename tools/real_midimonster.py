"""What the benchmark (tools/bench/mmpy-bench) and the soak tool (tools/soak/mm-soak) need
to drive a real MIDIMonster from outside: a plugin folder with its osc.so beside this
build's backend, and OSC messages of one float, as a desk sends them. Standard library only."""
import os
import struct


class RealCoreError(Exception):
    pass


def plugin_folder(binary, folder, own):
    """`folder`/backends with the real core's osc.so (from MIDIMONSTER_PLUGINS, default
    backends/ next to `binary`) and this build's files `own` (paths) linked into it."""
    plugins_from = os.environ.get("MIDIMONSTER_PLUGINS") or os.path.join(os.path.dirname(binary), "backends")
    if not os.path.exists(os.path.join(plugins_from, "osc.so")):
        raise RealCoreError("no osc.so in %s (set MIDIMONSTER_PLUGINS to the core's plugin folder)" % plugins_from)
    plugins = os.path.join(folder, "backends")
    os.makedirs(plugins)
    for path in [os.path.join(plugins_from, "osc.so")] + [os.path.abspath(p) for p in own]:
        os.symlink(path, os.path.join(plugins, os.path.basename(path)))
    return plugins


def osc_message(address, value):
    """An OSC message to `address` with one float32 argument."""
    def padded(text):
        data = text.encode() + b"\0"
        return data + b"\0" * (-len(data) % 4)
    return padded(address) + padded(",f") + struct.pack(">f", value)


def osc_float(data):
    """(address, value) of an OSC message whose last argument is a float32."""
    # the value is the last 4 bytes: a float32, big-endian
    return data[:data.index(b"\0")].decode(), struct.unpack(">f", data[-4:])[0]
