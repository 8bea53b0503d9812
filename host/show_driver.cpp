#include "show_driver.h"

#include <unistd.h>

#include <climits>
#include <iostream>
#include <memory>
#include <string>

#include "driver.h"
#include "offline_instance.h"
#include "show_config.h"

namespace mmpy::host {

namespace {

using protocol::DriverReply;
using protocol::DriverRequest;

std::string current_folder() {
	char path[PATH_MAX];
	return getcwd(path, sizeof(path)) ? std::string(path) : std::string(".");
}

// The instance a start asks for: its folder, its option lines (each with where it comes
// from, for the problems) and the channels mapped to it.
struct ShowInstance {
	std::string folder;
	std::vector<std::pair<ConfigOption, std::string>> options;  // with "where" it is written
	std::vector<std::string> channels;
};

bool from_config(const DriverRequest& request, ShowInstance& show, std::string& error) {
	ShowConfig config;
	if (!read_show_config(request.config, config, error)) {
		return false;
	}
	std::string names;
	for (const PythonSection& section : config.instances) {
		if (section.name != request.instance) {
			names += (names.empty() ? "" : ", ") + section.name;
			continue;
		}
		show.folder = section.folder;
		for (const ConfigOption& option : section.options) {
			show.options.emplace_back(option, option.place.file + ", line " + std::to_string(option.place.line));
		}
		for (const auto& [channel, place] : section.channels) {
			show.channels.push_back(channel);
		}
		return true;
	}
	error = request.config + ": no [python " + request.instance + "] section" +
	        (names.empty() ? std::string(" (it has no python instance)") : " (it has: " + names + ")");
	return false;
}

void from_lines(const DriverRequest& request, ShowInstance& show) {
	show.folder = request.directory.empty() ? current_folder() : request.directory;
	for (const auto& [key, value] : request.options) {
		show.options.emplace_back(ConfigOption{key, value, {}}, "option");
	}
	show.channels = request.channels;
}

class ShowDriver {
public:
	DriverReply handle(const DriverRequest& request) {
		DriverReply reply;
		if (request.op != DriverRequest::Op::Start && !instance_) {
			return refuse("the show has not started: the first request is a start");
		}
		std::optional<std::string> failed;
		switch (request.op) {
		case DriverRequest::Op::Start:
			if (instance_) {
				return refuse("the show has started already");
			}
			failed = start(request, reply);
			break;
		case DriverRequest::Op::Input:
			failed = instance_->input(request.events);
			break;
		case DriverRequest::Op::Advance:
			failed = instance_->advance(request.ms);
			break;
		case DriverRequest::Op::Stop:
			failed = instance_->shutdown();
			break;
		}
		if (failed) {
			reply.ok = false;
			reply.error = *failed;
		}
		if (instance_) {
			reply.now_ms = instance_->now_ms();
			reply.outputs = instance_->take_outputs();
			reply.log = instance_->take_log();
		}
		return reply;
	}

private:
	static DriverReply refuse(std::string why) {
		DriverReply reply;
		reply.ok = false;
		reply.error = std::move(why);
		return reply;
	}

	std::optional<std::string> start(const DriverRequest& request, DriverReply& reply) {
		ShowInstance show;
		std::string error;
		if (!request.config.empty()) {
			if (!from_config(request, show, error)) {
				return error;
			}
		} else {
			from_lines(request, show);
		}
		instance_ = std::make_unique<OfflineInstance>(request.instance, show.folder, true);
		protocol::HostHello hello;
		if (auto failed = instance_->open(hello)) {
			return failed;
		}
		reply.started = true;
		reply.python = hello.python;
		reply.host_pid = hello.pid;
		for (const auto& [option, where] : show.options) {
			protocol::ConfigureResult result;
			std::string line = where + ": " + option.key + " = " + option.value + ": ";
			if (auto failed = instance_->configure({option.key, option.value}, result)) {
				return line + *failed;
			}
			std::string said = result.ok ? result.warning : result.error;
			if (!said.empty()) {
				reply.problems.push_back(line + said);
			}
			for (const auto& [channel, value] : result.outputs) {
				reply.outputs.push_back({0, channel, value});
			}
		}
		protocol::Started started;
		if (auto failed = instance_->start(show.channels, started)) {
			return failed;
		}
		for (const auto& [channel, reason] : started.unresolved) {
			reply.problems.push_back(channel.empty() ? reason : "channel " + channel + " has no handler: " + reason);
		}
		reply.channels = instance_->channels();
		return std::nullopt;
	}

	std::unique_ptr<OfflineInstance> instance_;
};

}  // namespace

int run_driver() {
	ShowDriver driver;
	std::string line;
	while (std::getline(std::cin, line)) {
		DriverRequest request;
		std::string error;
		DriverReply reply;
		if (protocol::parse(line, request, error)) {
			reply = driver.handle(request);
		} else {
			reply.ok = false;
			reply.error = "a request the driver cannot take: " + error;
		}
		std::cout << protocol::encode(reply) << "\n" << std::flush;
		if (request.op == DriverRequest::Op::Stop && reply.ok) {
			break;
		}
	}
	return 0;
}

}  // namespace mmpy::host
