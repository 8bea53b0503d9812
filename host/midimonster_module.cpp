#include "midimonster_module.h"

#include <sys/stat.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>

#include "instance.h"
#include "scheduler.h"
#include "watchdog.h"

namespace mmpy::host {

namespace {

// The module's state (PEP 3121): one per module object, so nothing of it is process-global.
struct ModuleState {
	Instance* instance;         // what the functions act on; bound once Python runs
	PyObject* handler_timeout;  // midimonster.HandlerTimeout (owned)
};

ModuleState* state_of(PyObject* module) {
	return static_cast<ModuleState*>(PyModule_GetState(module));
}

// The Instance the module's functions act on, or nullptr with a Python exception.
Instance* instance_of(PyObject* module) {
	ModuleState* state = state_of(module);
	if (state && state->instance) {
		return state->instance;
	}
	if (!PyErr_Occurred()) {
		PyErr_SetString(PyExc_RuntimeError, "midimonster: this host serves no instance now");
	}
	return nullptr;
}

// A TypeError "WHAT, not TYPE" about `object`; returns nullptr for the caller to return.
PyObject* type_error(const char* what, PyObject* object) {
	PyErr_Format(PyExc_TypeError, "%s, not %.100s", what, Py_TYPE(object)->tp_name);
	return nullptr;
}

// Why output() may not create a channel before the show; channels travel to the core by
// name then, and both ends refuse what is too long or too many.
PyObject* refuse(protocol::Admission admission, const char* name) {
	if (admission == protocol::Admission::NameTooLong) {
		PyErr_Format(PyExc_ValueError, "output(): channel names are limited to %zu bytes, '%.40s...' is longer",
		             protocol::kMaxNameLength, name);
	} else {
		PyErr_Format(PyExc_ValueError, "output(): an instance has at most %zu channels; '%s' would be one more",
		             protocol::kMaxChannels, name);
	}
	return nullptr;
}

// output(name, value): clamped to 0..1. Before the show starts the channel is created and
// its value becomes an initial event; afterwards a channel nobody mapped is dropped.
PyObject* mm_output(PyObject* module, PyObject* args) {
	PyObject* name_object = nullptr;
	PyObject* value_object = nullptr;
	if (!PyArg_ParseTuple(args, "OO:output", &name_object, &value_object)) {
		return nullptr;
	}
	if (!PyUnicode_Check(name_object)) {
		return type_error("output(): the channel name must be a str", name_object);
	}
	Py_ssize_t length = 0;
	const char* name = PyUnicode_AsUTF8AndSize(name_object, &length);
	if (!name) {
		return nullptr;
	}
	if (std::strlen(name) != static_cast<size_t>(length)) {
		PyErr_SetString(PyExc_ValueError, "output(): the channel name must not contain a NUL character");
		return nullptr;
	}
	// Anything float() takes without parsing text: float, int, bool, numpy numbers.
	double value = PyFloat_AsDouble(value_object);
	if (value == -1.0 && PyErr_Occurred()) {
		if (PyErr_ExceptionMatches(PyExc_TypeError)) {
			PyErr_Clear();
			PyErr_Format(PyExc_TypeError, "output(): the value for channel '%s' must be a number, not %.100s", name,
			             Py_TYPE(value_object)->tp_name);
		} else if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
			PyErr_Clear();
			PyErr_Format(PyExc_OverflowError, "output(): the value for channel '%s' is too large for a float", name);
		}
		return nullptr;
	}
	if (!std::isfinite(value)) {
		PyErr_Format(PyExc_ValueError, "output(): the value for channel '%s' must be a finite number, not %R",
		             name, value_object);
		return nullptr;
	}
	value = std::clamp(value, 0.0, 1.0);
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	std::string_view channel(name, static_cast<size_t>(length));
	if (!instance->started()) {
		protocol::Admission admission = instance->admit(channel);
		if (admission != protocol::Admission::Admitted) {
			return refuse(admission, name);
		}
	}
	if (!instance->output(channel, value)) {
		return nullptr;
	}
	Py_RETURN_NONE;
}

PyObject* channel_value(PyObject* module, PyObject* args, const char* format, bool input) {
	const char* name = nullptr;
	if (!PyArg_ParseTuple(args, format, &name)) {
		return nullptr;
	}
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	if (const Instance::Channel* channel = instance->find(name)) {
		return PyFloat_FromDouble(input ? channel->input : channel->output);
	}
	Py_RETURN_NONE;
}

// inputvalue(name): the last value delivered to the channel; during its own handler the
// one before the current event. None for a channel this instance does not know.
PyObject* mm_inputvalue(PyObject* module, PyObject* args) {
	return channel_value(module, args, "s:inputvalue", true);
}

// outputvalue(name): the last value output() set on the channel.
PyObject* mm_outputvalue(PyObject* module, PyObject* args) {
	return channel_value(module, args, "s:outputvalue", false);
}

// current(): the channel whose handler is running, or whose async handler started the
// running task; None elsewhere.
PyObject* mm_current(PyObject* module, PyObject*) {
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	if (const Instance::Channel* channel = instance->current()) {
		return PyUnicode_FromString(channel->name.c_str());
	}
	return instance->tasks().current_channel();
}

// _calling(): the Python call running now ("the handler of channel show.go"), or None; a
// task names it as the one that started it.
PyObject* mm_calling(PyObject* module, PyObject*) {
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	if (auto calling = instance->calling()) {
		return PyUnicode_FromStringAndSize(calling->data(), static_cast<Py_ssize_t>(calling->size()));
	}
	Py_RETURN_NONE;
}

// timestamp(): the core's millisecond clock, carried in frames and advanced locally.
PyObject* mm_timestamp(PyObject* module, PyObject*) {
	Instance* instance = instance_of(module);
	return instance ? PyLong_FromUnsignedLongLong(instance->timestamp()) : nullptr;
}

// interval(fn, ms): ms rounded to the nearest 10 like the in-process backend; 0 cancels.
PyObject* mm_interval(PyObject* module, PyObject* args) {
	PyObject* callable = nullptr;
	PyObject* period_object = nullptr;
	if (!PyArg_ParseTuple(args, "OO:interval", &callable, &period_object)) {
		return nullptr;
	}
	if (!PyCallable_Check(callable)) {
		return type_error("interval(): the first argument must be callable", callable);
	}
	// Whole milliseconds, as the in-process backend took them: an int, not a float.
	if (!PyIndex_Check(period_object)) {
		return type_error("interval(): the period must be a whole number of milliseconds (an int)", period_object);
	}
	PyObject* period_int = PyNumber_Index(period_object);
	if (!period_int) {
		return nullptr;
	}
	int overflow = 0;
	long long period = PyLong_AsLongLongAndOverflow(period_int, &overflow);
	Py_DECREF(period_int);
	if (period == -1 && PyErr_Occurred()) {
		return nullptr;
	}
	if (overflow > 0) {
		PyErr_Format(PyExc_OverflowError, "interval(): the period %R is too large (at most %lld milliseconds)",
		             period_object, LLONG_MAX);
		return nullptr;
	}
	if (overflow < 0 || period < 0) {
		PyErr_Format(PyExc_ValueError, "interval(): the period must be 0 (cancel) or more milliseconds, not %R",
		             period_object);
		return nullptr;
	}
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	uint64_t rounded = (static_cast<uint64_t>(period) + 5) / 10 * 10;
	instance->scheduler().set_interval(callable, rounded);
	Py_RETURN_NONE;
}

// manage(fn, sock): calls fn(sock) whenever sock is readable; fn None unregisters.
PyObject* mm_manage(PyObject* module, PyObject* args) {
	PyObject* handler = nullptr;
	PyObject* socket = nullptr;
	if (!PyArg_ParseTuple(args, "OO:manage", &handler, &socket)) {
		return nullptr;
	}
	if (handler != Py_None && !PyCallable_Check(handler)) {
		return type_error("manage(): the handler must be callable or None", handler);
	}
	PyObject* fileno = PyObject_CallMethod(socket, "fileno", nullptr);
	if (!fileno) {
		if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
			PyErr_Clear();
			PyErr_Format(PyExc_TypeError, "manage(): %.100s has no fileno(); pass a socket-like object",
			             Py_TYPE(socket)->tp_name);
		}
		return nullptr;
	}
	if (!PyLong_Check(fileno)) {
		PyErr_Format(PyExc_TypeError, "manage(): fileno() of the %.100s returned %.100s, not an int",
		             Py_TYPE(socket)->tp_name, Py_TYPE(fileno)->tp_name);
		Py_DECREF(fileno);
		return nullptr;
	}
	int overflow = 0;
	long fd = PyLong_AsLongAndOverflow(fileno, &overflow);
	Py_DECREF(fileno);
	if (fd == -1 && !overflow) {
		PyErr_Format(PyExc_ValueError, "manage(): the %.100s is closed (its fileno() is -1)", Py_TYPE(socket)->tp_name);
		return nullptr;
	}
	if (overflow || fd < 0 || fd > INT_MAX) {
		PyErr_Format(PyExc_ValueError, "manage(): fileno() of the %.100s returned %ld, not a valid descriptor",
		             Py_TYPE(socket)->tp_name, overflow ? -1L : fd);
		return nullptr;
	}
	// epoll refuses files and folders: they are always "readable", so there is nothing to wait for.
	struct stat info {};
	if (handler != Py_None && fstat(static_cast<int>(fd), &info) == 0 &&
	    (S_ISREG(info.st_mode) || S_ISDIR(info.st_mode))) {
		PyErr_Format(PyExc_ValueError,
		             "manage(): descriptor %ld (a %.100s) is a regular file or folder, which cannot be watched; "
		             "pass a socket or a pipe",
		             fd, Py_TYPE(socket)->tp_name);
		return nullptr;
	}
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	std::string error;
	if (!instance->scheduler().manage(handler == Py_None ? nullptr : handler, socket, static_cast<int>(fd), error)) {
		PyErr_Format(PyExc_ValueError, "manage(): %s", error.c_str());
		return nullptr;
	}
	Py_RETURN_NONE;
}

// channels(): the names of every channel of this instance.
PyObject* mm_channels(PyObject* module, PyObject*) {
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	const Instance::Channels& channels = instance->channels();
	PyObject* list = PyList_New(static_cast<Py_ssize_t>(channels.size()));
	if (!list) {
		return nullptr;
	}
	for (uint32_t i = 0; i < channels.size(); i++) {
		PyObject* name = PyUnicode_FromString(channels[i].name.c_str());
		if (!name) {
			Py_DECREF(list);
			return nullptr;
		}
		PyList_SET_ITEM(list, static_cast<Py_ssize_t>(i), name);
	}
	return list;
}

// cleanup_handler(fn): fn runs once at shutdown; returns the handler it replaces (or None).
PyObject* mm_cleanup_handler(PyObject* module, PyObject* args) {
	PyObject* handler = nullptr;
	if (!PyArg_ParseTuple(args, "O:cleanup_handler", &handler)) {
		return nullptr;
	}
	if (handler != Py_None && !PyCallable_Check(handler)) {
		return type_error("cleanup_handler(): the handler must be callable or None", handler);
	}
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	PyObject* previous = instance->replace_cleanup_handler(handler == Py_None ? nullptr : handler);
	if (!previous) {
		Py_RETURN_NONE;
	}
	return previous;  // the reference the instance held passes to the caller
}

// _log(level, text): where the host's sys.stdout and sys.stderr send their lines.
PyObject* mm_log(PyObject* module, PyObject* args) {
	int level = 0;
	const char* text = nullptr;
	Py_ssize_t length = 0;
	if (!PyArg_ParseTuple(args, "is#:_log", &level, &text, &length)) {
		return nullptr;
	}
	Instance* instance = instance_of(module);
	if (!instance) {
		return nullptr;
	}
	instance->log(level, std::string_view(text, static_cast<size_t>(length)));
	Py_RETURN_NONE;
}

// _on_interrupt(signum, frame): Python's handler for the watchdog's signal. Raises
// HandlerTimeout only into the call that overran; a signal that arrives after that call
// returned does nothing, so it never hits the next handler.
PyObject* mm_on_interrupt(PyObject* module, PyObject*) {
	ModuleState* state = state_of(module);
	if (state && state->instance && state->handler_timeout) {
		if (auto message = state->instance->overdue()) {
			PyErr_SetString(state->handler_timeout, message->c_str());
			return nullptr;
		}
	}
	Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"output", mm_output, METH_VARARGS, "output(channel, value): send an event on a channel of this instance"},
    {"inputvalue", mm_inputvalue, METH_VARARGS, "inputvalue(channel): the last input value of a channel"},
    {"outputvalue", mm_outputvalue, METH_VARARGS, "outputvalue(channel): the last output value of a channel"},
    {"current", mm_current, METH_NOARGS, "current(): the channel whose handler is running, or None"},
    {"timestamp", mm_timestamp, METH_NOARGS, "timestamp(): the core's clock in milliseconds"},
    {"interval", mm_interval, METH_VARARGS, "interval(function, ms): call function every ms (0 cancels)"},
    {"manage", mm_manage, METH_VARARGS, "manage(function, socket): call function(socket) when it is readable"},
    {"channels", mm_channels, METH_NOARGS, "channels(): the names of all channels of this instance"},
    {"cleanup_handler", mm_cleanup_handler, METH_VARARGS, "cleanup_handler(function): run function at shutdown"},
    {"_log", mm_log, METH_VARARGS, "internal: a line for the core's log"},
    {"_calling", mm_calling, METH_NOARGS, "internal: the Python call running now"},
    {"_on_interrupt", mm_on_interrupt, METH_VARARGS, "internal: the handler-timeout signal handler"},
    {nullptr, nullptr, 0, nullptr},
};

int module_traverse(PyObject* module, visitproc visit, void* arg) {
	if (ModuleState* state = state_of(module)) {
		Py_VISIT(state->handler_timeout);
	}
	return 0;
}

int module_clear(PyObject* module) {
	if (ModuleState* state = state_of(module)) {
		Py_CLEAR(state->handler_timeout);
	}
	return 0;
}

void module_free(void* module) {
	module_clear(static_cast<PyObject*>(module));
}

PyModuleDef definition = {
    PyModuleDef_HEAD_INIT,
    "midimonster",
    "MIDIMonster's python backend API, served by mm-pyhost.",
    sizeof(ModuleState),
    methods,
    nullptr,  // no slots: single-phase initialisation, in init_midimonster_module()
    module_traverse,
    module_clear,
    module_free,
};

}  // namespace

PyObject* init_midimonster_module() {
	// A re-import (after `del sys.modules["midimonster"]`) makes a new module object: it
	// serves the instance the one before it served.
	PyObject* previous = PyState_FindModule(&definition);  // borrowed; none at the first import
	Instance* instance = previous ? state_of(previous)->instance : nullptr;
	PyObject* module = PyModule_Create(&definition);
	if (!module) {
		return nullptr;
	}
	ModuleState* state = state_of(module);
	state->instance = instance;
	state->handler_timeout = PyErr_NewExceptionWithDoc(
	    "midimonster.HandlerTimeout",
	    "Raised in a handler that ran longer than the instance's handler-timeout. A BaseException, so "
	    "that `except Exception:` does not swallow it.",
	    PyExc_BaseException, nullptr);
	if (!state->handler_timeout || PyModule_AddObjectRef(module, "HandlerTimeout", state->handler_timeout) != 0 ||
	    PyModule_AddIntConstant(module, "_INTERRUPT_SIGNAL", Watchdog::interrupt_signal()) != 0) {
		Py_DECREF(module);
		return nullptr;
	}
	return module;
}

bool bind_midimonster_module(Instance& instance, std::string& error) {
	PyObject* module = PyImport_ImportModule("midimonster");
	if (!module) {
		PyErr_Print();
		error = "the host's midimonster module failed to load";
		return false;
	}
	state_of(module)->instance = &instance;
	// The user's own state: the same dict across live reloads, restored after a crash
	// (host/kept_state.py); a new one for every session.
	PyObject* state = PyDict_New();
	bool ok = state && PyObject_SetAttrString(module, "state", state) == 0;
	Py_XDECREF(state);
	Py_DECREF(module);
	if (!ok) {
		PyErr_Print();
		error = "the host's midimonster module failed to load";
	}
	return ok;
}

void unbind_midimonster_module() {
	if (PyObject* module = PyState_FindModule(&definition)) {  // borrowed
		state_of(module)->instance = nullptr;
	}
}

Instance* midimonster_module_instance() {
	PyObject* module = PyState_FindModule(&definition);  // borrowed
	return module ? state_of(module)->instance : nullptr;
}

}  // namespace mmpy::host
