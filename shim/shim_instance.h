// One [python NAME] instance as the shim sees it: its channel table with the last input
// and output values, and its link to the host process that runs its Python.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "host_link.h"
#include "midimonster.h"

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

	// channel(): the core's channel for `spec`, registered once per name.
	channel* map_channel(const std::string& spec);

	// start(): hand over the channel table, wait until handlers are resolved.
	bool start(std::string& error);

	// handle(): events the core delivers to this instance; encoded as one frame.
	void deliver(size_t count, channel** channels, channel_value* values);

	// process(): the host's socket is readable.
	void on_readable();

	// Every core iteration: write what is waiting, heartbeat the host.
	void tick();

	// True while something waits to be written, so the core should come back soon.
	bool busy() const;

	// shutdown(): cleanup handlers run in the host, then the host is gone.
	void shutdown();

	bool connected() const { return link_.connected(); }
	int fd() const { return link_.fd(); }
	const char* name() const { return core_->name; }

private:
	struct ChannelState {
		std::string name;
		channel* core = nullptr;
		double input = 0.0;
		double output = 0.0;
	};

	uint32_t add_channel(const std::string& name);
	bool on_frame(const protocol::Frame& frame);
	bool on_outputs(std::span<const uint8_t> payload);
	void lost(const std::string& why);
	void unmanage();
	void send_coalesced();

	instance* core_;
	std::string directory_;  // the configuration's folder, first on the host's sys.path
	HostLink link_;
	pid_t pid_ = -1;  // spawn mode: our child
	bool started_ = false;   // outputs are routed into the core
	bool managed_ = false;   // the core watches our socket
	std::string host_error_;  // the reason an Error frame gave
	std::vector<ChannelState> channels_;
	std::unordered_map<std::string, uint32_t> by_name_;

	// While the outbox is over its bound, inputs wait here instead: the latest value per
	// channel, so memory stays bounded by the channel count.
	std::vector<uint32_t> coalesced_;
	std::vector<bool> is_coalesced_;
	uint64_t coalesced_events_ = 0;
	uint64_t last_heartbeat_ = 0;
};

}  // namespace mmpy::shim
