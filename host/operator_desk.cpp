#include "operator_desk.h"

#include <fnmatch.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

namespace mmpy::host {

namespace {

protocol::OperatorReply refusal(std::string error) {
	protocol::OperatorReply reply;
	reply.ok = false;
	reply.error = std::move(error);
	return reply;
}

uint64_t rss_kb() {
	std::ifstream statm("/proc/self/statm");
	uint64_t pages = 0, resident = 0;
	statm >> pages >> resident;
	return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace

void OperatorDesk::set_identity(Identity identity) {
	identity_ = std::move(identity);
	since_ = std::chrono::steady_clock::now();
}

void OperatorDesk::handle(const protocol::OperatorRequest& request, const ControlServer::Answer& answer) {
	if (request.command == "status") {
		answer(status());
	} else if (request.command == "values") {
		answer(values(request.args));
	} else if (request.command == "inject") {
		answer(inject(request.args));
	} else if (request.command == "reload") {
		code_.reload("the operator", [answer](bool reloaded, const std::string& line) {
			protocol::OperatorReply reply;
			reply.ok = reloaded;
			(reloaded ? reply.message : reply.error) = line;
			answer(reply);
		});
	} else {
		answer(refusal("unknown command '" + request.command + "' (known: status, values, inject, reload)"));
	}
}

protocol::OperatorReply OperatorDesk::status() const {
	protocol::InstanceStatus s;
	s.instance = identity_.instance;
	s.core_pid = identity_.core_pid;
	s.host_pid = getpid();
	s.mode = identity_.mode;
	s.state = code_.reloading() ? "reloading" : instance_.started() ? "up" : "starting";
	s.uptime_ms = static_cast<uint64_t>(
	    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since_).count());
	s.python = python_.version();
	s.modules = code_.module_lines();
	s.version_loaded = code_.version_time();
	s.events = watchdog_.handled();
	s.intervals = scheduler_.intervals();
	s.sockets = scheduler_.sockets();
	s.tasks = tasks_();
	s.rss_kb = rss_kb();
	s.last_error = python_.last_error();
	s.last_error_ms = python_.last_error_ms();
	protocol::OperatorReply reply;
	reply.status = std::move(s);
	return reply;
}

// `values [PATTERN]`: a shell pattern on the channel names (show.*), every channel without.
protocol::OperatorReply OperatorDesk::values(const std::vector<std::string>& args) const {
	if (args.size() > 1) {
		return refusal("values takes one pattern at most, like 'show.*'");
	}
	protocol::OperatorReply reply;
	reply.values.emplace();
	reply.now_ms = instance_.timestamp();
	for (const Instance::Channel& channel : instance_.channels()) {
		if (args.empty() || fnmatch(args[0].c_str(), channel.name.c_str(), 0) == 0) {
			reply.values->push_back({channel.name, channel.input, channel.input_ms, channel.output, channel.output_ms});
		}
	}
	return reply;
}

// `inject CHANNEL VALUE`: the channel's handler runs as if the core had delivered the
// value; its outputs go to the core.
protocol::OperatorReply OperatorDesk::inject(const std::vector<std::string>& args) {
	if (args.size() != 2) {
		return refusal("inject takes a channel and a value from 0 to 1, like 'inject show.go 1'");
	}
	const std::string& name = args[0];
	char* end = nullptr;
	double value = std::strtod(args[1].c_str(), &end);
	if (args[1].empty() || *end != '\0' || !std::isfinite(value) || value < 0.0 || value > 1.0) {
		return refusal("the value must be a number from 0 to 1, not '" + args[1] + "'");
	}
	if (!instance_.started()) {
		return refusal(identity_.instance + " has not started its show yet");
	}
	if (code_.reloading()) {
		return refusal(identity_.instance + " is reloading its code; try again in a moment");
	}
	auto id = instance_.channels().find(name);
	if (!id) {
		return refusal("no channel " + name + " in " + identity_.instance + " ('mm-pyhost values " +
		               identity_.instance + "' lists its " + std::to_string(instance_.channels().size()) +
		               " channels)");
	}
	instance_.inject(*id, value);
	protocol::OperatorReply reply;
	reply.message = name + " <- " + args[1] + ": its handler ran";
	return reply;
}

}  // namespace mmpy::host
