#include "session.h"

#include <unistd.h>

#include "control.h"
#include "events.h"
#include "log.h"

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
      python_(*this),
      scheduler_(loop,
                 [this](PyObject* callable, PyObject* args, const char* context, const std::string* subject) {
	                 python_.call(callable, args, context, subject);
	                 flush();
                 }),
      watchdog_(connection_, clock_),
      instance_(python_, scheduler_, watchdog_, *this, *this, clock_),
      options_(python_, instance_, watchdog_, *this) {}

// The watchdog thread must be gone before the members it uses are.
Session::~Session() {
	watchdog_.stop();
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
	case FrameType::Error:
		return on_error(frame.payload);
	default:
		return reject(std::string("a frame of type ") + protocol::frame_type_name(static_cast<uint16_t>(frame.type)) +
		              ", which only a host sends");
	}
}

// A control message that does not parse is a protocol violation.
template <typename Message>
bool Session::parse(std::span<const uint8_t> payload, Message& message) {
	std::string error;
	return protocol::parse(payload, message, error) || reject(error);
}

bool Session::reject(const std::string& reason) {
	connection_.fail("protocol violation: " + reason);
	return false;
}

bool Session::on_hello(std::span<const uint8_t> payload) {
	protocol::ShimHello hello;
	if (!parse(payload, hello)) {
		return false;
	}
	protocol::VersionVerdict verdict = protocol::judge_shim_version(hello.version);
	if (!verdict.compatible) {
		connection_.fail(protocol::describe(verdict));
		return false;
	}
	log_set_identity(hello.instance);
	clock_.set(hello.timestamp);
	std::string error;
	// Relative paths in user code resolve next to the configuration file, as in the core.
	if (!hello.directory.empty() && chdir(hello.directory.c_str()) != 0) {
		log_line("cannot change into " + hello.directory + "; relative paths resolve elsewhere");
	}
	if (!python_.start(hello.directory, instance_, error)) {
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
	if (!parse(payload, configure)) {
		return false;
	}
	protocol::ConfigureResult result = options_.apply(configure);
	result.outputs = instance_.outputs_before_start();
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

bool Session::on_start(std::span<const uint8_t> payload) {
	protocol::Start start;
	if (!parse(payload, start)) {
		return false;
	}
	std::string error;
	if (!instance_.adopt(start.channels, error)) {
		return reject(error);
	}
	clock_.set(start.timestamp);
	instance_.start(start);
	phase_ = Phase::Running;
	protocol::encode(out_, protocol::Started{});
	return true;
}

bool Session::on_inputs(std::span<const uint8_t> payload) {
	protocol::BatchView batch;
	std::string error;
	if (!protocol::BatchView::parse(payload, batch, error)) {
		return reject(error);
	}
	clock_.set(batch.timestamp());
	return instance_.deliver(batch, error) || reject(error);
}

bool Session::on_heartbeat(std::span<const uint8_t> payload) {
	protocol::Heartbeat heartbeat;
	if (!parse(payload, heartbeat)) {
		return false;
	}
	// Only the core's clock: the watchdog thread answers with heartbeats of its own.
	clock_.set(heartbeat.timestamp);
	return true;
}

bool Session::on_shutdown() {
	run_cleanup_handler();
	protocol::encode_empty(out_, FrameType::Bye);
	flush();
	connection_.close();
	return false;
}

bool Session::on_error(std::span<const uint8_t> payload) {
	protocol::Error message;
	std::string error;
	protocol::parse(payload, message, error);
	log_line("the shim closed the connection: " + (message.reason.empty() ? error : message.reason));
	connection_.close(message.reason);
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

// The core's routing has stopped: the cleanup handler's outputs go nowhere, as with the
// in-process backend.
void Session::run_cleanup_handler() {
	outputs_routed_ = false;
	instance_.run_cleanup();
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
	instance_.release();
	python_.stop();
	uv_stop(loop_);
}

void Session::log(int level, std::string_view text) {
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

bool Session::send_outputs() {
	flush();
	while (!connection_.wait_until_queued_below(kOutputBacklogBytes)) {
		if (PyErr_CheckSignals() != 0) {
			return false;
		}
	}
	return true;
}

void Session::flush() {
	std::vector<protocol::Event>& pending = instance_.pending_outputs();
	if (!pending.empty()) {
		if (outputs_routed_) {
			protocol::BatchWriter writer(out_, FrameType::Outputs, clock_.now_ms());
			for (const protocol::Event& event : pending) {
				writer.add(event.channel, event.value);
			}
			writer.finish();
		}
		pending.clear();
	}
	if (!out_.empty()) {
		connection_.send(out_);
		out_.clear();
	}
}

}  // namespace mmpy::host
