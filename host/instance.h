// One [python NAME] instance as its host serves it: the channel table with last values and
// handlers, the channel whose handler runs, the outputs of this loop turn, the default and
// cleanup handlers. The `midimonster` module answers from it; it reaches out only through
// what it is given: the interpreter, the scheduler, the tasks, the watchdog, where outputs
// and log lines go, and the core's clock.
#pragma once

#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "channel_table.h"
#include "control.h"
#include "core_clock.h"
#include "events.h"
#include "handler_times.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "sinks.h"
#include "tasks.h"
#include "watchdog.h"

namespace mmpy::host {

// What the host keeps per channel besides its values.
struct HostChannel {
	PyObject* handler = nullptr;       // owned reference, resolved at start
	bool output_before_start = false;  // output() at import time: pushed when the show starts
	uint64_t input_ms = 0;             // core time of the last input and output (0: none yet)
	uint64_t output_ms = 0;
};

class Instance {
public:
	using Channels = protocol::ChannelTable<HostChannel>;
	using Channel = Channels::Channel;

	Instance(PythonRuntime& python, Scheduler& scheduler, Tasks& tasks, Watchdog& watchdog, OutputSink& outputs,
	         LogSink& log, const CoreClock& clock);
	Instance(const Instance&) = delete;
	Instance& operator=(const Instance&) = delete;

	// --- configuration and the show (Session) ---

	// `default-handler = module.function`: the handler of channels without a module name.
	void set_default_handler(std::string dotted) { default_handler_ = std::move(dotted); }

	// `overlap`: what an event does to its channel's async handler that still runs.
	void set_overlap(Tasks::Overlap overlap) { overlap_ = overlap; }

	// The channels output() made while configuring, with their values.
	std::vector<std::pair<std::string, double>> outputs_before_start() const;

	// The shim's channel table replaces ours, keeping the values set before.
	bool adopt(const protocol::ChannelList& table, std::string& error);

	// A channel whose handler could not be found, and why.
	struct Unresolved {
		std::string channel;
		std::string error;
	};

	// The show starts: the values the shim remembers, the handlers, the initial outputs
	// (they leave with the next flush, after Started) and the timers and sockets. The
	// channels left without a handler (logged already).
	std::vector<Unresolved> start(const protocol::Start& start);

	// The operator's `inject`: the channel's handler runs as if the core had delivered it.
	void inject(uint32_t id, double value);

	// How long channel handlers took (their synchronous part), for `mm-pyhost status`.
	const HandlerTimes& handler_times() const { return handler_times_; }

	// The operator's `monitor` sees every input and output through `tap` (nullptr: nobody).
	void set_tap(EventTap* tap) { tap_ = tap; }

	// Calls the handler of each event's channel, in order. False at an event on a channel
	// the table lacks (`error` says which); the events before it were delivered.
	bool deliver(const protocol::BatchView& batch, std::string& error);

	// Outputs made during this loop turn; they leave as one frame.
	std::vector<protocol::Event>& pending_outputs() { return pending_; }

	// Runs the cleanup handler once (shutdown, or the core gone; an async one starts a task),
	// then drops every timer, socket and output left.
	void run_cleanup();

	// Drops every Python reference, before the interpreter goes away.
	void release();

	// --- live reload (ShowCode) ---

	// Finds every channel's handler anew: module.function for dotted names, the
	// default-handler for plain ones. What lacks one, with why.
	std::vector<Unresolved> resolve_handlers();
	// Says each of them once, in the log.
	void log_unresolved(const std::vector<Unresolved>& misses);

	// Drops every channel's handler; returns the names of the channels that had one.
	std::vector<std::string> drop_handlers();

	// While a reload imports the modules again, output() at their top level changes nothing:
	// the channels keep the values the show gave them.
	void set_reloading(bool reloading) { reloading_ = reloading; }

	// --- what the midimonster module does ---

	bool started() const { return started_; }

	// May output() create `name`? Asked before the show only: channels travel by name then.
	protocol::Admission admit(std::string_view name) const { return channels_.admit(name); }

	// output(name, value), value already checked and clamped. Before the show the channel
	// is created (admit() it first) and its value becomes an initial event; afterwards a
	// channel nobody mapped is dropped. False with a Python exception set if waiting for the
	// shim was interrupted.
	bool output(std::string_view name, double value);

	// The channel called `name`, or nullptr.
	const Channel* find(std::string_view name) const;
	const Channels& channels() const { return channels_; }

	// The channel whose handler is running; nullptr outside a channel handler.
	const Channel* current() const { return current_; }
	Tasks& tasks() { return tasks_; }

	// Sets the cleanup handler (nullptr: none); returns the one it replaces, owned by the caller.
	PyObject* replace_cleanup_handler(PyObject* handler);
	bool has_cleanup_handler() const { return cleanup_handler_ != nullptr; }

	uint64_t timestamp() const { return clock_.now_ms(); }
	void log(int level, std::string_view text) { log_.log(level, text); }
	Scheduler& scheduler() { return scheduler_; }

	// The HandlerTimeout message if the running call is the one the watchdog interrupted.
	std::optional<std::string> overdue() const;

	// The Python call running now, for a task to say who started it.
	std::optional<std::string> calling() const { return watchdog_.calling(); }

private:
	void call_handler(Channel& channel, uint32_t id, double value);

	PythonRuntime& python_;
	Scheduler& scheduler_;
	Tasks& tasks_;
	Watchdog& watchdog_;
	OutputSink& outputs_;
	LogSink& log_;
	const CoreClock& clock_;

	Channels channels_;
	const Channel* current_ = nullptr;
	std::string default_handler_;  // "module.function", empty if none
	Tasks::Overlap overlap_ = Tasks::Overlap::Both;
	bool started_ = false;
	bool reloading_ = false;
	std::vector<protocol::Event> pending_;
	PyObject* cleanup_handler_ = nullptr;  // owned reference or nullptr
	EventTap* tap_ = nullptr;
	HandlerTimes handler_times_;
};

}  // namespace mmpy::host
