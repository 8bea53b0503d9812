// Attach mode and shutdown: how hosts are reached, and that nothing outlives the show.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

const char* kCleanupModule = R"(
import midimonster
def handler(value):
    midimonster.output("out", value)
def save():
    open("cleanup-ran.txt", "w").write("yes")
midimonster.cleanup_handler(save)
)";

const char* kCleanupConfig = R"(
[python py1]
module = tidy
[test t]
[map]
t.in > py1.tidy.handler
py1.out > t.out
)";

}  // namespace

TEST_CASE("attach mode: the shim uses a host started by hand with --listen", "[python][attach]") {
	TempDir run;
	std::string socket_path = run.file("mm-pyhost.sock");
	ChildProcess host({host_path(), "--listen", socket_path});
	REQUIRE(host.wait_stderr(contains("listening on " + socket_path)));

	{
		CoreProcess core("[backend python]\nsocket = " + socket_path + "\n" + kCleanupConfig,
		                 {{"tidy.py", kCleanupModule}});
		REQUIRE(core.wait_started());
		CHECK(hosts_of(core).empty());  // nobody was spawned: the listener serves the instance
		core.inject("t.in", 0.35);
		CHECK(next_value(core, "t.out") == Approx(0.35));
		CHECK(core.stop() == 0);
		CHECK(read_file(core.dir().file("cleanup-ran.txt")) == "yes");
	}
	// The instance's host process has ended; the listener stays for the next show.
	REQUIRE(host.wait_stderr(contains("exited with status 0")));
	CHECK(host.running());
	host.signal(SIGTERM);
	CHECK(host.wait_exit() == 0);
}

TEST_CASE("attach mode: an unreachable socket is a clear configuration error", "[python][attach]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nsocket = /nonexistent/mm-pyhost.sock\n[python py1]\nmodule = x\n",
	                     "py1: cannot reach mm-pyhost at /nonexistent/mm-pyhost.sock: No such file or directory");
}

TEST_CASE("a listener refuses to take over a socket another host is using", "[python][attach]") {
	TempDir run;
	std::string socket_path = run.file("busy.sock");
	ChildProcess first({host_path(), "--listen", socket_path});
	REQUIRE(first.wait_stderr(contains("listening on")));
	ChildProcess second({host_path(), "--listen", socket_path});
	CHECK(second.wait_exit() == 1);
	CHECK(second.wait_stderr_anywhere(contains("another mm-pyhost already listens on " + socket_path)));
	first.signal(SIGTERM);
	CHECK(first.wait_exit() == 0);
}

TEST_CASE("core shutdown: cleanup handlers run, hosts exit, nothing is left running", "[python][shutdown]") {
	CoreProcess core(kCleanupConfig, {{"tidy.py", kCleanupModule}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	CHECK(core.stop() == 0);
	CHECK(read_file(core.dir().file("cleanup-ran.txt")) == "yes");
	CHECK(gone_within(hosts[0], Duration(5000)));
}

// Found with fuzz_host_session: what the cleanup handler registered stayed in the host's
// scheduler, libuv closed its timer twice at exit and the host died of SIGABRT after Bye.
TEST_CASE("a cleanup handler that registers an interval still lets its host exit cleanly", "[python][shutdown]") {
	const char* module = R"(
import midimonster
def handler(value):
    midimonster.output("out", value)
def tick():
    pass
def save():
    midimonster.interval(tick, 100)
    open("cleanup-ran.txt", "w").write("yes")
midimonster.cleanup_handler(save)
)";
	CoreProcess core(kCleanupConfig, {{"tidy.py", module}});
	REQUIRE(core.wait_started());
	CHECK(core.stop() == 0);
	CHECK(read_file(core.dir().file("cleanup-ran.txt")) == "yes");
	INFO(core.transcript());
	CHECK(core.transcript().find("py1: the host ") == std::string::npos);  // logged only for an unclean end
}

TEST_CASE("SIGTERM to the core shuts down in order, as quit does", "[python][shutdown]") {
	CoreProcess core(kCleanupConfig, {{"tidy.py", kCleanupModule}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	core.process().signal(SIGTERM);
	CHECK(core.process().wait_exit() == 0);
	CHECK(read_file(core.dir().file("cleanup-ran.txt")) == "yes");
	CHECK(gone_within(hosts[0], Duration(5000)));
}

TEST_CASE("a core killed outright: its host notices, runs the cleanup handler and exits", "[python][shutdown]") {
	CoreProcess core(kCleanupConfig, {{"tidy.py", kCleanupModule}});
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	core.process().signal(SIGKILL);
	core.process().wait_exit();
	CHECK(gone_within(hosts[0], Duration(10000)));
	CHECK(read_file(core.dir().file("cleanup-ran.txt")) == "yes");
}

TEST_CASE("spawn mode finds mm-pyhost next to python.so, even via a relative plugin folder", "[python][spawn]") {
	// The core changes into the configuration's folder before the first instance, so a
	// relative plugin path must have been resolved when the plugin was loaded.
	CoreOptions options;
	options.cwd = "/";
	options.plugin_dir = plugin_dir().substr(1);
	CoreProcess core(kCleanupConfig, {{"tidy.py", kCleanupModule}}, options);
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	core.stop();
}
