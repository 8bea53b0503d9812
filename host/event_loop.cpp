#include "event_loop.h"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "python_callback.h"
#include "tasks.h"
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
	// The nearer of asyncio's timeout (ns) and libuv's (ms; -1 without timers).
	int uv_ms = uv_backend_timeout(loop_);
	int64_t wait_ns = -1;
	if (timeout_s) {
		wait_ns = std::isfinite(*timeout_s) && *timeout_s < 1e9 ? static_cast<int64_t>(std::max(*timeout_s, 0.0) * 1e9)
		                                                       : -1;
	}
	if (uv_ms >= 0 && (wait_ns < 0 || static_cast<int64_t>(uv_ms) * 1000000 < wait_ns)) {
		wait_ns = static_cast<int64_t>(uv_ms) * 1000000;
	}
	timespec span{wait_ns / 1000000000, wait_ns % 1000000000};
	pollfd ready[2] = {{uv_backend_fd(loop_), POLLIN, 0}, {selector_fd, POLLIN, 0}};
	int count = 0;
	Py_BEGIN_ALLOW_THREADS
	count = ppoll(ready, 2, wait_ns < 0 ? nullptr : &span, nullptr);
	Py_END_ALLOW_THREADS
	uv_run(loop_, UV_RUN_NOWAIT);
	watchdog_.begin_call(Watchdog::kLoopHeld, nullptr);
	return count > 0 && (ready[1].revents & POLLIN) != 0;
}

void EventLoop::run(Tasks& tasks, LogSink& log, const std::function<bool()>& finished) {
	while (!finished()) {
		if (!tasks.loaded()) {
			if (!uv_loop_alive(loop_)) {
				return;
			}
			run_libuv_alone();
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

// Before Python runs (and in a host that never gets a hello): libuv's loop, nothing else.
void EventLoop::run_libuv_alone() {
	PyThreadState* saved = Py_IsInitialized() && PyGILState_Check() ? PyEval_SaveThread() : nullptr;
	pollfd ready{uv_backend_fd(loop_), POLLIN, 0};
	poll(&ready, 1, uv_backend_timeout(loop_));
	if (saved) {
		PyEval_RestoreThread(saved);
	}
	uv_run(loop_, UV_RUN_NOWAIT);
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
