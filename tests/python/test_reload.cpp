// Changing code during a show, end to end: live reload on save and on SIGHUP, through the
// test core, the real shim and real hosts; what a reload keeps (values, midimonster.state),
// what a failed one leaves running, and the state a crash restart gets back.
#include <catch2/catch.hpp>
#include <signal.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// Instance py1 with module `show` (show.py) and `options`; t.in > py1.show.on_in, and
// py1.out > t.out.
std::string show_config(const std::string& options = "reload = on-save\n") {
	return "[python py1]\nmodule = show\n" + options +
	       "[test t]\n[map]\nt.in > py1.show.on_in\npy1.out > t.out\npy1.other > t.other\n";
}

// show.py in the version that answers an input with `value` * `factor`, counting the
// inputs it saw in midimonster.state["seen"].
std::string version(double factor, const std::string& extra = "") {
	return "import midimonster\nmidimonster.state.setdefault('seen', 0)\n"
	       "def on_in(value):\n"
	       "    midimonster.state['seen'] += 1\n"
	       "    midimonster.output('out', value * " + std::to_string(factor) + ")\n" + extra;
}

// The (only) host of the core's py1.
pid_t host_of(CoreProcess& core) {
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	return hosts[0];
}

// Saves show.py as an editor would: a new file renamed over the old one.
void save(CoreProcess& core, const std::string& name, const std::string& text) {
	std::string temporary = core.dir().write("." + name + ".swp", text);
	REQUIRE(rename(temporary.c_str(), core.dir().file(name).c_str()) == 0);
}

// Sends an input and returns the answer on t.out.
double answer(CoreProcess& core, double value) {
	core.inject("t.in", value);
	return next_value(core, "t.out");
}

}  // namespace

namespace {

// The number of the core's log lines so far that contain `text`.
size_t log_count(CoreProcess& core, const std::string& text) {
	core.process().pump();
	size_t count = 0;
	for (const std::string& line : core.process().stderr_lines()) {
		count += line.find(text) != std::string::npos;
	}
	return count;
}

// Waits until `count` log lines contain `text` (wait_log() finds the first one again).
void require_logged(CoreProcess& core, const std::string& text, size_t count) {
	auto deadline = std::chrono::steady_clock::now() + default_timeout;
	while (log_count(core, text) < count && std::chrono::steady_clock::now() < deadline) {
		std::this_thread::sleep_for(Duration(10));
	}
	INFO("waiting for " << count << " log lines with: " << text << "\n" << core.transcript());
	REQUIRE(log_count(core, text) == count);
}

// The number of events on `channel` so far.
size_t count_of(CoreProcess& core, const std::string& channel) {
	size_t count = 0;
	for (const Event& event : core.events()) {
		count += event.channel == channel;
	}
	return count;
}

// The pid in the core's "mm-pyhost PID ready" line.
pid_t logged_host_pid(CoreProcess& core) {
	auto line = core.wait_log("py1: mm-pyhost ");
	REQUIRE(line);
	size_t at = line->find("mm-pyhost ") + 10;
	return static_cast<pid_t>(std::atol(line->c_str() + at));
}

}  // namespace

TEST_CASE("a saved module runs at once, with the values and midimonster.state of the old one", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.25) == Approx(0.25));
	CHECK(answer(core, 0.5) == Approx(0.5));
	pid_t host = host_of(core);

	save(core, "show.py", version(0.5, "def seen():\n    return midimonster.state['seen']\n"
	                                   "midimonster.output('other', midimonster.inputvalue('show.on_in'))\n"));
	REQUIRE_LOG(core, "py1: reload (saved): show.py changed; stopping the version of ");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(host_of(core) == host);  // the same process: nothing restarted

	// The new code sees the old state and the last input value; its import-time output()
	// changed nothing (the show's values stay).
	save(core, "show.py", version(0.5, "def on_other(value):\n    pass\n"
	                                   "midimonster.output('other', midimonster.state['seen'] / 10)\n"
	                                   "print('seen', midimonster.state['seen'], 'last', midimonster.inputvalue('show.on_in'))\n"));
	REQUIRE_LOG(core, "py1: seen 3 last 0.5");
	require_logged(core, "py1: reloaded: now running the version of ", 2);
	REQUIRE(core.sync());
	CHECK(core.events().size() == 3);  // the three answers; no t.other
	CHECK(core.stop() == 0);
}


TEST_CASE("a reload with a syntax error leaves the old version running and names the file and line",
          "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.5) == Approx(0.5));
	save(core, "show.py", "import midimonster\n\ndef on_in(value)\n    pass\n");
	REQUIRE_LOG(core, "py1: reload failed: SyntaxError: expected ':' (show.py, line 3); still running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.5));
	CHECK(log_count(core, "stopping the version of") == 0);  // the old version never stopped

	// The next save tries again.
	save(core, "show.py", version(0.5));
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("a reload whose import raises goes back to the old version, with its state", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0, "print('imported, seen', midimonster.state['seen'])\n")}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.5) == Approx(0.5));
	save(core, "show.py", "import midimonster\n\nraise ValueError('no fixture file')\n");
	REQUIRE_LOG(core, "py1: reload failed: failed to import module 'show': ValueError: no fixture file (show.py, line 3); "
	                  "still running the version of ");
	CHECK(log_count(core, "imported, seen 1") == 1);  // the old version imported again, from its kept text
	CHECK(answer(core, 0.5) == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("a reload that lacks a mapped handler goes back to the old version", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	save(core, "show.py", "import midimonster\ndef on_input(value):\n    pass\n");
	REQUIRE_LOG(core, "py1: reload failed: the new version has no handler for channel show.on_in; still running the "
	                  "version of ");
	CHECK(answer(core, 0.5) == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("a reload stops the old version's intervals and tasks and runs its cleanup handler", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0, R"PY(
import asyncio
def tick():
    midimonster.output('other', 1.0 - midimonster.outputvalue('other'))
midimonster.interval(tick, 20)
async def forever():
    try:
        await asyncio.sleep(3600)
    finally:
        print('the task of the old version ends')
midimonster.thread(forever)
def bye():
    print('cleanup of the old version')
midimonster.cleanup_handler(bye)
)PY")}});
	REQUIRE(core.wait_started());
	REQUIRE(core.wait_event("t.other"));
	save(core, "show.py", version(0.5));
	REQUIRE_LOG(core, "py1: the task of the old version ends");
	REQUIRE_LOG(core, "py1: cleanup of the old version");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	size_t ticks = count_of(core, "t.other");
	std::this_thread::sleep_for(Duration(200));
	REQUIRE(core.sync());
	CHECK(count_of(core, "t.other") == ticks);
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(core.stop() == 0);
}

namespace {

// A free TCP port on 127.0.0.1 (the kernel's pick, released again).
int free_port() {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t length = sizeof(address);
	REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
	REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
	close(fd);
	return ntohs(address.sin_port);
}

// What a server on 127.0.0.1:`port` says before it closes the connection.
std::string ask(int port) {
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_port = htons(static_cast<uint16_t>(port));
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
		close(fd);
		return "connection refused";
	}
	std::string said;
	char buffer[64];
	for (ssize_t got; (got = read(fd, buffer, sizeof(buffer))) > 0;) {
		said.append(buffer, static_cast<size_t>(got));
	}
	close(fd);
	return said;
}

// A module that listens on `port` from its top level, without a cleanup handler.
std::string listening_version(int port, int number) {
	return version(1.0, "import socket\nserver = socket.socket()\n"
	                    "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
	                    "server.bind(('127.0.0.1', " + std::to_string(port) + "))\n"
	                    "server.listen()\nserver.setblocking(False)\n"
	                    "def on_connect(sock):\n"
	                    "    connection, _ = sock.accept()\n"
	                    "    connection.sendall(b'version " + std::to_string(number) + "')\n"
	                    "    connection.close()\n"
	                    "midimonster.manage(on_connect, server)\n");
}

}  // namespace

TEST_CASE("a module that listens on a TCP port at import is reloaded three times", "[python][reload]") {
	int port = free_port();
	CoreProcess core(show_config(), {{"show.py", listening_version(port, 1)}});
	REQUIRE(core.wait_started());
	CHECK(ask(port) == "version 1");
	for (int number = 2; number <= 4; number++) {
		save(core, "show.py", listening_version(port, number));
		require_logged(core, "py1: reloaded: now running the version of ", number - 1);
		CHECK(ask(port) == "version " + std::to_string(number));
	}
	CHECK(log_count(core, "reload failed") == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("inputs sent all through a reload are each answered once, in order, the held ones by the new code",
          "[python][reload]") {
	// The old version's cleanup handler takes 50 ms, so inputs surely arrive during the switch-over.
	CoreProcess core(show_config(), {{"show.py", version(1.0, "import time\n"
	                                                           "midimonster.cleanup_handler(lambda: time.sleep(0.05))\n")}});
	REQUIRE(core.wait_started());
	const int kInputs = 300;
	for (int i = 1; i <= kInputs; i++) {
		core.inject("t.in", i / 1000.0);
		if (i == 50) {
			save(core, "show.py", version(0.5));
		}
		std::this_thread::sleep_for(std::chrono::microseconds(1000));
	}
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	REQUIRE_LOG(core, "inputs held meanwhile go to it now)");
	REQUIRE(core.sync());
	std::vector<double> answers;
	for (const Event& event : core.events()) {
		if (event.channel == "t.out") {
			answers.push_back(event.value);
		}
	}
	REQUIRE(answers.size() == kInputs);
	// Input i was answered by the old code (i/1000) up to some point, and by the new code
	// (i/2000) from then on: each once, in order.
	size_t switched = 0;
	while (switched < answers.size() && answers[switched] == Approx((switched + 1) / 1000.0).margin(1e-6)) {
		switched++;
	}
	CHECK(switched >= 50);
	CHECK(switched < answers.size());
	for (size_t i = switched; i < answers.size(); i++) {
		CHECK(answers[i] == Approx((i + 1) / 2000.0).margin(1e-6));
	}
	CHECK(core.stop() == 0);
}

TEST_CASE("three writes within 100 ms make one reload, of the last text", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	for (double factor : {0.9, 0.8, 0.5}) {
		core.dir().write("show.py", version(factor));  // in place, as some editors write
		std::this_thread::sleep_for(Duration(10));
	}
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	std::this_thread::sleep_for(Duration(500));
	CHECK(log_count(core, "reloaded: now running") == 1);
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("SIGHUP to the host reloads, with or without reload = on-save", "[python][reload]") {
	CoreProcess core(show_config(""), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	save(core, "show.py", version(0.5));
	std::this_thread::sleep_for(Duration(400));
	CHECK(log_count(core, "reload") == 0);  // reload is off: a save changes nothing
	CHECK(answer(core, 0.5) == Approx(0.5));

	REQUIRE(kill(host_of(core), SIGHUP) == 0);
	REQUIRE_LOG(core, "py1: reload (SIGHUP): show.py changed; stopping the version of ");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));

	// Unchanged files are imported again all the same: the operator asked.
	REQUIRE(kill(host_of(core), SIGHUP) == 0);
	REQUIRE_LOG(core, "py1: reload (SIGHUP): no file changed; stopping the version of ");
	require_logged(core, "py1: reloaded: now running", 2);
	CHECK(core.stop() == 0);
}

TEST_CASE("attach mode: a saved module reloads in the listener's host", "[python][reload][attach]") {
	TempDir sockets;
	std::string path = sockets.file("host.sock");
	ChildProcess listener({host_path(), "--listen", path});
	REQUIRE(listener.wait_stderr(contains("listening on")));
	CoreProcess core("[backend python]\nsocket = " + path + "\n" + show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	pid_t host = logged_host_pid(core);
	CHECK(answer(core, 0.5) == Approx(0.5));
	save(core, "show.py", version(0.5));
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	REQUIRE(kill(host, SIGHUP) == 0);
	REQUIRE_LOG(core, "py1: reload (SIGHUP)");
	require_logged(core, "py1: reloaded: now running", 2);
	// SIGHUP to the listener (systemctl --user reload mm-pyhost) reloads every instance host.
	REQUIRE(listener.signal(SIGHUP));
	require_logged(core, "py1: reloaded: now running", 3);
	CHECK(listener.wait_stderr(contains("SIGHUP: every instance host reloads its show's code")));
	CHECK(core.stop() == 0);
}

TEST_CASE("a host that crashes after a reload comes back with the new code and the state of a second before",
          "[python][reload][supervision]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.5) == Approx(0.5));
	save(core, "show.py", version(0.5, "print('imported, seen', midimonster.state['seen'])\n"));
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(answer(core, 0.4) == Approx(0.2));
	std::this_thread::sleep_for(Duration(1100));  // a snapshot is at most a second old
	REQUIRE(kill(host_of(core), SIGKILL) == 0);
	REQUIRE_LOG(core, "py1: the host is back after");
	REQUIRE_LOG(core, "py1: imported, seen 3");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("a value of midimonster.state that cannot be pickled is named, and the others survive a crash",
          "[python][reload][supervision]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0, R"PY(
if 'started' not in midimonster.state:
    midimonster.state['started'] = 1
    midimonster.state['log'] = open(__file__)
print('state keys:', sorted(midimonster.state))
)PY")}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: midimonster.state['log'] is not kept across a crash: it cannot be pickled (TypeError: "
	                  "cannot pickle '_io.TextIOWrapper' object)");
	CHECK(answer(core, 0.5) == Approx(0.5));
	std::this_thread::sleep_for(Duration(1100));
	REQUIRE(kill(host_of(core), SIGKILL) == 0);
	REQUIRE_LOG(core, "py1: the host is back after");
	REQUIRE_LOG(core, "py1: state keys: ['seen', 'started']");
	CHECK(log_count(core, "is not kept across a crash") == 1);  // said once, not every snapshot
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: reload takes on-save or off", "[python][reload][bad-input][config]") {
	REQUIRE_CONFIG_ERROR(show_config("reload = always\n"),
	                     "option 'reload' is 'on-save' (saving one of the show's files reloads it) or 'off' (only "
	                     "SIGHUP to the host reloads), not 'always'");
}

TEST_CASE("a module that failed to import at start does not keep the others from reloading", "[python][reload]") {
	CoreProcess core("[python py1]\nmodule = show\nmodule = missing_device_library\nreload = on-save\n[test t]\n[map]\n"
	                 "t.in > py1.show.on_in\npy1.out > t.out\n",
	                 {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: failed to import module 'missing_device_library'");
	save(core, "show.py", version(0.5));
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(log_count(core, "reload failed") == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("what the old code outputs while it stops reaches neither the stage nor the new code", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0, R"PY(
def blackout():
    midimonster.output('other', 0.0)
    print('cleanup output done')
midimonster.cleanup_handler(blackout)
def on_other(value):
    pass
)PY")}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.75) == Approx(0.75));  // t.out (and so py1.out) is at 0.75
	core.inject("t.in", 0.6);
	CHECK(next_value(core, "t.out") == Approx(0.6));
	save(core, "show.py", version(1.0, "print('out is still', midimonster.outputvalue('out'), "
	                                   "'other is', midimonster.outputvalue('other'))\n"));
	REQUIRE_LOG(core, "py1: cleanup output done");
	REQUIRE_LOG(core, "py1: out is still 0.6 other is 0.0");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	REQUIRE(core.sync());
	CHECK(count_of(core, "t.other") == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("a value of a class the show defines is kept across a reload and a crash after it", "[python][reload][supervision]") {
	std::string cue = R"PY(
class Cue:
    def __init__(self, number):
        self.number = number
midimonster.state.setdefault('cue', Cue(1))
def on_next(value):
    midimonster.state['cue'].number += 1
    midimonster.output('other', midimonster.state['cue'].number / 10)
)PY";
	CoreProcess core("[python py1]\nmodule = show\nreload = on-save\n[test t]\n[map]\nt.in > py1.show.on_in\n"
	                 "t.next > py1.show.on_next\npy1.out > t.out\npy1.other > t.other\n",
	                 {{"show.py", version(1.0, cue)}});
	REQUIRE(core.wait_started());
	core.inject("t.next", 1);
	CHECK(next_value(core, "t.other") == Approx(0.2));
	save(core, "show.py", version(0.5, cue));
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	core.inject("t.next", 1);
	CHECK(next_value(core, "t.other") == Approx(0.3));  // the very object, of the old class
	std::this_thread::sleep_for(Duration(1100));
	REQUIRE(kill(host_of(core), SIGKILL) == 0);
	REQUIRE_LOG(core, "py1: the host is back after");
	core.inject("t.next", 1);
	CHECK(next_value(core, "t.other") == Approx(0.4));  // restored once show.Cue exists again
	CHECK(log_count(core, "not kept across a crash") == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("going back imports the old version's helper module from its kept text after the file was deleted",
          "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", "import midimonster, helper\n"
	                                             "def on_in(value):\n    midimonster.output('out', helper.scale(value))\n"},
	                                 {"helper.py", "def scale(value):\n    return value / 4\n"}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.8) == Approx(0.2));
	REQUIRE(unlink(core.dir().file("helper.py").c_str()) == 0);
	save(core, "show.py", "import midimonster\nraise RuntimeError('half written')\n");
	REQUIRE_LOG(core, "py1: reload failed: failed to import module 'show': RuntimeError: half written (show.py, line 2); "
	                  "still running the version of ");
	CHECK(answer(core, 0.8) == Approx(0.2));
	CHECK(core.stop() == 0);
}

TEST_CASE("MIDIMonster stops in order while a reload waits for the old cleanup handler", "[python][reload][shutdown]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0, "import time\n"
	                                                           "def slow_bye():\n    time.sleep(1)\n    print('old cleanup ran')\n"
	                                                           "midimonster.cleanup_handler(slow_bye)\n")}});
	REQUIRE(core.wait_started());
	pid_t host = host_of(core);
	save(core, "show.py", version(0.5));
	REQUIRE_LOG(core, "py1: reload (saved)");
	CHECK(core.stop() == 0);
	INFO(core.transcript());
	CHECK(log_count(core, "old cleanup ran") == 1);  // once: the shutdown did not run it again
	CHECK(gone_within(host, Duration(5000)));
}
