// The host's one loop, in one thread: libuv's (the shim's connection, interval(), manage(),
// signals) driven from asyncio's. Until Python runs there is only libuv's; from then on
// asyncio's loop runs, and its selector's wait (wait() here) sleeps on libuv's backend and
// asyncio's own epoll at once, with nanosecond timeouts, then runs libuv's callbacks.
// docs/architecture.md says why this marriage and not another.
#pragma once

#include <Python.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "sinks.h"

namespace mmpy::host {

class Tasks;
class VirtualTime;
class Watchdog;

class EventLoop {
public:
	// `before_wait` runs whenever the loop is about to sleep: the outputs of this turn leave.
	EventLoop(uv_loop_t* loop, Watchdog& watchdog, std::function<void()> before_wait);
	EventLoop(const EventLoop&) = delete;
	EventLoop& operator=(const EventLoop&) = delete;

	// The selector's wait, for Tasks::load (a new reference; nullptr with a Python exception).
	PyObject* waiter();

	// Serves until `finished()`: libuv alone while `tasks` has no loop, asyncio's loop after.
	// An exception that escapes asyncio's loop is logged to `log` and the loop goes on.
	void run(Tasks& tasks, LogSink& log, const std::function<bool()>& finished);

	// Ends run() after the current turn.
	void stop(Tasks& tasks);

	// The show's clock is virtual (the test harness): when the loop has nothing ready, the
	// clock moves instead of the loop sleeping.
	void use(VirtualTime* virtual_time) { virtual_time_ = virtual_time; }

private:
	bool wait(int selector_fd, std::optional<double> timeout_s);
	bool wait_virtual(int selector_fd, std::optional<double> timeout_s);
	static int64_t ns(std::optional<double> timeout_s, bool nearest);
	int64_t nearer(int64_t wait_ns) const;
	bool poll_then_run(int selector_fd, int64_t wait_ns);
	int64_t uv_timeout_ns() const;

	uv_loop_t* loop_;
	Watchdog& watchdog_;
	std::function<void()> before_wait_;
	VirtualTime* virtual_time_ = nullptr;
};

}  // namespace mmpy::host
