// One [python NAME] instance as the shim sees it: a composition of the channel table (with
// the last input and output values), the link to the host, the conversation with it, the
// supervisor that brings a lost host back, and the inputs held while it is away. The phase
// machine below is what ties them together; plugin.cpp calls in from the core's callbacks.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "channel_table.h"
#include "clock.h"
#include "control.h"
#include "conversation.h"
#include "events.h"
#include "host_link.h"
#include "host_reach.h"
#include "input_coalescer.h"
#include "midimonster.h"
#include "status_report.h"
#include "supervisor.h"

namespace mmpy::shim {

class ShimInstance {
public:
	// Module imports run while the core waits; numpy alone takes a while on a slow disk.
	static constexpr int kConfigureTimeoutMs = static_cast<int>(Supervisor::kStartMs);
	static constexpr int kHelloTimeoutMs = 10000;
	static constexpr int kShutdownTimeoutMs = 10000;
	static constexpr uint64_t kHeartbeatMs = 1000;
	// How often the core should come back while bytes or held inputs wait (it only tells
	// us when the socket is readable, never when it is writable again).
	static constexpr uint32_t kBusyTickMs = 5;
	// Past this many bytes in the outbox (sent ones not yet dropped count too), inputs are held
	// per channel instead of queued; the rest of the reserve is room for one core iteration's
	// inputs, so the outbox never grows.
	static constexpr size_t kOutboxLimit = HostLink::kOutboxReserve / 2;

	// Up: the host runs the show. Replaying: a new host is being given the configuration
	// and values again. Down: no host; the supervisor says when the next one is due.
	enum class Phase { Configuring, Up, Replaying, Down, Stopped };

	ShimInstance(instance* core_instance, std::unique_ptr<HostReach> reach, const Clock& clock);
	// The core and the frame handlers hold `this`.
	ShimInstance(const ShimInstance&) = delete;
	ShimInstance& operator=(const ShimInstance&) = delete;

	// Reach a host and say hello. Blocking is fine: configuration time.
	bool connect(std::string& error);

	// conf_instance(): the host applies the option (imports modules right now).
	bool configure(const std::string& option, const std::string& value, std::string& error);

	// channel(): the core's channel for `spec`, registered once per name; nullptr and
	// `error` when the name is too long or the instance has too many channels.
	channel* map_channel(const std::string& spec, std::string& error);

	// start(): hand over the channel table, wait until handlers are resolved.
	bool start(std::string& error);

	// handle(): events the core delivers to this instance; encoded as one frame, or held
	// per channel while the host is slow or away.
	void deliver(size_t count, channel** channels, channel_value* values);

	// process(): the host's socket is readable.
	void on_readable();

	// Every core iteration: write what is waiting, heartbeat the host, watch that it
	// lives, and bring it back when it is time.
	void tick();

	// How soon (ms) the core should call process() again for this instance's sake.
	uint32_t wants_tick_within() const;

	// shutdown(): cleanup handlers run in the host, then the host is gone. Orderly in
	// every phase: up, restarting, hung or away.
	void shutdown();

	bool connected() const { return link_.connected(); }
	const char* name() const { return core_->name; }
	Phase phase() const { return phase_; }
	// Channels whose latest input waits for the host (slow or away).
	size_t held_channels() const { return held_.channels(); }
	// Memory the link's outbox holds: it never grows during the show.
	size_t outbox_capacity() const { return link_.outbox_capacity(); }

private:
	struct ShimChannel {
		channel* core = nullptr;
		double host_input = 0.0;  // the latest input written to the host
	};

	std::optional<HostLoss> on_frame(const protocol::Frame& frame);
	std::optional<HostLoss> on_outputs(std::span<const uint8_t> payload);
	std::optional<HostLoss> on_replay_answer(const protocol::Frame& frame);
	void send(uint32_t id, protocol::BatchWriter& batch);
	void send_held();
	void write_or_lose();
	bool manage(bool watch);
	protocol::Start start_message(bool restart) const;
	HostLink::FrameHandler frame_handler() {
		return [this](const protocol::Frame& f) { return on_frame(f); };
	}

	void lost(HostLoss why);
	void bring_back();
	void told(const Supervisor::Report& outage);
	// The operator's report (StatusReport): the instance is now `state`.
	void report(const char* state);

	instance* core_;
	const Clock& clock_;
	std::unique_ptr<HostReach> reach_;
	protocol::ChannelTable<ShimChannel> channels_;
	HostLink link_;
	Conversation conversation_;
	Supervisor supervisor_;
	InputCoalescer held_;
	Phase phase_ = Phase::Configuring;
	bool routed_ = false;    // outputs go into the core
	bool managed_ = false;   // the core watches our socket
	uint64_t last_heartbeat_ = 0;      // we last sent one
	uint64_t sent_events_ = 0;         // written to this host
	uint64_t handled_events_ = 0;      // the host's last count of events it took
	protocol::Tasks tasks_;            // the sequences this host last said run
	protocol::State state_;            // midimonster.state as the host last pickled it
	StatusReport report_;
	uint64_t restarts_ = 0;            // hosts brought back
	std::string reported_state_;
	uint64_t state_since_ms_ = 0;      // the reported state began (Unix time)
	std::string last_loss_;            // why the last host was lost
	uint64_t last_loss_ms_ = 0;
};

}  // namespace mmpy::shim
