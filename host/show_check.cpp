#include "show_check.h"

#include <time.h>
#include <unistd.h>

#include <climits>
#include <iostream>
#include <vector>

#include "channel_table.h"
#include "control.h"
#include "conversation.h"
#include "host_link.h"
#include "host_reach.h"
#include "show_config.h"

namespace mmpy::host {

namespace {

using protocol::FrameType;
using shim::HostLoss;

// How long a host may take at each step: as the shim allows at configuration time.
constexpr int kStepMs = 60000;

uint64_t now_ms() {
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

std::string where(const ConfigPlace& place) {
	return place.file + ", line " + std::to_string(place.line);
}

std::string this_program() {
	char path[PATH_MAX];
	ssize_t size = readlink("/proc/self/exe", path, sizeof(path) - 1);
	return size > 0 ? std::string(path, static_cast<size_t>(size)) : std::string("mm-pyhost");
}

// One instance, from its host's start to its end; each problem printed as it is found.
class InstanceCheck {
public:
	explicit InstanceCheck(const PythonSection& section) : section_(section), reach_(this_program()) {}

	// The number of problems.
	int run() {
		std::string error;
		int fd = reach_.open(error);
		if (fd < 0) {
			return problem(section_.place, "cannot start mm-pyhost: " + error);
		}
		link_.adopt(fd);
		// The host works in the configuration's folder, as under MIDIMonster.
		shim::Conversation conversation(section_.folder);
		conversation.hello(link_.outbox(), section_.name, now_ms());
		std::vector<uint8_t> payload;
		protocol::HostHello hello;
		if (auto loss = exchange(FrameType::Hello, payload)) {
			return problem(section_.place, "the host did not answer: " + shim::describe(*loss, "the host"));
		}
		if (auto loss = conversation.check_hello(payload, hello)) {
			return problem(section_.place, shim::describe(*loss));
		}
		for (const ConfigOption& option : section_.options) {
			configure(option);
		}
		start();
		protocol::encode_empty(link_.outbox(), FrameType::Shutdown);
		exchange(FrameType::Bye, payload);
		link_.close();
		reach_.finish(2000);
		return problems_;
	}

private:
	std::optional<HostLoss> exchange(FrameType wanted, std::vector<uint8_t>& payload) {
		return link_.exchange(wanted, payload, kStepMs, [this](const protocol::Frame& frame) -> std::optional<HostLoss> {
			protocol::Log line;
			std::string ignored;
			if (frame.type == FrameType::Log && protocol::parse(frame.payload, line, ignored)) {
				log_.push_back(line.text);
			}
			return std::nullopt;
		});
	}

	void configure(const ConfigOption& option) {
		protocol::encode(link_.outbox(), protocol::Configure{option.key, option.value});
		std::vector<uint8_t> payload;
		log_.clear();
		if (auto loss = exchange(FrameType::ConfigureResult, payload)) {
			problem(option.place, option.key + " = " + option.value + ": the host failed: " +
			                          shim::describe(*loss, "the host"));
			return;
		}
		protocol::ConfigureResult result;
		std::string error;
		if (!protocol::parse(payload, result, error) || !result.ok) {
			problem(option.place, option.key + " = " + option.value + ": " + (result.ok ? error : result.error));
			for (const std::string& line : log_) {
				std::cout << "    " << line << "\n";  // the traceback
			}
			return;
		}
		if (!result.warning.empty()) {
			problem(option.place, option.key + " = " + option.value + ": " + result.warning);
			for (const std::string& line : log_) {
				if (line != result.warning) {
					std::cout << "    " << line << "\n";  // the traceback
				}
			}
		}
		for (const auto& [channel, value] : result.outputs) {
			table_.add(channel);
		}
	}

	void start() {
		for (const auto& [channel, place] : section_.channels) {
			if (table_.admit(channel) == protocol::Admission::Admitted) {
				table_.add(channel);
			}
		}
		protocol::Start message;
		message.timestamp = now_ms();
		message.channels = table_.list();
		std::vector<uint8_t> payload;
		protocol::Started started;
		std::string error;
		if (!protocol::encode(link_.outbox(), message)) {
			problem(section_.place, "the channel table is larger than one frame may be");
			return;
		}
		if (auto loss = exchange(FrameType::Started, payload)) {
			problem(section_.place, "the show did not start: " + shim::describe(*loss, "the host"));
			return;
		}
		if (!protocol::parse(payload, started, error) || !started.ok) {
			problem(section_.place, "the show did not start: " + (started.ok ? error : started.error));
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
	shim::SpawnedHost reach_;
	shim::HostLink link_;
	struct Nothing {};
	protocol::ChannelTable<Nothing> table_;
	std::vector<std::string> log_;  // the host's lines while the current step ran
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
