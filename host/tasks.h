// The asyncio side of the host (host/tasks.py, compiled in): the instance's asyncio event
// loop, and the tasks that async handlers, thread() and fades run as. What a handler returns
// is given here: a coroutine becomes a task named with who started it; its exception is
// logged with its traceback; the shim hears which tasks run; shutdown cancels them.
#pragma once

#include <Python.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>


namespace mmpy::host {

class Tasks {
public:
	// When a handler's coroutine arrives while the task of the same key still runs.
	enum class Overlap {
		Both,    // both run (channel handlers, by default)
		Cancel,  // the older one is cancelled (`overlap = cancel`)
		Skip,    // the new one is dropped (interval() ticks)
	};

	// The tasks that run, by name with their counts; sent when the set changed, at most
	// four times a second.
	using Report = std::function<void(const std::vector<std::pair<std::string, uint64_t>>& running)>;

	Tasks() = default;
	Tasks(const Tasks&) = delete;
	Tasks& operator=(const Tasks&) = delete;
	~Tasks() { close(); }

	// Once Python runs: makes the asyncio loop, whose selector waits with `wait` (a Python
	// callable, EventLoop's), and sets midimonster.sleep/thread/fade. Lines go to the core's
	// log through the midimonster module. `clock` (a callable answering seconds, or nullptr
	// for the monotonic clock) is the loop's time: the virtual clock under the test harness.
	bool load(PyObject* wait, PyObject* clock, Report report, std::string& error);
	bool loaded() const { return show_ != nullptr; }

	// The asyncio event loop (borrowed), nullptr before load().
	PyObject* loop() const { return loop_; }

	// If `result` (a handler's return value, stolen) is a coroutine, starts it as a task and
	// returns the task (a new reference); otherwise nullptr. `kind` and `subject` name who
	// started it ("the handler of channel", "show.go"); `key` (may be nullptr) is what
	// `overlap` compares; `channel` is what midimonster.current() answers inside the task.
	PyObject* adopt(PyObject* result, const char* kind, const std::string* subject, PyObject* key = nullptr,
	                Overlap overlap = Overlap::Both, const std::string* channel = nullptr);

	// The show has started: thread() tasks made before it begin now.
	void show_started();
	void set_fade_rate(uint64_t steps_per_second);

	// Shutdown: waits up to `bound_ms` for every task, cancelling them first (or, with
	// `cancel_first` false, when the time is up), then calls `then`. Without a loop, calls it at once.
	void settle(uint64_t bound_ms, bool cancel_first, std::function<void()> then);

	// "the task show.chase (started by the handler of channel show.go)": the task that holds
	// the loop now, if any.
	std::optional<std::string> running() const;

	// midimonster.current() inside a task: the channel whose handler started it (new
	// reference; None if none).
	PyObject* current_channel() const;

	// Closes the loop and drops every reference, while Python lives. Idempotent.
	void close();

private:
	PyObject* call(const char* method, PyObject* args) const;
	void notify(const char* method);

	PyObject* module_ = nullptr;   // _mmpy_tasks
	PyObject* show_ = nullptr;     // its ShowTasks
	PyObject* loop_ = nullptr;     // borrowed from show_
	PyObject* current_ = nullptr;  // the ContextVar current_channel
};

}  // namespace mmpy::host
