#include "shim_instance.h"

#include <signal.h>
#include <unistd.h>

#include <climits>

#include "control.h"
#include "events.h"
#include "host_process.h"
#include "shim_log.h"

namespace mmpy::shim {

using protocol::FrameType;

namespace {
// Module imports run while the core waits; numpy alone takes a while on a slow disk.
constexpr int kConfigureTimeoutMs = 60000;
constexpr int kHelloTimeoutMs = 10000;
constexpr int kShutdownTimeoutMs = 10000;
constexpr uint64_t kHeartbeatMs = 1000;
// Past this many unsent bytes, inputs are coalesced per channel instead of queued.
constexpr size_t kOutboxLimit = 256 * 1024;
}  // namespace

ShimInstance::ShimInstance(instance* core_instance) : core_(core_instance) {
	// create() runs while the core is inside the configuration file's folder.
	char directory[PATH_MAX];
	directory_ = getcwd(directory, sizeof(directory)) ? directory : ".";
}

ShimInstance::~ShimInstance() {
	if (pid_ > 0) {
		kill(pid_, SIGKILL);
		reap_host(pid_, 1000);
	}
}

bool ShimInstance::connect(const BackendOptions& options, std::string& error) {
	int fd;
	if (!options.socket.empty()) {
		fd = connect_host(options.socket, error);
	} else {
		fd = spawn_host(locate_host(options.host), pid_, error);
	}
	if (fd < 0) {
		return false;
	}
	link_.adopt(fd);

	protocol::ShimHello hello;
	hello.instance = core_->name;
	hello.directory = directory_;
	hello.timestamp = mm_timestamp();
	protocol::encode(link_.outbox(), hello);
	std::vector<uint8_t> payload;
	if (!link_.exchange(FrameType::Hello, payload, kHelloTimeoutMs,
	                    [this](const protocol::Frame& f) { return on_frame(f); }, error)) {
		error = "no answer from the host: " + (host_error_.empty() ? error : host_error_);
		return false;
	}
	protocol::HostHello reply;
	if (!protocol::parse(payload, reply, error)) {
		return false;
	}
	if (reply.version != protocol::kVersion) {
		error = "protocol version mismatch: this python.so speaks version " + std::to_string(protocol::kVersion) +
		        ", the host " + std::to_string(reply.version) + "; install matching versions of python.so and mm-pyhost";
		return false;
	}
	SHIM_LOG("%s: mm-pyhost %lld ready (Python %s)", name(), static_cast<long long>(reply.pid), reply.python.c_str());
	return true;
}

bool ShimInstance::configure(const std::string& option, const std::string& value, std::string& error) {
	protocol::encode(link_.outbox(), protocol::Configure{option, value});
	std::vector<uint8_t> payload;
	if (!link_.exchange(FrameType::ConfigureResult, payload, kConfigureTimeoutMs,
	                    [this](const protocol::Frame& f) { return on_frame(f); }, error)) {
		error = "the host failed while applying '" + option + " = " + value + "': " +
		        (host_error_.empty() ? error : host_error_);
		return false;
	}
	protocol::ConfigureResult result;
	if (!protocol::parse(payload, result, error)) {
		return false;
	}
	// Channels that output() created at import time exist from now on, as in the core.
	for (const auto& output : result.outputs) {
		channels_[add_channel(output.first)].output = output.second;
	}
	if (!result.ok) {
		error = result.error;
		return false;
	}
	return true;
}

uint32_t ShimInstance::add_channel(const std::string& spec) {
	auto found = by_name_.find(spec);
	if (found != by_name_.end()) {
		return found->second;
	}
	uint32_t id = static_cast<uint32_t>(channels_.size());
	channels_.push_back({spec, mm_channel(core_, id, 1)});
	by_name_.emplace(spec, id);
	is_coalesced_.push_back(false);
	return id;
}

channel* ShimInstance::map_channel(const std::string& spec) {
	return channels_[add_channel(spec)].core;
}

bool ShimInstance::start(std::string& error) {
	protocol::Start start;
	start.timestamp = mm_timestamp();
	for (uint32_t id = 0; id < channels_.size(); id++) {
		start.channels.emplace_back(id, channels_[id].name);
	}
	if (!protocol::encode(link_.outbox(), start)) {
		error = "the channel table is larger than one frame may be";
		return false;
	}
	std::vector<uint8_t> payload;
	if (!link_.exchange(FrameType::Started, payload, kConfigureTimeoutMs,
	                    [this](const protocol::Frame& f) { return on_frame(f); }, error)) {
		error = "the host did not start: " + (host_error_.empty() ? error : host_error_);
		return false;
	}
	started_ = true;
	if (mm_manage_fd(link_.fd(), const_cast<char*>("python"), 1, this) != 0) {
		error = "the core cannot watch the host's socket";
		return false;
	}
	managed_ = true;
	// The initial outputs usually came with the answer; push them now.
	std::string ignored;
	link_.dispatch([this](const protocol::Frame& f) { return on_frame(f); }, ignored);
	return true;
}

void ShimInstance::deliver(size_t count, channel** channels, channel_value* values) {
	if (!link_.connected()) {
		return;
	}
	bool coalesce = !coalesced_.empty() || link_.outbox().size() > kOutboxLimit;
	std::optional<protocol::BatchWriter> batch;
	for (size_t i = 0; i < count; i++) {
		uint32_t id = static_cast<uint32_t>(channels[i]->ident);
		if (id >= channels_.size()) {
			continue;
		}
		channels_[id].input = values[i].normalised;
		if (coalesce) {
			if (!is_coalesced_[id]) {
				is_coalesced_[id] = true;
				coalesced_.push_back(id);
			}
			coalesced_events_++;
			continue;
		}
		if (!batch || batch->full()) {
			if (batch) {
				batch->finish();
			}
			batch.emplace(link_.outbox(), FrameType::Inputs, mm_timestamp());
		}
		batch->add(id, values[i].normalised);
	}
	if (batch) {
		batch->finish();
	}
	std::string error;
	if (!link_.flush(error)) {
		lost(error);
	}
}

// Sends the newest value of every channel that waited, in one batch.
void ShimInstance::send_coalesced() {
	if (coalesced_.empty() || link_.outbox().size() > kOutboxLimit) {
		return;
	}
	protocol::BatchWriter batch(link_.outbox(), FrameType::Inputs, mm_timestamp());
	for (uint32_t id : coalesced_) {
		batch.add(id, channels_[id].input);
		is_coalesced_[id] = false;
	}
	batch.finish();
	SHIM_LOG("%s: the host was slow; %llu input events were coalesced into %zu channel updates (latest value each)",
	         name(), static_cast<unsigned long long>(coalesced_events_), coalesced_.size());
	coalesced_.clear();
	coalesced_events_ = 0;
}

void ShimInstance::on_readable() {
	std::string error;
	bool open = link_.receive(error);
	std::string frame_error;
	if (!link_.dispatch([this](const protocol::Frame& f) { return on_frame(f); }, frame_error)) {
		lost(frame_error.empty() ? host_error_ : frame_error);
		return;
	}
	if (!open) {
		lost(error.empty() ? "the host closed the connection" : error);
	}
}

void ShimInstance::tick() {
	if (!link_.connected()) {
		return;
	}
	uint64_t now = mm_timestamp();
	if (now - last_heartbeat_ >= kHeartbeatMs) {
		last_heartbeat_ = now;
		protocol::encode(link_.outbox(), protocol::Heartbeat{now});
	}
	std::string error;
	if (!link_.flush(error)) {
		lost(error);
		return;
	}
	send_coalesced();
	if (!link_.flush(error)) {
		lost(error);
	}
}

bool ShimInstance::busy() const {
	return link_.connected() && (link_.has_unsent() || !coalesced_.empty());
}

bool ShimInstance::on_frame(const protocol::Frame& frame) {
	std::string error;
	switch (frame.type) {
	case FrameType::Outputs:
		return on_outputs(frame.payload);
	case FrameType::Log: {
		protocol::Log line;
		if (!protocol::parse(frame.payload, line, error)) {
			host_error_ = "malformed log frame: " + error;
			return false;
		}
		log_printf(line.level == 1 ? 1 : 0, const_cast<char*>("python"), const_cast<char*>("%s: %s\n"), name(),
		           line.text.c_str());
		return true;
	}
	case FrameType::Heartbeat:
		return true;
	case FrameType::Error: {
		protocol::Error message;
		host_error_ = protocol::parse(frame.payload, message, error) ? message.reason : error;
		return false;
	}
	default:
		host_error_ = std::string("unexpected ") + protocol::frame_type_name(static_cast<uint16_t>(frame.type)) +
		              " frame from the host";
		return false;
	}
}

// Routes the host's outputs into the core. A batch that is malformed or names a channel
// we never gave out means the host cannot be trusted: the connection ends.
bool ShimInstance::on_outputs(std::span<const uint8_t> payload) {
	protocol::BatchView batch;
	std::string error;
	if (!protocol::BatchView::parse(payload, batch, error)) {
		host_error_ = "malformed output batch: " + error;
		return false;
	}
	for (uint32_t i = 0; i < batch.size(); i++) {
		if (batch[i].channel >= channels_.size()) {
			host_error_ = "output on channel id " + std::to_string(batch[i].channel) + ", which was never assigned";
			return false;
		}
	}
	for (uint32_t i = 0; i < batch.size(); i++) {
		protocol::Event event = batch[i];
		ChannelState& state = channels_[event.channel];
		state.output = event.value;
		if (started_) {
			channel_value value{};
			value.raw.dbl = event.value;
			value.normalised = event.value;
			mm_channel_event(state.core, value);
		}
	}
	return true;
}

void ShimInstance::unmanage() {
	if (managed_) {
		mm_manage_fd(link_.fd(), const_cast<char*>("python"), 0, nullptr);
		managed_ = false;
	}
}

// The host is gone: say so once, stop watching its socket, reap it.
void ShimInstance::lost(const std::string& why) {
	if (!link_.connected()) {
		return;
	}
	unmanage();
	link_.close();
	std::string how;
	if (pid_ > 0) {
		// During the show the core must not wait: a host that has not exited yet is killed.
		how = reap_host(pid_, started_ ? 0 : 1000);
		pid_ = -1;
	}
	SHIM_LOG("%s: lost the host%s%s%s%s", name(), why.empty() ? "" : ": ", why.c_str(), how.empty() ? "" : "; it ",
	         how.c_str());
}

void ShimInstance::shutdown() {
	if (link_.connected()) {
		protocol::encode_empty(link_.outbox(), FrameType::Shutdown);
		started_ = false;  // outputs of cleanup handlers are not routed
		std::vector<uint8_t> payload;
		std::string error;
		if (!link_.exchange(FrameType::Bye, payload, kShutdownTimeoutMs,
		                    [this](const protocol::Frame& f) { return on_frame(f); }, error)) {
			SHIM_LOG("%s: the host did not finish its cleanup: %s", name(), error.c_str());
		}
		unmanage();
		link_.close();
	}
	if (pid_ > 0) {
		std::string how = reap_host(pid_, 2000);
		if (how.rfind("exited with status 0", 0) != 0) {
			SHIM_LOG("%s: the host %s", name(), how.c_str());
		}
		pid_ = -1;
	}
}

}  // namespace mmpy::shim
