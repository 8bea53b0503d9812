#include "show_check.h"

#include <iostream>
#include <vector>

#include "offline_instance.h"
#include "show_config.h"

namespace mmpy::host {

namespace {

std::string where(const ConfigPlace& place) {
	return place.file + ", line " + std::to_string(place.line);
}

// One instance, from its host's start to its end; each problem printed as it is found.
class InstanceCheck {
public:
	explicit InstanceCheck(const PythonSection& section)
	    : section_(section), instance_(section.name, section.folder, false) {}

	// The number of problems.
	int run() {
		protocol::HostHello hello;
		if (auto failed = instance_.open(hello)) {
			return problem(section_.place, *failed);
		}
		for (const ConfigOption& option : section_.options) {
			if (!configure(option)) {
				return problems_;
			}
		}
		start();
		instance_.shutdown();
		return problems_;
	}

private:
	// False when the host is gone.
	bool configure(const ConfigOption& option) {
		protocol::ConfigureResult result;
		instance_.take_log();
		std::string line = option.key + " = " + option.value + ": ";
		if (auto failed = instance_.configure({option.key, option.value}, result)) {
			problem(option.place, line + *failed);
			return instance_.running();
		}
		std::string said = result.ok ? result.warning : result.error;
		if (!said.empty()) {
			problem(option.place, line + said);
			for (const std::string& logged : instance_.take_log()) {
				if (logged != said) {
					std::cout << "    " << logged << "\n";  // the traceback
				}
			}
		}
		return true;
	}

	void start() {
		std::vector<std::string> channels;
		for (const auto& [channel, place] : section_.channels) {
			channels.push_back(channel);
		}
		protocol::Started started;
		if (auto failed = instance_.start(channels, started)) {
			problem(section_.place, *failed);
			return;
		}
		for (const auto& [channel, reason] : started.unresolved) {
			problem(place_of(channel), channel.empty() ? reason : "channel " + channel + " has no handler: " + reason);
		}
	}

	ConfigPlace place_of(const std::string& channel) const {
		for (const auto& [name, place] : section_.channels) {
			if (name == channel) {
				return place;
			}
		}
		for (const ConfigOption& option : section_.options) {
			if (option.key == "default-handler") {
				return option.place;
			}
		}
		return section_.place;
	}

	int problem(const ConfigPlace& place, const std::string& text) {
		std::cout << where(place) << ": [python " << section_.name << "] " << text << "\n";
		return ++problems_;
	}

	const PythonSection& section_;
	OfflineInstance instance_;
	int problems_ = 0;
};

}  // namespace

int run_check(const std::string& path) {
	ShowConfig config;
	std::string error;
	if (!read_show_config(path, config, error)) {
		std::cout << error << "\n";
		return 2;
	}
	if (config.instances.empty()) {
		std::cout << path << ": no [python NAME] instance to check\n";
		return 0;
	}
	int problems = 0;
	for (const PythonSection& section : config.instances) {
		int found = InstanceCheck(section).run();
		std::cout << section.name << ": " << (found ? std::to_string(found) + " problem" + (found > 1 ? "s" : "") : "ok")
		          << " (" << section.options.size() << " option lines, " << section.channels.size()
		          << " mapped channels)\n";
		problems += found;
	}
	return problems ? 1 : 0;
}

}  // namespace mmpy::host
