#include "session.h"

#include <unistd.h>

#include "control.h"
#include "events.h"
#include "log.h"
#include "python_callback.h"
#include "runtime_dir.h"

namespace mmpy::host {

using protocol::FrameType;

namespace {
// A handler that outputs in a long loop waits while this much is queued for the shim.
constexpr size_t kOutputBacklogBytes = 4u << 20;
// At shutdown, how long cancelled tasks get to end (their finally blocks), and then the
// tasks an async cleanup handler started; the shim waits 10 s for the whole of it.
constexpr uint64_t kSettleMs = 2000;
}  // namespace

Session::Session(uv_loop_t* loop)
    : connection_(
          loop, [this](const protocol::Frame& frame) { return on_frame(frame); }, [this] { flush(); },
          [this](const ConnectionEnd& end) { finish(end); }),
      python_(*this),
      scheduler_(loop, clock_,
                 [this](PyObject* callable, PyObject* args, const char* context, const std::string* subject,
                        PyObject* key) {
	                 PyObject* task = tasks_.adopt(python_.call(callable, args, context, subject), context, subject,
	                                               key, Tasks::Overlap::Skip);
	                 flush();
	                 return task;
                 }),
      watchdog_(connection_, clock_),
      event_loop_(loop, watchdog_, [this] { flush(); }),
      virtual_time_(clock_, scheduler_,
                    [this](uint64_t now) {
	                    flush();
	                    protocol::encode(out_, protocol::Advanced{now});
	                    flush();
                    }),
      instance_(python_, scheduler_, tasks_, watchdog_, *this, *this, clock_),
      show_code_(loop, python_, instance_, scheduler_, tasks_, watchdog_, *this,
                 {[this] {
	                  flush();  // what the old code answered before the reload still goes out
	                  holding_ = true;
	                  outputs_routed_ = false;
                  },
                  [this] { return held_events_; }, [this] { release_held(); }}),
      kept_state_(loop, python_,
                  [this](std::vector<uint8_t> snapshot) {
	                  if (!connection_.closed() && protocol::encode(out_, protocol::State{std::move(snapshot)})) {
		                  flush();
	                  }
                  }),
      options_(show_code_, instance_, watchdog_, *this),
      desk_(instance_, show_code_, python_, scheduler_, watchdog_, *this,
            {[this] { return running_; }, [this] { return held_events_ + shim_held_events_; },
             [this] { terminate("restarted by the operator"); }}),
      control_(loop, [this](const protocol::OperatorRequest& request, std::shared_ptr<ControlServer::Replier> replier) {
	      desk_.handle(request, replier);
      }) {}

// The watchdog thread must be gone before the members it uses are.
Session::~Session() {
	watchdog_.stop();
}

bool Session::open(int fd, std::string& error) {
	return connection_.open(fd, error);
}

// Python stops here, outside asyncio's loop: never from a callback that runs inside it.
void Session::run() {
	event_loop_.run(tasks_, *this, [this] { return phase_ == Phase::Finished; });
	instance_.release();
	desk_.close();
	show_code_.close();
	kept_state_.close();
	tasks_.close();
	python_.stop();
}

bool Session::on_frame(const protocol::Frame& frame) {
	switch (frame.type) {
	case FrameType::Hello:
		return phase_ == Phase::AwaitHello ? on_hello(frame.payload) : reject("a second hello");
	case FrameType::Configure:
		return phase_ == Phase::Configuring ? on_configure(frame.payload) : reject("configure outside configuration");
	case FrameType::State:
		if (phase_ == Phase::AwaitHello) {
			return reject("a state snapshot before the hello");
		}
		return phase_ == Phase::Configuring && !configured_ ? on_state(frame.payload)
		                                                    : reject("a state snapshot after the configuration began");
	case FrameType::Start:
		return phase_ == Phase::Configuring ? on_start(frame.payload) : reject("start outside configuration");
	case FrameType::Inputs:
		if (phase_ == Phase::Stopping) {
			return true;  // the show is ending: its handlers no longer run
		}
		return phase_ == Phase::Running ? on_inputs(frame.payload) : reject("events before start");
	case FrameType::Heartbeat:
		return phase_ != Phase::AwaitHello ? on_heartbeat(frame.payload) : reject("heartbeat before hello");
	case FrameType::Shutdown:
		return phase_ != Phase::AwaitHello ? on_shutdown() : reject("shutdown before hello");
	case FrameType::Advance:
		if (!clock_.is_virtual()) {
			return reject("an advance of the clock, which only a virtual clock takes");
		}
		if (phase_ == Phase::Stopping) {
			return true;
		}
		return phase_ == Phase::Running ? on_advance(frame.payload) : reject("an advance of the clock before start");
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
	PyObject* virtual_clock = nullptr;
	if (hello.virtual_clock) {
		clock_.make_virtual(hello.timestamp);
		event_loop_.use(&virtual_time_);
	}
	std::string error;
	// Relative paths in user code resolve next to the configuration file, as in the core.
	if (!hello.directory.empty() && chdir(hello.directory.c_str()) != 0) {
		log_line("cannot change into " + hello.directory + "; relative paths resolve elsewhere");
	}
	if (!python_.start(hello.directory, instance_, error)) {
		connection_.fail(error);
		return false;
	}
	PyObject* wait = event_loop_.waiter();
	if (hello.virtual_clock) {
		virtual_clock = make_python_callback(
		    [this](PyObject*) { return PyFloat_FromDouble(static_cast<double>(clock_.now_ns()) / 1e9); });
	}
	bool loaded = wait && (virtual_clock || !hello.virtual_clock) &&
	              tasks_.load(wait, virtual_clock, [this](const auto& running) { report_tasks(running); }, error) &&
	              show_code_.load(hello.directory, error) && kept_state_.load(error);
	Py_XDECREF(wait);
	Py_XDECREF(virtual_clock);
	if (!loaded) {
		connection_.fail(error.empty() ? "the host's asyncio loop could not be made" : error);
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
	if (!operator_mode_.empty()) {
		desk_.set_identity({hello.instance, hello.core_pid, operator_mode_});
		std::string folder;
		if (!protocol::prepare_control_folder(folder, error) ||
		    !control_.open(folder + "/" + protocol::control_socket_name(hello.core_pid, hello.instance), error)) {
			log_line(error);  // the show goes on; only the operator's commands cannot reach it
		}
	}
	return true;
}

bool Session::on_configure(std::span<const uint8_t> payload) {
	protocol::Configure configure;
	if (!parse(payload, configure)) {
		return false;
	}
	configured_ = true;
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

// At most this many channels without a handler are listed in Started (each a few hundred
// bytes at most, far within a frame).
constexpr size_t kMostUnresolvedTold = 256;

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
	kept_state_.show_started();
	protocol::Started started;
	for (Instance::Unresolved& miss : instance_.start(start)) {
		// The first ones are enough for `mm-pyhost check`; the log has them all.
		if (started.unresolved.size() < kMostUnresolvedTold) {
			started.unresolved.emplace_back(std::move(miss.channel), std::move(miss.error));
		}
	}
	show_code_.show_started();
	phase_ = Phase::Running;
	protocol::encode(out_, started);
	return true;
}

bool Session::on_inputs(std::span<const uint8_t> payload) {
	protocol::BatchView batch;
	std::string error;
	if (!protocol::BatchView::parse(payload, batch, error)) {
		return reject(error);
	}
	clock_.set(batch.timestamp());
	if (holding_) {
		held_.emplace_back(payload.begin(), payload.end());
		held_events_ += batch.size();
		return true;
	}
	if (!instance_.deliver(batch, error)) {
		return reject(error);
	}
	if (!told_first_handled_ && watchdog_.handled() > 0) {
		told_first_handled_ = true;
		watchdog_.beat();
	}
	return true;
}

// A version of the show's code runs again: outputs are routed, and the inputs that arrived
// meanwhile go to it, in order.
void Session::release_held() {
	holding_ = false;
	outputs_routed_ = phase_ == Phase::Running;
	std::vector<std::vector<uint8_t>> held = std::move(held_);
	held_.clear();
	held_events_ = 0;
	for (const std::vector<uint8_t>& payload : held) {
		protocol::BatchView batch;
		std::string error;
		if (!protocol::BatchView::parse(payload, batch, error) || !instance_.deliver(batch, error)) {
			reject(error);
			return;
		}
	}
}

// A restarted host gets the state the lost one kept, before its modules import.
bool Session::on_state(std::span<const uint8_t> payload) {
	protocol::State state;
	if (!parse(payload, state)) {
		return false;
	}
	kept_state_.restore(state.snapshot);
	return true;
}

bool Session::on_heartbeat(std::span<const uint8_t> payload) {
	protocol::Heartbeat heartbeat;
	if (!parse(payload, heartbeat)) {
		return false;
	}
	// The watchdog thread answers with heartbeats of its own.
	clock_.set(heartbeat.timestamp);
	shim_held_events_ = heartbeat.handled;
	return true;
}

bool Session::on_advance(std::span<const uint8_t> payload) {
	protocol::Advance advance;
	std::string error;
	return parse(payload, advance) && (virtual_time_.advance_to(advance.to, error) || reject(error));
}

bool Session::on_shutdown() {
	wind_down(Ending::Bye);
	return true;  // heartbeats go on while tasks end and the cleanup handler runs
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
	if (phase_ == Phase::Stopping || phase_ == Phase::Finished) {
		return;
	}
	log_line(why + "; running the cleanup handler and exiting");
	wind_down(Ending::Terminated, why);
}

// Running tasks are cancelled (their finally blocks run), then the cleanup handler runs and
// the tasks it started get their time; each step within kSettleMs. The core's routing has
// stopped meanwhile: outputs go nowhere, as with the in-process backend.
void Session::wind_down(Ending ending, std::string why) {
	if (phase_ == Phase::Stopping || phase_ == Phase::Finished) {
		return;
	}
	phase_ = Phase::Stopping;
	outputs_routed_ = false;
	show_code_.abandon();
	holding_ = false;
	held_.clear();
	held_events_ = 0;
	scheduler_.clear();
	tasks_.settle(kSettleMs, true, [this, ending, why] {
		instance_.run_cleanup();
		tasks_.settle(kSettleMs, false, [this, ending, why] { end_show(ending, why); });
	});
}

void Session::end_show(Ending ending, const std::string& why) {
	wound_down_ = true;
	if (connection_.closed()) {
		teardown();
		return;
	}
	if (ending == Ending::Bye) {
		protocol::encode_empty(out_, FrameType::Bye);
		flush();
		connection_.close();
	} else {
		connection_.fail("mm-pyhost stopped: " + why);
	}
	// The session ends in finish(), once the connection has closed.
}

void Session::finish(const ConnectionEnd& end) {
	if (phase_ == Phase::Finished) {
		return;
	}
	std::string reason = describe(end);
	if (phase_ == Phase::Configuring || phase_ == Phase::Running) {
		// The core went away without a shutdown frame (it crashed or was killed).
		log_line("connection to the core lost" + (reason.empty() ? std::string() : ": " + reason));
		wind_down(Ending::CoreGone);
		return;
	}
	if (phase_ == Phase::AwaitHello) {
		// Not a core at all, or one that gave up before its hello: nothing ran yet.
		log_line("connection closed before the hello" + (reason.empty() ? std::string() : ": " + reason));
	} else if (!reason.empty()) {
		log_line("connection closed: " + reason);
	}
	if (phase_ == Phase::Stopping && !wound_down_) {
		return;  // end_show() tears down once the tasks and the cleanup handler are done
	}
	teardown();
}

// No heartbeat or interrupt may reach a Python that is being finalized; run() stops Python
// once asyncio's loop has returned.
void Session::teardown() {
	phase_ = Phase::Finished;
	control_.close();
	watchdog_.stop();
	python_.set_watchdog(nullptr);
	event_loop_.stop(tasks_);
}

// The shim names these if this host dies (protocol::Tasks); more names than the message
// carries are counted in `others`. The whole set is kept for `mm-pyhost status`.
void Session::report_tasks(const std::vector<std::pair<std::string, uint64_t>>& running) {
	running_.clear();
	for (const auto& [name, count] : running) {
		running_.push_back({name, count});
	}
	protocol::Tasks message;
	for (const protocol::TaskCount& task : running_) {
		if (message.running.size() < protocol::kMaxTaskNames && task.name.size() <= protocol::kMaxNameLength) {
			message.running.push_back(task);
		} else {
			message.others += task.count;
		}
	}
	if (!connection_.closed() && protocol::encode(out_, message)) {
		flush();
	}
}

void Session::log(int level, std::string_view text) {
	desk_.logged(text);
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
