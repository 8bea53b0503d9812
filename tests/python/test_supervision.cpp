// Show safety in spawn and attach mode: whatever happens to a host, the core goes on, and
// Python comes back by itself with the configuration and the values it had.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// Remembers values, reports what the host knows, and can die in several ways on request.
const char* kStateModule = R"(
import faulthandler, os, time, midimonster

def scale(value):
    midimonster.output("out", value)

def report(value):
    midimonster.output("seen_in", midimonster.inputvalue("state.scale"))
    midimonster.output("seen_out", midimonster.outputvalue("out"))

def boom(value):
    faulthandler._sigsegv()

def poison(value):
    if value > 0.9:
        faulthandler._sigsegv()
    midimonster.output("out", value)

def boom_for_good(value):
    open("broken", "w").close()
    faulthandler._sigsegv()

# A marker file makes every later start of this module fail, as a broken install would.
if os.path.exists("broken"):
    os._exit(3)
# A slow import after a restart keeps the new host busy in its replay for a while.
if os.path.exists("slow"):
    time.sleep(3)
)";

const char* kStateConfig = R"(
[python py1]
module = state
[test t]
[map]
t.a > py1.state.scale
py1.out > t.out
t.ask > py1.state.report
py1.seen_in > t.seen_in
py1.seen_out > t.seen_out
t.boom > py1.state.boom
t.doom > py1.state.boom_for_good
t.poison > py1.state.poison
t.x > t.y
)";

// Sets the values the restarted host must still know: input 0.3 on state.scale, output 0.3.
void give_values(CoreProcess& core) {
	core.inject("t.a", 0.3);
	CHECK(next_value(core, "t.out") == Approx(0.3));
}

// The host knows the values give_values() set.
void require_values_restored(CoreProcess& core) {
	core.inject("t.ask", 1);
	CHECK(next_value(core, "t.seen_in") == Approx(0.3));
	CHECK(next_value(core, "t.seen_out") == Approx(0.3));
}

// Another backend's mapping is routed at once: the core did not stop.
void require_core_routes(CoreProcess& core, double value) {
	core.inject("t.x", value);
	CHECK(next_value(core, "t.y") == Approx(value));
}

}  // namespace

TEST_CASE("a host that segfaults is restarted at once and knows the last input and output values",
          "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);
	pid_t first = only_host(core);

	core.inject("t.boom", 1);
	// SIGSEGV normally; under AddressSanitizer its handler turns the crash into SIGABRT.
	REQUIRE_LOG(core, "py1: lost the host (pid " + std::to_string(first) + "): it closed the connection");
	auto cause = core.process().wait_stderr_anywhere(
	    matches("was killed by signal (11 \\(Segmentation fault\\)|6 \\(Aborted\\)); it had handled 1 input event\\. "
	            "restarting it now"));
	INFO(core.transcript());
	CHECK(cause);
	REQUIRE_LOG(core, "py1: the host is back after");
	require_core_routes(core, 0.5);
	require_values_restored(core);
	CHECK(only_host(core) != first);
	CHECK(core.stop() == 0);
}

TEST_CASE("a host killed with SIGKILL is restarted and the show goes on", "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);
	pid_t first = only_host(core);

	REQUIRE(kill(first, SIGKILL) == 0);
	REQUIRE_LOG(core, "was killed by signal 9 (Killed); it had handled 1 input event. restarting it now");
	REQUIRE_LOG(core, "py1: the host is back after");
	require_values_restored(core);
	core.inject("t.a", 0.8);
	CHECK(next_value(core, "t.out") == Approx(0.8));
	CHECK(core.stop() == 0);
	CHECK(gone_within(first, Duration(1000)));
}

TEST_CASE("inputs sent while the host restarts reach the new host", "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	std::ofstream(core.dir().file("slow")).close();
	core.inject("t.boom", 1);
	REQUIRE_LOG(core, "py1: started a new host");
	// The new host sleeps in its import now; the core holds these meanwhile.
	core.inject("t.a", 0.25);
	core.inject("t.a", 0.75);
	require_core_routes(core, 0.5);
	CHECK(next_value(core, "t.out", Duration(20000)) == Approx(0.75));
	REQUIRE_LOG(core, "2 input events waited for the host; it got the latest value of each of their 1 channels");
	CHECK(core.stop() == 0);
}

TEST_CASE("a stopped host (SIGSTOP) is noticed by its silence, killed and replaced", "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);
	pid_t first = only_host(core);

	REQUIRE(kill(first, SIGSTOP) == 0);
	require_core_routes(core, 0.5);
	core.inject("t.a", 0.3);  // waits in the socket of the stopped host
	REQUIRE_LOG(core, "it sent nothing for 3 s (it hangs, was stopped with SIGSTOP, or is stuck in a C call)");
	REQUIRE_LOG(core, "killed it; it had handled 1 input event. restarting it now");
	REQUIRE_LOG(core, "py1: the host is back after");
	CHECK(gone_within(first, Duration(5000)));
	require_values_restored(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("hosts that ran the show come back at once each time, however soon they die", "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	for (int kill_number = 1; kill_number <= 4; kill_number++) {
		core.inject("t.a", 0.1 * kill_number);
		CHECK(next_value(core, "t.out") == Approx(0.1 * kill_number));
		pid_t host = only_host(core);
		REQUIRE(kill(host, SIGKILL) == 0);
		// In order, each line once: the log lines of this kill, not of an earlier one.
		auto lost = core.process().wait_stderr(contains("py1: lost the host (pid " + std::to_string(host) + ")"));
		INFO(core.transcript());
		REQUIRE(lost);
		CHECK(lost->find("it was killed by signal 9 (Killed); it had handled 1 input event. restarting it now") !=
		      std::string::npos);
		REQUIRE(core.process().wait_stderr(contains("py1: the host is back after")));
		CHECK(gone_within(host, Duration(1000)));
	}
	for (const std::string& line : core.process().stderr_lines()) {
		CHECK(line.find("restarting it in") == std::string::npos);
	}
	CHECK(core.stop() == 0);
}

TEST_CASE("hosts that die on their first input (a poison input) back off, and the poison is not sent again",
          "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);
	// In order, each line once.
	auto next_line = [&](const std::string& text) {
		auto line = core.process().wait_stderr(contains(text), Duration(15000));
		INFO(core.transcript());
		REQUIRE(line);
		return *line;
	};
	core.inject("t.poison", 1.0);  // kills the show's host, which ran the show
	CHECK(next_line("py1: lost the host").find("; it had handled 1 input event. restarting it now") != std::string::npos);
	next_line("py1: the host is back after");
	core.inject("t.poison", 1.0);  // the new host's first input kills it too
	CHECK(next_line("py1: lost the host").find("; it had not handled any input since it started. restarting it in "
	                                           "0.5 s (2 failures in a row") != std::string::npos);
	next_line("py1: the host is back after");
	core.inject("t.poison", 1.0);
	CHECK(next_line("py1: lost the host").find("; it had not handled any input since it started. restarting it in "
	                                           "1.0 s (3 failures in a row") != std::string::npos);
	next_line("py1: the host is back after");
	// The poison is not sent to the next host again: it handles the next input, and lives.
	core.inject("t.poison", 0.4);
	CHECK(next_value(core, "t.out") == Approx(0.4));
	require_core_routes(core, 0.5);
	CHECK(core.stop() == 0);
}

TEST_CASE("a host that fails at every start is retried with growing pauses, not in a storm",
          "[python][supervision]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);
	core.inject("t.doom", 1);  // crashes, and every new host exits while importing

	REQUIRE_LOG(core, "restarting it now");
	REQUIRE_LOG(core, "it exited with status 3; it had not finished starting. restarting it in 0.5 s (2 failures in a "
	                  "row; the lines above say why)");
	REQUIRE_LOG(core, "restarting it in 1.0 s (3 failures in a row");
	REQUIRE_LOG(core, "restarting it in 2.0 s (4 failures in a row");
	require_core_routes(core, 0.5);
	// Inputs meanwhile wait for a host that works again.
	core.inject("t.a", 0.6);
	auto attempts = [&] {
		size_t count = 0;
		for (const std::string& line : core.process().stderr_lines()) {
			count += line.find("py1: started a new host") != std::string::npos;
		}
		return count;
	};
	size_t so_far = attempts();
	std::this_thread::sleep_for(Duration(2000));
	core.process().pump();
	CHECK(attempts() <= so_far + 2);  // pauses of 2 s and more from here on

	std::remove(core.dir().file("broken").c_str());
	REQUIRE(core.wait_log("py1: the host is back after", Duration(30000)));
	CHECK(next_value(core, "t.out") == Approx(0.6));
	CHECK(core.stop() == 0);
}

TEST_CASE("10000 inputs while the host is away: each channel's latest value arrives, core memory stays flat",
          "[python][supervision]") {
	const char* module = R"(
import faulthandler, os, midimonster
def record(value):
    with open("seen.txt", "a") as seen:
        seen.write("%s %.6f\n" % (midimonster.current(), value))
def poison(value):
    if value > 0.9:
        faulthandler._sigsegv()
    midimonster.output("out", value)

def boom_for_good(value):
    open("broken", "w").close()
    faulthandler._sigsegv()
if os.path.exists("broken"):
    os._exit(3)
)";
	CoreOptions options = for_memory_measurement();
	CoreProcess core(R"(
[python py1]
module = flood
default-handler = flood.record
[test t]
[map]
t.f{0..99} > py1.f{0..99}
t.doom > py1.flood.boom_for_good
)",
	                 {{"flood.py", module}}, options);
	REQUIRE(core.wait_started());
	core.inject("t.doom", 1);
	REQUIRE_LOG(core, "restarting it in 0.5 s");

	core.send("flood t.f 100 10000");
	REQUIRE(core.sync());
	long after_first = core_rss_kb(core);
	for (int round = 0; round < 10; round++) {
		core.send("flood t.f 100 10000");
		REQUIRE(core.sync());  // one burst at a time: the test core's own queue stays the same size
	}
	long after_more = core_rss_kb(core);
	// 100 000 more events held: memory is bounded by the 100 channels, not the events.
	CHECK(after_more - after_first < 1024);

	std::remove(core.dir().file("broken").c_str());
	REQUIRE(core.wait_log("py1: the host is back after", Duration(30000)));
	REQUIRE_LOG(core, "110000 input events waited for the host; it got the latest value of each of their 100 channels");
	std::string seen;
	for (int waited = 0; waited < 200; waited++) {
		seen = read_file(core.dir().file("seen.txt"));
		if (std::count(seen.begin(), seen.end(), '\n') >= 100) {
			break;
		}
		std::this_thread::sleep_for(Duration(50));
	}
	INFO(seen);
	CHECK(std::count(seen.begin(), seen.end(), '\n') == 100);
	// flood gives channel u of N the final value (COUNT - N + u + 1) / COUNT.
	for (int u = 0; u < 100; u++) {
		char line[64];
		std::snprintf(line, sizeof(line), "f%d %.6f\n", u, (10000 - 100 + u + 1) / 10000.0);
		CHECK(seen.find(line) != std::string::npos);
	}
	CHECK(core.stop() == 0);
}

TEST_CASE("attach mode: the operator restarts the host during the show and the shim reconnects by itself",
          "[python][supervision][attach]") {
	TempDir sockets;
	std::string path = sockets.file("host.sock");
	auto listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", path});
	REQUIRE(listener->wait_stderr(contains("listening on")));
	CoreProcess core("[backend python]\nsocket = " + path + "\n" + kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	give_values(core);

	listener->signal(SIGTERM);
	REQUIRE(listener->wait_exit());
	REQUIRE_LOG(core, "py1: lost the host: mm-pyhost stopped");
	REQUIRE_LOG(core, "reconnecting now");
	REQUIRE_LOG(core, "py1: cannot bring the host back: cannot reach mm-pyhost at " + path);
	require_core_routes(core, 0.5);

	listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", path});
	REQUIRE(listener->wait_stderr(contains("listening on")));
	REQUIRE(core.wait_log("py1: the host is back after", Duration(30000)));
	require_values_restored(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("shutdown is orderly while the host is stopped (SIGSTOP)", "[python][supervision][shutdown]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	pid_t host = only_host(core);
	REQUIRE(kill(host, SIGSTOP) == 0);
	CHECK(core.stop(Duration(20000)) == 0);
	REQUIRE_LOG(core, "py1: the host did not finish its cleanup: the host sent nothing for 3 s");
	CHECK(gone_within(host, Duration(5000)));
}

TEST_CASE("shutdown is orderly while the host is away and its restart keeps failing",
          "[python][supervision][shutdown]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	core.inject("t.doom", 1);
	REQUIRE_LOG(core, "restarting it in 0.5 s");
	core.inject("t.a", 0.4);
	REQUIRE(core.sync());
	auto hosts = hosts_of(core);
	CHECK(core.stop() == 0);
	REQUIRE_LOG(core, "py1: 1 input events on 1 channels never reached a host");
	for (pid_t pid : hosts) {
		CHECK(gone_within(pid, Duration(5000)));
	}
}

TEST_CASE("shutdown is orderly while a new host is still starting", "[python][supervision][shutdown]") {
	CoreProcess core(kStateConfig, {{"state.py", kStateModule}});
	REQUIRE(core.wait_started());
	std::ofstream(core.dir().file("slow")).close();
	core.inject("t.boom", 1);
	REQUIRE_LOG(core, "py1: started a new host");
	auto hosts = hosts_of(core);
	CHECK(core.stop(Duration(20000)) == 0);
	for (pid_t pid : hosts) {
		CHECK(gone_within(pid, Duration(5000)));
	}
	CHECK(core.transcript().find("did not finish its cleanup") == std::string::npos);
}

TEST_CASE("a relative socket path means the configuration's folder, also when the shim reconnects later",
          "[python][supervision][attach]") {
	TempDir show, elsewhere;
	show.write("relay.py", "import midimonster\ndef handler(value):\n    midimonster.output(\"out\", value)\n");
	std::string config = show.write("show.cfg", R"([backend python]
socket = host.sock
[python py1]
module = relay
[test t]
[map]
t.in > py1.relay.handler
py1.out > t.out
)");
	auto listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", show.file("host.sock")});
	REQUIRE(listener->wait_stderr(contains("listening on")));
	// The core runs from another folder; it is in the configuration's folder only while reading it.
	SpawnOptions from_elsewhere;
	from_elsewhere.cwd = elsewhere.path();
	ChildProcess core({mmcore_path(), "-p", plugin_dir(), config}, from_elsewhere);
	REQUIRE(core.wait_stdout(contains("started")));

	listener->signal(SIGTERM);
	REQUIRE(listener->wait_exit());
	listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", show.file("host.sock")});
	REQUIRE(listener->wait_stderr(contains("listening on")));
	auto back = core.wait_stderr(contains("py1: the host is back after"), Duration(30000));
	INFO(core.transcript());
	REQUIRE(back);
	core.send_line("inject t.in 0.5");
	CHECK(core.wait_stdout(contains("event t.out 0.500000")));
	core.send_line("quit");
	CHECK(core.wait_exit() == 0);
}
