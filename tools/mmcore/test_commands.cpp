// Parsing and execution of the test backend's stdin commands.
#include "test_commands.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "callstats.h"
#include "log.h"
#include "loop.h"
#include "midimonster.h"
#include "registry.h"
#include "test_backend.h"

namespace {

std::string buffer;

// `injected` lines (echo-inject), printed at the start of the next iteration.
struct Injected {
	std::string spec;
	double value;
	uint64_t t_us;
};
std::vector<Injected> injected;

// Parses a whole-token floating point value.
bool parse_double(const std::string& text, double& out) {
	char* end = nullptr;
	out = std::strtod(text.c_str(), &end);
	return !text.empty() && end && *end == 0;
}

// Pushes one event with the same raw and normalised value.
void push(channel* c, double value) {
	channel_value v{};
	v.raw.dbl = value;
	v.normalised = value;
	mm_channel_event(c, v);
}

// "inject INST.CHAN VALUE ...": validates every pair first, then pushes all of them.
bool cmd_inject(const std::vector<std::string>& args) {
	if (args.size() < 3 || args.size() % 2 == 0) {
		mmcore::outf("error inject: expected INST.CHAN VALUE pairs");
		return false;
	}
	std::vector<std::pair<channel*, double>> events;
	for (size_t u = 1; u + 1 < args.size(); u += 2) {
		std::string why;
		channel* c = mmcore::testbackend::find_channel(args[u], why);
		double value = 0;
		if (!c) {
			mmcore::outf("error inject: %s", why.c_str());
			return false;
		}
		if (!parse_double(args[u + 1], value)) {
			mmcore::outf("error inject: bad value %s", args[u + 1].c_str());
			return false;
		}
		events.emplace_back(c, value);
	}
	for (size_t u = 0; u < events.size(); u++) {
		auto [c, value] = events[u];
		push(c, value);
		if (mmcore::testbackend::echo_inject(c)) {
			uint64_t now = mmcore::testbackend::monotonic_us();
			injected.push_back({args[1 + 2 * u], value, now});
		}
	}
	return true;
}

// "flood INST.PREFIX CHANNELS COUNT": a burst for load tests with deterministic final values.
bool cmd_flood(const std::vector<std::string>& args) {
	long channels = 0, count = 0;
	if (args.size() != 4 || (channels = std::atol(args[2].c_str())) <= 0 || (count = std::atol(args[3].c_str())) <= 0) {
		mmcore::outf("error flood: expected INST.PREFIX CHANNELS COUNT");
		return false;
	}
	std::vector<channel*> targets;
	for (long u = 0; u < channels; u++) {
		std::string why;
		channel* c = mmcore::testbackend::find_channel(args[1] + std::to_string(u), why);
		if (!c) {
			mmcore::outf("error flood: %s", why.c_str());
			return false;
		}
		targets.push_back(c);
	}
	for (long k = 0; k < count; k++) {
		push(targets[static_cast<size_t>(k % channels)], static_cast<double>(k + 1) / static_cast<double>(count));
	}
	return true;
}

// VmRSS of this process in kB, from /proc.
long rss_kb() {
	FILE* status = std::fopen("/proc/self/status", "r");
	long kb = -1;
	char line[256];
	while (status && std::fgets(line, sizeof(line), status)) {
		if (std::sscanf(line, "VmRSS: %ld", &kb) == 1) {
			break;
		}
	}
	if (status) {
		std::fclose(status);
	}
	return kb;
}

// The `stats` line: rss_kb and events first (unchanged), then for every backend except the
// built-in `test` one whose handle() or process() ran, NAME.FIELD=VALUE tokens (see header).
std::string stats_line() {
	std::string line = "stats rss_kb=" + std::to_string(rss_kb()) +
	                   " events=" + std::to_string(mmcore::testbackend::events_handled());
	const backend* self = mmcore::backend_match("test");
	for (const backend* b : mmcore::backends_all()) {
		const mmcore::CallStats& s = mmcore::callstats_of(b);
		if (b == self || !b->name || (!s.handle_calls && !s.process_calls)) {
			continue;
		}
		std::string p = std::string(" ") + b->name + ".";
		line += p + "handle_ns=" + std::to_string(s.handle_ns) + p + "handle_calls=" + std::to_string(s.handle_calls) +
		        p + "events=" + std::to_string(s.events) + p + "process_ns=" + std::to_string(s.process_ns) + p +
		        "process_calls=" + std::to_string(s.process_calls) + p + "allocs=" +
		        (mmcore::alloc_counting() ? std::to_string(s.allocs) : std::string("-1"));
	}
	return line;
}

// Executes one line; returns true if it pushed events.
bool execute(const std::string& line) {
	std::istringstream words(line);
	std::vector<std::string> args;
	for (std::string w; words >> w;) {
		args.push_back(w);
	}
	if (args.empty()) {
		return false;
	}
	const std::string& cmd = args[0];
	if (cmd == "inject") {
		return cmd_inject(args);
	}
	if (cmd == "flood") {
		return cmd_flood(args);
	}
	if (cmd == "sync") {
		mmcore::outf("sync %s", args.size() > 1 ? args[1].c_str() : "");
	} else if (cmd == "stats") {
		mmcore::outf("%s", stats_line().c_str());
	} else if (cmd == "quit") {
		mmcore::loop_request_shutdown();
	} else {
		mmcore::outf("error unknown command %s", cmd.c_str());
	}
	return false;
}

}  // namespace

namespace mmcore::testbackend {

// Buffered so commands split across reads work.
void commands_feed(const char* data, size_t n) {
	buffer.append(data, n);
}

// Completes a final line without newline.
void commands_eof() {
	if (!buffer.empty() && buffer.back() != '\n') {
		buffer.push_back('\n');
	}
}

// Prints (and forgets) the stamps of earlier injects.
void commands_flush_injected() {
	for (const Injected& i : injected) {
		mmcore::outf("injected %s %.6f %llu", i.spec.c_str(), i.value, static_cast<unsigned long long>(i.t_us));
	}
	injected.clear();
}

bool commands_injected_pending() {
	return !injected.empty();
}

// Line loop with the sync/stats deferral described in the header.
bool commands_run() {
	bool pushed = false;
	size_t start = 0;
	bool deferred = false;
	for (size_t nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n', start)) {
		std::string line = buffer.substr(start, nl - start);
		if (!line.empty() && line.back() == '\r') {
			line.pop_back();
		}
		if (pushed && (line.rfind("sync", 0) == 0 || line.rfind("stats", 0) == 0)) {
			deferred = true;
			break;
		}
		start = nl + 1;
		pushed |= execute(line);
		if (mmcore::loop_shutdown_requested()) {
			break;
		}
	}
	buffer.erase(0, start);
	return deferred;
}

}  // namespace mmcore::testbackend
