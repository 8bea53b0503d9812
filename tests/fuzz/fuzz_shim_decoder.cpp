// fuzz_shim_decoder: what the shim (python.so) does with the host -> core byte stream. The
// input is a few choice bytes and then that stream, which reaches a real ShimInstance through
// a socketpair, in pieces, as its HostLink reads it during the show: HostLink::receive and
// dispatch, ShimInstance::on_frame, on_outputs into mm_channel_event, on_replay_answer, and
// losing the host. Between pieces the core's other calls happen as they would: tick() with
// the clock moving on (heartbeats, silence detection, restarts), deliver() of input events
// (batches, holding per channel), and the shim's own output being read or left to pile up.
//
// Input: byte 0 picks the situation (bits 0-1) and the number of option lines a replaying
// host must answer (bits 2-3); byte 1 the channel count (1 + b % 32); bytes 2-9 seed the
// schedule; the rest is what the host sends.
//   0  the show runs (state Up, as after start())
//   1  a new host is being given the configuration again (Replaying, as after bring_back())
//   2  configuration: configure() and start() wait for the host's answers (blocking exchange)
//   3  the show runs, then shutdown() waits for Bye
//
// A tiny fake core provides the C API the shim calls (shim/midimonster.h) and checks it is
// used right: events only on channels the shim created, one managed descriptor at a time.
// Host processes are never started: host_process.cpp is replaced by stubs that fail, so a
// lost host stays down (the restart path still runs, up to its attempt).
// ShimInstanceFuzzAccess is the one seam into ShimInstance (a friend, see shim_instance.h).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "control.h"
#include "fuzz_util.h"
#include "host_process.h"
#include "midimonster.h"
#include "shim_instance.h"

namespace {

// --- the fake core -------------------------------------------------------------------------

struct FakeCore {
	char name[5] = "fuzz";
	instance inst{nullptr, 1, nullptr, name};
	std::vector<std::unique_ptr<channel>> channels;
	int managed_fd = -1;
	uint64_t now = 1000000;
	size_t events = 0;

	void reset() {
		channels.clear();
		managed_fd = -1;
		now = 1000000;
		events = 0;
	}
};

FakeCore core;

bool verbose() {
	static const bool on = std::getenv("MMPY_FUZZ_VERBOSE") != nullptr;
	return on;
}

}  // namespace

extern "C" {

// The shim creates channel ids in order, 0, 1, 2, ...
channel* mm_channel(instance* inst, uint64_t ident, uint8_t create) {
	FUZZ_CHECK(inst == &core.inst, "mm_channel on a foreign instance");
	if (ident < core.channels.size()) {
		return core.channels[ident].get();
	}
	if (!create) {
		return nullptr;
	}
	FUZZ_CHECK(ident == core.channels.size(), "channel id %llu created out of order",
	           static_cast<unsigned long long>(ident));
	core.channels.push_back(std::make_unique<channel>(channel{inst, ident, nullptr}));
	return core.channels.back().get();
}

int mm_channel_event(channel* c, channel_value) {
	FUZZ_CHECK(c && c->instance == &core.inst && c->ident < core.channels.size() &&
	               core.channels[c->ident].get() == c,
	           "an event on a channel the core never gave out");
	core.events++;
	return 0;
}

uint64_t mm_timestamp(void) {
	return core.now;
}

int mm_manage_fd(int fd, char* backend, int manage, void*) {
	FUZZ_CHECK(std::strcmp(backend, "python") == 0, "mm_manage_fd for backend %s", backend);
	if (manage) {
		FUZZ_CHECK(core.managed_fd == -1, "a second descriptor managed (%d, already %d)", fd, core.managed_fd);
		FUZZ_CHECK(fd >= 0, "managing descriptor %d", fd);
		core.managed_fd = fd;
	} else {
		FUZZ_CHECK(core.managed_fd == fd, "unmanaging descriptor %d, the managed one is %d", fd, core.managed_fd);
		core.managed_fd = -1;
	}
	return 0;
}

int log_printf(int, char* module, char* fmt, ...) {
	char line[4096];
	va_list args;
	va_start(args, fmt);
	std::vsnprintf(line, sizeof line, fmt, args);
	va_end(args);
	if (verbose()) {
		std::fprintf(stderr, "%s\t%s", module, line);
	}
	return 0;
}

}  // extern "C"

// --- no host processes: stand-ins for shim/host_process.cpp ------------------------------

namespace mmpy::shim {

void remember_plugin_folder() {}

std::string locate_host(const std::string& configured) {
	return configured.empty() ? "mm-pyhost" : configured;
}

int spawn_host(const std::string&, pid_t&, std::string& error) {
	error = "the fuzz harness starts no host";
	return -1;
}

int connect_host(const std::string&, std::string& error) {
	error = "the fuzz harness connects to no host";
	return -1;
}

bool try_reap(pid_t pid, std::string& how) {
	FUZZ_CHECK(false, "reaping pid %d, but the harness started no process", static_cast<int>(pid));
	how.clear();
	return true;
}

std::string reap_host(pid_t pid, int) {
	FUZZ_CHECK(false, "reaping pid %d, but the harness started no process", static_cast<int>(pid));
	return "";
}

std::string describe_exit(int) {
	return "";
}

// The seam: states that otherwise need a host process to reach, set up as the code that
// reaches them leaves them.
struct ShimInstanceFuzzAccess {
	using State = ShimInstance::State;

	static void adopt(ShimInstance& shim, int fd) { shim.link_.adopt(fd); }

	// As start() leaves it once the host said Started.
	static void show(ShimInstance& shim) {
		shim.started_ = true;
		FUZZ_CHECK(mm_manage_fd(shim.link_.fd(), const_cast<char*>("python"), 1, &shim) == 0, "manage");
		shim.managed_ = true;
		shim.state_ = State::Up;
		uint64_t now = mm_timestamp();
		shim.restart_.host_up(now);
		shim.heard_at_ = now;
		shim.last_heartbeat_ = now;
	}

	// As bring_back() leaves it: a new host got hello, `lines` option lines and the table,
	// and its answers are awaited while the show goes on.
	static void replaying(ShimInstance& shim, size_t lines) {
		shim.started_ = true;
		FUZZ_CHECK(mm_manage_fd(shim.link_.fd(), const_cast<char*>("python"), 1, &shim) == 0, "manage");
		shim.managed_ = true;
		for (size_t i = 0; i < lines; i++) {
			shim.configuration_.push_back({"module", "module" + std::to_string(i)});
		}
		uint64_t now = mm_timestamp();
		shim.state_ = State::Replaying;
		shim.replay_answers_ = lines;
		shim.replay_hello_ = false;
		shim.replay_deadline_ = now + ShimInstance::kConfigureTimeoutMs;
		shim.down_since_ = now - 500;
		shim.heard_at_ = now;
		shim.last_heartbeat_ = now;
	}

	static bool connected(const ShimInstance& shim) { return shim.link_.connected(); }

	// What must hold whatever the host sent.
	static void check(const ShimInstance& shim) {
		FUZZ_CHECK(shim.channels_.size() == core.channels.size(), "%zu shim channels, %zu core channels",
		           shim.channels_.size(), core.channels.size());
		FUZZ_CHECK(shim.held_.size() <= shim.channels_.size(), "%zu held entries for %zu channels",
		           shim.held_.size(), shim.channels_.size());
		for (uint32_t id : shim.held_) {
			FUZZ_CHECK(id < shim.channels_.size() && shim.channels_[id].pending, "held channel %u", id);
		}
		FUZZ_CHECK(shim.managed_ == (core.managed_fd >= 0), "managed %d, the core watches %d", shim.managed_,
		           core.managed_fd);
		FUZZ_CHECK(!shim.managed_ || shim.link_.fd() == core.managed_fd, "the core watches a stale descriptor");
		if (shim.state_ == State::Up || shim.state_ == State::Replaying) {
			FUZZ_CHECK(shim.link_.connected(), "up or replaying without a connection");
		}
		FUZZ_CHECK(shim.pid_ <= 0 && shim.dying_pid_ <= 0, "a host pid appeared");
	}
};

}  // namespace mmpy::shim

namespace {

using mmpy::shim::ShimInstance;
using Access = mmpy::shim::ShimInstanceFuzzAccess;

size_t open_descriptors() {
	size_t n = 0;
	for (int fd = 0; fd < 1024; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			n++;
		}
	}
	return n;
}

// The host's end of the socketpair.
struct HostEnd {
	int fd = -1;
	std::span<const uint8_t> stream;
	size_t sent = 0;
	bool open = true;

	// Sends up to `n` more bytes; false once the shim's end is gone.
	void send_some(size_t n) {
		while (open && n > 0 && sent < stream.size()) {
			size_t chunk = std::min(n, stream.size() - sent);
			ssize_t done = ::send(fd, stream.data() + sent, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (done > 0) {
				sent += static_cast<size_t>(done);
				n -= static_cast<size_t>(done);
			} else if (done < 0 && errno == EINTR) {
				continue;
			} else if (done < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				return;  // full: the shim reads first
			} else {
				open = false;
			}
		}
	}

	void end_stream() { shutdown(fd, SHUT_WR); }

	// Reads what the shim sent (heartbeats, inputs, shutdown) and throws it away.
	void drain() {
		uint8_t buffer[64 * 1024];
		while (recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
		}
	}
};

// The core's channel() callback for each mapped channel.
void map_channels(ShimInstance& shim, size_t count) {
	for (size_t i = 0; i < count; i++) {
		std::string error;
		FUZZ_CHECK(shim.map_channel("fuzz.channel" + std::to_string(i), error), "map_channel: %s", error.c_str());
	}
}

void deliver_some(ShimInstance& shim, mmpy::fuzz::Choices& choose) {
	size_t count = 1 + choose.below(8);
	std::vector<channel*> channels;
	std::vector<channel_value> values;
	for (size_t i = 0; i < count && !core.channels.empty(); i++) {
		channels.push_back(core.channels[choose.below(core.channels.size())].get());
		channel_value value{};
		value.normalised = static_cast<double>(choose.below(1001)) / 1000.0;
		values.push_back(value);
	}
	shim.deliver(channels.size(), channels.data(), values.data());
}

// The core's loop during the show: readable socket, ticks, deliveries, in an order the
// schedule picks, while the host's bytes arrive in pieces.
void run_show(ShimInstance& shim, HostEnd& host, mmpy::fuzz::Choices& choose) {
	while (host.open && host.sent < host.stream.size() && Access::connected(shim)) {
		host.send_some(choose.piece(host.stream.size() - host.sent));
		uint64_t actions = choose.next();
		if (actions & 1) {
			core.now += actions & 2 ? (actions >> 8) % 5000 : (actions >> 8) % 20;
			shim.tick();
		}
		if (actions & 4) {
			deliver_some(shim, choose);
		}
		if (!(actions & 8)) {
			host.drain();
		}
		shim.on_readable();
	}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	if (size < 2) {
		return 0;
	}
	unsigned situation = data[0] & 3;
	size_t replay_lines = (data[0] >> 2) & 3;
	size_t channel_count = 1 + data[1] % 32;
	std::span<const uint8_t> rest(data + 2, size - 2);
	mmpy::fuzz::Choices choose = mmpy::fuzz::Choices::take_seed(rest);

	size_t descriptors = open_descriptors();
	core.reset();
	int pair[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0, "socketpair: %s", std::strerror(errno));
	HostEnd host;
	host.fd = pair[0];
	host.stream = rest;
	{
		ShimInstance shim(&core.inst);
		core.inst.impl = &shim;
		Access::adopt(shim, pair[1]);
		if (situation == 2) {
			// Configuration blocks on the answers: everything is there before it asks.
			host.send_some(host.stream.size());
			host.end_stream();
			std::string error;
			if (shim.configure("module", "fuzz", error)) {
				map_channels(shim, channel_count);
				if (shim.start(error)) {
					for (int i = 0; i < 4; i++) {
						core.now += 700;
						shim.on_readable();
						shim.tick();
					}
				}
			}
		} else {
			map_channels(shim, channel_count);
			if (situation == 1) {
				Access::replaying(shim, replay_lines);
			} else {
				Access::show(shim);
			}
			run_show(shim, host, choose);
			Access::check(shim);
			host.end_stream();
			if (situation == 3) {
				shim.shutdown();
			} else {
				// The end of the stream: the host is lost, and (without hosts) stays away.
				shim.on_readable();
				for (int i = 0; i < 3; i++) {
					core.now += 600;
					shim.tick();
				}
			}
		}
		Access::check(shim);
	}
	close(pair[0]);
	FUZZ_CHECK(open_descriptors() == descriptors, "descriptors leaked: %zu before, %zu after", descriptors,
	           open_descriptors());
	return 0;
}
