#include "instance.h"

#include <ctime>

namespace mmpy::host {

Instance::Instance(PythonRuntime& python, Scheduler& scheduler, Tasks& tasks, Watchdog& watchdog,
                   OutputSink& outputs, LogSink& log, const CoreClock& clock)
    : python_(python),
      scheduler_(scheduler),
      tasks_(tasks),
      watchdog_(watchdog),
      outputs_(outputs),
      log_(log),
      clock_(clock) {}

std::vector<std::pair<std::string, double>> Instance::outputs_before_start() const {
	std::vector<std::pair<std::string, double>> outputs;
	for (const Channel& channel : channels_) {
		if (channel.output_before_start) {
			outputs.emplace_back(channel.name, channel.output);
		}
	}
	return outputs;
}

// start() resolves the handlers against the adopted table; none may stay behind.
bool Instance::adopt(const protocol::ChannelList& table, std::string& error) {
	for (Channel& channel : channels_) {
		Py_CLEAR(channel.handler);
	}
	return channels_.adopt(table, error);
}

std::vector<Instance::Unresolved> Instance::start(const protocol::Start& start) {
	for (const auto& [id, value] : start.inputs) {
		if (channels_.contains(id)) {
			channels_[id].input = value;
		}
	}
	for (const auto& [id, value] : start.outputs) {
		if (channels_.contains(id)) {
			channels_[id].output = value;
		}
	}
	std::vector<Unresolved> unresolved = resolve_handlers();
	log_unresolved(unresolved);
	started_ = true;
	// Values output() set at import time become the show's initial events; a restarted
	// host's shim has them already.
	if (!start.restart) {
		for (uint32_t id = 0; id < channels_.size(); id++) {
			if (channels_[id].output_before_start) {
				pending_.push_back({id, channels_[id].output});
			}
		}
	}
	scheduler_.start();
	tasks_.show_started();
	return unresolved;
}

std::vector<Instance::Unresolved> Instance::resolve_handlers() {
	std::vector<Unresolved> unresolved;
	PyObject* fallback = nullptr;
	std::string error;
	if (!default_handler_.empty()) {
		fallback = python_.resolve(default_handler_, error);
		if (!fallback) {
			unresolved.push_back({"", "default-handler " + default_handler_ + ": " + error});
		}
	}
	for (Channel& channel : channels_) {
		Py_CLEAR(channel.handler);
		if (channel.name.find('.') == std::string::npos) {
			Py_XINCREF(fallback);
			channel.handler = fallback;
			continue;
		}
		channel.handler = python_.resolve(channel.name, error);
		if (!channel.handler) {
			unresolved.push_back({channel.name, error});
		}
	}
	Py_XDECREF(fallback);
	return unresolved;
}

void Instance::log_unresolved(const std::vector<Unresolved>& misses) {
	for (const Unresolved& miss : misses) {
		log_.log(0, miss.channel.empty() ? miss.error
		                                 : "channel " + miss.channel + " has no handler: " + miss.error +
		                                       "; its events are ignored");
	}
}

std::vector<std::string> Instance::drop_handlers() {
	std::vector<std::string> handled;
	for (Channel& channel : channels_) {
		if (channel.handler) {
			handled.push_back(channel.name);
			Py_CLEAR(channel.handler);
		}
	}
	return handled;
}

bool Instance::deliver(const protocol::BatchView& batch, std::string& error) {
	for (uint32_t i = 0; i < batch.size(); i++) {
		protocol::Event event = batch[i];
		if (!channels_.contains(event.channel)) {
			error = "event on channel id " + std::to_string(event.channel) + ", which the table lacks";
			return false;
		}
		call_handler(channels_[event.channel], event.channel, event.value);
		watchdog_.count_handled();
	}
	return true;
}

// inputvalue() of the channel answers the previous value until its handler returns; an
// async handler returns when its task starts, so inside the task it answers this value.
void Instance::call_handler(Channel& channel, uint32_t id, double value) {
	if (tap_) {
		tap_->tap(true, channel.name, value);
	}
	if (channel.handler) {
		PyObject* argument = PyFloat_FromDouble(value);
		current_ = &channel;
		timespec begin{}, end{};
		clock_gettime(CLOCK_MONOTONIC, &begin);
		PyObject* result =
		    argument ? python_.call_one(channel.handler, argument, "the handler of channel", channel.name) : nullptr;
		clock_gettime(CLOCK_MONOTONIC, &end);
		handler_times_.add(static_cast<uint64_t>((end.tv_sec - begin.tv_sec) * 1000000000LL + (end.tv_nsec - begin.tv_nsec)));
		if (result && PyCoro_CheckExact(result)) {
			// The key only matters when an older task may be cancelled.
			PyObject* key = overlap_ == Tasks::Overlap::Cancel ? PyLong_FromUnsignedLong(id) : nullptr;
			Py_XDECREF(tasks_.adopt(result, "the handler of channel", &channel.name, key, overlap_, &channel.name));
			Py_XDECREF(key);
		} else {
			Py_XDECREF(result);
		}
		current_ = nullptr;
		Py_XDECREF(argument);
	}
	channel.input = value;
	channel.input_ms = clock_.now_ms();
}

void Instance::inject(uint32_t id, double value) {
	call_handler(channels_[id], id, value);
	watchdog_.count_handled();
}

// Its outputs are not routed: the core's routing has already stopped, as with the
// in-process backend.
void Instance::run_cleanup() {
	scheduler_.clear();
	PyObject* handler = replace_cleanup_handler(nullptr);
	if (handler && python_.running()) {
		Py_XDECREF(tasks_.adopt(python_.call(handler, nullptr, "cleanup handler", nullptr), "the cleanup handler", nullptr));
		python_.flush_streams();
	}
	Py_XDECREF(handler);
	// What the cleanup handler itself registered (interval(), manage(), another cleanup
	// handler) never runs; dropped now, while Python lives. A timer left in the scheduler
	// was closed twice at exit, and libuv aborted the host (found with fuzz_host_session).
	scheduler_.clear();
	Py_CLEAR(cleanup_handler_);
	pending_.clear();
}

void Instance::release() {
	for (Channel& channel : channels_) {
		Py_CLEAR(channel.handler);
	}
	Py_CLEAR(cleanup_handler_);
}

bool Instance::output(std::string_view name, double value) {
	if (reloading_) {
		return true;
	}
	if (!started_) {
		Channel& channel = channels_[channels_.add(name)];
		channel.output = value;
		channel.output_before_start = true;
		return true;
	}
	auto id = channels_.find(name);
	if (!id) {
		return true;
	}
	channels_[*id].output = value;
	channels_[*id].output_ms = clock_.now_ms();
	if (tap_) {
		tap_->tap(false, name, value);
	}
	pending_.push_back({*id, value});
	// A handler that outputs in a long loop streams them instead of hoarding memory.
	return pending_.size() < protocol::kMaxBatchEvents || outputs_.send_outputs();
}

const Instance::Channel* Instance::find(std::string_view name) const {
	auto id = channels_.find(name);
	return id ? &channels_[*id] : nullptr;
}

std::optional<std::string> Instance::overdue() const {
	auto overrun = watchdog_.overdue();
	if (!overrun) {
		return std::nullopt;
	}
	std::string limit = "handler-timeout (" + std::to_string(overrun->timeout_ms) + " ms)";
	if (overrun->kind == Watchdog::kLoopHeld) {
		return tasks_.running().value_or("code on the asyncio loop") + " held the loop for longer than " + limit +
		       " without awaiting";
	}
	return Watchdog::describe(overrun->kind, overrun->subject) + " ran longer than " + limit;
}

PyObject* Instance::replace_cleanup_handler(PyObject* handler) {
	PyObject* previous = cleanup_handler_;
	Py_XINCREF(handler);
	cleanup_handler_ = handler;
	return previous;
}

}  // namespace mmpy::host
