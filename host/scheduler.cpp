#include "scheduler.h"

#include <algorithm>

#include "python_callback.h"

namespace mmpy::host {

namespace {
// libuv handles must outlive uv_close; the close callback frees them.
template <typename T>
void close_and_delete(T* owner, uv_handle_t* handle) {
	handle->data = owner;
	uv_close(handle, [](uv_handle_t* h) { delete static_cast<T*>(h->data); });
}
}  // namespace

Scheduler::Scheduler(uv_loop_t* loop, const CoreClock& clock, Invoke invoke)
    : loop_(loop), clock_(clock), invoke_(std::move(invoke)) {}

Scheduler::~Scheduler() {
	clear();
}

void Scheduler::set_interval(PyObject* callable, uint64_t period_ms) {
	for (Timer* timer : timers_) {
		if (PyObject_RichCompareBool(callable, timer->callable, Py_EQ) == 1) {
			if (period_ms == 0) {
				drop(timer);
			} else {
				timer->period_ms = period_ms;
				arm(*timer);
			}
			return;
		}
	}
	PyErr_Clear();
	if (period_ms == 0) {
		return;
	}
	auto* timer = new Timer{this, callable, period_ms, label_of(callable), {}};
	Py_INCREF(callable);
	uv_timer_init(loop_, &timer->handle);
	timer->handle.data = timer;
	timers_.push_back(timer);
	arm(*timer);
}

uint64_t Scheduler::now() const {
	return clock_.is_virtual() ? clock_.now_ms() : uv_now(loop_);
}

void Scheduler::arm(Timer& timer) {
	if (started_) {
		timer.due_ms = now() + timer.period_ms;
		if (!clock_.is_virtual()) {
			uv_timer_start(&timer.handle, on_timer, timer.period_ms, 0);
		}
	}
}

void Scheduler::on_timer(uv_timer_t* handle) {
	auto* timer = static_cast<Timer*>(handle->data);
	timer->owner->tick(*timer);
}

void Scheduler::tick(Timer& timer) {
	// The next tick is due one period after this one was due, not after it ran: libuv's
	// repeating timers count from the late start, and the interval drifted by about 1%.
	// Ticks missed while a handler blocked are skipped, not run in a burst.
	uint64_t now = this->now();
	timer.due_ms += timer.period_ms;
	if (timer.due_ms <= now) {
		timer.due_ms += (now - timer.due_ms) / timer.period_ms * timer.period_ms + timer.period_ms;
	}
	if (!clock_.is_virtual()) {
		uv_timer_start(&timer.handle, on_timer, timer.due_ms - now, 0);
	}
	// The handler may cancel its own interval; keep the callable alive meanwhile.
	PyObject* callable = timer.callable;
	Py_INCREF(callable);
	Py_XDECREF(invoke_(callable, nullptr, "interval handler", timer.label, callable));
	Py_DECREF(callable);
}

std::optional<uint64_t> Scheduler::next_due_ms() const {
	std::optional<uint64_t> next;
	if (started_) {
		for (const Timer* timer : timers_) {
			if (!next || timer->due_ms < *next) {
				next = timer->due_ms;
			}
		}
	}
	return next;
}

// A handler may add or cancel intervals: the earliest due is looked up again after each tick.
void Scheduler::run_due() {
	if (!started_) {
		return;
	}
	uint64_t now = this->now();
	for (;;) {
		Timer* due = nullptr;
		for (Timer* timer : timers_) {
			if (timer->due_ms <= now && (!due || timer->due_ms < due->due_ms)) {
				due = timer;
			}
		}
		if (!due) {
			return;
		}
		tick(*due);
	}
}

void Scheduler::drop(Timer* timer) {
	timers_.erase(std::find(timers_.begin(), timers_.end(), timer));
	Py_DECREF(timer->callable);
	uv_timer_stop(&timer->handle);
	close_and_delete(timer, reinterpret_cast<uv_handle_t*>(&timer->handle));
}

bool Scheduler::manage(PyObject* handler, PyObject* socket, int fd, std::string& error) {
	for (Watch* watch : watches_) {
		if (PyObject_RichCompareBool(socket, watch->socket, Py_EQ) == 1) {
			if (!handler) {
				drop(watch);
			} else {
				Py_INCREF(handler);
				Py_SETREF(watch->handler, handler);
				watch->label = label_of(handler);
			}
			return true;
		}
	}
	PyErr_Clear();
	if (!handler) {
		return true;
	}
	for (Watch* watch : watches_) {
		if (watch->fd == fd) {
			error = "descriptor " + std::to_string(fd) + " is already managed with another socket object";
			return false;
		}
	}
	auto* watch = new Watch{this, handler, socket, fd, label_of(handler), {}};
	int rc = uv_poll_init(loop_, &watch->handle, fd);
	if (rc != 0) {
		delete watch;
		error = "descriptor " + std::to_string(fd) + " cannot be watched: " + uv_strerror(rc);
		return false;
	}
	Py_INCREF(handler);
	Py_INCREF(socket);
	watch->handle.data = watch;
	watches_.push_back(watch);
	arm(*watch);
	return true;
}

void Scheduler::arm(Watch& watch) {
	if (started_) {
		uv_poll_start(&watch.handle, UV_READABLE | UV_DISCONNECT, on_poll);
	}
}

void Scheduler::on_poll(uv_poll_t* handle, int status, int) {
	auto* watch = static_cast<Watch*>(handle->data);
	if (status < 0) {
		// The descriptor went bad (closed without manage(None, sock)); stop watching it.
		uv_poll_stop(handle);
		return;
	}
	PyObject* handler = watch->handler;
	PyObject* args = PyTuple_Pack(1, watch->socket);
	Py_INCREF(handler);
	PyObject* task = watch->owner->invoke_(handler, args, "socket handler", watch->label, watch->socket);
	Py_DECREF(handler);
	Py_XDECREF(args);
	if (task) {
		watch->owner->resume_when_done(*watch, task);
		Py_DECREF(task);
	}
}

// The socket stays readable until the task reads it: watched meanwhile, it would start a
// task on every turn of the loop.
void Scheduler::resume_when_done(Watch& watch, PyObject* task) {
	uv_poll_stop(&watch.handle);
	int fd = watch.fd;
	PyObject* resume = make_python_callback([this, fd](PyObject*) -> PyObject* {
		for (Watch* w : watches_) {
			if (w->fd == fd) {
				arm(*w);
			}
		}
		Py_RETURN_NONE;
	});
	PyObject* result = resume ? PyObject_CallMethod(task, "add_done_callback", "O", resume) : nullptr;
	if (!result) {
		PyErr_Print();
		arm(watch);
	}
	Py_XDECREF(result);
	Py_XDECREF(resume);
}

void Scheduler::drop(Watch* watch) {
	watches_.erase(std::find(watches_.begin(), watches_.end(), watch));
	Py_DECREF(watch->handler);
	Py_DECREF(watch->socket);
	uv_poll_stop(&watch->handle);
	close_and_delete(watch, reinterpret_cast<uv_handle_t*>(&watch->handle));
}

// "module.qualname" of a function, so the watchdog's log line says which one overran.
const std::string* Scheduler::label_of(PyObject* callable) {
	std::string label;
	for (const char* attribute : {"__module__", "__qualname__"}) {
		PyObject* value = PyObject_GetAttrString(callable, attribute);
		const char* text = value && PyUnicode_Check(value) ? PyUnicode_AsUTF8(value) : nullptr;
		if (text) {
			label += (label.empty() ? "" : ".") + std::string(text);
		}
		Py_XDECREF(value);
		PyErr_Clear();
	}
	if (label.empty()) {
		label = Py_TYPE(callable)->tp_name;
	}
	return &*labels_.insert(std::move(label)).first;
}

void Scheduler::start() {
	started_ = true;
	for (Timer* timer : timers_) {
		arm(*timer);
	}
	for (Watch* watch : watches_) {
		arm(*watch);
	}
}

void Scheduler::clear() {
	while (!timers_.empty()) {
		drop(timers_.back());
	}
	while (!watches_.empty()) {
		drop(watches_.back());
	}
	started_ = false;
}

}  // namespace mmpy::host
