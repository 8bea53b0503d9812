# Timed behaviour under the virtual clock: every timer fires at its own time, in order.
import textwrap

import pytest


@pytest.fixture
def show_of(show_runner, tmp_path):
    """show_of(code, channels, **options): a show of one module `cue` with that code."""
    def make(code, channels, **kwargs):
        (tmp_path / "cue.py").write_text(textwrap.dedent(code))
        return show_runner.from_modules("cue", channels=channels, directory=tmp_path, **kwargs)
    return make


def test_a_fade_step_by_step(show_of):
    show = show_of("""
        import midimonster
        async def go(value):
            await midimonster.fade("dimmer", value, 1000)
    """, ["cue.go", "dimmer"])
    show.input("cue.go", 1.0)
    # fade-rate 40: a step every 25 ms, from 0 to 1 over 1000 ms
    assert show.outputs == []
    show.advance(24)
    assert show.outputs == []
    show.advance(1)
    assert show.outputs_of("dimmer") == [(25, 0.025)]
    show.advance(475)
    assert show.value("dimmer") == pytest.approx(0.5)
    assert [time for time, _ in show.outputs_of("dimmer")] == list(range(25, 501, 25))
    show.advance(10000)
    assert show.outputs_of("dimmer")[-1] == (1000, 1.0)
    assert len(show.outputs_of("dimmer")) == 40


def test_a_curve_and_a_fade_rate(show_of):
    show = show_of("""
        import midimonster
        async def go(value):
            await midimonster.fade("dimmer", value, 100, curve="s-curve")
    """, ["cue.go", "dimmer"], options=[("fade-rate", "10")])
    show.input("cue.go", 1.0)
    show.advance(100)
    assert show.outputs_of("dimmer") == [(100, 1.0)]


def test_sleep_and_timestamp(show_of):
    show = show_of("""
        import midimonster
        async def chase(value):
            for step in range(3):
                midimonster.output("lamp", 1.0 if step % 2 == 0 else 0.0)
                print("step", step, "at", midimonster.timestamp())
                await midimonster.sleep(500)
    """, ["cue.chase", "lamp"])
    show.advance(100)
    show.input("cue.chase", 1.0)
    assert show.log == ["step 0 at 100"]
    show.advance(1000)
    assert show.log == ["step 0 at 100", "step 1 at 600", "step 2 at 1100"]
    assert show.outputs_of("lamp") == [(100, 1.0), (600, 0.0), (1100, 1.0)]


def test_inputs_are_handled_while_a_sequence_sleeps(show_of):
    show = show_of("""
        import midimonster
        async def slow(value):
            await midimonster.sleep(60000)
            midimonster.output("late", value)
        def fast(value):
            midimonster.output("echo", value)
    """, ["cue.slow", "cue.fast", "late", "echo"])
    show.input("cue.slow", 0.5)
    show.advance(1000)
    show.input("cue.fast", 0.25)
    assert show.outputs == [(1000, "echo", 0.25)]
    show.advance(59000)
    assert show.outputs[-1] == (60000, "late", 0.5)


def test_asyncio_timers_and_intervals_interleave_in_time_order(show_of):
    show = show_of("""
        import asyncio
        import midimonster
        def tick():
            print("tick", midimonster.timestamp())
        midimonster.interval(tick, 300)
        def later(value):
            asyncio.get_running_loop().call_later(0.45, lambda: print("call_later", midimonster.timestamp()))
            midimonster.thread(waiter)
        async def waiter():
            await asyncio.sleep(0.7)
            print("asyncio.sleep", midimonster.timestamp())
    """, ["cue.later"])
    show.input("cue.later", 1.0)
    show.advance(1000)
    assert show.log == ["tick 300", "call_later 450", "tick 600", "asyncio.sleep 700", "tick 900"]


def test_the_clock_stops_where_asked(show_of):
    show = show_of("""
        import midimonster
        def tick():
            pass
        midimonster.interval(tick, 7)
    """, [])
    assert show.now == 0
    show.advance(1)
    assert show.now == 1
    show.advance(0)
    assert show.now == 1
    with pytest.raises(ValueError, match="whole number"):
        show.advance(-5)
    with pytest.raises(ValueError, match="whole number"):
        show.advance(1.5)
