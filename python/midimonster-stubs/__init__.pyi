# Type stubs (PEP 561) for `midimonster`, the module mm-pyhost gives the show's Python code
# (host/midimonster_module.cpp, host/tasks.py, host/kept_state.py). Editors complete and
# check the show's calls with them; the module itself exists only inside mm-pyhost.
import asyncio
import socket
from typing import Any, Awaitable, Callable, Coroutine, Literal, Optional

class HandlerTimeout(BaseException):
    """Raised in a handler (or a console statement) that ran longer than the instance's
    handler-timeout. A BaseException, so that `except Exception:` does not swallow it."""

# The user's dict, kept across live reloads (the same object) and across a crash (a pickled
# snapshot at most a second old).
state: dict[Any, Any]

def output(channel: str, value: float) -> None:
    """Send an event on a channel of this instance; the value is clamped to 0..1."""

def inputvalue(channel: str) -> Optional[float]:
    """The last input value of a channel of this instance; None if there is no such channel."""

def outputvalue(channel: str) -> Optional[float]:
    """The last output value of a channel of this instance; None if there is no such channel."""

def current() -> Optional[str]:
    """The channel whose handler runs now (also inside the tasks an async handler starts), or
    None from anywhere else."""

def timestamp() -> int:
    """The core's clock, in milliseconds."""

def interval(function: Callable[[], object], ms: float) -> None:
    """Call function every ms milliseconds; the same function again changes its period, 0
    cancels it. An async function runs as a task at each tick."""

def manage(function: Optional[Callable[[socket.socket], object]], sock: socket.socket) -> None:
    """Call function(sock) whenever sock is readable; None as the function stops that."""

def channels() -> list[str]:
    """The names of this instance's channels."""

def cleanup_handler(function: Optional[Callable[[], object]]) -> Optional[Callable[[], object]]:
    """Run function when the show stops (or before a reload); returns the handler it replaces."""

def sleep(ms: float) -> Awaitable[None]:
    """`await midimonster.sleep(ms)`: wait; the instance handles events meanwhile."""

def thread(function: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> asyncio.Task[Any]:
    """Run the coroutine function function(*args) as a task; .cancel() on it stops it."""

def fade(
    channel: str, target: float, ms: float, curve: Literal["linear", "s-curve", "exponential"] = "linear"
) -> Awaitable[bool]:
    """`await midimonster.fade(channel, target, ms)`: step the channel from its last output to
    target over ms; True if it got there, False if a newer fade or output() ended it."""
