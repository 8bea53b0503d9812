// The host's watchdog: handler-timeout interrupts runaway Python calls with
// midimonster.HandlerTimeout, a call that cannot be interrupted is reported, and a handler
// that merely takes long (time.sleep) is left alone while the core keeps routing.
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// True if any log line read so far contains `text` (waits for nothing).
bool logged(CoreProcess& core, const std::string& text) {
	core.process().pump();
	for (const std::string& line : core.process().stderr_lines()) {
		if (line.find(text) != std::string::npos) {
			return true;
		}
	}
	return false;
}

// One [python py1] instance with `options`, the module `name` and a test instance t mapped
// t.in > py1.NAME.handler and py1.out > t.out.
std::string config_with(const std::string& name, const std::string& options) {
	return "[python py1]\nmodule = " + name + "\n" + options + "[test t]\n[map]\nt.in > py1." + name +
	       ".handler\npy1.out > t.out\n";
}

}  // namespace

TEST_CASE("handler-timeout interrupts an endless loop, and the same host handles the next event", "[python][watchdog]") {
	CoreProcess core(config_with("runaway", "handler-timeout = 500\n"), {{"runaway.py", R"(import midimonster
def handler(value):
    if value > 0.5:
        while True: pass
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	core.inject("t.in", 1.0);
	REQUIRE_LOG(core, "py1: the handler of channel runaway.handler has run for 500 ms (handler-timeout); "
	                  "interrupting it");
	REQUIRE_LOG(core, "py1: the handler of channel runaway.handler raised an exception:");
	REQUIRE_LOG(core, "runaway.py\", line 4, in handler");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout: the handler of channel runaway.handler ran longer than "
	                  "handler-timeout (500 ms)");
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK(hosts_of(core) == hosts);
	CHECK_FALSE(logged(core, "lost the host"));
	CHECK(core.stop() == 0);
}

TEST_CASE("handler-timeout interrupts time.sleep()", "[python][watchdog]") {
	CoreProcess core(config_with("sleeper", "handler-timeout = 500\n"), {{"sleeper.py", R"(import time, midimonster
def handler(value):
    if value > 0.5:
        time.sleep(30)
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1.0);
	REQUIRE_LOG(core, "py1: the handler of channel sleeper.handler has run for 500 ms (handler-timeout)");
	REQUIRE_LOG(core, "sleeper.py\", line 4, in handler");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout:");
	// Well before the 30 s sleep would have ended.
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK_FALSE(logged(core, "lost the host"));
	CHECK(core.stop() == 0);
}

TEST_CASE("`except Exception:` in user code does not swallow HandlerTimeout", "[python][watchdog]") {
	CoreProcess core(config_with("stubborn", "handler-timeout = 500\n"), {{"stubborn.py", R"(import midimonster
def handler(value):
    if value > 0.5:
        while True:
            try:
                sum(range(100))
            except Exception as error:
                print("swallowed", type(error).__name__)
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1.0);
	REQUIRE_LOG(core, "py1: the handler of channel stubborn.handler raised an exception:");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout:");
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK_FALSE(logged(core, "swallowed"));
	CHECK(core.stop() == 0);
}

TEST_CASE("handler-timeout interrupts a runaway interval() function", "[python][watchdog]") {
	CoreProcess core("[python py1]\nmodule = ticker\nhandler-timeout = 500\n[test t]\n[map]\npy1.out > t.out\n",
	                 {{"ticker.py", R"(import midimonster
calls = 0
def tick():
    global calls
    calls += 1
    if calls == 1:
        while True: pass
    midimonster.output("out", 0.5)
    midimonster.interval(tick, 0)
midimonster.interval(tick, 100)
)"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: the interval handler ticker.tick has run for 500 ms (handler-timeout); interrupting it");
	REQUIRE_LOG(core, "py1: interval handler raised an exception:");
	REQUIRE_LOG(core, "ticker.py\", line 7, in tick");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout:");
	// The next tick runs normally in the same host.
	CHECK(next_value(core, "t.out") == Approx(0.5));
	CHECK_FALSE(logged(core, "lost the host"));
	CHECK(core.stop() == 0);
}

TEST_CASE("handler-timeout interrupts a runaway manage() socket handler", "[python][watchdog]") {
	CoreProcess core(config_with("socky", "handler-timeout = 500\n"), {{"socky.py", R"(import socket, midimonster
ours, theirs = socket.socketpair()
def on_data(sock):
    sock.recv(16)
    midimonster.manage(None, sock)
    while True: pass
def handler(value):
    midimonster.output("out", value)
midimonster.manage(on_data, ours)
theirs.send(b"x")
)"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: the socket handler socky.on_data has run for 500 ms (handler-timeout); interrupting it");
	REQUIRE_LOG(core, "py1: socket handler raised an exception:");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout:");
	core.inject("t.in", 0.75);
	CHECK(next_value(core, "t.out") == Approx(0.75));
	CHECK(core.stop() == 0);
}

TEST_CASE("a handler that sleeps 5 s is not interrupted, and the core keeps routing other backends meanwhile",
          "[python][watchdog]") {
	CoreProcess core(R"(
[python py1]
module = slow
[test t]
[test u]
[map]
t.in > py1.slow.handler
py1.out > t.out
t.a > u.b
)",
	                 {{"slow.py", R"(import time, midimonster
def handler(value):
    print("napping")
    time.sleep(5)
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	core.inject("t.in", 0.6);
	REQUIRE_LOG(core, "py1: napping");
	// While Python sleeps, an unrelated mapping is routed at once.
	std::vector<uint64_t> routed;
	for (double value : {0.1, 0.2, 0.3}) {
		core.inject("t.a", value);
		auto event = core.wait_event("u.b");
		REQUIRE(event);
		CHECK(event->value == Approx(value));
		routed.push_back(event->t_us);
	}
	auto done = core.wait_event("t.out", Duration(20000));
	INFO(core.transcript());
	REQUIRE(done);
	CHECK(done->value == Approx(0.6));
	for (uint64_t t : routed) {
		CHECK(t < done->t_us);
	}
	CHECK_FALSE(logged(core, "HandlerTimeout"));
	CHECK_FALSE(logged(core, "interrupting"));
	CHECK_FALSE(logged(core, "lost the host"));
	CHECK(hosts_of(core) == hosts);
	CHECK(core.stop() == 0);
}

TEST_CASE("handler-timeout = 0 switches interruption off", "[python][watchdog]") {
	CoreProcess core(config_with("patient", "handler-timeout = 0\n"), {{"patient.py", R"(import time, midimonster
def handler(value):
    time.sleep(2)
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.4);
	CHECK(next_value(core, "t.out") == Approx(0.4));
	CHECK_FALSE(logged(core, "HandlerTimeout"));
	CHECK_FALSE(logged(core, "interrupting"));
	CHECK(core.stop() == 0);
}

TEST_CASE("handler-timeout needs a whole number of milliseconds", "[python][watchdog][config]") {
	for (std::string value : {"abc", "-5", "1.5", "", "+5", "5ms"}) {
		INFO("handler-timeout = " << value);
		REQUIRE_CONFIG_ERROR("[python py1]\nhandler-timeout = " + value + "\n",
		                     "py1: option 'handler-timeout' needs a whole number of milliseconds (0 switches it "
		                     "off), not '" + value + "'");
	}
}

TEST_CASE("a call that cannot be interrupted stops the heartbeats and ends in a restart", "[python][watchdog]") {
	CoreProcess core(config_with("blocked", "handler-timeout = 500\n") + "t.ok > py1.blocked.ok\n",
	                 {{"blocked.py", R"(import signal, time, midimonster
def handler(value):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGRTMIN + 2})
    time.sleep(60)
def ok(value):
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	core.inject("t.in", 1.0);
	REQUIRE_LOG(core, "py1: the handler of channel blocked.handler has run for 500 ms (handler-timeout); "
	                  "interrupting it");
	REQUIRE_LOG(core, "py1: the handler of channel blocked.handler does not return (stuck outside Python");
	REQUIRE_LOG(core, "this host stops answering heartbeats so the core restarts it");
	REQUIRE_LOG(core, "it sent nothing for 3 s");
	REQUIRE_LOG(core, "py1: the host is back after");
	CHECK(gone_within(hosts[0], Duration(5000)));
	core.inject("t.ok", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("the connection to the core is not inherited by programs that Python starts", "[python][watchdog]") {
	CoreProcess core(config_with("fds", ""), {{"fds.py", R"(import os
def handler(value):
    print("inheritable:", os.get_inheritable(3))
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1.0);
	REQUIRE_LOG(core, "py1: inheritable: False");
	CHECK(core.stop() == 0);
}

// The watchdog compares the running call's start with its own clock; a call that starts
// between the watchdog's two readings must not look like one that began ages ago. Found by
// the benchmark: a flood of short handlers was once interrupted as if it had run 10 s.
TEST_CASE("a flood of short handlers with a short handler-timeout is never interrupted", "[python][watchdog]") {
	CoreProcess core(R"(
[python py1]
module = quick
handler-timeout = 100
[test t]
echo-stdout = no
[test o]
[map]
t.in0 > py1.quick.handler
t.done > py1.quick.done
py1.out > o.out
)",
	                 {{"quick.py", R"(import midimonster
calls = 0
def handler(value):
    global calls
    calls += 1
def done(value):
    print("calls:", calls)
    midimonster.output("out", 1.0)
)"}});
	REQUIRE(core.wait_started());
	// About 2 s of floods: the watchdog looks every 10 ms, while a call starts every
	// fraction of a microsecond.
	auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
	while (std::chrono::steady_clock::now() < until) {
		for (int i = 0; i < 10; i++) {
			core.send("flood t.in 1 2000");
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
	}
	core.send("inject t.done 1");
	// The host works through what it had received first; slow under sanitizers on a busy machine.
	REQUIRE(next_value(core, "o.out", Duration(60000)) == Approx(1.0));
	auto calls = core.wait_log("calls: ");
	REQUIRE(calls);
	INFO(*calls);
	CHECK(std::stoll(calls->substr(calls->find("calls: ") + 7)) > 100000);
	CHECK_FALSE(logged(core, "interrupting it"));
	CHECK_FALSE(logged(core, "HandlerTimeout"));
	CHECK(core.stop() == 0);
}
