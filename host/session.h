// One shim connection serving one [python NAME] instance: the protocol's phases (hello,
// configuration, the show, shutdown) and the wiring of the host's parts. What the instance
// does lives in Instance and InstanceOptions; the Session routes frames to them and sends
// what they produce.
#pragma once

#include <uv.h>

#include <string>
#include <string_view>
#include <vector>

#include "connection.h"
#include "control_server.h"
#include "core_clock.h"
#include "event_loop.h"
#include "instance.h"
#include "instance_options.h"
#include "kept_state.h"
#include "operator_desk.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "show_code.h"
#include "sinks.h"
#include "tasks.h"
#include "virtual_time.h"
#include "watchdog.h"

namespace mmpy::host {

class Session : private LogSink, private OutputSink {
public:
	explicit Session(uv_loop_t* loop);
	~Session();

	// Adopts the connected socket `fd`; run() serves it.
	bool open(int fd, std::string& error);

	// Serves the connection until the core says goodbye or goes away, then stops Python.
	void run();

	// A signal asked the host to stop: tasks are cancelled, the cleanup handler runs, then
	// the session ends.
	void terminate(const std::string& why);

	// The operator's control socket (ControlServer) opens at the hello; `mode` is "spawn" or
	// "attach", for `mm-pyhost list`. Without this call there is none (the fuzz harness).
	void serve_operators(std::string mode) { operator_mode_ = std::move(mode); }

	// SIGHUP: the show's modules are imported again (ShowCode), keeping values and state.
	void reload(const std::string& why) { show_code_.reload(why); }

	bool finished() const { return phase_ == Phase::Finished; }

	const Instance& instance() const { return instance_; }

private:
	// Stopping: tasks are being cancelled and the cleanup handler runs (wind_down()).
	enum class Phase { AwaitHello, Configuring, Running, Stopping, Finished };
	// How a wind-down ends: a Bye for the shim's Shutdown, an Error for a signal, or
	// nothing when the core is gone.
	enum class Ending { Bye, Terminated, CoreGone };

	bool on_frame(const protocol::Frame& frame);
	bool on_hello(std::span<const uint8_t> payload);
	bool on_configure(std::span<const uint8_t> payload);
	bool on_start(std::span<const uint8_t> payload);
	bool on_inputs(std::span<const uint8_t> payload);
	bool on_heartbeat(std::span<const uint8_t> payload);
	bool on_advance(std::span<const uint8_t> payload);
	bool on_shutdown();
	bool on_error(std::span<const uint8_t> payload);
	bool on_state(std::span<const uint8_t> payload);
	void release_held();
	template <typename Message>
	bool parse(std::span<const uint8_t> payload, Message& message);
	bool reject(const std::string& reason);

	void wind_down(Ending ending, std::string why = {});
	void end_show(Ending ending, const std::string& why);
	void finish(const ConnectionEnd& end);
	void teardown();
	void report_tasks(const std::vector<std::pair<std::string, uint64_t>>& running);

	// LogSink: a Log frame, after the outputs made before it.
	void log(int level, std::string_view text) override;
	// OutputSink: flush(), then waits while the shim is behind.
	bool send_outputs() override;
	// Sends the outputs of this loop turn as one frame, then everything queued.
	void flush();

	Phase phase_ = Phase::AwaitHello;
	CoreClock clock_;
	Connection connection_;
	PythonRuntime python_;
	Scheduler scheduler_;
	Watchdog watchdog_;  // after connection_: it sends through it until it is stopped
	Tasks tasks_;
	EventLoop event_loop_;
	VirtualTime virtual_time_;
	Instance instance_;
	ShowCode show_code_;
	KeptState kept_state_;
	InstanceOptions options_;
	OperatorDesk desk_;
	ControlServer control_;
	std::string operator_mode_;  // empty: no control socket
	std::vector<protocol::TaskCount> running_;  // the sequences last reported
	std::vector<uint8_t> out_;
	bool outputs_routed_ = true;  // false once the core's routing has stopped
	bool wound_down_ = false;     // the wind-down has ended: the session ends with the connection
	bool configured_ = false;     // an option line has arrived (a restored state comes before)
	// Inputs that arrived while a reload switched versions, for the version that runs next.
	// Bounded by time: a switch-over ends within the settle bounds (ShowCode).
	bool holding_ = false;
	std::vector<std::vector<uint8_t>> held_;
	size_t held_events_ = 0;
	uint64_t shim_held_events_ = 0;  // held back by the shim, as of its last heartbeat
	bool told_first_handled_ = false;  // a heartbeat went out after the first inputs handled
};

}  // namespace mmpy::host
