#include "offline_instance.h"

#include <time.h>
#include <unistd.h>

#include <climits>

#include "conversation.h"
#include "events.h"

namespace mmpy::host {

namespace {

using protocol::FrameType;
using shim::HostLoss;

// How long a host may take to answer a step of the configuration: as the shim allows.
constexpr int kStepMs = 60000;
// During the show there is no deadline (a test may advance the clock by hours); a host that
// sends nothing, not even the heartbeats its watchdog sends while it lives, is given up.
constexpr int kShowStepMs = INT_MAX;
constexpr int kQuietMs = 10000;
// How long the host gets to exit after its Bye, or after it was lost.
constexpr int kExitMs = 2000;

uint64_t monotonic_ms() {
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

std::string this_program() {
	char path[PATH_MAX];
	ssize_t size = readlink("/proc/self/exe", path, sizeof(path) - 1);
	return size > 0 ? std::string(path, static_cast<size_t>(size)) : std::string("mm-pyhost");
}

}  // namespace

OfflineInstance::OfflineInstance(std::string name, std::string folder, bool virtual_clock)
    : name_(std::move(name)), folder_(std::move(folder)), virtual_clock_(virtual_clock), reach_(this_program(), shim::HostPlacement{}) {}

OfflineInstance::~OfflineInstance() {
	link_.close();
	reach_.finish(kExitMs);
}

std::optional<std::string> OfflineInstance::open(protocol::HostHello& hello) {
	std::string error;
	int fd = reach_.open(error);
	if (fd < 0) {
		return "cannot start mm-pyhost: " + error;
	}
	link_.adopt(fd);
	shim::Conversation conversation(folder_);
	protocol::ShimHello mine = conversation.hello_message(name_, virtual_clock_ ? 0 : monotonic_ms());
	mine.virtual_clock = virtual_clock_;
	protocol::encode(link_.outbox(), mine);
	std::vector<uint8_t> payload;
	if (auto failed = exchange(FrameType::Hello, payload, kStepMs)) {
		return "the host did not answer: " + *failed;
	}
	if (auto loss = conversation.check_hello(payload, hello)) {
		return lost(*loss);
	}
	return std::nullopt;
}

std::optional<std::string> OfflineInstance::configure(const protocol::Configure& line,
                                                      protocol::ConfigureResult& result) {
	protocol::encode(link_.outbox(), line);
	std::vector<uint8_t> payload;
	if (auto failed = exchange(FrameType::ConfigureResult, payload, kStepMs)) {
		return "the host failed: " + *failed;
	}
	std::string error;
	if (!protocol::parse(payload, result, error)) {
		return lost(HostLoss{HostLoss::Kind::Misbehaved, "malformed configure result: " + error});
	}
	for (const auto& [channel, value] : result.outputs) {
		table_.add(channel);
	}
	return std::nullopt;
}

std::optional<std::string> OfflineInstance::start(const std::vector<std::string>& channels,
                                                  protocol::Started& started) {
	for (const std::string& channel : channels) {
		protocol::Admission admission = table_.admit(channel);
		if (admission != protocol::Admission::Admitted) {
			return protocol::describe(admission, channel);
		}
		table_.add(channel);
	}
	protocol::Start message;
	message.timestamp = virtual_clock_ ? 0 : monotonic_ms();
	message.channels = table_.list();
	if (!protocol::encode(link_.outbox(), message)) {
		return std::string("the channel table is larger than one frame may be");
	}
	std::vector<uint8_t> payload;
	if (auto failed = exchange(FrameType::Started, payload, kStepMs)) {
		return "the show did not start: " + *failed;
	}
	std::string error;
	if (!protocol::parse(payload, started, error)) {
		return lost(HostLoss{HostLoss::Kind::Misbehaved, "malformed started: " + error});
	}
	return started.ok ? std::nullopt : std::optional<std::string>("the show did not start: " + started.error);
}

std::optional<std::string> OfflineInstance::input(const std::vector<std::pair<std::string, double>>& events) {
	if (!link_.connected()) {
		return std::string("the host is gone");
	}
	std::vector<protocol::Event> batch;
	for (const auto& [channel, value] : events) {
		std::optional<uint32_t> id = table_.find(channel);
		if (!id) {
			return "no channel " + channel + " in instance " + name_;
		}
		batch.push_back({*id, value});
	}
	protocol::BatchWriter writer(link_.outbox(), FrameType::Inputs, now_ms_);
	for (const protocol::Event& event : batch) {
		writer.add(event.channel, event.value);
	}
	writer.finish();
	return advance(0);
}

std::optional<std::string> OfflineInstance::advance(uint64_t ms) {
	if (!link_.connected()) {
		return std::string("the host is gone");
	}
	protocol::encode(link_.outbox(), protocol::Advance{now_ms_ + ms});
	std::vector<uint8_t> payload;
	if (auto failed = exchange(FrameType::Advanced, payload, kShowStepMs)) {
		return failed;
	}
	protocol::Advanced advanced;
	std::string error;
	if (!protocol::parse(payload, advanced, error)) {
		return lost(HostLoss{HostLoss::Kind::Misbehaved, "malformed advanced: " + error});
	}
	now_ms_ = advanced.now;
	return std::nullopt;
}

std::optional<std::string> OfflineInstance::shutdown() {
	if (!link_.connected()) {
		return std::nullopt;  // lost before: said then
	}
	protocol::encode_empty(link_.outbox(), FrameType::Shutdown);
	std::vector<uint8_t> payload;
	if (auto failed = exchange(FrameType::Bye, payload, kStepMs)) {
		return failed;
	}
	link_.close();
	std::optional<shim::HostEnd> end = reach_.finish(kExitMs);
	if (end && !end->clean()) {
		return "the host " + shim::describe(*end);
	}
	return std::nullopt;
}

std::vector<std::string> OfflineInstance::channels() const {
	std::vector<std::string> names;
	for (const auto& channel : table_) {
		names.push_back(channel.name);
	}
	return names;
}

std::optional<std::string> OfflineInstance::exchange(FrameType wanted, std::vector<uint8_t>& payload,
                                                     int timeout_ms) {
	auto loss = link_.exchange(
	    wanted, payload, timeout_ms, [this](const protocol::Frame& frame) { return other(frame); },
	    timeout_ms == kShowStepMs ? kQuietMs : 0);
	return loss ? lost(*loss) : std::nullopt;
}

// The host is gone or unusable: it is closed and reaped, and how it ended is said.
std::optional<std::string> OfflineInstance::lost(const HostLoss& loss) {
	std::string why = shim::describe(loss, "the host");
	link_.close();
	reach_.let_go(loss.kind == HostLoss::Kind::Silent || loss.kind == HostLoss::Kind::Misbehaved);
	if (std::optional<shim::HostEnd> end = reach_.reap_within(kExitMs)) {
		why += "; the host " + shim::describe(*end);
	}
	return why;
}

std::optional<HostLoss> OfflineInstance::other(const protocol::Frame& frame) {
	std::string error;
	switch (frame.type) {
	case FrameType::Log: {
		protocol::Log line;
		if (!protocol::parse(frame.payload, line, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed log frame: " + error};
		}
		log_.push_back(std::move(line.text));
		return std::nullopt;
	}
	case FrameType::Outputs: {
		protocol::BatchView batch;
		if (!protocol::BatchView::parse(frame.payload, batch, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed outputs: " + error};
		}
		for (uint32_t i = 0; i < batch.size(); i++) {
			protocol::Event event = batch[i];
			if (!table_.contains(event.channel)) {
				return HostLoss{HostLoss::Kind::Misbehaved, "an output to channel id " + std::to_string(event.channel) +
				                                                ", which the table does not have"};
			}
			outputs_.push_back({batch.timestamp(), table_[event.channel].name, event.value});
		}
		return std::nullopt;
	}
	default:
		return std::nullopt;  // heartbeats, tasks, state snapshots
	}
}

}  // namespace mmpy::host
