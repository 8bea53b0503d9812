// One [python NAME] instance served without a core: a host of its own, driven through the
// shim's own parts (SpawnedHost, HostLink, Conversation) and the protocol exactly as
// MIDIMonster's shim drives it. `mm-pyhost check` runs each instance of a show this way up
// to its start; the test harness (`mm-pyhost drive`, show_driver.h) runs a whole show, on a
// virtual clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "channel_table.h"
#include "control.h"
#include "driver.h"
#include "host_link.h"
#include "host_reach.h"

namespace mmpy::host {

class OfflineInstance {
public:
	// An output the host sent, at the time of the show's clock it was sent.
	using Output = protocol::DriverOutput;

	// `folder`: the configuration's folder (the host works there, first on sys.path).
	// With `virtual_clock` the show's time starts at 0 and moves only by advance().
	OfflineInstance(std::string name, std::string folder, bool virtual_clock);
	~OfflineInstance();
	OfflineInstance(const OfflineInstance&) = delete;
	OfflineInstance& operator=(const OfflineInstance&) = delete;

	// Each step answers nothing when it worked, else why not (the host failed, or refused).
	// Starts the host and exchanges hellos.
	std::optional<std::string> open(protocol::HostHello& hello);
	// One option line; `result` is the host's answer (which may refuse the line).
	std::optional<std::string> configure(const protocol::Configure& line, protocol::ConfigureResult& result);
	// The channel table: `channels` and those output() made while the modules imported.
	std::optional<std::string> start(const std::vector<std::string>& channels, protocol::Started& started);
	// Virtual clock: one core iteration's events, handled before the answer.
	std::optional<std::string> input(const std::vector<std::pair<std::string, double>>& events);
	// Virtual clock: moves the clock by `ms`, running what falls due on the way.
	std::optional<std::string> advance(uint64_t ms);
	// The cleanup handler runs, the host exits; how it ended, if it did not end well.
	std::optional<std::string> shutdown();

	bool running() const { return link_.connected(); }
	uint64_t now_ms() const { return now_ms_; }
	std::vector<std::string> channels() const;
	pid_t host_pid() const { return reach_.pid(); }

	// What arrived since the last take.
	std::vector<std::string> take_log() { return std::exchange(log_, {}); }
	std::vector<Output> take_outputs() { return std::exchange(outputs_, {}); }

private:
	std::optional<std::string> exchange(protocol::FrameType wanted, std::vector<uint8_t>& payload, int timeout_ms);
	std::optional<std::string> lost(const shim::HostLoss& loss);
	std::optional<shim::HostLoss> other(const protocol::Frame& frame);

	std::string name_;
	std::string folder_;
	bool virtual_clock_;
	uint64_t now_ms_ = 0;
	shim::SpawnedHost reach_;
	shim::HostLink link_;
	struct Nothing {};
	protocol::ChannelTable<Nothing> table_;
	std::vector<std::string> log_;
	std::vector<Output> outputs_;
};

}  // namespace mmpy::host
