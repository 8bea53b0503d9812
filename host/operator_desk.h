// What the operator's commands get from a running host (ControlServer's requests):
// `status`, `values`, `inject` and `reload`, answered from the session's parts.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "control_server.h"
#include "instance.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "show_code.h"
#include "watchdog.h"

namespace mmpy::host {

class OperatorDesk {
public:
	// Who this host is, known at the hello.
	struct Identity {
		std::string instance;
		int64_t core_pid = 0;
		std::string mode;  // "spawn" or "attach"
	};
	// The sequences running now, as last reported to the shim.
	using RunningTasks = std::function<std::vector<protocol::TaskCount>()>;

	OperatorDesk(Instance& instance, ShowCode& code, PythonRuntime& python, Scheduler& scheduler, Watchdog& watchdog,
	             RunningTasks tasks)
	    : instance_(instance), code_(code), python_(python), scheduler_(scheduler), watchdog_(watchdog),
	      tasks_(std::move(tasks)) {}

	void set_identity(Identity identity);

	void handle(const protocol::OperatorRequest& request, const ControlServer::Answer& answer);

private:
	protocol::OperatorReply status() const;
	protocol::OperatorReply values(const std::vector<std::string>& args) const;
	protocol::OperatorReply inject(const std::vector<std::string>& args);

	Instance& instance_;
	ShowCode& code_;
	PythonRuntime& python_;
	Scheduler& scheduler_;
	Watchdog& watchdog_;
	RunningTasks tasks_;
	Identity identity_;
	std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
};

}  // namespace mmpy::host
