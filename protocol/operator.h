// The operator's control socket (docs/protocol.md, "The control socket"): the `mm-pyhost`
// operator commands talk to each instance host this way. One request per connection, a line
// of JSON each way; the host closes the connection after its reply, except that `monitor`
// and `logs` go on with stream lines after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control.h"

namespace mmpy::protocol {

// Longest request or reply line either side accepts (the reply of `values` for the most
// channels an instance may have fits: kMaxChannels rows of a few dozen bytes, names aside).
inline constexpr size_t kMaxOperatorRequest = 64 * 1024;
inline constexpr size_t kMaxOperatorReply = 32u << 20;
// Most completions one console `complete` answers (the host sends the first ones, sorted).
inline constexpr size_t kMaxCompletions = 1000;

// Each host's socket is <runtime folder>/control/<core pid>.<instance>, and each shim's report
// <runtime folder>/instances/<core pid>.<instance> (runtime_dir.h).
std::string control_socket_name(int64_t core_pid, const std::string& instance);

// What an operator asks: `command` is status, values, inject, reload, restart, monitor,
// logs or console; `args` its words (values, monitor: an optional pattern; inject: channel
// and value; logs: "-f" to follow). After the reply of `console`, the connection carries the
// console's requests: `run` [source] (the statement typed so far, lines joined by '\n') and
// `complete` [text].
struct OperatorRequest {
	std::string command;
	std::vector<std::string> args;
};

// An instance as its host sees it.
struct InstanceStatus {
	std::string instance;
	int64_t core_pid = 0;
	int64_t host_pid = 0;
	std::string mode;     // "spawn" or "attach"
	std::string state;    // "up" or "reloading"
	uint64_t uptime_ms = 0;
	std::string python;
	std::vector<std::string> modules;  // the `module =` lines
	std::string version_loaded;        // HH:MM:SS, when the running code was imported
	uint64_t events = 0;               // input events handled
	uint64_t handler_p50_us = 0;       // channel handlers' time (their synchronous part)
	uint64_t handler_p99_us = 0;
	uint64_t handler_max_us = 0;
	// Input events not handled yet: held in the host while it reloads, and held back by the
	// shim because the host is behind (as of the shim's last heartbeat, at most 1 s ago).
	uint64_t inputs_waiting = 0;
	uint64_t intervals = 0;
	uint64_t sockets = 0;              // manage()d
	std::vector<TaskCount> tasks;      // the sequences running
	uint64_t rss_kb = 0;
	std::string last_error;            // the last exception's line, "" if none
	uint64_t last_error_ms = 0;        // when (Unix time, ms)
};

// One channel's last values and when they came (core time, ms; 0: never).
struct ChannelReport {
	std::string name;
	double input = 0;
	uint64_t input_ms = 0;
	double output = 0;
	uint64_t output_ms = 0;

	bool operator==(const ChannelReport&) const = default;
};

struct OperatorReply {
	bool ok = true;
	std::string error;    // !ok: what went wrong, for the operator
	std::string message;  // ok: a line for the operator (inject, reload)
	std::optional<InstanceStatus> status;
	std::optional<std::vector<ChannelReport>> values;
	uint64_t now_ms = 0;  // with values: the core's time now, to say how long ago each came
	// console `run`: the source is not a whole statement yet (the prompt becomes "... ");
	// otherwise it ran and `message` is what it printed, its value or its traceback.
	bool more = false;
	std::optional<std::vector<std::string>> matches;  // console `complete`
};

// Sent by `mm-pyhost console` to the host's process when the operator presses Ctrl-C: the
// console statement running in the host raises KeyboardInterrupt (an awaited one is cancelled).
// Nothing else in the host reacts to it.
int console_interrupt_signal();

// After the reply of `monitor` or `logs`: one line per input, output or log line.
struct StreamLine {
	std::string kind;      // "in", "out" (monitor), "log" (logs); "" in a line that only says `dropped`
	uint64_t time_ms = 0;  // when, Unix time (ms)
	std::string channel;   // in, out
	double value = 0;      // in, out
	std::string text;      // log
	uint64_t dropped = 0;  // lines the host dropped before the next one (the reader was slow)
};

// What the shim says of its instance, for `mm-pyhost list` and `status`, which cannot ask a
// host that is down: one line of JSON in the instance's report file, written whenever the
// instance's state changes (never while the show runs smoothly), removed at shutdown.
struct ShimReport {
	std::string instance;
	int64_t core_pid = 0;
	std::string state;             // "up", "restarting" (a new host is starting) or "down"
	uint64_t since_ms = 0;         // in this state since (Unix time, ms)
	uint64_t restarts = 0;         // hosts brought back (that answered Started) after the first
	std::string last_loss;         // why the last host was lost, "" if none was
	uint64_t last_loss_ms = 0;
	uint64_t next_attempt_ms = 0;  // down: when the next host is due (Unix time, ms)
	uint64_t inputs_waiting = 0;   // input events held for the next host when this was written
};
inline constexpr size_t kMaxShimReport = 16 * 1024;

// The line with its '\n'; false (nothing appended) if it would exceed its limit.
bool encode(std::string& out, const ShimReport& m);
bool parse(std::string_view line, ShimReport& m, std::string& error);

// The line with its '\n'; false (nothing appended) if it would exceed its limit.
bool encode(std::string& out, const OperatorRequest& m);
bool encode(std::string& out, const OperatorReply& m);
bool encode(std::string& out, const StreamLine& m);
// One line without its '\n'; false with `error` saying why.
bool parse(std::string_view line, OperatorRequest& m, std::string& error);
bool parse(std::string_view line, OperatorReply& m, std::string& error);
bool parse(std::string_view line, StreamLine& m, std::string& error);

}  // namespace mmpy::protocol
