// fuzz_shim_decoder: what the shim (python.so) does with the host -> core byte stream. The
// input is a few choice bytes and then that stream, which reaches a real ShimInstance through
// a socketpair, in pieces, as its HostLink reads it: HostLink::receive and dispatch,
// ShimInstance::on_frame, on_outputs into mm_channel_event, the Conversation's check of a new
// host's replay answers, and losing the host. Between pieces the core's other calls happen as
// they would: tick() with the clock moving on (heartbeats, silence, the Supervisor bringing a
// lost host back), deliver() of input events (batches, the InputCoalescer holding them), and
// the shim's own output being read or left to pile up.
//
// Everything goes through ShimInstance's public API, as plugin.cpp drives it; there is no
// seam. The harness is the instance's HostReach: each host is a socketpair the harness made
// beforehand, open() hands out the shim's end, and the harness plays the host on the other
// end. Its hosts are attached ones (pid 0, reconnects), so nothing is spawned or reaped; the
// real ways of reaching a host (spawned_host.cpp, attached_host.cpp) are not linked. The
// shim's Clock reads the fake core's `now`, which the harness moves.
//
// The show states are reached as a core reaches them: connect(), configure() for each option
// line, map_channel(), start(), each blocking call finding a healthy host's scripted answer
// (HostHello, ConfigureResult ok, Started) already in the socket. Then the input's stream
// follows as the host's, in the situation byte 0 picks (bits 0-1):
//   0  the show runs (Up)
//   1  a new host is being given the configuration again (Replaying): the first host's
//      stream ends, the shim loses it, the next tick() reaches the second host and replays
//      hello, the option lines (bits 2-3 of byte 0: how many) and the channel table; the
//      input's stream is the second host's answer and what it sends after
//   2  configuration: after a valid hello, configure() and start() wait for answers, which
//      are the input's stream (at most what one socket buffer holds)
//   3  the show runs, then shutdown() waits for Bye
// Byte 1 is the channel count (1 + b % 32); bytes 2-9 seed the schedule (piece sizes, ticks,
// clock jumps, deliveries); the rest is what the host sends. Hosts beyond those a situation
// uses cannot be reached, so a lost host stays down (the restart path runs up to its attempt).
//
// Checks, besides the sanitizers. A tiny fake core provides the C API the shim calls
// (shim/abi/midimonster.h) and checks it is used right: channels created in order, events
// only on channels the shim created, one managed descriptor at a time. After each run: the
// core has the channels that were mapped; the core watches the current link's descriptor
// exactly while the instance is Up or Replaying, and a connection exists then; held inputs
// never exceed one per channel; nothing is reaped; no descriptor leaks. And everything the
// shim sends is what a host accepts (docs/protocol.md, "Phases on the host"): whole frames of
// shim types, a hello first and once, option lines and one Start before the show, the Start's
// table the core's channels, inputs and heartbeats only after it, input values as delivered;
// a second host is given exactly the accepted option lines and a restart Start.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clock.h"
#include "control.h"
#include "events.h"
#include "frame.h"
#include "fuzz_util.h"
#include "host_reach.h"
#include "midimonster.h"
#include "shim_instance.h"

namespace {

namespace protocol = mmpy::protocol;
using mmpy::shim::ShimInstance;
using Phase = ShimInstance::Phase;

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
		channels.shrink_to_fit();
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

namespace {

// The shim's clock, as plugin.cpp makes it: the core's mm_timestamp(), here the fake core's
// `now`, which the harness moves.
struct CoreClock final : mmpy::shim::Clock {
	uint64_t now() const override { return mm_timestamp(); }
};

const CoreClock core_clock;

// What the harness knows about the run, to check the shim's output against.
struct Expected {
	size_t accepted_lines = 0;  // option lines configure() reported applied
};

// The host's end of one connection: it sends the host's bytes, and reads what the shim
// sends, frame by frame, checking each is one a host accepts at that point.
struct HostSide {
	int fd = -1;
	int shim_fd = -1;  // the shim's end, until open() hands it out
	size_t index = 0;  // 0: the show's first host
	const Expected* expected = nullptr;
	std::span<const uint8_t> stream;  // what the host sends after its scripted answers
	size_t sent = 0;
	bool open = true;

	protocol::FrameDecoder from_shim;
	bool hello = false;
	bool started = false;
	size_t configures = 0;

	~HostSide() {
		if (fd >= 0) {
			close(fd);
		}
		if (shim_fd >= 0) {
			close(shim_fd);
		}
	}

	// A healthy host's answer to a blocking call, there before the shim asks. Small: the
	// socket takes it whole.
	template <typename Message>
	void answer(const Message& message) {
		std::vector<uint8_t> bytes;
		protocol::encode(bytes, message);
		ssize_t done = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
		FUZZ_CHECK(done == static_cast<ssize_t>(bytes.size()), "the scripted answer did not fit the socket: %s",
		           std::strerror(errno));
	}

	// Sends up to `n` more bytes of the stream; stops when the socket is full, the shim reads
	// first. Once the shim's end is gone, nothing more.
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
				return;
			} else {
				open = false;
			}
		}
	}

	void end_stream() { shutdown(fd, SHUT_WR); }

	// Reads what the shim sent so far (heartbeats, inputs, the replay, shutdown).
	void drain() {
		uint8_t buffer[64 * 1024];
		ssize_t got;
		while ((got = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
			from_shim.feed({buffer, static_cast<size_t>(got)});
			protocol::Frame frame;
			protocol::FrameDecoder::Status status;
			while ((status = from_shim.next(frame)) == protocol::FrameDecoder::Status::Ready) {
				check_from_shim(frame);
			}
			FUZZ_CHECK(status == protocol::FrameDecoder::Status::NeedMore, "the shim sent a broken stream: %s",
			           from_shim.error().c_str());
		}
	}

	// One frame from the shim, against the host's phase rules (docs/protocol.md).
	void check_from_shim(const protocol::Frame& frame) {
		std::string error;
		const char* type = protocol::frame_type_name(static_cast<uint16_t>(frame.type));
		FUZZ_CHECK(hello || frame.type == protocol::FrameType::Hello, "host %zu: %s before the hello", index, type);
		switch (frame.type) {
		case protocol::FrameType::Hello: {
			protocol::ShimHello message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "host %zu: hello: %s", index, error.c_str());
			FUZZ_CHECK(!hello, "host %zu: a second hello", index);
			FUZZ_CHECK(message.version == protocol::kVersion && message.instance == core.name,
			           "host %zu: hello for version %u, instance '%s'", index, message.version, message.instance.c_str());
			hello = true;
			break;
		}
		case protocol::FrameType::Configure: {
			protocol::Configure message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "host %zu: configure: %s", index, error.c_str());
			FUZZ_CHECK(!started, "host %zu: configure after start", index);
			configures++;
			break;
		}
		case protocol::FrameType::Start: {
			protocol::Start message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "host %zu: start: %s", index, error.c_str());
			FUZZ_CHECK(!started, "host %zu: a second start", index);
			started = true;
			// Channels are mapped before start only, so the table is the core's for good.
			FUZZ_CHECK(message.channels.size() == core.channels.size(), "host %zu: a table of %zu channels, the core has %zu",
			           index, message.channels.size(), core.channels.size());
			for (size_t i = 0; i < message.channels.size(); i++) {
				FUZZ_CHECK(message.channels[i].first == i, "host %zu: table entry %zu has id %u", index, i,
				           message.channels[i].first);
			}
			for (const auto& [id, value] : message.inputs) {
				FUZZ_CHECK(id < core.channels.size() && value >= 0.0 && value <= 1.0, "host %zu: start input %u = %g",
				           index, id, value);
			}
			for (const auto& [id, value] : message.outputs) {
				FUZZ_CHECK(id < core.channels.size(), "host %zu: start output on channel %u", index, id);
			}
			// A new host gets what the first one accepted, and knows it is one.
			FUZZ_CHECK(message.restart == (index > 0), "host %zu: start with restart %d", index, message.restart);
			if (index > 0) {
				FUZZ_CHECK(configures == expected->accepted_lines, "host %zu: replayed %zu option lines of %zu", index,
				           configures, expected->accepted_lines);
			}
			break;
		}
		case protocol::FrameType::Inputs: {
			protocol::BatchView batch;
			FUZZ_CHECK(started, "host %zu: inputs before start", index);
			FUZZ_CHECK(protocol::BatchView::parse(frame.payload, batch, error), "host %zu: inputs: %s", index,
			           error.c_str());
			for (uint32_t i = 0; i < batch.size(); i++) {
				FUZZ_CHECK(batch[i].channel < core.channels.size() && batch[i].value >= 0.0 && batch[i].value <= 1.0,
				           "host %zu: input %g on channel %u", index, batch[i].value, batch[i].channel);
			}
			break;
		}
		case protocol::FrameType::Heartbeat: {
			protocol::Heartbeat message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "host %zu: heartbeat: %s", index, error.c_str());
			break;
		}
		case protocol::FrameType::Shutdown:
			break;
		default:
			FUZZ_CHECK(false, "host %zu: the shim sent a %s frame", index, type);
		}
	}
};

// The hosts of one run, made before the shim reaches them.
struct Hosts {
	std::vector<std::unique_ptr<HostSide>> sides;
	size_t opened = 0;
	int current = -1;  // the shim's end of the connection handed out last
	Expected expected;

	HostSide& prepare() {
		int pair[2];
		FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0, "socketpair: %s",
		           std::strerror(errno));
		auto side = std::make_unique<HostSide>();
		side->fd = pair[0];
		side->shim_fd = pair[1];
		side->index = sides.size();
		side->expected = &expected;
		sides.push_back(std::move(side));
		return *sides.back();
	}
};

// The instance's way to its hosts: the next prepared one, none once they are used up.
// Attached hosts in effect: no process of the shim's own, reached again after a loss.
class FakeReach final : public mmpy::shim::HostReach {
public:
	explicit FakeReach(Hosts& hosts) : hosts_(hosts) {}

	int open(std::string& error) override {
		if (hosts_.opened == hosts_.sides.size()) {
			error = "the fuzz harness has no more hosts";
			return -1;
		}
		HostSide& side = *hosts_.sides[hosts_.opened++];
		hosts_.current = side.shim_fd;
		side.shim_fd = -1;  // the shim's now
		return hosts_.current;
	}
	pid_t pid() const override { return 0; }
	void let_go(bool) override {}
	bool reaping() const override { return false; }
	std::optional<mmpy::shim::HostEnd> reap() override {
		FUZZ_CHECK(false, "reap(), but the shim has no process of its own");
		return std::nullopt;
	}
	void kill_let_go() override { FUZZ_CHECK(false, "kill_let_go(), but the shim has no process of its own"); }
	std::optional<mmpy::shim::HostEnd> reap_within(int) override { return std::nullopt; }
	std::optional<mmpy::shim::HostEnd> finish(int) override { return std::nullopt; }
	bool reconnects() const override { return true; }
	const std::string& address() const override { return address_; }

private:
	Hosts& hosts_;
	std::string address_ = "fuzz-harness";
};

// Open descriptors among the lowest ones. A run opens at most four (two socketpairs), and
// a leaked one keeps the lowest free number, so the first scan's highest descriptor plus a
// margin is far enough; scanning all 1024 took a third of the time of a run.
size_t open_descriptors() {
	static const int limit = [] {
		int highest = 0;
		for (int fd = 0; fd < 1024; fd++) {
			if (fcntl(fd, F_GETFD) >= 0) {
				highest = fd;
			}
		}
		return highest + 16;
	}();
	size_t n = 0;
	for (int fd = 0; fd < limit; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			n++;
		}
	}
	return n;
}

// The core's channel() callback for each mapped channel. Only a full table may refuse one
// (configuration outputs can fill it in situation 2).
void map_channels(ShimInstance& shim, size_t count) {
	for (size_t i = 0; i < count; i++) {
		std::string error;
		channel* mapped = shim.map_channel("fuzz.channel" + std::to_string(i), error);
		if (!mapped) {
			FUZZ_CHECK(core.channels.size() >= protocol::kMaxChannels, "map_channel: %s", error.c_str());
			continue;
		}
		FUZZ_CHECK(mapped->ident < core.channels.size() && core.channels[mapped->ident].get() == mapped,
		           "map_channel returned a channel the core never gave out");
	}
}

// As a core brings an instance up: the host is reached at the first option line, each line
// is applied, the configuration's channels are mapped, the show starts. A healthy host's
// answer waits in the socket before each call.
void bring_up(ShimInstance& shim, HostSide& host, Hosts& hosts, size_t lines, size_t channel_count) {
	std::string error;
	protocol::HostHello hello;
	hello.pid = 4242;
	hello.python = "3.11.2";
	host.answer(hello);
	FUZZ_CHECK(shim.connect(error), "connect: %s", error.c_str());
	for (size_t i = 0; i < lines; i++) {
		host.answer(protocol::ConfigureResult{});
		FUZZ_CHECK(shim.configure("module", "module" + std::to_string(i), error), "configure: %s", error.c_str());
		hosts.expected.accepted_lines++;
	}
	map_channels(shim, channel_count);
	host.answer(protocol::Started{});
	FUZZ_CHECK(shim.start(error), "start: %s", error.c_str());
	FUZZ_CHECK(shim.phase() == Phase::Up, "phase %d after start()", static_cast<int>(shim.phase()));
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
void run_show(ShimInstance& shim, HostSide& host, mmpy::fuzz::Choices& choose) {
	while (host.open && host.sent < host.stream.size() && shim.connected()) {
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

// Situation 1: the first host's stream ends, the shim loses it and, a tick later, replays
// everything to the second host, whose answers the input's stream is.
HostSide& lose_first_host(ShimInstance& shim, HostSide& first, Hosts& hosts, mmpy::fuzz::Choices& choose) {
	if (choose.next() & 1) {
		deliver_some(shim, choose);  // values the second host gets back in its Start
	}
	first.end_stream();
	shim.on_readable();
	FUZZ_CHECK(shim.phase() == Phase::Down && !shim.connected(), "phase %d after the host's stream ended",
	           static_cast<int>(shim.phase()));
	HostSide& second = hosts.prepare();
	for (int i = 0; i < 100 && shim.phase() == Phase::Down; i++) {
		core.now += shim.wants_tick_within();
		shim.tick();
	}
	FUZZ_CHECK(shim.phase() == Phase::Replaying && hosts.opened == 2, "phase %d, %zu hosts reached after the loss",
	           static_cast<int>(shim.phase()), hosts.opened);
	return second;
}

// What must hold whatever the host sent.
void check(const ShimInstance& shim, const Hosts& hosts, size_t mapped) {
	Phase phase = shim.phase();
	bool show = phase == Phase::Up || phase == Phase::Replaying;
	FUZZ_CHECK(core.channels.size() == mapped, "%zu core channels, %zu mapped", core.channels.size(), mapped);
	FUZZ_CHECK(shim.held_channels() <= core.channels.size(), "%zu held channels of %zu", shim.held_channels(),
	           core.channels.size());
	FUZZ_CHECK(!show || shim.connected(), "phase %d without a connection", static_cast<int>(phase));
	FUZZ_CHECK(show == (core.managed_fd >= 0), "phase %d, the core watches descriptor %d", static_cast<int>(phase),
	           core.managed_fd);
	FUZZ_CHECK(core.managed_fd < 0 || (core.managed_fd == hosts.current && fcntl(core.managed_fd, F_GETFD) >= 0),
	           "the core watches descriptor %d, the current link's is %d", core.managed_fd, hosts.current);
}

}  // namespace

// The instances' report files (StatusReport) go to a runtime folder of the harness's own,
// removed when the harness exits.
namespace {
char runtime_folder[] = "/tmp/fuzz_shim_decoder-runtime-XXXXXX";
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
	if (mkdtemp(runtime_folder)) {
		setenv("XDG_RUNTIME_DIR", runtime_folder, 1);
		std::atexit([] {
			std::error_code ignored;
			std::filesystem::remove_all(runtime_folder, ignored);
		});
	}
	return 0;
}

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
	{
		Hosts hosts;
		HostSide& first = hosts.prepare();
		ShimInstance shim(&core.inst, std::make_unique<FakeReach>(hosts), core_clock);
		core.inst.impl = &shim;
		if (situation == 2) {
			// Configuration blocks on the answers: after the hello, the input is all there
			// before the shim asks.
			std::string error;
			protocol::HostHello hello;
			hello.pid = 4242;
			hello.python = "3.11.2";
			first.answer(hello);
			FUZZ_CHECK(shim.connect(error), "connect: %s", error.c_str());
			first.stream = rest;
			first.send_some(rest.size());
			first.end_stream();
			if (shim.configure("module", "fuzz", error)) {
				hosts.expected.accepted_lines++;
				map_channels(shim, channel_count);
				if (shim.start(error)) {
					for (int i = 0; i < 4; i++) {
						core.now += 700;
						shim.on_readable();
						shim.tick();
					}
				}
			}
			// Configuration outputs map channels too; the Start frame's check compares the
			// table with the core.
			check(shim, hosts, core.channels.size());
		} else {
			bring_up(shim, first, hosts, replay_lines, channel_count);
			HostSide* host = &first;
			if (situation == 1) {
				host = &lose_first_host(shim, first, hosts, choose);
			}
			host->stream = rest;
			run_show(shim, *host, choose);
			check(shim, hosts, channel_count);
			host->end_stream();
			if (situation == 3) {
				shim.shutdown();
				FUZZ_CHECK(shim.phase() == Phase::Stopped && !shim.connected(), "phase %d after shutdown()",
				           static_cast<int>(shim.phase()));
			} else {
				// The end of the stream: the host is lost, and no other can be reached.
				shim.on_readable();
				for (int i = 0; i < 3; i++) {
					core.now += 600;
					shim.tick();
				}
			}
			check(shim, hosts, channel_count);
		}
		for (auto& side : hosts.sides) {
			side->drain();
		}
	}
	FUZZ_CHECK(open_descriptors() == descriptors, "descriptors leaked: %zu before, %zu after", descriptors,
	           open_descriptors());
	// Nothing of a run outlives it, so libFuzzer sees as many frees as allocations and does
	// not replay inputs to look for a leak.
	core.reset();
	return 0;
}
