// The Python callbacks the loop runs on its own: interval() timers and manage()d sockets.
// They are registered at any time but run only once the show has started, as they did
// inside the core. An async function's tick is skipped while its previous tick's task
// runs; a socket whose async handler's task runs is not watched until it ends.
//
// On a virtual clock (the test harness) interval ticks are not libuv timers: VirtualTime
// asks for the next one due and runs it when the clock gets there.
#pragma once

#include <Python.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core_clock.h"

namespace mmpy::host {

class Scheduler {
public:
	// `call` runs a Python callable with the arguments given, logging any exception;
	// `context` names it in that log ("interval handler", "socket handler"); `subject` is
	// the function's name (module.qualname), for the watchdog, valid for the whole session.
	// An async function's coroutine becomes a task, returned (a new reference), unless the
	// task of `key` still runs; otherwise it returns nullptr.
	using Invoke = std::function<PyObject*(PyObject* callable, PyObject* args, const char* context,
	                                       const std::string* subject, PyObject* key)>;

	Scheduler(uv_loop_t* loop, const CoreClock& clock, Invoke invoke);
	~Scheduler();

	// interval(fn, ms): ms already rounded; 0 cancels. Same fn again updates the period.
	void set_interval(PyObject* callable, uint64_t period_ms);

	// manage(fn, sock): fn None (nullptr) unregisters. False with `error` if the socket
	// cannot be watched (for instance a regular file).
	bool manage(PyObject* handler, PyObject* socket, int fd, std::string& error);

	// Starts everything registered so far; later registrations start at once.
	void start();

	// Stops and forgets every timer and socket, releasing their Python references.
	void clear();

	// Virtual clock: when the next interval tick is due (ms on the clock; none before the
	// show starts), and the ticks due by now, each once, in the order they are due.
	std::optional<uint64_t> next_due_ms() const;
	void run_due();

	size_t intervals() const { return timers_.size(); }
	size_t sockets() const { return watches_.size(); }

private:
	struct Timer {
		Scheduler* owner;
		PyObject* callable;
		uint64_t period_ms;
		const std::string* label;
		uv_timer_t handle;
		uint64_t due_ms = 0;  // the next tick, on the ideal grid (loop time, or the virtual clock)
	};
	struct Watch {
		Scheduler* owner;
		PyObject* handler;
		PyObject* socket;
		int fd;
		const std::string* label;
		uv_poll_t handle;
	};

	static void on_timer(uv_timer_t* handle);
	void tick(Timer& timer);
	uint64_t now() const;
	static void on_poll(uv_poll_t* handle, int status, int events);
	void resume_when_done(Watch& watch, PyObject* task);
	void arm(Timer& timer);
	void arm(Watch& watch);
	void drop(Timer* timer);
	void drop(Watch* watch);
	const std::string* label_of(PyObject* callable);

	uv_loop_t* loop_;
	const CoreClock& clock_;
	Invoke invoke_;
	bool started_ = false;
	std::vector<Timer*> timers_;
	std::vector<Watch*> watches_;
	// Function names, interned: the watchdog may read one while its timer is being dropped,
	// so they are never freed (one per distinct function, registered outside the hot path).
	std::set<std::string> labels_;
};

}  // namespace mmpy::host
