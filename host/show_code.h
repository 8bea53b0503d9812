// The show's code while the show runs (docs/running-a-show.md, "Changing code during a
// show"): the instance's `module =` lines, imported through host/show_code.py, which keeps
// the text each module ran; the file watch of `reload = on-save`; and live reload. A reload
// checks that the changed files compile, stops the running version (its intervals, sockets
// and tasks; then its cleanup handler), drops its modules, imports the new version and
// resolves the handlers again. If the new version fails, the old one is imported again from
// its kept text. The session holds the inputs meanwhile and gives them to whichever version
// runs next, in order.
#pragma once

#include <Python.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "instance.h"
#include "python_runtime.h"
#include "scheduler.h"
#include "sinks.h"
#include "tasks.h"
#include "watchdog.h"

namespace mmpy::host {

class ShowCode {
public:
	// What the session does around a switch-over.
	struct Hooks {
		std::function<void()> hold;      // from now on inputs are held and outputs go nowhere
		std::function<size_t()> held;    // how many input events are held
		std::function<void()> release;   // a version runs: outputs are routed, held inputs go to it
	};

	ShowCode(uv_loop_t* loop, PythonRuntime& python, Instance& instance, Scheduler& scheduler, Tasks& tasks,
	         Watchdog& watchdog, LogSink& log, Hooks hooks);
	ShowCode(const ShowCode&) = delete;
	ShowCode& operator=(const ShowCode&) = delete;
	~ShowCode();

	// Once Python runs: modules found in `directory` (the configuration's folder) load
	// through show_code.py from now on.
	bool load(const std::string& directory, std::string& error);

	// A `module =` line: imported now, and again at every reload. On failure the traceback
	// is logged and `error` is a one-line summary.
	bool import_module(const std::string& value, std::string& error);

	// `reload = on-save`: a save of one of the show's files reloads, once the show runs.
	void set_reload_on_save(bool on) { on_save_ = on; }

	// The show has started: the version that runs is the one loaded now; the watch begins.
	void show_started();

	// How a reload went: whether the new code runs, and the log line that says so.
	using Done = std::function<void(bool reloaded, const std::string& line)>;

	// Reloads now (SIGHUP, the operator), even if no file changed. During a reload, once
	// more after it. `done` (may be empty) hears how it went.
	void reload(const std::string& why, Done done = {});

	// The `module =` lines, and when the running version was imported (HH:MM:SS).
	std::vector<std::string> module_lines() const;
	std::string version_time() const;

	bool reloading() const { return step_ != Step::Idle; }

	// The show ends: a reload under way stops where it is, the watch ends.
	void abandon();

	// Drops every Python reference and libuv handle, while Python lives. Idempotent.
	void close();

private:
	enum class Step { Idle, StoppingOld, StoppingNew };
	struct Watch;

	void begin(const std::string& why, bool forced);
	void answer(bool reloaded, const std::string& line);
	void stop_running(std::function<void()> then);
	void after(std::function<void()> then);
	void switch_to_new();
	void go_back(const std::string& problem);
	void finish(bool reloaded, const std::string& line);
	std::optional<std::string> import_all(std::vector<bool>& imported);
	void call_method(const char* name, PyObject* argument);
	std::vector<std::string> lacking(const std::vector<std::string>& needed) const;
	std::vector<std::string> files() const;
	std::string relative(const std::string& path) const;
	void rewatch();
	static void close_watch(Watch* watch);
	static void on_file_event(uv_fs_event_t* handle, const char* filename, int events, int status);
	static void on_settled(uv_timer_t* handle);
	static void on_step(uv_timer_t* handle);

	uv_loop_t* loop_;
	PythonRuntime& python_;
	Instance& instance_;
	Scheduler& scheduler_;
	Tasks& tasks_;
	Watchdog& watchdog_;
	LogSink& log_;
	Hooks hooks_;

	PyObject* code_ = nullptr;     // show_code.py's ShowCode
	PyObject* module_ = nullptr;   // _mmpy_show_code
	PyObject* previous_ = nullptr; // the stopped version's sources, while a reload runs
	std::string directory_;
	// The `module =` lines, in order, and whether the running version imported each.
	struct ModuleLine {
		std::string value;
		bool imported;
	};
	std::vector<ModuleLine> modules_;
	bool on_save_ = false;
	bool started_ = false;
	bool abandoned_ = false;
	bool again_ = false;             // asked during a reload: once more after it
	bool again_forced_ = false;      // and whether even without a change
	std::vector<Done> waiting_;      // hear how the reload under way goes
	std::vector<Done> again_waiting_;  // hear how the one after it goes
	std::string again_why_;
	Step step_ = Step::Idle;
	uint64_t began_ns_ = 0;
	time_t version_loaded_ = 0;      // when the running version was imported
	std::vector<std::string> handled_;  // channels that had a handler before the switch-over
	std::string problem_;            // why the new version failed, while going back

	std::map<std::string, Watch*> watches_;  // by folder: the folders of the show's files
	uv_timer_t settle_{};            // a save settles (an editor writes several times)
	uv_timer_t step_timer_{};        // the next step runs outside the task that ended
	std::function<void()> next_step_;
	bool timers_open_ = false;
};

}  // namespace mmpy::host
