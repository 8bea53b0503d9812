// Callbacks of the built-in `test` backend.
#include "test_backend.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <unordered_map>
#include <vector>

#include "log.h"
#include "test_commands.h"

namespace {

constexpr const char* backend_name = "test";

// Per-instance channel name table (ident = index) and output switch.
struct TestInstance {
	std::vector<std::string> names;
	std::unordered_map<std::string, uint64_t> idents;
	bool echo_stdout = true;
	bool echo_inject = false;  // `injected` lines for the benchmark (tools/bench)
	// `udp = ADDRESS PORT`: inputs arrive as datagrams from another process, as OSC or ArtNet
	// do; outputs go back to whoever sent the last one (the benchmark's network item).
	int udp_fd = -1;
	sockaddr_in peer{};
	bool has_peer = false;
};

uint64_t handled = 0;
uint64_t next_ident = 1;
bool commands_deferred = false;

// No global options.
int test_conf(char* option, char*) {
	mmcore::logf(backend_name, "Unknown backend option %s", option);
	return 1;
}

// Allocates the name table.
int test_create(instance* inst) {
	inst->impl = new TestInstance();
	inst->ident = next_ident++;
	return 0;
}

// A non-blocking UDP socket bound to "ADDRESS PORT" and managed by the core, or -1.
int bind_udp(instance* inst, const std::string& value) {
	size_t space = value.find(' ');
	sockaddr_in address{};
	address.sin_family = AF_INET;
	char* end = nullptr;
	long port = space == std::string::npos ? -1 : std::strtol(value.c_str() + space + 1, &end, 10);
	if (port < 0 || port > 65535 || *end || inet_pton(AF_INET, value.substr(0, space).c_str(), &address.sin_addr) != 1) {
		mmcore::logf(backend_name, "Invalid udp address '%s' for %s: expected 'ADDRESS PORT'", value.c_str(), inst->name);
		return -1;
	}
	address.sin_port = htons(static_cast<uint16_t>(port));
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
		mmcore::logf(backend_name, "Failed to bind udp %s for %s: %s", value.c_str(), inst->name, std::strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	if (mm_manage_fd(fd, const_cast<char*>(backend_name), 1, inst)) {
		close(fd);
		return -1;
	}
	return fd;
}

// Each datagram "CHANNEL VALUE" is one event on that channel of `inst`.
void receive_udp(instance* inst) {
	auto* data = static_cast<TestInstance*>(inst->impl);
	char buffer[512];
	for (;;) {
		socklen_t length = sizeof data->peer;
		ssize_t got = recvfrom(data->udp_fd, buffer, sizeof buffer - 1, 0, reinterpret_cast<sockaddr*>(&data->peer),
		                       &length);
		if (got < 0) {
			return;
		}
		data->has_peer = true;
		buffer[got] = 0;
		char* space = std::strchr(buffer, ' ');
		auto it = space ? data->idents.find(std::string(buffer, space)) : data->idents.end();
		char* end = nullptr;
		double value = space ? std::strtod(space + 1, &end) : 0.0;
		if (it == data->idents.end() || end == space + 1) {
			mmcore::logf(backend_name, "Ignored datagram on %s: not 'CHANNEL VALUE' with a mapped channel: %s",
			             inst->name, buffer);
			continue;
		}
		channel_value v{};
		v.normalised = value;
		mm_channel_event(mm_channel(inst, it->second, 0), v);
	}
}

// `echo-stdout = yes|no`, `echo-inject = yes|no` and `udp = ADDRESS PORT`; anything else
// fails configuration.
int test_conf_instance(instance* inst, char* option, char* value) {
	auto* data = static_cast<TestInstance*>(inst->impl);
	std::string opt = option, val = value;
	if (opt == "udp") {
		data->udp_fd = bind_udp(inst, val);
		return data->udp_fd < 0;
	}
	if (opt == "echo-stdout" || opt == "echo-inject") {
		bool& flag = opt == "echo-stdout" ? data->echo_stdout : data->echo_inject;
		if (val == "yes" || val == "on" || val == "true" || val == "1") {
			flag = true;
			return 0;
		}
		if (val == "no" || val == "off" || val == "false" || val == "0") {
			flag = false;
			return 0;
		}
		mmcore::logf(backend_name, "Invalid value %s for %s of %s", value, option, inst->name);
		return 1;
	}
	mmcore::logf(backend_name, "Unknown instance option %s for %s", option, inst->name);
	return 1;
}

// Any spec is a channel; the same name always yields the same channel.
channel* test_channel(instance* inst, char* spec, uint8_t) {
	auto* data = static_cast<TestInstance*>(inst->impl);
	auto it = data->idents.find(spec);
	uint64_t ident;
	if (it == data->idents.end()) {
		ident = data->names.size();
		data->names.emplace_back(spec);
		data->idents.emplace(spec, ident);
	} else {
		ident = it->second;
	}
	return mm_channel(inst, ident, 1);
}

// Counts and (unless echo-stdout = no) prints each received event.
int test_handle(instance* inst, size_t n, channel** c, channel_value* v) {
	auto* data = static_cast<TestInstance*>(inst->impl);
	for (size_t u = 0; u < n; u++) {
		handled++;
		const std::string& name = c[u]->ident < data->names.size() ? data->names[c[u]->ident] : "?";
		if (data->has_peer) {
			char datagram[512];
			int length = std::snprintf(datagram, sizeof datagram, "%s %.6f", name.c_str(), v[u].normalised);
			sendto(data->udp_fd, datagram, static_cast<size_t>(length), MSG_DONTWAIT,
			       reinterpret_cast<sockaddr*>(&data->peer), sizeof data->peer);
		}
		if (!data->echo_stdout) {
			continue;
		}
		mmcore::outf("event %s.%s %.6f %llu", inst->name, name.c_str(), v[u].normalised,
		             static_cast<unsigned long long>(mmcore::testbackend::monotonic_us()));
	}
	return 0;
}

// Reads stdin when readable and runs complete command lines.
int test_process(size_t nfds, managed_fd* fds) {
	mmcore::testbackend::commands_flush_injected();
	for (size_t u = 0; u < nfds; u++) {
		if (fds[u].impl) {
			receive_udp(static_cast<instance*>(fds[u].impl));
			continue;
		}
		if (fds[u].fd != STDIN_FILENO) {
			continue;
		}
		char buffer[65536];
		ssize_t got = read(STDIN_FILENO, buffer, sizeof(buffer));
		if (got > 0) {
			mmcore::testbackend::commands_feed(buffer, static_cast<size_t>(got));
		} else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
			// EOF is not a shutdown: a demo may run without input.
			mm_manage_fd(STDIN_FILENO, const_cast<char*>(backend_name), 0, nullptr);
			mmcore::testbackend::commands_eof();
		}
	}
	commands_deferred = mmcore::testbackend::commands_run();
	return 0;
}

// Nothing to do at start.
int test_start(size_t, instance**) {
	return 0;
}

// Asks for a quick next iteration while commands wait behind a `sync`/`stats`, or
// `injected` lines wait to be printed.
uint32_t test_interval() {
	return commands_deferred || mmcore::testbackend::commands_injected_pending() ? 1 : 0;
}

// Prints what waits, frees the name tables.
int test_shutdown(size_t n, instance** inst) {
	mmcore::testbackend::commands_flush_injected();
	for (size_t u = 0; u < n; u++) {
		auto* data = static_cast<TestInstance*>(inst[u]->impl);
		if (data->udp_fd >= 0) {
			mm_manage_fd(data->udp_fd, const_cast<char*>(backend_name), 0, nullptr);
			close(data->udp_fd);
		}
		delete data;
		inst[u]->impl = nullptr;
	}
	return 0;
}

}  // namespace

namespace mmcore::testbackend {

// Registered like any plugin, through the public entry point.
int register_backend() {
	backend b{};
	b.name = const_cast<char*>(backend_name);
	b.conf = test_conf;
	b.create = test_create;
	b.conf_instance = test_conf_instance;
	b.channel = test_channel;
	b.handle = test_handle;
	b.process = test_process;
	b.start = test_start;
	b.shutdown = test_shutdown;
	b.channel_free = nullptr;
	b.interval = test_interval;
	if (mm_backend_register(b)) {
		return 1;
	}
	if (fcntl(STDIN_FILENO, F_GETFD) >= 0) {
		mm_manage_fd(STDIN_FILENO, b.name, 1, nullptr);
	}
	return 0;
}

// Resolves "INST.CHAN" against test instances and the mapping-created channel names.
channel* find_channel(const std::string& spec, std::string& why) {
	size_t dot = spec.find('.');
	if (dot == std::string::npos) {
		why = "not an INSTANCE.CHANNEL spec: " + spec;
		return nullptr;
	}
	std::string inst_name = spec.substr(0, dot), chan = spec.substr(dot + 1);
	size_t n = 0;
	instance** list = nullptr;
	instance* inst = nullptr;
	if (!mm_backend_instances(const_cast<char*>(backend_name), &n, &list)) {
		for (size_t u = 0; u < n; u++) {
			if (list[u]->name && inst_name == list[u]->name) {
				inst = list[u];
			}
		}
		free(list);
	}
	if (!inst) {
		why = "no test instance named " + inst_name;
		return nullptr;
	}
	auto* data = static_cast<TestInstance*>(inst->impl);
	auto it = data->idents.find(chan);
	channel* c = it == data->idents.end() ? nullptr : mm_channel(inst, it->second, 0);
	if (!c) {
		why = "channel " + spec + " is not named by any mapping";
	}
	return c;
}

// CLOCK_MONOTONIC in microseconds, for latency measurements by the harness.
uint64_t monotonic_us() {
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000000 + static_cast<uint64_t>(now.tv_nsec) / 1000;
}

// `echo-inject` of the channel's test instance.
bool echo_inject(const channel* c) {
	return c->instance && c->instance->impl && static_cast<const TestInstance*>(c->instance->impl)->echo_inject;
}

// For `stats`.
uint64_t events_handled() {
	return handled;
}

}  // namespace mmcore::testbackend
