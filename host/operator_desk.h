// What the operator's commands get from a running host (ControlServer's requests):
// `status`, `values`, `inject`, `reload`, `restart`, `monitor`, `logs` and `console`, answered
// from the session's parts. It keeps the instance's recent log lines for `logs`, and watches inputs
// and outputs (EventTap) only while someone monitors.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "console.h"
#include "control_server.h"
#include "instance.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "show_code.h"
#include "sinks.h"
#include "watchdog.h"

namespace mmpy::host {

class OperatorDesk : private EventTap {
public:
	// How many log lines `logs` shows.
	static constexpr size_t kLogLines = 1000;

	// Who this host is, known at the hello.
	struct Identity {
		std::string instance;
		int64_t core_pid = 0;
		std::string mode;  // "spawn" or "attach"
	};
	// What the session tells the desk, and does for it.
	struct Hooks {
		// The sequences running now, as last reported to the shim.
		std::function<std::vector<protocol::TaskCount>()> tasks;
		// Input events not handled yet (held during a reload, held back by the shim).
		std::function<uint64_t()> inputs_waiting;
		// `restart`: the host ends, and the shim starts a new one.
		std::function<void()> restart;
	};

	OperatorDesk(Instance& instance, ShowCode& code, PythonRuntime& python, Scheduler& scheduler, Watchdog& watchdog,
	             LogSink& log, Hooks hooks)
	    : instance_(instance), code_(code), python_(python), scheduler_(scheduler), watchdog_(watchdog),
	      hooks_(std::move(hooks)), console_(python, code, instance, log) {}

	void set_identity(Identity identity);

	void handle(const protocol::OperatorRequest& request, const std::shared_ptr<ControlServer::Replier>& replier);

	// A line of the instance's log (Session::log): kept for `logs`, sent to who follows.
	void logged(std::string_view text);

	// Before Python stops.
	void close() { console_.close(); }

private:
	struct Watcher {
		std::string pattern;  // monitor: a shell pattern on channel names, "" for all
		std::shared_ptr<ControlServer::Replier> replier;
	};

	protocol::OperatorReply status() const;
	protocol::OperatorReply values(const std::vector<std::string>& args) const;
	protocol::OperatorReply inject(const std::vector<std::string>& args);
	void monitor(const std::vector<std::string>& args, const std::shared_ptr<ControlServer::Replier>& replier);
	void logs(const std::vector<std::string>& args, const std::shared_ptr<ControlServer::Replier>& replier);
	void tap(bool input, std::string_view channel, double value) override;

	Instance& instance_;
	ShowCode& code_;
	PythonRuntime& python_;
	Scheduler& scheduler_;
	Watchdog& watchdog_;
	Hooks hooks_;
	Identity identity_;
	std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
	std::deque<protocol::StreamLine> log_;  // the last kLogLines
	std::vector<Watcher> monitors_;
	std::vector<Watcher> followers_;        // logs -f
	Console console_;
};

}  // namespace mmpy::host
