// The `midimonster` Python module that user code imports: the API of the in-process
// backend, answered from the host's own state.
#pragma once

#include <Python.h>

#include <cstdint>
#include <functional>
#include <string_view>

namespace mmpy::host {

class InstanceState;
class Scheduler;
class Watchdog;

// What the module functions act on. One instance per host process, so one set of hooks.
struct ModuleHooks {
	InstanceState* state = nullptr;
	Scheduler* scheduler = nullptr;
	Watchdog* watchdog = nullptr;  // handler-timeout: who decides whether a call overran
	std::function<void(int level, std::string_view text)> log;
	std::function<uint64_t()> timestamp;
	// Sends the outputs made so far and waits while the shim is behind; called when one
	// handler has made a full batch of them. False with a Python exception set if a signal
	// (handler-timeout) interrupted the wait.
	std::function<bool()> flush_outputs;
	PyObject* cleanup_handler = nullptr;  // owned reference or nullptr
};

ModuleHooks& module_hooks();

// Registered with PyImport_AppendInittab before the interpreter starts.
PyObject* init_midimonster_module();

}  // namespace mmpy::host
