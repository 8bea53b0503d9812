// One [python NAME] instance as the shim sees it: its channel table with the last input
// and output values, and its link to the host process that runs its Python. During the
// show the instance supervises that host: it notices a host that died or hangs, brings
// it back with the same configuration and values, and holds the inputs meanwhile.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "control.h"
#include "host_link.h"
#include "midimonster.h"
#include "restart_policy.h"

namespace mmpy::shim {

// How the shim reaches hosts, from the [backend python] section.
struct BackendOptions {
	std::string host;    // spawn mode: the executable ("" = find it)
	std::string socket;  // attach mode: a listening mm-pyhost
};

class ShimInstance {
public:
	explicit ShimInstance(instance* core_instance);
	~ShimInstance();

	// Reach a host (spawn or attach) and say hello. Blocking is fine: configuration time.
	bool connect(const BackendOptions& options, std::string& error);

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
	// every state: up, restarting, hung or away.
	void shutdown();

	bool connected() const { return link_.connected(); }
	const char* name() const { return core_->name; }

private:
	// Test seam for tests/fuzz/fuzz_shim_decoder.cpp only: puts an instance into a show
	// state (channels, a socket, Up or Replaying) without a host process.
	friend struct ShimInstanceFuzzAccess;

	// Module imports run while the core waits; numpy alone takes a while on a slow disk.
	static constexpr int kConfigureTimeoutMs = 60000;
	static constexpr int kHelloTimeoutMs = 10000;
	static constexpr int kShutdownTimeoutMs = 10000;
	static constexpr uint64_t kHeartbeatMs = 1000;
	// A healthy host says it is alive every 250 ms; this much silence means it hangs.
	static constexpr uint64_t kSilenceMs = 3000;
	// A lost host that has not exited after this long is killed.
	static constexpr uint64_t kReapGraceMs = 1000;
	// How often the core should come back while bytes or held inputs wait (it only tells
	// us when the socket is readable, never when it is writable again).
	static constexpr uint32_t kBusyTickMs = 5;
	// Past this many unsent bytes, inputs are held per channel instead of queued.
	static constexpr size_t kOutboxLimit = 256 * 1024;

	// Up: the host runs the show. Replaying: a new host is being given the configuration
	// and values again. Down: no host; the next attempt is due at retry_at_.
	enum class State { Configuring, Up, Replaying, Down, Stopped };

	struct ChannelState {
		std::string name;
		channel* core = nullptr;
		double input = 0.0;       // the latest value from the core
		double host_input = 0.0;  // the latest value written to the host
		double output = 0.0;
		bool has_input = false;
		bool has_output = false;
		bool pending = false;     // `input` still has to reach the host
	};

	uint32_t add_channel(const std::string& name);
	bool on_frame(const protocol::Frame& frame);
	bool on_outputs(std::span<const uint8_t> payload);
	bool on_replay_answer(const protocol::Frame& frame);
	void hold(uint32_t id);
	void send_held();
	void write_or_lose();
	protocol::Start start_message(bool restart) const;
	protocol::ShimHello hello_message() const;

	// supervision.cpp: losing, reaping and bringing back the host.
	void lost(const std::string& why, bool kill_it);
	void unmanage();
	void finish_reaping(uint64_t now);
	void schedule_retry(uint64_t now, const std::string& what_happened);
	void bring_back(uint64_t now);
	void back_up(uint64_t now);
	void watch_heartbeat(uint64_t now);

	instance* core_;
	std::string directory_;  // the configuration's folder, first on the host's sys.path
	BackendOptions options_;
	HostLink link_;
	State state_ = State::Configuring;
	pid_t pid_ = -1;         // spawn mode: our child serving the show
	bool started_ = false;   // outputs are routed into the core
	bool managed_ = false;   // the core watches our socket
	std::string host_error_;  // the reason an Error frame gave
	std::vector<ChannelState> channels_;
	std::unordered_map<std::string, uint32_t> by_name_;
	// The option lines the host accepted, given again to every new host.
	std::vector<protocol::Configure> configuration_;

	// Inputs the host has not got yet, one entry per channel (latest value wins), so memory
	// stays bounded by the channel count however long the host is slow or away.
	std::vector<uint32_t> held_;
	uint64_t held_events_ = 0;

	// Supervision.
	RestartPolicy restart_;
	uint64_t last_heartbeat_ = 0;  // we last sent one
	uint64_t heard_at_ = 0;        // the host last sent anything
	uint64_t down_since_ = 0;
	uint64_t retry_at_ = 0;
	uint64_t replay_deadline_ = 0;
	size_t replay_answers_ = 0;    // ConfigureResults still expected
	bool replay_hello_ = false;    // the new host's hello arrived
	pid_t dying_pid_ = -1;         // a lost host not yet reaped
	uint64_t dying_since_ = 0;
	bool dying_killed_ = false;    // we killed it, so how it ended says nothing new
	std::string dying_why_;
	uint64_t sent_events_ = 0;     // written to this host
	uint64_t handled_events_ = 0;  // the host's last count of events it took
};

}  // namespace mmpy::shim
