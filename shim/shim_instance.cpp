#include "shim_instance.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "control.h"
#include "events.h"
#include "host_process.h"
#include "shim_log.h"

namespace mmpy::shim {

using protocol::FrameType;


ShimInstance::ShimInstance(instance* core_instance) : core_(core_instance) {
	// create() runs while the core is inside the configuration file's folder.
	char directory[PATH_MAX];
	directory_ = getcwd(directory, sizeof(directory)) ? directory : ".";
}

ShimInstance::~ShimInstance() {
	for (pid_t pid : {pid_, dying_pid_}) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			reap_host(pid, 1000);
		}
	}
}

protocol::ShimHello ShimInstance::hello_message() const {
	protocol::ShimHello hello;
	hello.instance = core_->name;
	hello.directory = directory_;
	hello.timestamp = mm_timestamp();
	return hello;
}

bool ShimInstance::connect(const BackendOptions& options, std::string& error) {
	if (std::strlen(core_->name) > protocol::kMaxNameLength) {
		error = "instance names are limited to " + std::to_string(protocol::kMaxNameLength) + " bytes";
		return false;
	}
	options_ = options;
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

	protocol::encode(link_.outbox(), hello_message());
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
		if (by_name_.find(output.first) == by_name_.end() && channels_.size() >= protocol::kMaxChannels) {
			error = "the module created more than " + std::to_string(protocol::kMaxChannels) + " channels";
			return false;
		}
		ChannelState& channel = channels_[add_channel(output.first)];
		channel.output = output.second;
		channel.has_output = true;
	}
	if (!result.ok) {
		error = result.error;
		return false;
	}
	configuration_.push_back({option, value});
	return true;
}

uint32_t ShimInstance::add_channel(const std::string& spec) {
	auto found = by_name_.find(spec);
	if (found != by_name_.end()) {
		return found->second;
	}
	uint32_t id = static_cast<uint32_t>(channels_.size());
	ChannelState channel;
	channel.name = spec;
	channel.core = mm_channel(core_, id, 1);
	channels_.push_back(std::move(channel));
	by_name_.emplace(spec, id);
	return id;
}

channel* ShimInstance::map_channel(const std::string& spec, std::string& error) {
	if (spec.size() > protocol::kMaxNameLength) {
		error = "channel names are limited to " + std::to_string(protocol::kMaxNameLength) + " bytes; '" +
		        spec.substr(0, 40) + "...' is " + std::to_string(spec.size());
		return nullptr;
	}
	if (by_name_.find(spec) == by_name_.end() && channels_.size() >= protocol::kMaxChannels) {
		error = "an instance has at most " + std::to_string(protocol::kMaxChannels) + " channels; '" + spec +
		        "' would be one more (split the channels over several instances)";
		return nullptr;
	}
	return channels_[add_channel(spec)].core;
}

// The channel table with every value the host should know: the last input it was sent
// and the last output it made. After a restart this is how inputvalue() and outputvalue()
// answer as before.
protocol::Start ShimInstance::start_message(bool restart) const {
	protocol::Start start;
	start.timestamp = mm_timestamp();
	start.restart = restart;
	for (uint32_t id = 0; id < channels_.size(); id++) {
		const ChannelState& channel = channels_[id];
		start.channels.emplace_back(id, channel.name);
		if (channel.has_input) {
			start.inputs.emplace_back(id, channel.host_input);
		}
		if (channel.has_output) {
			start.outputs.emplace_back(id, channel.output);
		}
	}
	return start;
}

bool ShimInstance::start(std::string& error) {
	if (!protocol::encode(link_.outbox(), start_message(false))) {
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
	state_ = State::Up;
	uint64_t now = mm_timestamp();
	restart_.host_up(now);
	heard_at_ = now;
	// The initial outputs usually came with the answer; push them now.
	std::string ignored;
	link_.dispatch([this](const protocol::Frame& f) { return on_frame(f); }, ignored);
	return true;
}

void ShimInstance::deliver(size_t count, channel** channels, channel_value* values) {
	if (state_ == State::Configuring || state_ == State::Stopped) {
		return;
	}
	// Straight to the host when it is up and keeping pace; held per channel otherwise.
	bool direct = state_ == State::Up && held_.empty() && link_.outbox().size() <= kOutboxLimit;
	std::optional<protocol::BatchWriter> batch;
	if (direct) {
		batch.emplace(link_.outbox(), FrameType::Inputs, mm_timestamp());
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t id = static_cast<uint32_t>(channels[i]->ident);
		if (id >= channels_.size()) {
			continue;
		}
		ChannelState& channel = channels_[id];
		channel.input = values[i].normalised;
		channel.has_input = true;
		if (!direct) {
			hold(id);
			continue;
		}
		batch->add(id, channel.input);
		channel.host_input = channel.input;
		sent_events_++;
	}
	if (batch) {
		batch->finish();
		write_or_lose();
	}
}

void ShimInstance::hold(uint32_t id) {
	held_events_++;
	if (!channels_[id].pending) {
		channels_[id].pending = true;
		held_.push_back(id);
	}
}

// Sends the newest value of every channel that waited, once the host is up and the
// socket takes it again.
void ShimInstance::send_held() {
	if (state_ != State::Up || held_.empty() || link_.outbox().size() > kOutboxLimit) {
		return;
	}
	protocol::BatchWriter batch(link_.outbox(), FrameType::Inputs, mm_timestamp());
	for (uint32_t id : held_) {
		ChannelState& channel = channels_[id];
		batch.add(id, channel.input);
		channel.host_input = channel.input;
		channel.pending = false;
		sent_events_++;
	}
	batch.finish();
	if (held_events_ > held_.size()) {
		SHIM_LOG("%s: %llu input events waited for the host; it got the latest value of each of their %zu channels",
		         name(), static_cast<unsigned long long>(held_events_), held_.size());
	}
	held_.clear();
	held_events_ = 0;
}

void ShimInstance::write_or_lose() {
	std::string error;
	if (!link_.flush(error)) {
		lost(error, false);
	}
}

void ShimInstance::on_readable() {
	if (!link_.connected()) {
		return;
	}
	std::string error;
	bool open = link_.receive(error);
	std::string frame_error;
	if (!link_.dispatch([this](const protocol::Frame& f) { return on_frame(f); }, frame_error)) {
		lost(frame_error.empty() ? host_error_ : frame_error, true);
		return;
	}
	if (!open) {
		lost(error.empty() ? "it closed the connection" : error, false);
		return;
	}
	send_held();
	write_or_lose();
}

void ShimInstance::tick() {
	uint64_t now = mm_timestamp();
	if (state_ == State::Down) {
		if (dying_pid_ > 0) {
			finish_reaping(now);
		} else if (now >= retry_at_) {
			bring_back(now);
		}
		return;
	}
	if (state_ != State::Up && state_ != State::Replaying) {
		return;
	}
	if (now - last_heartbeat_ >= kHeartbeatMs) {
		last_heartbeat_ = now;
		protocol::encode(link_.outbox(), protocol::Heartbeat{now, 0});
	}
	send_held();
	write_or_lose();
	if (state_ == State::Up) {
		watch_heartbeat(now);
	} else if (state_ == State::Replaying && now >= replay_deadline_) {
		lost("it did not finish starting within " + std::to_string(kConfigureTimeoutMs / 1000) + " s", true);
	}
}

uint32_t ShimInstance::wants_tick_within() const {
	uint64_t now = mm_timestamp();
	switch (state_) {
	case State::Down:
		if (dying_pid_ > 0) {
			return kBusyTickMs;
		}
		return static_cast<uint32_t>(std::clamp<uint64_t>(retry_at_ > now ? retry_at_ - now : 0, 1, kHeartbeatMs));
	case State::Up:
	case State::Replaying:
		return link_.has_unsent() || !held_.empty() ? kBusyTickMs : kHeartbeatMs;
	default:
		return kHeartbeatMs;
	}
}

bool ShimInstance::on_frame(const protocol::Frame& frame) {
	heard_at_ = mm_timestamp();
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
	case FrameType::Heartbeat: {
		protocol::Heartbeat alive;
		if (!protocol::parse(frame.payload, alive, error)) {
			host_error_ = "malformed heartbeat: " + error;
			return false;
		}
		handled_events_ = alive.handled;
		return true;
	}
	case FrameType::Error: {
		protocol::Error message;
		host_error_ = protocol::parse(frame.payload, message, error) ? message.reason : error;
		return false;
	}
	case FrameType::Hello:
	case FrameType::ConfigureResult:
	case FrameType::Started:
		if (state_ == State::Replaying) {
			return on_replay_answer(frame);
		}
		if (state_ == State::Stopped) {
			return true;  // a host shut down while it was coming back
		}
		[[fallthrough]];
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
		state.has_output = true;
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

void ShimInstance::shutdown() {
	State was = state_;
	state_ = State::Stopped;
	if (link_.connected()) {
		protocol::encode_empty(link_.outbox(), FrameType::Shutdown);
		started_ = false;  // outputs of cleanup handlers are not routed
		std::vector<uint8_t> payload;
		std::string error;
		// A hung host gets no full grace period: healthy ones send heartbeats all along.
		if (!link_.exchange(FrameType::Bye, payload, kShutdownTimeoutMs,
		                    [this](const protocol::Frame& f) { return on_frame(f); }, error,
		                    was == State::Configuring ? 0 : static_cast<int>(kSilenceMs))) {
			SHIM_LOG("%s: the host did not finish its cleanup: %s", name(), error.c_str());
		}
		unmanage();
		link_.close();
	}
	if (!held_.empty()) {
		SHIM_LOG("%s: %llu input events on %zu channels never reached a host: the show ended while it was away",
		         name(), static_cast<unsigned long long>(held_events_), held_.size());
	}
	if (pid_ > 0) {
		std::string how = reap_host(pid_, 2000);
		if (how.rfind("exited with status 0", 0) != 0) {
			SHIM_LOG("%s: the host %s", name(), how.c_str());
		}
		pid_ = -1;
	}
	if (dying_pid_ > 0) {
		reap_host(dying_pid_, 0);
		dying_pid_ = -1;
	}
}

}  // namespace mmpy::shim
