// Shared helpers of the python backend's end-to-end tests.
#pragma once

#include <catch2/catch.hpp>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "mmpy_test.h"

namespace mmpy::test {

// A runtime folder for one test: the core (and so its hosts) and the operator's commands share it.
struct Runtime {
	TempDir dir;
	std::map<std::string, std::string> env() const { return {{"XDG_RUNTIME_DIR", dir.path()}}; }
	CoreOptions core() const {
		CoreOptions options;
		options.env = env();
		return options;
	}
};

// The value of the next event on `channel`; fails the test (with the transcript) if none comes.
inline double next_value(CoreProcess& core, const std::string& channel, Duration timeout = default_timeout) {
	auto event = core.wait_event(channel, timeout);
	INFO("waiting for an event on " << channel << "\n" << core.transcript());
	REQUIRE(event);
	return event->value;
}

// The whole text of a file a Python module wrote ("" if it does not exist).
inline std::string read_file(const std::string& path) {
	std::ifstream in(path);
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// Waits until `pid` has gone (or the timeout passed); true if it has.
inline bool gone_within(pid_t pid, Duration timeout) {
	auto deadline = std::chrono::steady_clock::now() + timeout;
	while (process_alive(pid)) {
		if (std::chrono::steady_clock::now() > deadline) {
			return false;
		}
		std::this_thread::sleep_for(Duration(20));
	}
	return true;
}

// The host processes the core spawned.
inline std::vector<pid_t> hosts_of(CoreProcess& core) {
	return host_pids_below(core.process().pid());
}

// The one host the core spawned; fails the test (with the transcript) unless there is one.
inline pid_t only_host(CoreProcess& core) {
	auto hosts = hosts_of(core);
	INFO(core.transcript());
	REQUIRE(hosts.size() == 1);
	return hosts[0];
}

// Options for a core (and its hosts) whose memory a test measures. AddressSanitizer keeps
// freed memory in quarantine, which would look like growth; without sanitizers, no change.
inline CoreOptions for_memory_measurement() {
	CoreOptions options;
	const char* asan = std::getenv("ASAN_OPTIONS");
	options.env["ASAN_OPTIONS"] = std::string(asan ? asan : "") + ":quarantine_size_mb=0:thread_local_quarantine_size_kb=0";
	return options;
}

// One `stats` line of the test core as its NAME=VALUE fields: rss_kb, events and, per backend
// that ran, NAME.allocs and the like (tools/mmcore/test_commands.h).
inline std::map<std::string, long long> core_stats(CoreProcess& core) {
	core.send("stats");
	auto line = core.process().wait_stdout(matches("^stats rss_kb="));
	INFO(core.transcript());
	REQUIRE(line);
	std::map<std::string, long long> fields;
	std::istringstream words(*line);
	for (std::string word; words >> word;) {
		size_t equals = word.find('=');
		if (equals != std::string::npos) {
			fields[word.substr(0, equals)] = std::atoll(word.c_str() + equals + 1);
		}
	}
	return fields;
}

// `stats` from the test core: its resident memory in kB.
inline long core_rss_kb(CoreProcess& core) {
	return static_cast<long>(core_stats(core)["rss_kb"]);
}

// A plain client connection to a Unix socket (a listener), for tests that speak raw bytes.
inline int connect_unix(const std::string& path) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	REQUIRE(path.size() < sizeof(address.sun_path));
	std::strcpy(address.sun_path, path.c_str());
	REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
	return fd;
}

// A listener-less socket file: connect() to it is refused.
inline void make_dead_socket(const std::string& path) {
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(fd >= 0);
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	REQUIRE(path.size() < sizeof(address.sun_path));
	path.copy(address.sun_path, path.size());
	REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
	close(fd);  // the file stays, nobody listens
}

// Asserts a log line containing `text` arrives, showing the transcript if it does not.
#define REQUIRE_LOG(core, text)                                        \
	do {                                                               \
		auto found_line = (core).wait_log(text);                       \
		INFO("waiting for log line: " << (text) << "\n" << (core).transcript()); \
		REQUIRE(found_line);                                           \
	} while (0)

// Asserts that the core refuses `config` (exits non-zero) with a log line containing `text`.
#define REQUIRE_CONFIG_ERROR(config, text)                              \
	do {                                                                \
		CoreProcess refused_core(config);                               \
		auto refused_status = refused_core.process().wait_exit();       \
		INFO(refused_core.transcript());                                \
		REQUIRE(refused_status);                                        \
		CHECK(*refused_status != 0);                                    \
		REQUIRE_LOG(refused_core, text);                                \
	} while (0)

}  // namespace mmpy::test
