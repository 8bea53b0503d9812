// The `midimonster` module, end to end: test core + python.so + a real mm-pyhost + a
// Python module, asserting on the events that come back out of the core.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "python_test.h"

using namespace mmpy::test;


TEST_CASE("a handler's output comes back out of the core", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = handlers
[test t]
[map]
t.fader > py1.handlers.invert
py1.out1 > t.led
)",
	                 {{"handlers.py", R"(
import midimonster
def invert(value):
    midimonster.output("out1", 1 - value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.fader", 0.25);
	auto event = core.wait_event("t.led");
	REQUIRE(event);
	CHECK(event->value == Approx(0.75));
	CHECK(core.stop() == 0);
}

TEST_CASE("output() at import time becomes an initial event when the show starts", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = boot
[test t]
[map]
py1.scene > t.scene
)",
	                 {{"boot.py", "import midimonster\nmidimonster.output('scene', 0.4)\n"}});
	REQUIRE(core.wait_started());
	auto event = core.wait_event("t.scene");
	REQUIRE(event);
	CHECK(event->value == Approx(0.4));
	core.stop();
}

TEST_CASE("output values are clamped to 0..1 and non-finite values raise", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = clamp
[test t]
[map]
t.go > py1.clamp.go
py1.out > t.out
)",
	                 {{"clamp.py", R"(
import midimonster
def go(value):
    midimonster.output("out", 7.5)
    midimonster.output("out", -3)
    midimonster.output("out", float("nan"))
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	auto high = core.wait_event("t.out");
	auto low = core.wait_event("t.out");
	REQUIRE(high);
	REQUIRE(low);
	CHECK(high->value == 1.0);
	CHECK(low->value == 0.0);
	REQUIRE_LOG(core, "ValueError: output(): the value for channel 'out' must be a finite number");
	core.stop();
}

TEST_CASE("inputvalue() answers the previous value inside the channel's own handler", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = values
[test t]
[map]
t.in > py1.values.handler
py1.before > t.before
py1.now > t.now
py1.last_out > t.last_out
)",
	                 {{"values.py", R"(
import midimonster
def handler(value):
    midimonster.output("before", midimonster.inputvalue("values.handler"))
    midimonster.output("now", value)
    midimonster.output("last_out", midimonster.outputvalue("now"))
)"}});
	REQUIRE(core.wait_started());
	// Lines arrive in the handler's order: before, now, last_out.
	core.inject("t.in", 0.3);
	REQUIRE(next_value(core, "t.before") == Approx(0.0));
	REQUIRE(next_value(core, "t.last_out") == Approx(0.3));
	core.inject("t.in", 0.6);
	auto before = core.wait_event("t.before");
	REQUIRE(before);
	CHECK(before->value == Approx(0.3));
	CHECK(next_value(core, "t.last_out") == Approx(0.6));
	core.stop();
}

TEST_CASE("inputvalue() and outputvalue() of an unknown channel are None", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = unknown
[test t]
[map]
t.in > py1.unknown.handler
)",
	                 {{"unknown.py", R"(
import midimonster
def handler(value):
    print("values:", midimonster.inputvalue("nope"), midimonster.outputvalue("nope"))
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1);
	REQUIRE_LOG(core, "py1: values: None None");
	core.stop();
}

TEST_CASE("current() names the running handler's channel, and is None elsewhere", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = cur
[test t]
[map]
t.in > py1.cur.handler
)",
	                 {{"cur.py", R"(
import midimonster
print("at import:", midimonster.current())
def handler(value):
    print("in handler:", midimonster.current())
)"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: at import: None");
	core.inject("t.in", 1);
	REQUIRE_LOG(core, "py1: in handler: cur.handler");
	core.stop();
}

TEST_CASE("timestamp() follows the core's millisecond clock", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = clock
[test t]
[map]
t.in > py1.clock.handler
)",
	                 {{"clock.py", R"(
import midimonster, time
def handler(value):
    first = midimonster.timestamp()
    time.sleep(0.05)
    second = midimonster.timestamp()
    print("clock:", type(first).__name__, first > 0, 40 <= second - first < 5000)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1);
	REQUIRE_LOG(core, "py1: clock: int True True");
	core.stop();
}

TEST_CASE("interval() calls a function periodically, the same function updates, 0 cancels", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = ticks
[test t]
[map]
py1.tick > t.tick
t.stop > py1.ticks.stop
)",
	                 {{"ticks.py", R"(
import midimonster
count = 0
def tick():
    global count
    count += 1
    midimonster.output("tick", (count % 10) / 10)
midimonster.interval(tick, 500)
midimonster.interval(tick, 54)    # the same function again: rounded to 50 ms, updated
def stop(value):
    midimonster.interval(tick, 0)
    print("stopped after", count, "ticks")
)"}});
	REQUIRE(core.wait_started());
	for (int i = 0; i < 3; i++) {
		REQUIRE(core.wait_event("t.tick"));
	}
	core.inject("t.stop", 1);
	REQUIRE_LOG(core, "py1: stopped after");
	core.sync();
	size_t after_stop = core.events().size();
	// No tick may come after the cancel: wait through several periods and look again.
	CHECK_FALSE(core.wait_event("t.tick", Duration(400)));
	CHECK(core.events().size() == after_stop);
	core.stop();
}

TEST_CASE("manage() calls the handler when the socket is readable, None unregisters", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = sockets
[test t]
[map]
t.send > py1.sockets.send
py1.received > t.received
)",
	                 {{"sockets.py", R"(
import midimonster, socket
inside, outside = socket.socketpair()
def readable(sock):
    data = sock.recv(100)
    midimonster.output("received", len(data) / 100)
    if data == b"last":
        midimonster.manage(None, sock)
        print("unmanaged")
def send(value):
    outside.send(b"x" * int(value * 100) if value < 1 else b"last")
midimonster.manage(readable, inside)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.send", 0.42);
	auto first = core.wait_event("t.received");
	REQUIRE(first);
	CHECK(first->value == Approx(0.42));
	core.inject("t.send", 1.0);
	REQUIRE(core.wait_event("t.received"));
	REQUIRE_LOG(core, "py1: unmanaged");
	core.inject("t.send", 0.5);  // lands in the socket, but nobody listens any more
	CHECK_FALSE(core.wait_event("t.received", Duration(500)));
	core.stop();
}

TEST_CASE("channels() lists every channel of the instance", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = chans
[test t]
[map]
t.a > py1.chans.show
py1.out1 > t.b
t.c > py1.plain
)",
	                 {{"chans.py", R"(
import midimonster
midimonster.output("early", 0.1)
def show(value):
    print("channels:", sorted(midimonster.channels()))
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.a", 1);
	REQUIRE_LOG(core, "py1: channels: ['chans.show', 'early', 'out1', 'plain']");
	core.stop();
}

TEST_CASE("cleanup_handler() runs once at shutdown and returns the handler it replaces", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = tidy
[test t]
)",
	                 {{"tidy.py", R"(
import midimonster
def first():
    open("wrong.txt", "w").write("the replaced handler ran")
def save():
    open("saved.txt", "w").write("saved %s" % midimonster.outputvalue("x"))
    midimonster.output("x", 1.0)   # not routed: the core's routing has stopped
print("previous:", midimonster.cleanup_handler(first))
print("previous:", midimonster.cleanup_handler(save).__name__)
midimonster.output("x", 0.5)
)"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: previous: None");
	REQUIRE_LOG(core, "py1: previous: first");
	REQUIRE(core.stop() == 0);
	CHECK(read_file(core.dir().file("saved.txt")) == "saved 0.5");
	CHECK(read_file(core.dir().file("wrong.txt")).empty());
}

TEST_CASE("default-handler handles every plain channel, and current() tells which", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = fallback
default-handler = fallback.default
[test t]
[map]
t.a > py1.alpha
t.b > py1.beta
py1.seen > t.seen
)",
	                 {{"fallback.py", R"(
import midimonster
def default(value):
    print("default got", midimonster.current(), value)
    midimonster.output("seen", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.a", 0.25);
	core.inject("t.b", 0.5);
	REQUIRE_LOG(core, "py1: default got alpha 0.25");
	REQUIRE_LOG(core, "py1: default got beta 0.5");
	CHECK(next_value(core, "t.seen") == Approx(0.25));
	core.stop();
}

TEST_CASE("module accepts a path to a .py file relative to the configuration", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = scripts/show_logic.py
[test t]
[map]
t.in > py1.show_logic.handler
py1.out > t.out
)",
	                 {{"scripts/show_logic.py", R"(
import midimonster
def handler(value):
    midimonster.output("out", value / 2)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	core.stop();
}

TEST_CASE("several modules in one instance each keep their namespace", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = first
module = second
[test t]
[map]
t.a > py1.first.handler
t.b > py1.second.handler
py1.out > t.out
)",
	                 {{"first.py", "import midimonster\ndef handler(v):\n    midimonster.output('out', 0.1)\n"},
	                  {"second.py", "import midimonster\ndef handler(v):\n    midimonster.output('out', 0.2)\n"}});
	REQUIRE(core.wait_started());
	core.inject("t.a", 1);
	CHECK(next_value(core, "t.out") == Approx(0.1));
	core.inject("t.b", 1);
	CHECK(next_value(core, "t.out") == Approx(0.2));
	core.stop();
}

TEST_CASE("instances are separate: each has its own values and modules", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = shared
[python py2]
module = shared
[test t]
[map]
t.a > py1.shared.handler
t.b > py2.shared.handler
py1.out > t.one
py2.out > t.two
)",
	                 {{"shared.py", R"(
import midimonster
calls = 0
def handler(value):
    global calls
    calls += 1
    midimonster.output("out", calls / 10)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.a", 1);
	core.inject("t.a", 1);
	CHECK(next_value(core, "t.one") == Approx(0.1));
	CHECK(next_value(core, "t.one") == Approx(0.2));
	core.inject("t.b", 1);
	CHECK(next_value(core, "t.two") == Approx(0.1));
	core.stop();
}

TEST_CASE("C extension modules import in the host, numpy included", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = native
[test t]
[map]
t.in > py1.native.handler
py1.out > t.out
)",
	                 {{"native.py", R"(
import midimonster, ctypes, math, socket, select, json
import numpy
def handler(value):
    samples = numpy.linspace(0.0, value, 5)
    midimonster.output("out", float(samples.mean()) + math.floor(0.5))
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.8);
	auto event = core.wait_event("t.out");
	REQUIRE(event);
	CHECK(event->value == Approx(0.4));
	core.stop();
}

TEST_CASE("print() output reaches the core's log as lines of the instance", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = talk
[test t]
)",
	                 {{"talk.py", "import sys\nprint('two', 'words')\nprint('line one\\nline two')\nsys.stderr.write('to stderr\\n')\nprint('no newline', end='')\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "python\tpy1: two words");
	REQUIRE_LOG(core, "python\tpy1: line two");
	REQUIRE_LOG(core, "python\tpy1: to stderr");
	REQUIRE_LOG(core, "python\tpy1: no newline");
	core.stop();
}

TEST_CASE("Python threads run while the host waits for events", "[python][api]") {
	CoreProcess core(R"(
[python py1]
module = worker
[test t]
[map]
t.go > py1.worker.go
)",
	                 {{"worker.py", R"(
import threading, time
def work():
    time.sleep(0.2)
    print("thread finished")
def go(value):
    threading.Thread(target=work).start()
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1);
	// Nothing else happens in the host after the handler returns: the thread must get the
	// interpreter on its own.
	REQUIRE_LOG(core, "py1: thread finished");
	core.stop();
}
