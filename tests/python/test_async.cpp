// Time in show logic, end to end: async handlers, midimonster.sleep/thread/fade and asyncio
// on the host's loop, through the test core, the real shim and real hosts.
#include <catch2/catch.hpp>
#include <signal.h>

#include <cmath>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// One instance `py1` with `module` (the file `module`.py), channel handlers mapped from
// t.NAME for each of `handlers`, and py1.NAME > t.NAME for each of `outputs`.
std::string show(const std::string& module, const std::vector<std::string>& handlers,
                 const std::vector<std::string>& outputs, const std::string& options = "") {
	std::string config = "[python py1]\nmodule = " + module + "\n" + options + "[test t]\n[map]\n";
	for (const std::string& handler : handlers) {
		config += "t." + handler + " > py1." + module + "." + handler + "\n";
	}
	for (const std::string& output : outputs) {
		config += "py1." + output + " > t." + output + "\n";
	}
	return config;
}

// The values of every event on `channel` so far, in order.
std::vector<double> values_of(CoreProcess& core, const std::string& channel) {
	std::vector<double> values;
	for (const Event& event : core.events()) {
		if (event.channel == channel) {
			values.push_back(event.value);
		}
	}
	return values;
}

// The number of events on `channel` once `quiet` has passed and the core has routed all.
size_t count_after(CoreProcess& core, const std::string& channel, Duration quiet) {
	std::this_thread::sleep_for(quiet);
	REQUIRE(core.sync());
	return values_of(core, channel).size();
}

}  // namespace

TEST_CASE("an async handler that sleeps 2 s does not hold up another channel of its instance", "[python][async]") {
	CoreProcess core(show("seq", {"slow", "fast"}, {"late", "quick"}), {{"seq.py", R"PY(
import midimonster
async def slow(value):
    await midimonster.sleep(2000)
    midimonster.output("late", value)
def fast(value):
    midimonster.output("quick", value)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.slow", 0.5);
	for (int i = 1; i <= 5; i++) {
		core.inject("t.fast", i / 10.0);
		CHECK(next_value(core, "t.quick") == Approx(i / 10.0));
	}
	CHECK(values_of(core, "t.late").empty());
	CHECK(next_value(core, "t.late") == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("every kind of handler may be async: default handler, interval, manage and cleanup", "[python][async]") {
	CoreProcess core("[python py1]\nmodule = kinds\ndefault-handler = kinds.anything\n[test t]\n[map]\n"
	                 "t.plain > py1.plain\nt.poke > py1.kinds.poke\npy1.seen > t.seen\npy1.tick > t.tick\n"
	                 "py1.data > t.data\n",
	                 {{"kinds.py", R"PY(
import asyncio, socket, midimonster
async def anything(value):
    await midimonster.sleep(10)
    print("current:", midimonster.current())
    midimonster.output("seen", value)

async def tick():
    await midimonster.sleep(5)
    midimonster.output("tick", 1)
midimonster.interval(tick, 20)

ours, theirs = socket.socketpair()
ours.setblocking(False)
calls = 0
async def on_data(sock):
    global calls
    calls += 1
    await midimonster.sleep(50)  # readable all along: the socket is not watched meanwhile
    data = sock.recv(100)
    midimonster.output("data", calls / 10)
midimonster.manage(on_data, ours)

def poke(value):
    theirs.send(b"x")

async def bye():
    await midimonster.sleep(10)
    with open("cleanup.txt", "w") as f:
        f.write("async cleanup ran")
midimonster.cleanup_handler(bye)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.plain", 0.25);
	CHECK(next_value(core, "t.seen") == Approx(0.25));
	REQUIRE_LOG(core, "py1: current: plain");
	CHECK(next_value(core, "t.tick") == Approx(1.0));
	core.inject("t.poke", 1.0);
	CHECK(next_value(core, "t.data") == Approx(0.1));
	core.inject("t.poke", 1.0);
	CHECK(next_value(core, "t.data") == Approx(0.2));
	CHECK(core.stop() == 0);
	CHECK(read_file(core.dir().file("cleanup.txt")) == "async cleanup ran");
}

TEST_CASE("an async interval() function's tick is skipped while its previous tick runs", "[python][async]") {
	CoreProcess core(show("ticks", {}, {"most"}), {{"ticks.py", R"PY(
import midimonster
running = most = ticks = 0
async def tick():
    global running, most, ticks
    running += 1
    most = max(most, running)
    await midimonster.sleep(35)
    running -= 1
    ticks += 1
    if ticks == 10:
        midimonster.output("most", most / 10)
midimonster.interval(tick, 10)
)PY"}});
	REQUIRE(core.wait_started());
	CHECK(next_value(core, "t.most") == Approx(0.1));
	CHECK(core.stop() == 0);
}

TEST_CASE("a fade steps at fade-rate and ends exactly on its target", "[python][async][fade]") {
	CoreProcess core(show("fades", {"go"}, {"dim"}, "fade-rate = 10\n"), {{"fades.py", R"PY(
import midimonster
async def go(value):
    done = await midimonster.fade("dim", 0.9, 500)
    print("fade returned", done)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	REQUIRE_LOG(core, "py1: fade returned True");
	REQUIRE(core.sync());
	// 500 ms at 10 steps per second: 5 steps from 0 to 0.9, the last one exactly 0.9.
	std::vector<double> dim = values_of(core, "t.dim");
	REQUIRE(dim.size() == 5);
	for (size_t i = 0; i < 4; i++) {
		CHECK(dim[i] == Approx(0.18 * static_cast<double>(i + 1)));
	}
	CHECK(dim[4] == 0.9);
	CHECK(core.stop() == 0);
}

TEST_CASE("fade curves: an S-curve and an exponential fade start slower than a linear one", "[python][async][fade]") {
	CoreProcess core(show("curves", {"go"}, {"lin", "s", "exp"}, "fade-rate = 4\n"), {{"curves.py", R"PY(
import asyncio, midimonster
async def go(value):
    await asyncio.gather(midimonster.fade("lin", 1, 1000), midimonster.fade("s", 1, 1000, curve="s-curve"),
                         midimonster.fade("exp", 1, 1000, curve="exponential"))
    print("curves done")
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	REQUIRE_LOG(core, "py1: curves done");
	REQUIRE(core.sync());
	std::vector<double> lin = values_of(core, "t.lin"), s = values_of(core, "t.s"), exp = values_of(core, "t.exp");
	REQUIRE(lin.size() == 4);
	REQUIRE(s.size() == 4);
	REQUIRE(exp.size() == 4);
	CHECK(lin[0] == Approx(0.25));
	CHECK(s[0] == Approx(0.15625));        // 3f^2 - 2f^3 at f = 1/4
	CHECK(s[1] == Approx(0.5));            // symmetric around the middle
	CHECK(exp[0] == Approx((std::pow(2.0, 2.5) - 1.0) / 1023.0).margin(1e-6));  // the core prints 6 decimals  // (2^(10f) - 1) / 1023
	CHECK(lin[3] == 1.0);
	CHECK(s[3] == 1.0);
	CHECK(exp[3] == 1.0);
	CHECK(core.stop() == 0);
}

TEST_CASE("a second fade on a channel replaces the first, which returns False", "[python][async][fade]") {
	CoreProcess core(show("xfade", {"up", "down"}, {"dim"}, "fade-rate = 20\n"), {{"xfade.py", R"PY(
import midimonster
async def up(value):
    print("up returned", await midimonster.fade("dim", 1.0, 2000))
async def down(value):
    print("down returned", await midimonster.fade("dim", 0.0, 200))
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.up", 1.0);
	double reached = next_value(core, "t.dim");
	reached = next_value(core, "t.dim");
	core.inject("t.down", 1.0);
	REQUIRE_LOG(core, "py1: down returned True");
	REQUIRE_LOG(core, "py1: up returned False");
	REQUIRE(core.sync());
	std::vector<double> dim = values_of(core, "t.dim");
	REQUIRE(!dim.empty());
	CHECK(dim.back() == 0.0);
	CHECK(reached > 0.0);
	// Nothing of the first fade after the second one ended.
	CHECK(count_after(core, "t.dim", Duration(500)) == dim.size());
	CHECK(core.stop() == 0);
}

TEST_CASE("overlap: by default an event runs its async handler beside the one still running", "[python][async]") {
	CoreProcess core(show("both", {"go"}, {"done"}), {{"both.py", R"PY(
import midimonster
async def go(value):
    await midimonster.sleep(300)
    midimonster.output("done", value)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 0.1);
	core.inject("t.go", 0.2);
	CHECK(next_value(core, "t.done") == Approx(0.1));
	CHECK(next_value(core, "t.done") == Approx(0.2));
	CHECK(core.stop() == 0);
}

TEST_CASE("overlap = cancel: an event cancels its channel's async handler that still runs", "[python][async]") {
	CoreProcess core(show("restart", {"go"}, {"began", "done", "cancelled"}, "overlap = cancel\n"),
	                 {{"restart.py", R"PY(
import asyncio, midimonster
async def go(value):
    midimonster.output("began", value)
    try:
        await midimonster.sleep(300)
        midimonster.output("done", value)
    except asyncio.CancelledError:
        midimonster.output("cancelled", value)
        raise
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 0.1);
	CHECK(next_value(core, "t.began") == Approx(0.1));
	core.inject("t.go", 0.2);
	CHECK(next_value(core, "t.cancelled") == Approx(0.1));
	CHECK(next_value(core, "t.done") == Approx(0.2));
	CHECK(values_of(core, "t.done").size() == 1);
	CHECK(core.stop() == 0);
}

TEST_CASE("a task that raises is logged with its traceback and who started it, and the show goes on",
          "[python][async][errors]") {
	CoreProcess core(show("failing", {"go", "ok"}, {"out"}), {{"failing.py", R"PY(
import asyncio, midimonster
async def go(value):
    await midimonster.sleep(10)
    asyncio.create_task(inner())
    raise ValueError("boom")

async def inner():
    await midimonster.sleep(10)
    raise KeyError("inside")

def ok(value):
    midimonster.output("out", value)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	REQUIRE_LOG(core, "py1: the task failing.go (started by the handler of channel failing.go) raised an exception:");
	REQUIRE_LOG(core, "failing.py\", line 6, in go");
	REQUIRE_LOG(core, "py1: ValueError: boom");
	REQUIRE_LOG(core, "py1: the task failing.inner (started by the task failing.go) raised an exception:");
	REQUIRE_LOG(core, "failing.py\", line 10, in inner");
	core.inject("t.ok", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	CHECK(core.stop() == 0);
	CHECK_FALSE(core.wait_log("never retrieved", Duration(0)));
}

TEST_CASE("asyncio's streams work on the host's loop: a local server and open_connection", "[python][async]") {
	CoreProcess core(show("streams", {"go"}, {"out"}), {{"streams.py", R"PY(
import asyncio, midimonster
async def echo(reader, writer):
    writer.write(await reader.readline())
    await writer.drain()
    writer.close()

async def go(value):
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"%f\n" % value)
    await writer.drain()
    midimonster.output("out", float(await reader.readline()))
    writer.close()
    server.close()
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 0.625);
	CHECK(next_value(core, "t.out") == Approx(0.625));
	CHECK(core.stop() == 0);
}

TEST_CASE("midimonster.thread() starts a coroutine function with the show, and its handle cancels it",
          "[python][async]") {
	CoreProcess core(show("chase", {"stop"}, {"step", "stopped"}), {{"chase.py", R"PY(
import midimonster
async def chase(period):
    n = 0
    try:
        while True:
            n += 1
            midimonster.output("step", (n % 10) / 10)
            await midimonster.sleep(period)
    finally:
        midimonster.output("stopped", 1)

running = midimonster.thread(chase, 20)   # at import: it starts with the show

def stop(value):
    running.cancel()
)PY"}});
	REQUIRE(core.wait_started());
	CHECK(next_value(core, "t.step") == Approx(0.1));
	CHECK(next_value(core, "t.step") == Approx(0.2));
	core.inject("t.stop", 1.0);
	CHECK(next_value(core, "t.stopped") == Approx(1.0));
	REQUIRE(core.sync());
	size_t steps = values_of(core, "t.step").size();
	CHECK(count_after(core, "t.step", Duration(200)) == steps);
	CHECK(core.stop() == 0);
}

TEST_CASE("at shutdown running tasks are cancelled, their finally blocks run, then the cleanup handler",
          "[python][async][lifecycle]") {
	CoreProcess core(show("ending", {"go"}, {"began"}), {{"ending.py", R"PY(
import midimonster
def note(text):
    with open("order.txt", "a") as f:
        f.write(text + "\n")

async def go(value):
    midimonster.output("began", value)
    try:
        await midimonster.sleep(60000)
    finally:
        note("finally %g" % value)

midimonster.cleanup_handler(lambda: note("cleanup"))
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 0.5);
	CHECK(next_value(core, "t.began") == Approx(0.5));
	CHECK(core.stop() == 0);
	CHECK(read_file(core.dir().file("order.txt")) == "finally 0.5\ncleanup\n");
}

TEST_CASE("handler-timeout interrupts a task that spins between awaits, not one that awaits for long",
          "[python][async][watchdog]") {
	CoreProcess core(show("spinner", {"spin", "wait"}, {"waited", "out"}, "handler-timeout = 300\n"),
	                 {{"spinner.py", R"PY(
import midimonster
async def spin(value):
    await midimonster.sleep(10)
    while True:
        pass

async def wait(value):
    for _ in range(8):
        await midimonster.sleep(100)
    midimonster.output("waited", value)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.wait", 0.5);
	CHECK(next_value(core, "t.waited") == Approx(0.5));
	CHECK_FALSE(core.wait_log("interrupting", Duration(0)));
	auto hosts = hosts_of(core);
	core.inject("t.spin", 1.0);
	REQUIRE_LOG(core, "py1: a task has held the asyncio loop for 300 ms without awaiting (handler-timeout); "
	                  "interrupting it");
	REQUIRE_LOG(core, "py1: the task spinner.spin (started by the handler of channel spinner.spin) raised an "
	                  "exception:");
	REQUIRE_LOG(core, "py1: midimonster.HandlerTimeout: the task spinner.spin (started by the handler of channel "
	                  "spinner.spin) held the loop for longer than handler-timeout (300 ms) without awaiting");
	core.inject("t.wait", 0.25);
	CHECK(next_value(core, "t.waited") == Approx(0.25));
	CHECK(hosts_of(core) == hosts);
	CHECK(core.stop() == 0);
}

TEST_CASE("10 000 sleeping tasks all wake up", "[python][async]") {
	CoreProcess core(show("many", {"go"}, {"all"}), {{"many.py", R"PY(
import midimonster
woke = 0
async def sleeper():
    global woke
    await midimonster.sleep(1000)
    woke += 1
    if woke == 10000:
        midimonster.output("all", 1)

def go(value):
    for _ in range(10000):
        midimonster.thread(sleeper)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	CHECK(next_value(core, "t.all", Duration(30000)) == Approx(1.0));
	CHECK(core.stop() == 0);
}

TEST_CASE("sleep(), fade() and thread() refuse bad arguments with a clear error", "[python][async][errors]") {
	CoreProcess core(show("bad", {"go"}, {"dim"}), {{"bad.py", R"PY(
import midimonster
def go(value):
    for call in ("midimonster.sleep(-1)", "midimonster.sleep(float('nan'))", "midimonster.sleep('5')",
                 "midimonster.fade('dim', float('nan'), 100)", "midimonster.fade('dim', 0.5, -3)",
                 "midimonster.fade('nosuch', 0.5, 100)", "midimonster.fade('dim', 0.5, 100, curve='cubic')",
                 "midimonster.thread(print)", "midimonster.thread(5)"):
        try:
            eval(call)
            print(call, "was accepted")
        except (TypeError, ValueError) as e:
            print("%s: %s" % (type(e).__name__, e))
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1.0);
	for (const char* line : {
	         "ValueError: sleep(): ms must be a finite number of milliseconds, 0 or more, not -1",
	         "ValueError: sleep(): ms must be a finite number of milliseconds, 0 or more, not nan",
	         "TypeError: sleep(): ms must be a number of milliseconds, not str",
	         "ValueError: fade(): the target for channel 'dim' must be a finite number, not nan",
	         "ValueError: fade(): ms must be a finite number of milliseconds, 0 or more, not -3",
	         "ValueError: fade(): 'nosuch' is not a channel of this instance",
	         "ValueError: fade(): unknown curve 'cubic' (known: linear, s-curve, exponential)",
	         "TypeError: thread(): the function must be a coroutine function (async def), not builtins.print",
	         "TypeError: thread(): the function must be a coroutine function (async def), not a int",
	     }) {
		REQUIRE_LOG(core, std::string("py1: ") + line);
	}
	CHECK_FALSE(core.wait_log("was accepted", Duration(0)));
	CHECK(core.stop() == 0);
}

TEST_CASE("overlap and fade-rate refuse values they do not know", "[python][async][config]") {
	REQUIRE_CONFIG_ERROR("[python py1]\noverlap = sometimes\n",
	                     "py1: option 'overlap' is 'both' (an event runs its async handler beside the one still "
	                     "running) or 'cancel' (it cancels that one first), not 'sometimes'");
	for (std::string value : {"0", "1001", "fast", "2.5"}) {
		INFO("fade-rate = " << value);
		REQUIRE_CONFIG_ERROR("[python py1]\nfade-rate = " + value + "\n",
		                     "py1: option 'fade-rate' needs a whole number of steps per second from 1 to 1000, "
		                     "not '" + value + "'");
	}
}

TEST_CASE("after a crash the log names the sequences that were running and are gone", "[python][async][supervision]") {
	CoreProcess core(show("gone", {"go"}, {"began"}), {{"gone.py", R"PY(
import midimonster
async def go(value):
    midimonster.output("began", value)
    await midimonster.sleep(60000)

async def chase():
    await midimonster.sleep(60000)
midimonster.thread(chase)
)PY"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 0.5);
	core.inject("t.go", 0.75);
	CHECK(next_value(core, "t.began") == Approx(0.5));
	CHECK(next_value(core, "t.began") == Approx(0.75));
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	// The host tells the shim what runs within a quarter of a second of a change.
	std::this_thread::sleep_for(Duration(1000));
	REQUIRE(kill(hosts[0], SIGKILL) == 0);
	REQUIRE_LOG(core, "py1: these sequences were running when the host was lost and are gone: gone.chase, "
	                  "gone.go (2 running)");
	REQUIRE(core.wait_log("py1: the host is back after", Duration(30000)));
	CHECK(core.stop() == 0);
}
