// The test harness's line protocol (docs/protocol.md, "The test driver"): the Python package
// mm_pyhost.testing starts `mm-pyhost drive` and speaks to it on its stdin and stdout, one
// JSON object per line each way, one reply per request, in order. The driver plays the core
// and its shim for one instance (host/show_driver.h) on a virtual clock.
//
// Requests, by "op":
//   {"op":"start","instance":NAME,"config":FILE}             the instance of a configuration
//   {"op":"start","instance":NAME,"directory":DIR,            or one made of option lines,
//    "options":[[KEY,VALUE],...],"channels":[NAME,...]}       with the channels mapped to it
//   {"op":"input","events":[[CHANNEL,VALUE],...]}             one core iteration's inputs
//   {"op":"advance","ms":MS}                                  the clock moves MS ms on
//   {"op":"stop"}                                             cleanup handler, the host exits
// Reply: {"ok":BOOL,"error":TEXT,"now":MS,"outputs":[[MS,CHANNEL,VALUE],...],"log":[TEXT,...]}
// with what the show did meanwhile, and after a start also "python", "host_pid", "channels"
// and "problems" (what `mm-pyhost check` would report, each "where: what").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mmpy::protocol {

// Longest request line the driver reads (a start with the option lines of a large show).
inline constexpr size_t kMaxDriverRequest = 4u << 20;
// Longest advance: about 31 years, so that the clock's arithmetic never overflows.
inline constexpr uint64_t kMaxAdvanceMs = 1000000000000ull;

struct DriverRequest {
	enum class Op { Start, Input, Advance, Stop };
	Op op = Op::Stop;
	std::string instance;  // Start
	std::string config;    // Start from a configuration file, or from the three below
	std::string directory;
	std::vector<std::pair<std::string, std::string>> options;
	std::vector<std::string> channels;
	std::vector<std::pair<std::string, double>> events;  // Input: values 0..1
	uint64_t ms = 0;                                      // Advance
};

struct DriverOutput {
	uint64_t time_ms = 0;
	std::string channel;
	double value = 0;
};

struct DriverReply {
	bool ok = true;
	std::string error;
	uint64_t now_ms = 0;
	std::vector<DriverOutput> outputs;
	std::vector<std::string> log;
	// Start only.
	bool started = false;
	std::string python;
	int64_t host_pid = 0;
	std::vector<std::string> channels;
	std::vector<std::string> problems;
};

// False with `error` (naming the field) for a request the driver cannot take.
bool parse(std::string_view line, DriverRequest& m, std::string& error);
// One line each, without its newline. (The harness writes its requests in Python; this
// encoder is the reference its fuzz target and tests hold the parser to.)
std::string encode(const DriverRequest& m);
std::string encode(const DriverReply& m);

}  // namespace mmpy::protocol
