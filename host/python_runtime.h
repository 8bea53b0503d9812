// The embedded CPython interpreter of this host process: start-up with the instance's
// folder on sys.path and sys.stdout/sys.stderr sent to the core's log, module imports,
// handler look-up, and calls that log their exceptions instead of ending the host.
#pragma once

#include <Python.h>

#include <cstdint>
#include <set>
#include <string>

#include "sinks.h"

namespace mmpy::host {

class Instance;
class Watchdog;

class PythonRuntime {
public:
	// Exceptions and their tracebacks are logged to `log`.
	explicit PythonRuntime(LogSink& log) : log_(log) {}

	// Starts the main interpreter (C extensions such as numpy need the main one), then
	// prepares it for this session, with the `midimonster` module acting on `instance`.
	// An interpreter that already runs is only prepared.
	bool start(const std::string& directory, Instance& instance, std::string& error);
	void stop();
	bool running() const { return running_; }

	// `module = VALUE`: a module name, or a path to a .py file relative to the config folder.
	// On failure the traceback is already logged; `error` is a one-line summary.
	bool import_module(const std::string& value, std::string& error);

	// "module.function" -> a new reference to a callable, or nullptr and `error`.
	PyObject* resolve(const std::string& dotted, std::string& error);

	// Every call below is watched by `watchdog` (handler-timeout) once it is set.
	void set_watchdog(Watchdog* watchdog) { watchdog_ = watchdog; }

	// Calls `callable(*args)` (args may be nullptr) and returns what it returned (a new
	// reference: an async handler's coroutine goes on to Tasks). An exception is logged with
	// `context` ("interval handler") and its traceback, the host carries on, and the result
	// is nullptr. `subject` (may be nullptr) names the function for the watchdog and must
	// outlive the call.
	PyObject* call(PyObject* callable, PyObject* args, const char* context, const std::string* subject = nullptr);
	// The hot path: one argument, and the log context built only if something failed.
	PyObject* call_one(PyObject* callable, PyObject* arg, const char* context, const std::string& subject);

	// sys.version, for the hello reply.
	std::string version() const;

	// Flushes Python's sys.stdout/sys.stderr line buffers into the log.
	void flush_streams();

	// The last exception reported ("the handler of channel show.go: ValueError: ..."), and
	// when (Unix time, ms; 0: none yet).
	const std::string& last_error() const { return last_error_; }
	uint64_t last_error_ms() const { return last_error_ms_; }

private:
	void report_exception(const std::string& context);

	LogSink& log_;
	bool running_ = false;
	// This runtime started the interpreter, so stop() finalizes it. False only when the
	// interpreter already ran before start(): the fuzz harness (tests/fuzz/fuzz_host_session.cpp)
	// starts it once and serves thousands of sessions with it, since CPython cannot be
	// finalized and started again reliably. A host process never starts it beforehand.
	bool owns_interpreter_ = false;
	Watchdog* watchdog_ = nullptr;
	// Names of modules whose `module =` line failed, so that a handler naming them says why
	// it is missing.
	std::set<std::string> failed_imports_;
	std::string last_error_;
	uint64_t last_error_ms_ = 0;
};

// Runs a module of the host's own Python (tasks.py, show_code.py, kept_state.py, compiled
// in: python_sources.h) as module `name`; a new reference, or nullptr with an exception set.
PyObject* load_host_module(const char* name, const char* source);

// The name in sys.modules of what a `module = VALUE` line imports: a path's file name
// without `.py`, else VALUE itself.
std::string loaded_module_name(const std::string& value);

// The pending Python exception as "what: message", cleared.
std::string take_python_error(const char* what);

}  // namespace mmpy::host
