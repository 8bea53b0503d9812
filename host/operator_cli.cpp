// mm-pyhost's operator commands (docs/running-a-show.md, "Operating a running show"):
//   mm-pyhost list [--json]
//   mm-pyhost status INSTANCE [--json]
//   mm-pyhost values INSTANCE [PATTERN] [--json]
//   mm-pyhost inject INSTANCE CHANNEL VALUE [--json]
//   mm-pyhost reload INSTANCE [--json]
//   mm-pyhost restart INSTANCE [--json]
//   mm-pyhost monitor INSTANCE [PATTERN] [--json]
//   mm-pyhost logs INSTANCE [-f] [--json]
//   mm-pyhost console INSTANCE
// Each talks to the instance hosts' control sockets (host/control_server.h). Exit status:
// 0 done, 1 the host refused or the reload failed, 2 wrong usage, 3 no such instance.
#include "operator_cli.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "console_client.h"
#include "control_client.h"
#include "host_command.h"
#include "operator.h"

namespace mmpy::host {

namespace {

enum Exit { kDone = 0, kRefused = 1, kUsage = 2, kNoInstance = 3 };


// An instance as the operator sees it: its host's status if the host answers, and what its
// shim last reported.
struct Row {
	Endpoint endpoint;
	std::optional<protocol::InstanceStatus> status;
};

// Every instance of a MIDIMonster that runs: those whose hosts answer, and those whose shim
// says they are down or restarting. A socket or a report left by a MIDIMonster that has
// ended is removed on the way.
std::vector<Row> rows() {
	std::vector<Row> found;
	for (const Endpoint& endpoint : endpoints()) {
		protocol::OperatorReply reply;
		std::string error;
		if (ask(endpoint, {"status", {}}, reply, error) && reply.ok && reply.status) {
			found.push_back({endpoint, *reply.status});
		} else if (!core_alive(endpoint.core_pid)) {
			endpoint.forget();
		} else if (endpoint.report) {
			found.push_back({endpoint, std::nullopt});
		}
	}
	return found;
}

std::string duration(uint64_t ms) {
	uint64_t s = ms / 1000;
	char text[32];
	if (s < 60) {
		std::snprintf(text, sizeof(text), "%llus", static_cast<unsigned long long>(s));
	} else if (s < 3600) {
		std::snprintf(text, sizeof(text), "%llum%02llus", static_cast<unsigned long long>(s / 60),
		              static_cast<unsigned long long>(s % 60));
	} else {
		std::snprintf(text, sizeof(text), "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
		              static_cast<unsigned long long>(s / 60 % 60));
	}
	return text;
}

std::string clock_time(uint64_t unix_ms, bool milliseconds = false) {
	time_t seconds = static_cast<time_t>(unix_ms / 1000);
	tm local{};
	char text[16] = "?";
	if (localtime_r(&seconds, &local)) {
		strftime(text, sizeof(text), "%H:%M:%S", &local);
	}
	if (milliseconds) {
		char fraction[8];
		std::snprintf(fraction, sizeof(fraction), ".%03u", static_cast<unsigned>(unix_ms % 1000));
		return text + std::string(fraction);
	}
	return text;
}

std::string joined(const std::vector<std::string>& words, const char* separator = ", ") {
	std::string text;
	for (const std::string& word : words) {
		text += (text.empty() ? "" : separator) + word;
	}
	return text;
}

uint64_t unix_now_ms() {
	timespec now{};
	clock_gettime(CLOCK_REALTIME, &now);
	return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

// "the host closed the connection; next attempt in 2 s"
std::string down_detail(const protocol::ShimReport& r) {
	std::string detail = r.last_loss.empty() ? std::string("its first host is starting") : r.last_loss;
	uint64_t now = unix_now_ms();
	if (r.state == "down" && r.next_attempt_ms) {
		detail += "; next attempt in " + duration(r.next_attempt_ms - std::min(now, r.next_attempt_ms));
	}
	return detail;
}

// "py1 in MIDIMonster pid 1234, py2 in MIDIMonster pid 1234"
std::string what_runs(const std::vector<Endpoint>& all) {
	std::vector<std::string> names;
	for (const Endpoint& endpoint : all) {
		names.push_back(endpoint.instance + " in MIDIMonster pid " + std::to_string(endpoint.core_pid));
	}
	return names.empty() ? "no instance runs (no MIDIMonster with a python instance on this machine, for this user)"
	                     : "running: " + joined(names);
}

// INSTANCE or PID/INSTANCE -> its endpoint, or nothing with the reason printed.
std::optional<Endpoint> pick(const std::string& target) {
	std::vector<Endpoint> all = endpoints();
	std::vector<Endpoint> live;
	for (const Endpoint& endpoint : all) {
		if (core_alive(endpoint.core_pid)) {
			live.push_back(endpoint);
		}
	}
	size_t slash = target.find('/');
	std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
	std::vector<Endpoint> matches;
	for (const Endpoint& endpoint : live) {
		if (endpoint.instance == name &&
		    (slash == std::string::npos || std::to_string(endpoint.core_pid) == target.substr(0, slash))) {
			matches.push_back(endpoint);
		}
	}
	if (matches.size() == 1) {
		return matches[0];
	}
	if (matches.empty()) {
		std::cerr << "mm-pyhost: no instance " << target << "; " << what_runs(live) << "\n";
	} else {
		std::vector<std::string> choices;
		for (const Endpoint& endpoint : matches) {
			choices.push_back(std::to_string(endpoint.core_pid) + "/" + name);
		}
		std::cerr << "mm-pyhost: " << name << " runs in " << matches.size()
		          << " MIDIMonsters; pick one: " << joined(choices, " or ") << "\n";
	}
	return std::nullopt;
}

void print_status(const protocol::InstanceStatus& s, const std::optional<protocol::ShimReport>& report) {
	std::cout << s.instance << " (MIDIMonster pid " << s.core_pid << "): " << s.state << " for " << duration(s.uptime_ms)
	          << ", " << s.mode << " mode, host pid " << s.host_pid << ", Python " << s.python << "\n";
	std::vector<std::string> tasks;
	for (const protocol::TaskCount& task : s.tasks) {
		tasks.push_back(task.count > 1 ? task.name + " (" + std::to_string(task.count) + ")" : task.name);
	}
	auto row = [](const char* label, const std::string& value) { std::printf("  %-16s%s\n", label, value.c_str()); };
	row("modules", joined(s.modules) + (s.version_loaded.empty() ? "" : " (version of " + s.version_loaded + ")"));
	row("events handled", std::to_string(s.events));
	row("handler time", s.events == 0 ? std::string("-")
	                                  : "p50 " + std::to_string(s.handler_p50_us) + " us, p99 " +
	                                        std::to_string(s.handler_p99_us) + " us, max " +
	                                        std::to_string(s.handler_max_us) + " us");
	row("inputs waiting", std::to_string(s.inputs_waiting));
	if (report) {
		row("restarts", std::to_string(report->restarts) +
		                    (report->last_loss.empty() ? "" : " (last: " + clock_time(report->last_loss_ms) + " " +
		                                                          report->last_loss + ")"));
	}
	row("intervals", std::to_string(s.intervals));
	row("sockets", std::to_string(s.sockets));
	row("sequences", tasks.empty() ? "none" : joined(tasks));
	char memory[32];
	std::snprintf(memory, sizeof(memory), "%.1f MB", static_cast<double>(s.rss_kb) / 1024.0);
	row("memory", memory);
	row("last error", s.last_error.empty() ? "none" : clock_time(s.last_error_ms) + " " + s.last_error);
	std::cout.flush();
}

void print_values(const protocol::OperatorReply& reply) {
	auto ago = [&](uint64_t at) {
		if (at == 0) {
			return std::string("-");
		}
		return reply.now_ms >= at ? duration(reply.now_ms - at) + " ago" : std::string("now");
	};
	std::printf("%-32s %10s %10s %10s %10s\n", "CHANNEL", "INPUT", "WHEN", "OUTPUT", "WHEN");
	for (const protocol::ChannelReport& v : *reply.values) {
		std::printf("%-32s %10.6f %10s %10.6f %10s\n", v.name.c_str(), v.input, ago(v.input_ms).c_str(), v.output,
		            ago(v.output_ms).c_str());
	}
	std::fflush(stdout);
}

// monitor, logs: the stream after the reply, one line each, until the host ends it (logs
// without -f) or the operator presses Ctrl-C.
int follow(int fd, std::string& pending, bool json) {
	std::string line;
	while (read_line(fd, pending, line)) {
		if (json) {
			std::cout << line << "\n" << std::flush;
			continue;
		}
		protocol::StreamLine item;
		std::string error;
		if (!protocol::parse(line, item, error)) {
			std::cerr << "mm-pyhost: a stream line mm-pyhost does not understand: " << error << "\n";
			return kRefused;
		}
		if (item.dropped) {
			std::cout << "... " << item.dropped << " lines dropped (this terminal did not keep up)\n";
		}
		if (item.kind == "log") {
			std::cout << clock_time(item.time_ms) << "  " << item.text << "\n";
		} else if (!item.kind.empty()) {
			std::printf("%s  %-3s  %-32s %.6f\n", clock_time(item.time_ms, true).c_str(), item.kind.c_str(),
			            item.channel.c_str(), item.value);
		}
		std::cout << std::flush;
	}
	return kDone;
}

// restart: the host answers and exits; MIDIMonster starts a new one, which answers in turn.
int restart(const Endpoint& endpoint, const protocol::OperatorReply& reply, int64_t old_pid, bool json) {
	auto started = std::chrono::steady_clock::now();
	while (std::chrono::steady_clock::now() - started < std::chrono::seconds(20)) {
		protocol::OperatorReply now;
		std::string error;
		if (ask(endpoint, {"status", {}}, now, error) && now.status && now.status->host_pid != old_pid &&
		    now.status->state == "up") {
			auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
			if (json) {
				std::cout << "{\"ok\":true,\"old_host_pid\":" << old_pid << ",\"host_pid\":" << now.status->host_pid
				          << "}\n";
			} else {
				std::cout << endpoint.instance << ": restarted: host pid " << old_pid << " -> " << now.status->host_pid
				          << " (" << ms.count() << " ms)\n";
			}
			return kDone;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	std::cerr << "mm-pyhost: " << endpoint.instance << ": " << reply.message
	          << "; but no new host answered within 20 s (MIDIMonster's log says why)\n";
	return kRefused;
}

int list(bool json) {
	auto all = rows();
	if (json) {
		nlohmann::json out = nlohmann::json::array();
		for (const Row& row : all) {
			std::string line;
			protocol::OperatorReply one;
			one.status = row.status;
			protocol::encode(line, one);
			nlohmann::json item = nlohmann::json::parse(line);
			if (row.endpoint.report) {
				line.clear();
				protocol::encode(line, *row.endpoint.report);
				item["report"] = nlohmann::json::parse(line);
			}
			out.push_back(item);
		}
		std::cout << out.dump() << "\n";
		return kDone;
	}
	if (all.empty()) {
		std::cout << "no python instance runs (no MIDIMonster with one on this machine, for this user)\n";
		return kDone;
	}
	std::printf("%-9s %-16s %-7s %-9s %-11s %-8s %-9s %-8s %s\n", "CORE PID", "INSTANCE", "MODE", "HOST PID", "STATE",
	            "UPTIME", "RESTARTS", "PYTHON", "MODULES");
	for (const Row& row : all) {
		const auto& report = row.endpoint.report;
		std::string restarts = report ? std::to_string(report->restarts) : "-";
		if (const auto& s = row.status) {
			std::printf("%-9lld %-16s %-7s %-9lld %-11s %-8s %-9s %-8s %s\n", static_cast<long long>(s->core_pid),
			            s->instance.c_str(), s->mode.c_str(), static_cast<long long>(s->host_pid), s->state.c_str(),
			            duration(s->uptime_ms).c_str(), restarts.c_str(), s->python.c_str(), joined(s->modules).c_str());
		} else {
			std::printf("%-9lld %-16s %-7s %-9s %-11s %-8s %-9s %-8s %s\n", static_cast<long long>(report->core_pid),
			            report->instance.c_str(), "-", "-", report->state.c_str(),
			            duration(unix_now_ms() - std::min(unix_now_ms(), report->since_ms)).c_str(), restarts.c_str(),
			            "-", ("(" + down_detail(*report) + ")").c_str());
		}
	}
	std::fflush(stdout);
	return kDone;
}

// `status` of an instance without a host: what its shim reported.
int print_down(const protocol::ShimReport& r, bool json) {
	std::string what = r.instance + " is " + r.state + " (" + down_detail(r) + ")";
	if (json) {
		std::string line;
		protocol::encode(line, r);
		nlohmann::json out = {{"ok", false}, {"error", what}, {"report", nlohmann::json::parse(line)}};
		std::cout << out.dump() << "\n";
		return kRefused;
	}
	uint64_t now = unix_now_ms();
	std::cout << r.instance << " (MIDIMonster pid " << r.core_pid << "): " << r.state << " for "
	          << duration(now - std::min(now, r.since_ms)) << ", no host answers\n";
	auto row = [](const char* label, const std::string& value) { std::printf("  %-16s%s\n", label, value.c_str()); };
	row("restarts", std::to_string(r.restarts));
	row("last loss", r.last_loss.empty() ? "none" : clock_time(r.last_loss_ms) + " " + r.last_loss);
	if (r.next_attempt_ms) {
		row("next attempt", clock_time(r.next_attempt_ms) + " (in " +
		                        duration(r.next_attempt_ms - std::min(now, r.next_attempt_ms)) + ")");
	}
	row("inputs waiting", std::to_string(r.inputs_waiting) + " (held for the next host; the newest of each channel goes on)");
	std::cout.flush();
	return kRefused;
}

}  // namespace

bool is_operator_command(const char* word) {
	for (const char* command : {"list", "status", "values", "inject", "reload", "restart", "monitor", "logs", "console"}) {
		if (std::strcmp(word, command) == 0) {
			return true;
		}
	}
	return false;
}

int run_operator_command(int argc, char** argv) {
	std::string command = argv[1];
	std::vector<std::string> words;
	bool json = false;
	for (int i = 2; i < argc; i++) {
		if (std::strcmp(argv[i], "--json") == 0) {
			json = true;
		} else {
			words.emplace_back(argv[i]);
		}
	}
	size_t least = command == "list" ? 0 : command == "inject" ? 3 : 1;
	size_t most = command == "list" ? 0 : command == "values" || command == "monitor" || command == "logs" ? 2 : least;
	if (command == "logs" && words.size() == 2 && words[1] != "-f") {
		most = 1;
	}
	if (words.size() < least || words.size() > most) {
		std::cerr << protocol::host_usage();
		return kUsage;
	}
	if (command == "list") {
		return list(json);
	}
	std::optional<Endpoint> endpoint = pick(words[0]);
	if (!endpoint) {
		return kNoInstance;
	}
	protocol::OperatorRequest request{command, std::vector<std::string>(words.begin() + 1, words.end())};
	protocol::OperatorReply reply;
	std::string error;
	int64_t old_pid = 0;
	if (command == "restart") {
		protocol::OperatorReply before;
		if (ask(*endpoint, {"status", {}}, before, error) && before.status) {
			old_pid = before.status->host_pid;
		}
	}
	int fd = connect_to(*endpoint, request, error);
	std::string pending;
	if (fd < 0 || !read_reply(fd, pending, reply, error)) {
		if (fd >= 0) {
			close(fd);
		}
		if (const auto& report = endpoint->report; report && report->state != "up") {
			if (command == "status") {
				return print_down(*report, json);
			}
			std::cerr << "mm-pyhost: " << endpoint->instance << " is " << report->state << " (" << down_detail(*report)
			          << "); try again once 'mm-pyhost list' says it is up\n";
			return kRefused;
		}
		std::cerr << "mm-pyhost: cannot reach " << endpoint->instance << " of MIDIMonster pid " << endpoint->core_pid
		          << ": " << error << "\n";
		return kNoInstance;
	}
	if (reply.ok && command == "console") {
		int status = run_console(fd, std::move(pending), reply);
		close(fd);
		return status;
	}
	if (reply.ok && command == "monitor" && !json) {
		// On stderr: stdout carries only the stream, for a pipe into grep.
		std::cerr << endpoint->instance << ": " << reply.message << " until Ctrl-C\n";
	}
	if (reply.ok && (command == "monitor" || command == "logs")) {
		int status = follow(fd, pending, json);
		close(fd);
		return status;
	}
	close(fd);
	if (reply.ok && command == "restart") {
		return restart(*endpoint, reply, old_pid, json);
	}
	if (json) {
		std::string line;
		protocol::encode(line, reply);
		std::cout << line;
	} else if (!reply.ok) {
		std::cerr << "mm-pyhost: " << endpoint->instance << ": " << reply.error << "\n";
	} else if (reply.status) {
		print_status(*reply.status, endpoint->report);
	} else if (reply.values) {
		print_values(reply);
	} else {
		std::cout << endpoint->instance << ": " << reply.message << "\n";
	}
	return reply.ok ? kDone : kRefused;
}

}  // namespace mmpy::host
