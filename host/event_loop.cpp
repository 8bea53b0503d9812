#include "event_loop.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "python_callback.h"
#include "tasks.h"
#include "virtual_time.h"
#include "watchdog.h"

namespace mmpy::host {

EventLoop::EventLoop(uv_loop_t* loop, Watchdog& watchdog, std::function<void()> before_wait)
    : loop_(loop), watchdog_(watchdog), before_wait_(std::move(before_wait)) {}

PyObject* EventLoop::waiter() {
	return make_python_callback([this](PyObject* args) -> PyObject* {
		int selector_fd = -1;
		PyObject* timeout = nullptr;
		if (!PyArg_ParseTuple(args, "iO", &selector_fd, &timeout)) {
			return nullptr;
		}
		std::optional<double> seconds;
		if (timeout != Py_None) {
			seconds = PyFloat_AsDouble(timeout);
			if (*seconds == -1.0 && PyErr_Occurred()) {
				return nullptr;
			}
		}
		return PyBool_FromLong(wait(selector_fd, seconds));
	});
}

// From here until the next wait, asyncio runs its ready callbacks and task steps: the time
// the loop is held, which handler-timeout limits (Watchdog::kLoopHeld).
bool EventLoop::wait(int selector_fd, std::optional<double> timeout_s) {
	watchdog_.end_call();
	before_wait_();
	bool selector_ready = virtual_time_ && timeout_s != 0.0 ? wait_virtual(selector_fd, timeout_s)
	                                                        : poll_then_run(selector_fd, nearer(ns(timeout_s, false)));
	watchdog_.begin_call(Watchdog::kLoopHeld, nullptr);
	return selector_ready;
}

// asyncio has nothing ready. What has arrived already (the next frame, a user's socket)
// happens at the current time; only then may the clock move.
bool EventLoop::wait_virtual(int selector_fd, std::optional<double> timeout_s) {
	pollfd ready[2] = {{uv_backend_fd(loop_), POLLIN, 0}, {selector_fd, POLLIN, 0}};
	if (poll(ready, selector_fd >= 0 ? 2 : 1, 0) > 0) {
		return poll_then_run(selector_fd, 0);
	}
	int64_t due_in = ns(timeout_s, true);
	return poll_then_run(selector_fd, nearer(virtual_time_->step(due_in < 0 ? std::nullopt : std::optional(due_in))));
}

// asyncio's timeout in ns, -1 for none. On a virtual clock it is rounded to the nearest ns:
// the float arithmetic of asyncio's times puts a timer due at 25 ms a hair after it, and
// asyncio runs the timers due within a ns of its clock anyway (its _clock_resolution).
int64_t EventLoop::ns(std::optional<double> timeout_s, bool nearest) {
	if (!timeout_s || !std::isfinite(*timeout_s) || *timeout_s >= 1e9) {
		return -1;
	}
	double ns = std::max(*timeout_s, 0.0) * 1e9;
	return nearest ? std::llround(ns) : static_cast<int64_t>(ns);
}

// The nearer of `wait_ns` and libuv's next timer (-1: none of either).
int64_t EventLoop::nearer(int64_t wait_ns) const {
	int64_t uv_ns = uv_timeout_ns();
	return uv_ns >= 0 && (wait_ns < 0 || uv_ns < wait_ns) ? uv_ns : wait_ns;
}

int64_t EventLoop::uv_timeout_ns() const {
	int ms = uv_backend_timeout(loop_);
	return ms < 0 ? -1 : static_cast<int64_t>(ms) * 1000000;
}

// The one wait of the host: ppoll() on libuv's backend and, if not -1, `selector_fd`, for
// at most `wait_ns` (-1: no limit), with Python's lock released so that Python threads run;
// then libuv's callbacks. True if `selector_fd` has something.
bool EventLoop::poll_then_run(int selector_fd, int64_t wait_ns) {
	timespec span{wait_ns / 1000000000, wait_ns % 1000000000};
	pollfd ready[2] = {{uv_backend_fd(loop_), POLLIN, 0}, {selector_fd, POLLIN, 0}};
	PyThreadState* saved = Py_IsInitialized() && PyGILState_Check() ? PyEval_SaveThread() : nullptr;
	int count = ppoll(ready, selector_fd >= 0 ? 2 : 1, wait_ns < 0 ? nullptr : &span, nullptr);
	if (saved) {
		PyEval_RestoreThread(saved);
	}
	uv_run(loop_, UV_RUN_NOWAIT);
	return count > 0 && selector_fd >= 0 && (ready[1].revents & POLLIN) != 0;
}

void EventLoop::run(Tasks& tasks, LogSink& log, const std::function<bool()>& finished) {
	while (!finished()) {
		if (!tasks.loaded()) {
			if (!uv_loop_alive(loop_)) {
				return;
			}
			// Before Python runs (or in a host that never gets a hello): libuv's loop alone.
			poll_then_run(-1, uv_timeout_ns());
			continue;
		}
		PyObject* result = PyObject_CallMethod(tasks.loop(), "run_forever", nullptr);
		watchdog_.end_call();
		if (result) {
			Py_DECREF(result);
			continue;
		}
		// A HandlerTimeout that struck between two callbacks, or SystemExit from a task:
		// the show goes on.
		PyObject *type, *value, *trace;
		PyErr_Fetch(&type, &value, &trace);
		PyObject* text = value ? PyObject_Repr(value) : nullptr;
		const char* what = text ? PyUnicode_AsUTF8(text) : nullptr;
		log.log(0, std::string("the asyncio loop was interrupted by ") + (what ? what : "an exception") +
		               "; it goes on");
		Py_XDECREF(text);
		Py_XDECREF(type);
		Py_XDECREF(value);
		Py_XDECREF(trace);
		PyErr_Clear();
	}
}

void EventLoop::stop(Tasks& tasks) {
	if (tasks.loaded()) {
		PyObject* result = PyObject_CallMethod(tasks.loop(), "stop", nullptr);
		if (!result) {
			PyErr_Clear();
		}
		Py_XDECREF(result);
	}
	uv_stop(loop_);
}

}  // namespace mmpy::host
