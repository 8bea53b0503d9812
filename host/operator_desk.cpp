#include "operator_desk.h"

#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <ctime>
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

uint64_t unix_ms() {
	timespec now{};
	clock_gettime(CLOCK_REALTIME, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

bool matches(const std::string& pattern, std::string_view name) {
	return pattern.empty() || fnmatch(pattern.c_str(), std::string(name).c_str(), 0) == 0;
}

}  // namespace

void OperatorDesk::set_identity(Identity identity) {
	identity_ = std::move(identity);
	since_ = std::chrono::steady_clock::now();
}

void OperatorDesk::handle(const protocol::OperatorRequest& request,
                          const std::shared_ptr<ControlServer::Replier>& replier) {
	if (request.command == "status") {
		replier->answer(status());
	} else if (request.command == "values") {
		replier->answer(values(request.args));
	} else if (request.command == "inject") {
		replier->answer(inject(request.args));
	} else if (request.command == "reload") {
		code_.reload("the operator", [replier](bool reloaded, const std::string& line) {
			protocol::OperatorReply reply;
			reply.ok = reloaded;
			(reloaded ? reply.message : reply.error) = line;
			replier->answer(reply);
		});
	} else if (request.command == "restart") {
		protocol::OperatorReply reply;
		reply.message = "restarting: the host runs its cleanup handler and exits, then MIDIMonster starts a new one";
		replier->answer(reply);
		hooks_.restart();
	} else if (request.command == "monitor") {
		monitor(request.args, replier);
	} else if (request.command == "logs") {
		logs(request.args, replier);
	} else if (request.command == "console") {
		if (!instance_.started()) {
			replier->answer(refusal(identity_.instance + " has not started its show yet"));
		} else {
			console_.open(status(), replier);
		}
	} else {
		replier->answer(refusal("unknown command '" + request.command +
		                        "' (known: status, values, inject, reload, restart, monitor, logs, console)"));
	}
}

void OperatorDesk::logged(std::string_view text) {
	protocol::StreamLine line;
	line.kind = "log";
	line.time_ms = unix_ms();
	line.text = std::string(text);
	if (log_.size() == kLogLines) {
		log_.pop_front();
	}
	log_.push_back(line);
	std::erase_if(followers_, [&](const Watcher& follower) { return !follower.replier->stream(line); });
}

// `logs [-f]`: the last kLogLines lines, then (with -f) every new one until the operator goes.
void OperatorDesk::logs(const std::vector<std::string>& args, const std::shared_ptr<ControlServer::Replier>& replier) {
	bool follow = args.size() == 1 && args[0] == "-f";
	if (!args.empty() && !follow) {
		replier->answer(refusal("logs takes -f (follow) or nothing"));
		return;
	}
	protocol::OperatorReply reply;
	reply.message = std::to_string(log_.size()) + " lines";
	replier->open(reply);
	for (const protocol::StreamLine& line : log_) {
		replier->stream(line);
	}
	if (follow) {
		followers_.push_back({"", replier});
	} else {
		replier->close();
	}
}

// `monitor [PATTERN]`: every input and output of the channels PATTERN matches, until the
// operator goes. What a slow terminal cannot take is dropped and counted (ControlServer).
void OperatorDesk::monitor(const std::vector<std::string>& args,
                           const std::shared_ptr<ControlServer::Replier>& replier) {
	if (args.size() > 1) {
		replier->answer(refusal("monitor takes one pattern at most, like 'show.*'"));
		return;
	}
	protocol::OperatorReply reply;
	reply.message = "monitoring " + (args.empty() ? std::string("every channel") : args[0]);
	replier->open(reply);
	monitors_.push_back({args.empty() ? std::string() : args[0], replier});
	instance_.set_tap(this);
}

void OperatorDesk::tap(bool input, std::string_view channel, double value) {
	protocol::StreamLine line;
	line.kind = input ? "in" : "out";
	line.time_ms = unix_ms();
	line.channel = std::string(channel);
	line.value = value;
	std::erase_if(monitors_, [&](const Watcher& watcher) {
		return matches(watcher.pattern, channel) && !watcher.replier->stream(line);
	});
	if (monitors_.empty()) {
		instance_.set_tap(nullptr);
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
	const HandlerTimes& times = instance_.handler_times();
	s.handler_p50_us = times.percentile(50);
	s.handler_p99_us = times.percentile(99);
	s.handler_max_us = times.max_us();
	s.inputs_waiting = hooks_.inputs_waiting();
	s.intervals = scheduler_.intervals();
	s.sockets = scheduler_.sockets();
	s.tasks = hooks_.tasks();
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
		if (matches(args.empty() ? std::string() : args[0], channel.name)) {
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
