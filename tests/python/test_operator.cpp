// The operator's commands end to end: `mm-pyhost list`, `status`, `values`, `inject` and
// `reload` against the test core, the real shim and real hosts, in spawn and attach mode,
// each in a private runtime folder (XDG_RUNTIME_DIR) of its own.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "python_test.h"

using namespace mmpy::test;

namespace {

struct Command {
	int status = -1;
	std::string out;
	std::string err;
};

// Runs `mm-pyhost ARGS...` to its end.
Command run(const Runtime& runtime, const std::vector<std::string>& args) {
	std::vector<std::string> argv{host_path()};
	argv.insert(argv.end(), args.begin(), args.end());
	SpawnOptions options;
	options.env = runtime.env();
	ChildProcess child(argv, options);
	auto status = child.wait_exit();
	REQUIRE(status);
	Command result;
	result.status = *status;
	for (const std::string& line : child.stdout_lines()) {
		result.out += line + "\n";
	}
	for (const std::string& line : child.stderr_lines()) {
		result.err += line + "\n";
	}
	return result;
}

// VmRSS of `pid` in kB.
long process_rss_kb(pid_t pid) {
	std::string status = read_file("/proc/" + std::to_string(pid) + "/status");
	size_t at = status.find("VmRSS:");
	REQUIRE(at != std::string::npos);
	return std::atol(status.c_str() + at + 6);
}

const char* kConfig =
    "[python py1]\nmodule = show\n[test t]\n[map]\nt.in > py1.show.on_in\npy1.out > t.out\n";
const char* kShow = "import midimonster\ndef on_in(value):\n    midimonster.output('out', value / 2)\n";

}  // namespace

TEST_CASE("operator: list, status and values show a running instance", "[python][operator]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	CHECK(next_value((core.inject("t.in", 0.5), core), "t.out") == Approx(0.25));
	pid_t host = hosts_of(core).at(0);
	std::string pids = std::to_string(core.process().pid());

	Command list = run(runtime, {"list"});
	INFO(list.out << list.err);
	CHECK(list.status == 0);
	CHECK(list.out.find("CORE PID") == 0);
	CHECK(list.out.find(pids + " ") != std::string::npos);
	CHECK(list.out.find(" py1 ") != std::string::npos);
	CHECK(list.out.find(" spawn ") != std::string::npos);
	CHECK(list.out.find(" " + std::to_string(host) + " ") != std::string::npos);
	CHECK(list.out.find(" up ") != std::string::npos);

	Command json = run(runtime, {"list", "--json"});
	auto parsed = nlohmann::json::parse(json.out);
	REQUIRE(parsed.size() == 1);
	CHECK(parsed[0]["status"]["instance"] == "py1");
	CHECK(parsed[0]["status"]["core_pid"] == core.process().pid());
	CHECK(parsed[0]["status"]["events"] == 1);
	CHECK(parsed[0]["status"]["modules"] == nlohmann::json::array({"show"}));

	Command status = run(runtime, {"status", "py1"});
	INFO(status.out << status.err);
	CHECK(status.status == 0);
	CHECK(status.out.find("py1 (MIDIMonster pid " + pids + "): up for ") == 0);
	CHECK(status.out.find("  events handled  1\n") != std::string::npos);
	CHECK(status.out.find("  last error      none\n") != std::string::npos);

	Command values = run(runtime, {"values", pids + "/py1", "show.*"});
	INFO(values.out << values.err);
	CHECK(values.status == 0);
	CHECK(values.out.find("show.on_in") != std::string::npos);
	CHECK(values.out.find("0.500000") != std::string::npos);
	CHECK(values.out.find("\nout ") == std::string::npos);  // the pattern left it out
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: inject runs the handler and its output reaches the core", "[python][operator]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	Command inject = run(runtime, {"inject", "py1", "show.on_in", "0.8"});
	INFO(inject.out << inject.err);
	CHECK(inject.status == 0);
	CHECK(inject.out == "py1: show.on_in <- 0.8: its handler ran\n");
	CHECK(next_value(core, "t.out") == Approx(0.4));
	Command values = run(runtime, {"values", "py1", "--json"});
	auto rows = nlohmann::json::parse(values.out)["values"];
	CHECK(rows[0][0] == "show.on_in");
	CHECK(rows[0][1] == 0.8);
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: reload answers how it went", "[python][operator][reload]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	core.dir().write("show.py", "import midimonster\ndef on_in(value):\n    midimonster.output('out', value)\n");
	Command good = run(runtime, {"reload", "py1"});
	INFO(good.out << good.err);
	CHECK(good.status == 0);
	CHECK(good.out.find("py1: reloaded: now running the version of ") == 0);
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));

	core.dir().write("show.py", "import midimonster\ndef on_in(value)\n");
	Command bad = run(runtime, {"reload", "py1"});
	INFO(bad.out << bad.err);
	CHECK(bad.status == 1);
	CHECK(bad.err.find("mm-pyhost: py1: reload failed: SyntaxError: expected ':' (show.py, line 2); still running the "
	                   "version of ") == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: attach mode answers every command", "[python][operator][attach]") {
	Runtime runtime;
	std::string path = runtime.dir.file("host.sock");
	SpawnOptions options;
	options.env = runtime.env();
	ChildProcess listener({host_path(), "--listen", path}, options);
	REQUIRE(listener.wait_stderr(contains("listening on")));
	CoreProcess core("[backend python]\nsocket = " + path + "\n" + kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	Command list = run(runtime, {"list"});
	INFO(list.out << list.err);
	CHECK(list.out.find(" attach ") != std::string::npos);
	Command inject = run(runtime, {"inject", "py1", "show.on_in", "1"});
	CHECK(inject.status == 0);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	Command status = run(runtime, {"status", "py1"});
	CHECK(status.out.find(", attach mode, host pid ") != std::string::npos);
	CHECK(status.out.find("  events handled  1\n") != std::string::npos);
	Command values = run(runtime, {"values", "py1", "--json"});
	CHECK(nlohmann::json::parse(values.out)["values"][0][1] == 1.0);
	Command logs = run(runtime, {"logs", "py1"});
	CHECK(logs.status == 0);
	SpawnOptions spawn;
	spawn.env = runtime.env();
	ChildProcess monitor({host_path(), "monitor", "py1"}, spawn);
	REQUIRE(monitor.wait_stderr(contains("py1: monitoring every channel until Ctrl-C")));
	core.inject("t.in", 0.5);
	CHECK(monitor.wait_stdout(contains("  out  out ")));
	CHECK(next_value(core, "t.out") == Approx(0.25));
	core.dir().write("show.py", "import midimonster\ndef on_in(value):\n    midimonster.output('out', value)\n");
	Command reload = run(runtime, {"reload", "py1"});
	CHECK(reload.out.find("py1: reloaded: now running the version of ") == 0);
	pid_t old_host = nlohmann::json::parse(run(runtime, {"status", "py1", "--json"}).out)["status"]["host_pid"];
	Command restart = run(runtime, {"restart", "py1"});
	INFO(restart.out << restart.err);
	CHECK(restart.status == 0);
	CHECK(restart.out.find("py1: restarted: host pid " + std::to_string(old_host) + " -> ") == 0);
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));  // the reloaded code, in the new host
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: bad input gets an error that says what exists, and an exit status", "[python][operator][bad-input]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	std::string pid = std::to_string(core.process().pid());

	Command missing = run(runtime, {"status", "py2"});
	CHECK(missing.status == 3);
	CHECK(missing.err == "mm-pyhost: no instance py2; running: py1 in MIDIMonster pid " + pid + "\n");
	Command other_core = run(runtime, {"status", "1/py1"});
	CHECK(other_core.status == 3);

	Command channel = run(runtime, {"inject", "py1", "show.nope", "0.5"});
	CHECK(channel.status == 1);
	CHECK(channel.err == "mm-pyhost: py1: no channel show.nope in py1 ('mm-pyhost values py1' lists its 2 channels)\n");
	for (const char* value : {"1.5", "-0.1", "nan", "half", ""}) {
		Command range = run(runtime, {"inject", "py1", "show.on_in", value});
		CHECK(range.status == 1);
		CHECK(range.err == "mm-pyhost: py1: the value must be a number from 0 to 1, not '" + std::string(value) + "'\n");
	}
	Command usage = run(runtime, {"inject", "py1"});
	CHECK(usage.status == 2);
	CHECK(usage.err.find("usage: mm-pyhost --listen") == 0);
	CHECK(usage.err.find("mm-pyhost inject INSTANCE CHANNEL V") != std::string::npos);

	// Garbage on the control socket gets an answer, and the host goes on answering.
	std::string socket_path = runtime.dir.path() + "/mm-pyhost/control/" + pid + ".py1";
	int fd = connect_unix(socket_path);
	std::string garbage = "{\"command\": 5}\n";
	REQUIRE(write(fd, garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
	char buffer[512];
	ssize_t got = read(fd, buffer, sizeof(buffer));
	close(fd);
	REQUIRE(got > 0);
	auto reply = nlohmann::json::parse(std::string(buffer, static_cast<size_t>(got)));
	CHECK(reply["ok"] == false);
	CHECK(reply["error"].get<std::string>().find("not a request mm-pyhost understands") == 0);
	CHECK(run(runtime, {"status", "py1"}).status == 0);
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: another user cannot reach an instance", "[python][operator]") {
	if (geteuid() != 0) {
		WARN("SKIP: acting as another user needs root");
		return;
	}
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	std::string socket_path =
	    runtime.dir.path() + "/mm-pyhost/control/" + std::to_string(core.process().pid()) + ".py1";
	pid_t child = fork();
	if (child == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0) {
			_exit(2);
		}
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		sockaddr_un address{};
		address.sun_family = AF_UNIX;
		std::strncpy(address.sun_path, socket_path.c_str(), sizeof(address.sun_path) - 1);
		_exit(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 ? 0 : 1);
	}
	int status = 0;
	REQUIRE(waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 1);  // refused: the folder is 0700, the socket 0600
	CHECK(run(runtime, {"status", "py1"}).status == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: restart brings a new host and says which", "[python][operator][supervision]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	pid_t old_host = hosts_of(core).at(0);
	Command restart = run(runtime, {"restart", "py1"});
	INFO(restart.out << restart.err << core.transcript());
	CHECK(restart.status == 0);
	CHECK(restart.out.find("py1: restarted: host pid " + std::to_string(old_host) + " -> ") == 0);
	REQUIRE_LOG(core, "py1: lost the host (pid " + std::to_string(old_host) + "): mm-pyhost stopped: restarted by the "
	                  "operator");
	CHECK(gone_within(old_host, Duration(5000)));
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: logs shows the instance's recent lines, and -f follows them", "[python][operator]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", "import midimonster\nprint('imported')\ndef on_in(value):\n"
	                                       "    print('got', value)\n"}},
	                 runtime.core());
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.5);
	REQUIRE_LOG(core, "py1: got 0.5");
	Command logs = run(runtime, {"logs", "py1"});
	INFO(logs.out << logs.err);
	CHECK(logs.status == 0);
	CHECK(logs.out.find("  imported\n") != std::string::npos);
	CHECK(logs.out.find("  got 0.5\n") != std::string::npos);

	SpawnOptions options;
	options.env = runtime.env();
	ChildProcess follow({host_path(), "logs", "py1", "-f"}, options);
	REQUIRE(follow.wait_stdout(contains("  got 0.5")));
	core.inject("t.in", 0.75);
	CHECK(follow.wait_stdout(contains("  got 0.75")));
	CHECK(core.stop() == 0);
	CHECK(follow.wait_exit() == 0);  // the host went: the stream ends
}

TEST_CASE("operator: monitor streams inputs and outputs, and a reader that never reads costs the show nothing",
          "[python][operator]") {
	Runtime runtime;
	CoreOptions options = runtime.core();
	options.env["ASAN_OPTIONS"] = for_memory_measurement().env["ASAN_OPTIONS"];
	// The flood's outputs go to a test instance that does not print them: the test reads the
	// core's output only at the end.
	CoreProcess watched(kConfig + std::string("[test bulk]\necho-stdout = no\n[map]\nbulk.in > py1.show.on_bulk\n"
	                                          "py1.bulkout > bulk.out\n"),
	                    {{"show.py", kShow + std::string("def on_bulk(value):\n    midimonster.output('bulkout', value)\n")}},
	                    options);
	REQUIRE(watched.wait_started());
	SpawnOptions spawn;
	spawn.env = runtime.env();
	ChildProcess monitor({host_path(), "monitor", "py1", "show.*"}, spawn);
	REQUIRE(monitor.wait_stderr(contains("py1: monitoring show.* until Ctrl-C")));
	REQUIRE(monitor.wait_stdout(contains("show.on_in"), Duration(100)) == std::nullopt);  // nothing yet
	watched.inject("t.in", 0.5);
	CHECK(next_value(watched, "t.out") == Approx(0.25));
	auto line = monitor.wait_stdout(contains("  in   show.on_in"));
	INFO(watched.transcript());
	REQUIRE(line);
	CHECK(line->find("0.500000") != std::string::npos);
	CHECK_FALSE(monitor.wait_stdout(contains("  out  out"), Duration(300)));  // the pattern left it out

	// A monitor that connects and never reads, while 10 000 events/s flow for 3 s.
	pid_t host = hosts_of(watched).at(0);
	std::string socket_path =
	    runtime.dir.path() + "/mm-pyhost/control/" + std::to_string(watched.process().pid()) + ".py1";
	int stuck = connect_unix(socket_path);
	std::string request = "{\"command\":\"monitor\",\"args\":[]}\n";
	REQUIRE(write(stuck, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
	long before_kb = process_rss_kb(host);
	for (int round = 0; round < 30; round++) {
		std::vector<std::pair<std::string, double>> events;
		for (int i = 0; i < 1000; i++) {
			events.emplace_back("bulk.in", (i % 100) / 100.0);
		}
		watched.inject(events);
		std::this_thread::sleep_for(Duration(100));
	}
	REQUIRE(watched.sync());
	long after_kb = process_rss_kb(host);
	INFO("host RSS " << before_kb << " kB -> " << after_kb << " kB");
	CHECK(after_kb - before_kb < 8 * 1024);  // bounded: at most 256 kB queue for the reader, not 30 000 lines
	// The show went on: the last input's answer is there.
	watched.inject("t.in", 0.9);
	CHECK(next_value(watched, "t.out") == Approx(0.45));
	close(stuck);
	CHECK(watched.stop() == 0);
}

TEST_CASE("operator: status tells how long the handlers take", "[python][operator]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", "import midimonster, time\ndef on_in(value):\n"
	                                       "    time.sleep(0.05 if value > 0.9 else 0)\n"
	                                       "    midimonster.output('out', value)\n"}},
	                 runtime.core());
	REQUIRE(core.wait_started());
	for (int i = 0; i < 20; i++) {
		core.inject("t.in", 0.5);
		next_value(core, "t.out");
	}
	core.inject("t.in", 1.0);
	next_value(core, "t.out");
	Command status = run(runtime, {"status", "py1", "--json"});
	auto s = nlohmann::json::parse(status.out)["status"];
	INFO(status.out);
	CHECK(s["events"] == 21);
	CHECK(s["handler_p50_us"].get<uint64_t>() < 20000);
	CHECK(s["handler_max_us"].get<uint64_t>() >= 50000);
	CHECK(s["handler_p99_us"].get<uint64_t>() <= s["handler_max_us"].get<uint64_t>());
	Command text = run(runtime, {"status", "py1"});
	CHECK(text.out.find("  handler time    p50 ") != std::string::npos);
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: a socket left by a killed host of an ended MIDIMonster is not listed, and goes", "[python][operator]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	pid_t dead = fork();
	if (dead == 0) {
		_exit(0);
	}
	REQUIRE(waitpid(dead, nullptr, 0) == dead);
	std::string stale = runtime.dir.path() + "/mm-pyhost/control/" + std::to_string(dead) + ".ghost";
	make_dead_socket(stale);  // as after kill -9 of a host and its core

	Command list = run(runtime, {"list"});
	INFO(list.out << list.err);
	CHECK(list.status == 0);
	CHECK(list.out.find("ghost") == std::string::npos);
	CHECK(list.out.find(" py1 ") != std::string::npos);
	CHECK(access(stale.c_str(), F_OK) != 0);
	Command ghost = run(runtime, {"status", "ghost"});
	CHECK(ghost.status == 3);
	CHECK(ghost.err == "mm-pyhost: no instance ghost; running: py1 in MIDIMonster pid " +
	                       std::to_string(core.process().pid()) + "\n");
	CHECK(core.stop() == 0);
}

namespace {

// `mm-pyhost list --json`'s entry for py1 once `done` says so; fails the test after 15 s.
nlohmann::json listed_when(const Runtime& runtime, const std::function<bool(const nlohmann::json&)>& done) {
	nlohmann::json last;
	for (int attempt = 0; attempt < 150; attempt++) {
		auto parsed = nlohmann::json::parse(run(runtime, {"list", "--json"}).out);
		if (parsed.size() == 1) {
			last = parsed[0];
			if (done(last)) {
				return last;
			}
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
	FAIL("mm-pyhost list never showed what was waited for; last: " << last.dump());
	return last;
}

}  // namespace

TEST_CASE("operator: an instance whose host is down is listed with why, the next attempt and its held inputs",
          "[python][operator][attach][supervision]") {
	Runtime runtime;
	std::string path = runtime.dir.file("host.sock");
	SpawnOptions options;
	options.env = runtime.env();
	auto listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", path}, options);
	REQUIRE(listener->wait_stderr(contains("listening on")));
	CoreProcess core("[backend python]\nsocket = " + path + "\n" + kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto up = listed_when(runtime, [](const nlohmann::json& e) { return e.contains("status"); });
	CHECK(up["report"]["state"] == "up");
	CHECK(up["report"]["restarts"] == 0);

	// The listener and the host go: nothing is left to answer for py1 but its shim.
	pid_t host = up["status"]["host_pid"].get<pid_t>();
	listener->signal(SIGKILL);
	REQUIRE(listener->wait_exit());
	listener.reset();
	kill(host, SIGKILL);
	listed_when(runtime, [](const nlohmann::json& e) { return e["report"]["state"] == "down"; });
	core.inject({{"t.in", 0.2}, {"t.in", 0.4}, {"t.in", 0.6}});
	// The report says so from the next attempt on.
	auto down = listed_when(runtime, [](const nlohmann::json& e) {
		return !e.contains("status") && e["report"]["state"] == "down" && e["report"]["inputs_waiting"] == 3;
	});
	CHECK(down["report"]["last_loss"].get<std::string>().find("cannot reach mm-pyhost at " + path) == 0);
	CHECK(down["report"]["next_attempt_ms"] >= down["report"]["since_ms"]);

	Command list = run(runtime, {"list"});
	INFO(list.out << list.err);
	CHECK(list.out.find(" py1 ") != std::string::npos);
	CHECK(list.out.find(" down ") != std::string::npos);
	CHECK(list.out.find("next attempt in ") != std::string::npos);
	Command status = run(runtime, {"status", "py1"});
	INFO(status.out << status.err);
	CHECK(status.status == 1);
	CHECK(status.out.find("py1 (MIDIMonster pid " + std::to_string(core.process().pid()) + "): down for ") == 0);
	CHECK(status.out.find("  inputs waiting  3 ") != std::string::npos);
	Command inject = run(runtime, {"inject", "py1", "show.on_in", "1"});
	CHECK(inject.status == 1);
	CHECK(inject.err.find("mm-pyhost: py1 is down (cannot reach mm-pyhost at ") == 0);

	// A listener again: the instance comes back, and counts the restart.
	listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", path}, options);
	auto back = listed_when(runtime, [](const nlohmann::json& e) {
		return e.contains("status") && e["report"]["state"] == "up" && e["report"]["restarts"] == 1;
	});
	CHECK(back["status"]["state"] == "up");
	CHECK(next_value(core, "t.out") == Approx(0.3));  // the held input (the newest) went to the new host
	std::string report = runtime.dir.path() + "/mm-pyhost/instances/" + std::to_string(core.process().pid()) + ".py1";
	CHECK(access(report.c_str(), F_OK) == 0);
	CHECK(core.stop() == 0);
	CHECK(access(report.c_str(), F_OK) != 0);  // the shim removes its report at shutdown
}

TEST_CASE("operator: status counts the inputs a reloading host holds", "[python][operator][reload]") {
	Runtime runtime;
	CoreProcess core("[python py1]\nmodule = show\nreload = on-save\n[test t]\n[map]\nt.in > py1.show.on_in\n"
	                 "py1.out > t.out\n",
	                 {{"show.py", std::string(kShow) +
	                                  "import asyncio\nasync def linger():\n    await midimonster.sleep(1500)\n"
	                                  "def bye():\n    asyncio.get_event_loop().create_task(linger())\n"
	                                  "midimonster.cleanup_handler(bye)\n"}},
	                 runtime.core());
	REQUIRE(core.wait_started());
	Command quiet = run(runtime, {"status", "py1", "--json"});
	CHECK(nlohmann::json::parse(quiet.out)["status"]["inputs_waiting"] == 0);
	core.dir().write("show.py", kShow);
	listed_when(runtime, [](const nlohmann::json& e) { return e["status"]["state"] == "reloading"; });
	core.inject("t.in", 0.2);
	core.inject("t.in", 0.4);
	auto holding = listed_when(runtime, [](const nlohmann::json& e) {
		return e["status"]["state"] == "reloading" && e["status"]["inputs_waiting"] == 2;
	});
	CHECK(holding["status"]["inputs_waiting"] == 2);
	CHECK(next_value(core, "t.out") == Approx(0.1));  // both go to the new version once it runs
	CHECK(next_value(core, "t.out") == Approx(0.2));
	listed_when(runtime, [](const nlohmann::json& e) { return e["status"]["inputs_waiting"] == 0; });
	CHECK(core.stop() == 0);
}

TEST_CASE("operator: after a crash, list counts the restart and status says how the host ended",
          "[python][operator][supervision]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	pid_t host = hosts_of(core).at(0);
	kill(host, SIGKILL);
	auto back = listed_when(runtime, [host](const nlohmann::json& e) {
		return e.contains("status") && e["status"]["host_pid"] != host && e["report"]["restarts"] == 1;
	});
	CHECK(back["report"]["state"] == "up");
	CHECK(back["report"]["last_loss"] == "the host closed the connection; it was killed by signal 9 (Killed)");
	Command status = run(runtime, {"status", "py1"});
	INFO(status.out << status.err);
	CHECK(status.out.find("  restarts        1 (last: ") != std::string::npos);
	CHECK(status.out.find(" the host closed the connection; it was killed by signal 9 (Killed))") != std::string::npos);
	CHECK(core.stop() == 0);
}
