#include "session.h"

#include <unistd.h>

#include <cctype>
#include <charconv>

#include "control.h"
#include "events.h"
#include "log.h"
#include "midimonster_module.h"

namespace mmpy::host {

using protocol::FrameType;

namespace {
// A handler that outputs in a long loop waits while this much is queued for the shim.
constexpr size_t kOutputBacklogBytes = 4u << 20;
}  // namespace

Session::Session(uv_loop_t* loop)
    : loop_(loop),
      connection_(
          loop, [this](const protocol::Frame& frame) { return on_frame(frame); }, [this] { flush(); },
          [this](const ConnectionEnd& end) { finish(end); }),
      scheduler_(loop,
                 [this](PyObject* callable, PyObject* args, const char* context, const std::string* subject) {
	                 python_.call(callable, args, context, subject);
	                 flush();
                 }),
      watchdog_(connection_, [this] { return core_timestamp(); }) {
	ModuleHooks& hooks = module_hooks();
	hooks.state = &state_;
	hooks.scheduler = &scheduler_;
	hooks.watchdog = &watchdog_;
	hooks.log = [this](int level, std::string_view text) { send_log(level, text); };
	hooks.timestamp = [this] { return core_timestamp(); };
	hooks.flush_outputs = [this] {
		flush();
		while (!connection_.wait_until_queued_below(kOutputBacklogBytes)) {
			if (PyErr_CheckSignals() != 0) {
				return false;
			}
		}
		return true;
	};
}

// The watchdog thread must be gone before the members it uses are.
Session::~Session() {
	watchdog_.stop();
	module_hooks().watchdog = nullptr;
}

bool Session::open(int fd, std::string& error) {
	return connection_.open(fd, error);
}

bool Session::on_frame(const protocol::Frame& frame) {
	switch (frame.type) {
	case FrameType::Hello:
		return phase_ == Phase::AwaitHello ? on_hello(frame.payload) : reject("a second hello");
	case FrameType::Configure:
		return phase_ == Phase::Configuring ? on_configure(frame.payload) : reject("configure outside configuration");
	case FrameType::Start:
		return phase_ == Phase::Configuring ? on_start(frame.payload) : reject("start outside configuration");
	case FrameType::Inputs:
		return phase_ == Phase::Running ? on_inputs(frame.payload) : reject("events before start");
	case FrameType::Heartbeat:
		return phase_ != Phase::AwaitHello ? on_heartbeat(frame.payload) : reject("heartbeat before hello");
	case FrameType::Shutdown:
		return phase_ != Phase::AwaitHello ? on_shutdown() : reject("shutdown before hello");
	case FrameType::Error: {
		protocol::Error message;
		std::string error;
		protocol::parse(frame.payload, message, error);
		log_line("the shim closed the connection: " + (message.reason.empty() ? error : message.reason));
		connection_.close(message.reason);
		return false;
	}
	default:
		return reject(std::string("a frame of type ") + protocol::frame_type_name(static_cast<uint16_t>(frame.type)) +
		              ", which only a host sends");
	}
}

bool Session::reject(const std::string& reason) {
	connection_.fail("protocol violation: " + reason);
	return false;
}

bool Session::on_hello(std::span<const uint8_t> payload) {
	protocol::ShimHello hello;
	std::string error;
	if (!protocol::parse(payload, hello, error)) {
		return reject(error);
	}
	protocol::VersionVerdict verdict = protocol::judge_shim_version(hello.version);
	if (!verdict.compatible) {
		connection_.fail(protocol::describe(verdict));
		return false;
	}
	state_.name = hello.instance;
	state_.directory = hello.directory;
	log_set_identity(hello.instance);
	set_core_timestamp(hello.timestamp);
	// Relative paths in user code resolve next to the configuration file, as in the core.
	if (!hello.directory.empty() && chdir(hello.directory.c_str()) != 0) {
		log_line("cannot change into " + hello.directory + "; relative paths resolve elsewhere");
	}
	if (!python_.start(hello.directory, error)) {
		connection_.fail(error);
		return false;
	}
	protocol::HostHello reply;
	reply.pid = getpid();
	reply.python = python_.version();
	protocol::encode(out_, reply);
	flush();  // the reply is the host's first frame, before any heartbeat
	// From now on the shim hears "alive" even while Python is busy, and calls are watched.
	python_.set_watchdog(&watchdog_);
	if (!watchdog_.start(error)) {
		connection_.fail(error);
		return false;
	}
	phase_ = Phase::Configuring;
	return true;
}

bool Session::on_configure(std::span<const uint8_t> payload) {
	protocol::Configure configure;
	std::string error;
	if (!protocol::parse(payload, configure, error)) {
		return reject(error);
	}
	protocol::ConfigureResult result;
	if (configure.option == "module") {
		if (configure.value.empty()) {
			result.ok = false;
			result.error = "option 'module' needs a module name or a path to a .py file";
		} else if (!python_.import_module(configure.value, error)) {
			// Like the in-process backend: the show starts without this module, other
			// instances are unaffected, and the log says exactly what failed.
			send_log(0, error);
		}
	} else if (configure.option == "default-handler") {
		state_.default_handler = configure.value;
		if (configure.value.empty()) {
			// As in the in-process backend this is not fatal; but say it, since it looks like a slip.
			send_log(0, "option 'default-handler' is empty: channels without a module name get no handler");
		}
	} else if (configure.option == "handler-timeout") {
		if (!set_handler_timeout(configure.value, error)) {
			result.ok = false;
			result.error = error;
		}
	} else {
		result.ok = false;
		result.error = "unknown instance option '" + configure.option +
		               "' (known: module, default-handler, handler-timeout)";
		// Option names are matched exactly, as MIDIMonster's own backends do.
		std::string folded = configure.option;
		for (char& c : folded) {
			c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
		}
		for (const char* known : {"module", "default-handler", "handler-timeout"}) {
			if (folded == known) {
				result.error += "; option names are exact (lower case, with '-'): did you mean '" + std::string(known) + "'?";
			}
		}
	}
	for (const Channel& channel : state_.channels()) {
		if (channel.output_before_start) {
			result.outputs.emplace_back(channel.name, channel.output);
		}
	}
	flush();
	if (!protocol::encode(out_, result)) {
		// Thousands of long names made at import time: say so instead of leaving the shim waiting.
		result.ok = false;
		result.error = "the channels that output() created while importing (" + std::to_string(result.outputs.size()) +
		               ") do not fit in one message; create fewer or shorter channel names at import time";
		result.outputs.clear();
		protocol::encode(out_, result);
	}
	return true;
}

// `handler-timeout = MS`: a whole number of milliseconds, 0 switches interruption off.
bool Session::set_handler_timeout(const std::string& value, std::string& error) {
	uint64_t ms = 0;
	const char* end = value.data() + value.size();
	auto [stop, status] = std::from_chars(value.data(), end, ms);
	if (status != std::errc() || stop != end) {  // also refuses '', '-5', '+5', '1.5', overflow
		error = "option 'handler-timeout' needs a whole number of milliseconds (0 switches it off), not '" + value +
		        "'";
		return false;
	}
	watchdog_.set_timeout_ms(ms);
	return true;
}

bool Session::on_start(std::span<const uint8_t> payload) {
	protocol::Start start;
	std::string error;
	if (!protocol::parse(payload, start, error)) {
		return reject(error);
	}
	if (!state_.adopt_table(start.channels, error)) {
		return reject(error);
	}
	set_core_timestamp(start.timestamp);
	for (const auto& [id, value] : start.inputs) {
		if (id < state_.channels().size()) {
			state_.at(id).input = value;
		}
	}
	for (const auto& [id, value] : start.outputs) {
		if (id < state_.channels().size()) {
			state_.at(id).output = value;
		}
	}
	resolve_handlers();
	state_.started = true;
	phase_ = Phase::Running;
	protocol::encode(out_, protocol::Started{});
	// Values output() set at import time become the show's initial events.
	if (!start.restart) {
		for (uint32_t id = 0; id < state_.channels().size(); id++) {
			if (state_.at(id).output_before_start) {
				state_.pending_outputs.push_back({id, state_.at(id).output});
			}
		}
	}
	scheduler_.start();
	return true;
}

// Finds the handler of every channel: module.function for dotted names, the
// default-handler for plain ones. What cannot be found is said once, here.
void Session::resolve_handlers() {
	PyObject* fallback = nullptr;
	std::string error;
	if (!state_.default_handler.empty()) {
		fallback = python_.resolve(state_.default_handler, error);
		if (!fallback) {
			send_log(0, "default-handler " + state_.default_handler + ": " + error);
		}
	}
	for (uint32_t id = 0; id < state_.channels().size(); id++) {
		Channel& channel = state_.at(id);
		if (channel.name.find('.') == std::string::npos) {
			Py_XINCREF(fallback);
			channel.handler = fallback;
			continue;
		}
		channel.handler = python_.resolve(channel.name, error);
		if (!channel.handler) {
			send_log(0, "channel " + channel.name + " has no handler: " + error + "; its events are ignored");
		}
	}
	Py_XDECREF(fallback);
}

bool Session::on_inputs(std::span<const uint8_t> payload) {
	protocol::BatchView batch;
	std::string error;
	if (!protocol::BatchView::parse(payload, batch, error)) {
		return reject(error);
	}
	set_core_timestamp(batch.timestamp());
	for (uint32_t i = 0; i < batch.size(); i++) {
		protocol::Event event = batch[i];
		if (event.channel >= state_.channels().size()) {
			return reject("event on channel id " + std::to_string(event.channel) + ", which the table lacks");
		}
		watchdog_.count_handled();
		deliver(event.channel, event.value);
	}
	return true;
}

// Calls the channel's handler; inputvalue() of the channel answers the previous value
// until the handler returns.
void Session::deliver(uint32_t id, double value) {
	Channel& channel = state_.at(id);
	if (channel.handler) {
		PyObject* argument = PyFloat_FromDouble(value);
		state_.current = &channel;
		if (argument) {
			python_.call_one(channel.handler, argument, "the handler of channel", channel.name);
		}
		state_.current = nullptr;
		Py_XDECREF(argument);
	}
	channel.input = value;
}

bool Session::on_heartbeat(std::span<const uint8_t> payload) {
	protocol::Heartbeat heartbeat;
	std::string error;
	if (!protocol::parse(payload, heartbeat, error)) {
		return reject(error);
	}
	// Only the core's clock: the watchdog thread answers with heartbeats of its own.
	set_core_timestamp(heartbeat.timestamp);
	return true;
}

bool Session::on_shutdown() {
	run_cleanup_handler();
	protocol::encode_empty(out_, FrameType::Bye);
	flush();
	connection_.close();
	return false;
}

void Session::terminate(const std::string& why) {
	if (phase_ == Phase::Finished) {
		return;
	}
	log_line(why + "; running the cleanup handler and exiting");
	run_cleanup_handler();
	connection_.fail("mm-pyhost stopped: " + why);
}

// Runs the instance's cleanup handler once. Its outputs are not routed: the core's
// routing has already stopped, as with the in-process backend.
void Session::run_cleanup_handler() {
	outputs_routed_ = false;
	scheduler_.clear();
	PyObject* handler = module_hooks().cleanup_handler;
	module_hooks().cleanup_handler = nullptr;
	if (handler && python_.running()) {
		python_.call(handler, nullptr, "cleanup handler", nullptr);
		python_.flush_streams();
	}
	Py_XDECREF(handler);
	// What the cleanup handler itself registered (interval(), manage(), another cleanup
	// handler) never runs; dropped now, while Python lives. A timer left in the scheduler
	// was closed twice at exit, and libuv aborted the host (found with fuzz_host_session).
	scheduler_.clear();
	Py_CLEAR(module_hooks().cleanup_handler);
	state_.pending_outputs.clear();
}

void Session::finish(const ConnectionEnd& end) {
	if (phase_ == Phase::Finished) {
		return;
	}
	std::string reason = describe(end);
	if (phase_ == Phase::AwaitHello) {
		// Not a core at all, or one that gave up before its hello: nothing ran yet.
		log_line("connection closed before the hello" + (reason.empty() ? std::string() : ": " + reason));
	} else if (outputs_routed_) {
		// The core went away without a shutdown frame (it crashed or was killed).
		log_line("connection to the core lost" + (reason.empty() ? std::string() : ": " + reason));
		run_cleanup_handler();
	} else if (!reason.empty()) {
		log_line("connection closed: " + reason);
	}
	phase_ = Phase::Finished;
	// No heartbeat or interrupt may reach a Python that is being finalized.
	watchdog_.stop();
	python_.set_watchdog(nullptr);
	state_.release_handlers();
	python_.stop();
	uv_stop(loop_);
}

void Session::send_log(int level, std::string_view text) {
	// Keep the order of outputs and log lines as the handler made them.
	if (!connection_.closed()) {
		flush();
		protocol::encode(out_, protocol::Log{level, std::string(text)});
		connection_.send(out_);
		out_.clear();
	} else {
		log_line(std::string(text));
	}
}

void Session::flush() {
	if (!state_.pending_outputs.empty()) {
		if (outputs_routed_) {
			protocol::BatchWriter writer(out_, FrameType::Outputs, core_timestamp());
			for (const protocol::Event& event : state_.pending_outputs) {
				writer.add(event.channel, event.value);
			}
			writer.finish();
		}
		state_.pending_outputs.clear();
	}
	if (!out_.empty()) {
		connection_.send(out_);
		out_.clear();
	}
}

// The clock arithmetic wraps in unsigned integers: the shim's timestamps are any 64-bit
// value, and signed overflow would be undefined (found by fuzz_host_session).
uint64_t Session::core_timestamp() const {
	auto now = static_cast<int64_t>(uv_hrtime() +
	                                static_cast<uint64_t>(core_clock_offset_ns_.load(std::memory_order_relaxed)));
	return now > 0 ? static_cast<uint64_t>(now) / 1000000 : 0;
}

void Session::set_core_timestamp(uint64_t timestamp) {
	core_clock_offset_ns_.store(static_cast<int64_t>(timestamp * 1000000 - uv_hrtime()), std::memory_order_relaxed);
}

}  // namespace mmpy::host
