// One shim connection serving one [python NAME] instance: the protocol's state machine
// (hello, configure, start, events, shutdown) on top of the interpreter.
#pragma once

#include <uv.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "connection.h"
#include "instance_state.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "watchdog.h"

namespace mmpy::host {

class Session {
public:
	explicit Session(uv_loop_t* loop);
	~Session();

	// Serves the connected socket `fd` until the core says goodbye or goes away.
	bool open(int fd, std::string& error);

	// A signal asked the host to stop: cleanup handlers run, then the session ends.
	void terminate(const std::string& why);

	bool finished() const { return phase_ == Phase::Finished; }

private:
	enum class Phase { AwaitHello, Configuring, Running, Finished };

	bool on_frame(const protocol::Frame& frame);
	bool on_hello(std::span<const uint8_t> payload);
	bool on_configure(std::span<const uint8_t> payload);
	bool set_handler_timeout(const std::string& value, std::string& error);
	bool on_start(std::span<const uint8_t> payload);
	bool on_inputs(std::span<const uint8_t> payload);
	bool on_heartbeat(std::span<const uint8_t> payload);
	bool on_shutdown();
	bool reject(const std::string& reason);

	void deliver(uint32_t id, double value);
	void resolve_handlers();
	void run_cleanup_handler();
	void finish(const ConnectionEnd& end);

	void send_log(int level, std::string_view text);
	// Sends the outputs of this loop turn as one frame, then everything queued.
	void flush();
	// The core's clock: any thread (the watchdog stamps its heartbeats with it).
	uint64_t core_timestamp() const;
	void set_core_timestamp(uint64_t timestamp);

	uv_loop_t* loop_;
	Phase phase_ = Phase::AwaitHello;
	Connection connection_;
	InstanceState state_;
	PythonRuntime python_;
	Scheduler scheduler_;
	Watchdog watchdog_;  // after connection_: it sends through it until it is stopped
	std::vector<uint8_t> out_;
	bool outputs_routed_ = true;  // false once the core's routing has stopped
	// The core's clock in ns minus uv_hrtime() when it was last heard: one atomic, so the
	// watchdog reads a consistent value.
	std::atomic<int64_t> core_clock_offset_ns_{0};
};

}  // namespace mmpy::host
