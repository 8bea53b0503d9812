#include "shim_instance.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

#include "control.h"
#include "events.h"
#include "log_lines.h"

namespace mmpy::shim {

using protocol::FrameType;

namespace {

uint64_t unix_ms() {
	timespec now{};
	clock_gettime(CLOCK_REALTIME, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

// create() runs while the core is inside the configuration file's folder.
std::string current_folder() {
	char directory[PATH_MAX];
	return getcwd(directory, sizeof(directory)) ? directory : ".";
}

}  // namespace

ShimInstance::ShimInstance(instance* core_instance, std::unique_ptr<HostReach> reach, const Clock& clock)
    : core_(core_instance),
      clock_(clock),
      reach_(std::move(reach)),
      conversation_(current_folder()),
      supervisor_(*reach_, clock) {}

bool ShimInstance::connect(std::string& error) {
	if (std::strlen(core_->name) > protocol::kMaxNameLength) {
		error = "instance names are limited to " + std::to_string(protocol::kMaxNameLength) + " bytes";
		return false;
	}
	int fd = reach_->open(error);
	if (fd < 0) {
		return false;
	}
	link_.adopt(fd);
	conversation_.hello(link_.outbox(), name(), clock_.now());
	std::vector<uint8_t> payload;
	if (auto loss = link_.exchange(FrameType::Hello, payload, kHelloTimeoutMs, frame_handler())) {
		error = "no answer from the host: " + describe(*loss, "the host");
		return false;
	}
	protocol::HostHello reply;
	if (auto loss = conversation_.check_hello(payload, reply)) {
		error = describe(*loss);
		return false;
	}
	log_lines::host_ready(name(), reply.pid, reply.python);
	return true;
}

bool ShimInstance::configure(const std::string& option, const std::string& value, std::string& error) {
	protocol::encode(link_.outbox(), protocol::Configure{option, value});
	std::vector<uint8_t> payload;
	if (auto loss = link_.exchange(FrameType::ConfigureResult, payload, kConfigureTimeoutMs, frame_handler())) {
		error = "the host failed while applying '" + option + " = " + value + "': " + describe(*loss, "the host");
		return false;
	}
	protocol::ConfigureResult result;
	if (!protocol::parse(payload, result, error)) {
		return false;
	}
	// Channels that output() created at import time exist from now on, as in the core.
	for (const auto& [channel_name, output] : result.outputs) {
		channel* mapped = map_channel(channel_name, error);
		if (!mapped) {
			error = "the module created a channel the core cannot take: " + error;
			return false;
		}
		auto& channel = channels_[static_cast<uint32_t>(mapped->ident)];
		channel.output = output;
		channel.has_output = true;
	}
	if (!result.ok) {
		error = result.error;
		return false;
	}
	conversation_.accepted({option, value});
	return true;
}

channel* ShimInstance::map_channel(const std::string& spec, std::string& error) {
	protocol::Admission admission = channels_.admit(spec);
	if (admission != protocol::Admission::Admitted) {
		error = describe(admission, spec);
		if (admission == protocol::Admission::TableFull) {
			error += " (split the channels over several instances)";
		}
		return nullptr;
	}
	uint32_t id = channels_.add(spec);
	if (!channels_[id].core) {
		channels_[id].core = mm_channel(core_, id, 1);
	}
	return channels_[id].core;
}

// The channel table with every value the host should know: the last input it was sent
// and the last output it made. After a restart this is how inputvalue() and outputvalue()
// answer as before.
protocol::Start ShimInstance::start_message(bool restart) const {
	protocol::Start start;
	start.timestamp = clock_.now();
	start.restart = restart;
	start.channels = channels_.list();
	for (uint32_t id = 0; id < channels_.size(); id++) {
		const auto& channel = channels_[id];
		if (channel.has_input) {
			start.inputs.emplace_back(id, channel.host_input);
		}
		if (channel.has_output) {
			start.outputs.emplace_back(id, channel.output);
		}
	}
	return start;
}

bool ShimInstance::manage(bool watch) {
	if (watch == managed_) {
		return true;
	}
	if (mm_manage_fd(link_.fd(), const_cast<char*>("python"), watch ? 1 : 0, watch ? this : nullptr) != 0 && watch) {
		return false;
	}
	managed_ = watch;
	return true;
}

bool ShimInstance::start(std::string& error) {
	if (!protocol::encode(link_.outbox(), start_message(false))) {
		error = "the channel table is larger than one frame may be";
		return false;
	}
	std::vector<uint8_t> payload;
	if (auto loss = link_.exchange(FrameType::Started, payload, kConfigureTimeoutMs, frame_handler())) {
		error = "the host did not start: " + describe(*loss, "the host");
		return false;
	}
	routed_ = true;
	held_.reserve(channels_.size());
	if (!manage(true)) {
		error = "the core cannot watch the host's socket";
		return false;
	}
	phase_ = Phase::Up;
	supervisor_.up();
	std::string unreported;
	if (report_.open(getpid(), name(), unreported)) {
		report("up");
	} else {
		log_lines::no_report(name(), unreported);
	}
	// The initial outputs usually came with the answer; push them now.
	link_.dispatch(frame_handler());
	return true;
}

void ShimInstance::send(uint32_t id, protocol::BatchWriter& batch) {
	auto& channel = channels_[id];
	batch.add(id, channel.input);
	channel.host_input = channel.input;
	sent_events_++;
}

void ShimInstance::deliver(size_t count, channel** channels, channel_value* values) {
	if (phase_ == Phase::Configuring || phase_ == Phase::Stopped) {
		return;
	}
	// Straight to the host when it is up and keeping pace; held per channel otherwise.
	bool direct = phase_ == Phase::Up && held_.empty() && link_.outbox().size() <= kOutboxLimit;
	std::optional<protocol::BatchWriter> batch;
	if (direct) {
		batch.emplace(link_.outbox(), FrameType::Inputs, clock_.now());
	}
	for (size_t i = 0; i < count; i++) {
		auto id = static_cast<uint32_t>(channels[i]->ident);
		if (!channels_.contains(id)) {
			continue;
		}
		auto& channel = channels_[id];
		channel.input = values[i].normalised;
		channel.has_input = true;
		if (direct) {
			send(id, *batch);
		} else {
			held_.hold(id);
		}
	}
	if (batch) {
		batch->finish();
		write_or_lose();
	}
}

// Sends the newest value of every channel that waited, once the host is up and the
// socket takes it again.
void ShimInstance::send_held() {
	if (phase_ != Phase::Up || held_.empty() || link_.outbox().size() > kOutboxLimit) {
		return;
	}
	uint64_t events = held_.events();
	size_t channels = held_.channels();
	protocol::BatchWriter batch(link_.outbox(), FrameType::Inputs, clock_.now());
	held_.release([&](uint32_t id) { send(id, batch); });
	batch.finish();
	if (events > channels) {
		log_lines::held_inputs_sent(name(), events, channels);
	}
}

void ShimInstance::write_or_lose() {
	if (auto loss = link_.flush()) {
		lost(*loss);
	}
}

void ShimInstance::on_readable() {
	if (!link_.connected()) {
		return;
	}
	if (auto loss = link_.receive(frame_handler())) {
		lost(*loss);
		return;
	}
	send_held();
	write_or_lose();
}

void ShimInstance::tick() {
	uint64_t now = clock_.now();
	if (phase_ == Phase::Down) {
		Supervisor::Step step = supervisor_.tick();
		if (step.report) {
			told(*step.report);
		}
		if (step.attempt) {
			bring_back();
		}
		return;
	}
	if (phase_ != Phase::Up && phase_ != Phase::Replaying) {
		return;
	}
	if (now - last_heartbeat_ >= kHeartbeatMs) {
		last_heartbeat_ = now;
		// To the host: the inputs held back for it (mm-pyhost status says "inputs waiting").
		protocol::encode(link_.outbox(), protocol::Heartbeat{now, held_.events()});
	}
	send_held();
	write_or_lose();
	if (phase_ == Phase::Up && supervisor_.silent()) {
		on_readable();  // the core may have been busy elsewhere; read before judging
		if (phase_ == Phase::Up && supervisor_.silent()) {
			lost(HostLoss{HostLoss::Kind::Silent, 0, Supervisor::kSilenceMs});
		}
	} else if (phase_ == Phase::Replaying && supervisor_.start_overdue()) {
		lost(HostLoss{HostLoss::Kind::StartOverdue, 0, Supervisor::kStartMs});
	}
}

uint32_t ShimInstance::wants_tick_within() const {
	switch (phase_) {
	case Phase::Down:
		if (supervisor_.reaping()) {
			return kBusyTickMs;
		}
		return static_cast<uint32_t>(std::clamp<uint64_t>(supervisor_.until_attempt(), 1, kHeartbeatMs));
	case Phase::Up:
	case Phase::Replaying:
		return link_.unsent() > 0 || !held_.empty() ? kBusyTickMs : kHeartbeatMs;
	default:
		return kHeartbeatMs;
	}
}

std::optional<HostLoss> ShimInstance::on_frame(const protocol::Frame& frame) {
	supervisor_.heard();
	std::string error;
	switch (frame.type) {
	case FrameType::Outputs:
		return on_outputs(frame.payload);
	case FrameType::Log: {
		protocol::Log line;
		if (!protocol::parse(frame.payload, line, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed log frame: " + error};
		}
		log_lines::python(name(), line.level, line.text);
		return std::nullopt;
	}
	case FrameType::Heartbeat: {
		protocol::Heartbeat alive;
		if (!protocol::parse(frame.payload, alive, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed heartbeat: " + error};
		}
		handled_events_ = alive.handled;
		return std::nullopt;
	}
	case FrameType::Tasks: {
		// Into a copy: the set a malformed frame would replace is the one that dies with the host.
		protocol::Tasks running;
		if (!protocol::parse(frame.payload, running, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed tasks frame: " + error};
		}
		tasks_ = std::move(running);
		return std::nullopt;
	}
	case FrameType::State:
		// The shim only keeps it for the next host; a host checks what it restores.
		if (!protocol::parse(frame.payload, state_, error)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "malformed state frame: " + error};
		}
		return std::nullopt;
	case FrameType::Error: {
		protocol::Error message;
		return HostLoss{HostLoss::Kind::Stopped, protocol::parse(frame.payload, message, error) ? message.reason : error};
	}
	case FrameType::Hello:
	case FrameType::ConfigureResult:
	case FrameType::Started:
		if (phase_ == Phase::Replaying) {
			return on_replay_answer(frame);
		}
		if (phase_ == Phase::Stopped) {
			return std::nullopt;  // a host shut down while it was coming back
		}
		[[fallthrough]];
	default:
		return HostLoss{HostLoss::Kind::Misbehaved, std::string("unexpected ") + protocol::frame_type_name(static_cast<uint16_t>(frame.type)) +
		                    " frame from the host"};
	}
}

// Routes the host's outputs into the core. A batch that is malformed or names a channel
// we never gave out means the host cannot be trusted: the connection ends.
std::optional<HostLoss> ShimInstance::on_outputs(std::span<const uint8_t> payload) {
	protocol::BatchView batch;
	std::string error;
	if (!protocol::BatchView::parse(payload, batch, error)) {
		return HostLoss{HostLoss::Kind::Misbehaved, "malformed output batch: " + error};
	}
	for (uint32_t i = 0; i < batch.size(); i++) {
		if (!channels_.contains(batch[i].channel)) {
			return HostLoss{HostLoss::Kind::Misbehaved, "output on channel id " + std::to_string(batch[i].channel) + ", which was never assigned"};
		}
	}
	for (uint32_t i = 0; i < batch.size(); i++) {
		protocol::Event event = batch[i];
		auto& channel = channels_[event.channel];
		channel.output = event.value;
		channel.has_output = true;
		if (routed_) {
			channel_value value{};
			value.raw.dbl = event.value;
			value.normalised = event.value;
			mm_channel_event(channel.core, value);
		}
	}
	return std::nullopt;
}

// The host is gone or cannot be trusted any more. Inputs it cannot have received whole go
// to the next host; before the show, losing it just ends the connection.
void ShimInstance::lost(HostLoss why) {
	if (!link_.connected()) {
		return;
	}
	// A host that ended the stream or broke it is gone already; one that misbehaved or went
	// silent may still run and is killed.
	bool kill = why.kind != HostLoss::Kind::Closed && why.kind != HostLoss::Kind::ReadFailed &&
	            why.kind != HostLoss::Kind::WriteFailed;
	uint64_t resent = 0;
	link_.for_each_unsent_frame([&](const protocol::Frame& frame) {
		protocol::BatchView batch;
		std::string ignored;
		if (frame.type != FrameType::Inputs || !protocol::BatchView::parse(frame.payload, batch, ignored)) {
			return;
		}
		for (uint32_t i = 0; i < batch.size(); i++) {
			held_.hold(batch[i].channel);
			resent++;
		}
	});
	uint64_t delivered = sent_events_ - std::min(sent_events_, resent);
	manage(false);
	link_.close();

	last_loss_ = describe(why, "the host");  // how it ended comes once it is reaped (told())
	last_loss_ms_ = unix_ms();
	Outage outage;
	outage.why = std::move(why);
	outage.unconfirmed = delivered - std::min(delivered, handled_events_);
	outage.handled = handled_events_;
	// Its sequences end with it; the next host starts with none.
	outage.sequences = std::exchange(tasks_, {});
	if (phase_ != Phase::Up && phase_ != Phase::Replaying) {
		pid_t pid = reach_->pid();
		reach_->let_go(kill);
		log_lines::lost_before_show(name(), pid, outage.why, reach_->reap_within(1000));
		log_lines::sequences_gone(name(), outage.sequences);
		return;
	}
	phase_ = Phase::Down;
	auto told_now = supervisor_.lost(std::move(outage), kill);
	if (told_now) {
		told(*told_now);
	} else {
		report("down");
	}
}

// An outage the supervisor tells of (at once, or once its host has been reaped): the log
// line, and the operator's report.
void ShimInstance::told(const Supervisor::Report& outage) {
	log_lines::outage(name(), outage.outage, outage.retry);
	last_loss_ = describe(outage.outage.why, "the host");
	if (outage.outage.end && !outage.outage.killed) {
		last_loss_ += "; it " + describe(*outage.outage.end);
	}
	last_loss_ms_ = unix_ms();
	report("down");
}

// Starts (or reaches) a new host and gives it, in one go, everything the old one had: the
// hello, every option line, and the channel table with the last values. The answers arrive
// while the show goes on; inputs are held until the host says it started.
void ShimInstance::bring_back() {
	std::string error;
	int fd = reach_->open(error);
	if (fd < 0) {
		told(supervisor_.attempt_failed(HostLoss{HostLoss::Kind::Unreachable, error}));
		return;
	}
	link_.adopt(fd);
	phase_ = Phase::Replaying;
	if (!manage(true)) {
		lost(HostLoss{HostLoss::Kind::CannotWatch});
		return;
	}
	if (!conversation_.replay(link_.outbox(), name(), clock_.now(), state_, start_message(true))) {
		lost(HostLoss{HostLoss::Kind::TableTooLarge});
		return;
	}
	supervisor_.replaying();
	last_heartbeat_ = clock_.now();
	sent_events_ = 0;
	handled_events_ = 0;
	log_lines::replaying(name(), reach_->pid(), reach_->address());
	report("restarting");
	write_or_lose();
}

// The new host's answers to the replay: its hello, one result per option line, Started.
std::optional<HostLoss> ShimInstance::on_replay_answer(const protocol::Frame& frame) {
	Conversation::Answer answer = conversation_.answer(frame);
	switch (answer.kind) {
	case Conversation::Answer::Kind::Expected:
		break;
	case Conversation::Answer::Kind::Refused:
		log_lines::replay_refused(name(), answer.line->option, answer.line->value, answer.error);
		break;
	case Conversation::Answer::Kind::Started:
		phase_ = Phase::Up;
		log_lines::back(name(), supervisor_.up(), channels_.size());
		restarts_++;
		report("up");
		break;
	case Conversation::Answer::Kind::Violation:
		return answer.loss;
	}
	return std::nullopt;
}

void ShimInstance::shutdown() {
	Phase was = phase_;
	phase_ = Phase::Stopped;
	if (link_.connected()) {
		protocol::encode_empty(link_.outbox(), FrameType::Shutdown);
		routed_ = false;  // outputs of cleanup handlers are not routed
		std::vector<uint8_t> payload;
		// A hung host gets no full grace period: healthy ones send heartbeats all along.
		int quiet_ms = was == Phase::Configuring ? 0 : static_cast<int>(Supervisor::kSilenceMs);
		if (auto loss = link_.exchange(FrameType::Bye, payload, kShutdownTimeoutMs, frame_handler(), quiet_ms)) {
			log_lines::cleanup_unfinished(name(), *loss);
		}
		manage(false);
		link_.close();
	}
	if (!held_.empty()) {
		log_lines::held_inputs_dropped(name(), held_.events(), held_.channels());
	}
	if (auto end = reach_->finish(2000); end && !end->clean()) {
		log_lines::host_ended_badly(name(), *end);
	}
	report_.remove();
}

void ShimInstance::report(const char* state) {
	protocol::ShimReport r;
	r.instance = name();
	r.core_pid = getpid();
	r.state = state;
	if (reported_state_ != state) {
		reported_state_ = state;
		state_since_ms_ = unix_ms();
	}
	r.since_ms = state_since_ms_;
	r.restarts = restarts_;
	r.last_loss = last_loss_.substr(0, protocol::kMaxNameLength);
	r.last_loss_ms = last_loss_ms_;
	if (phase_ == Phase::Down && !supervisor_.reaping()) {
		r.next_attempt_ms = unix_ms() + supervisor_.until_attempt();
	}
	r.inputs_waiting = held_.events();
	report_.write(r);
}

}  // namespace mmpy::shim
