// Limits on names, channels and instances: each is refused with a reason, never a crash or
// memory that grows without end.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "python_test.h"

using namespace mmpy::test;

TEST_CASE("a channel name longer than 1024 bytes is a configuration error naming the limit", "[python][limits]") {
	std::string name = "mod." + std::string(1100, 'x');
	REQUIRE_CONFIG_ERROR("[python py1]\n[test t]\n[map]\nt.in > py1." + name + "\n",
	                     "py1: channel names are limited to 1024 bytes; 'mod.xxxx");
}

TEST_CASE("an instance with more than 16384 channels is a configuration error", "[python][limits]") {
	REQUIRE_CONFIG_ERROR("[python py1]\n[test t]\n[map]\nt.in{0..16400} > py1.c{0..16400}\n",
	                     "py1: an instance has at most 16384 channels; 'c16384' would be one more");
}

TEST_CASE("more than 256 python instances are a configuration error", "[python][limits]") {
	std::string config;
	for (int i = 0; i <= 256; i++) {
		config += "[python py" + std::to_string(i) + "]\n";
	}
	REQUIRE_CONFIG_ERROR(config, "More than 256 [python ...] instances: each runs a process of its own");
}

TEST_CASE("output() at import refuses a channel name over the limit and the 16385th channel",
          "[python][limits]") {
	CoreProcess core("[python py1]\nmodule = greedy\n[test t]\n[map]\nt.in > py1.greedy.handler\n",
	                 {{"greedy.py", R"(import midimonster
try:
    midimonster.output("x" * 2000, 1)
except ValueError as error:
    print("refused:", error)
try:
    for i in range(20000):
        midimonster.output("c%d" % i, 0)
except ValueError as error:
    print("refused:", error)
def handler(value):
    pass
)"}});
	REQUIRE_LOG(core, "py1: refused: output(): channel names are limited to 1024 bytes");
	REQUIRE_LOG(core, "py1: refused: output(): an instance has at most 16384 channels; 'c16384' would be one more");
	// The instance is full now: the mapping's channel is the one too many.
	REQUIRE_LOG(core, "py1: an instance has at most 16384 channels; 'greedy.handler' would be one more");
	auto status = core.process().wait_exit();
	REQUIRE(status);
	CHECK(*status != 0);
}

namespace {

// A line of /proc/PID/status such as "VmHWM" (peak resident memory), in kB.
long status_kb(pid_t pid, const std::string& field) {
	std::ifstream status("/proc/" + std::to_string(pid) + "/status");
	for (std::string line; std::getline(status, line);) {
		if (line.rfind(field + ":", 0) == 0) {
			return std::atol(line.c_str() + field.size() + 1);
		}
	}
	return -1;
}

}  // namespace

TEST_CASE("a handler that outputs millions of values is slowed to the core's pace, not hoarded in memory",
          "[python][limits]") {
	CoreOptions options = for_memory_measurement();
	CoreProcess core(R"([python py1]
module = chatty
handler-timeout = 0
[test t]
[test quiet]
echo-stdout = no
[map]
t.in > py1.chatty.handler
py1.sink > quiet.sink
py1.out > t.out
)",
	                 {{"chatty.py", R"(import midimonster
def handler(value):
    for i in range(3000000):
        midimonster.output("sink", (i % 100) / 100)
    midimonster.output("out", value)
)"}},
	                 options);
	REQUIRE(core.wait_started());
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	long before = status_kb(hosts[0], "VmRSS");
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out", Duration(120000)) == Approx(0.5));
	long peak = status_kb(hosts[0], "VmHWM");
	INFO("host RSS before: " << before << " kB, peak: " << peak << " kB");
	// 3 000 000 outputs are 48 MB on the wire; the host holds at most a few MB of them.
	CHECK(peak - before < 24 * 1024);
	CHECK(core.stop() == 0);
}

#if !defined(__SANITIZE_ADDRESS__)
// (Under AddressSanitizer 257 host processes would need gigabytes of shadow memory.)
TEST_CASE("a listener serves at most 256 instance hosts at a time and refuses the next connection",
          "[python][limits][attach]") {
	TempDir sockets;
	std::string path = sockets.file("host.sock");
	ChildProcess listener({host_path(), "--listen", path});
	REQUIRE(listener.wait_stderr(contains("listening on")));
	std::vector<int> clients;
	for (int i = 0; i < 256; i++) {
		clients.push_back(connect_unix(path));
	}
	for (int i = 0; i < 256; i++) {
		REQUIRE(listener.wait_stderr(contains("core connected; instance host")));
	}
	int refused = connect_unix(path);
	REQUIRE(listener.wait_stderr(contains("refused a connection: 256 instance hosts already run")));
	char byte;
	CHECK(read(refused, &byte, 1) <= 0);  // closed without a host
	close(refused);
	for (int fd : clients) {
		close(fd);
	}
	listener.signal(SIGTERM);
	CHECK(listener.wait_exit(Duration(30000)) == 0);
}
#endif
