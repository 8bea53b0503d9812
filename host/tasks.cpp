#include "tasks.h"

#include "python_callback.h"
#include "python_sources.h"
#include "python_runtime.h"
#include "watchdog.h"

namespace mmpy::host {

bool Tasks::load(PyObject* wait, PyObject* clock, Report report, std::string& error) {
	module_ = load_host_module("_mmpy_tasks", kTasksSource);
	if (!module_) {
		PyErr_Print();
		error = "the host's asyncio support (tasks.py) failed to load";
		return false;
	}
	PyObject* report_tasks = make_python_callback([report = std::move(report)](PyObject* args) -> PyObject* {
		PyObject* items = nullptr;
		if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &items)) {
			return nullptr;
		}
		std::vector<std::pair<std::string, uint64_t>> running;
		for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
			const char* name = nullptr;
			unsigned long long count = 0;
			if (!PyArg_ParseTuple(PyList_GET_ITEM(items, i), "sK", &name, &count)) {
				return nullptr;
			}
			running.emplace_back(name, count);
		}
		report(running);
		Py_RETURN_NONE;
	});
	PyObject* type = PyObject_GetAttrString(module_, "ShowTasks");
	if (report_tasks && type) {
		show_ = PyObject_CallFunctionObjArgs(type, wait, report_tasks, clock ? clock : Py_None, nullptr);
	}
	Py_XDECREF(type);
	Py_XDECREF(report_tasks);
	current_ = show_ ? PyObject_GetAttrString(module_, "current_channel") : nullptr;
	PyObject* loop = current_ ? PyObject_GetAttrString(show_, "loop") : nullptr;
	if (!loop) {
		error = take_python_error("the host's asyncio loop could not be made");
		close();
		return false;
	}
	loop_ = loop;
	Py_DECREF(loop);  // show_ keeps it
	return true;
}

PyObject* Tasks::call(const char* method, PyObject* args) const {
	PyObject* function = PyObject_GetAttrString(show_, method);
	PyObject* result = function ? PyObject_Call(function, args, nullptr) : nullptr;
	Py_XDECREF(function);
	return result;
}

PyObject* Tasks::adopt(PyObject* result, const char* kind, const std::string* subject, PyObject* key,
                       Overlap overlap, const std::string* channel) {
	if (!result || !PyCoro_CheckExact(result)) {
		Py_XDECREF(result);
		return nullptr;
	}
	if (!show_) {
		PyErr_WarnEx(PyExc_RuntimeWarning, "an async handler ran while this host has no asyncio loop", 1);
		PyErr_Clear();
		Py_DECREF(result);
		return nullptr;
	}
	std::string origin = Watchdog::describe(kind, subject);
	static const char* const kOverlap[] = {"both", "cancel", "skip"};
	PyObject* channel_name = channel ? PyUnicode_FromStringAndSize(channel->data(), static_cast<Py_ssize_t>(channel->size()))
	                                 : Py_NewRef(Py_None);
	PyObject* args = channel_name ? Py_BuildValue("(NsOsN)", result, origin.c_str(), key ? key : Py_None,
	                                              kOverlap[static_cast<int>(overlap)], channel_name)
	                              : nullptr;
	if (!channel_name) {
		Py_DECREF(result);
	}
	PyObject* task = args ? call("spawn", args) : nullptr;
	Py_XDECREF(args);
	if (!task) {
		PyErr_Print();
		return nullptr;
	}
	if (task == Py_None) {
		Py_DECREF(task);
		return nullptr;
	}
	return task;
}

void Tasks::show_started() {
	if (show_) {
		notify("show_started");
	}
}

// A method without arguments whose result does not matter; its failure is printed.
void Tasks::notify(const char* method) {
	PyObject* result = PyObject_CallMethod(show_, method, nullptr);
	if (!result) {
		PyErr_Print();
	}
	Py_XDECREF(result);
}

void Tasks::set_fade_rate(uint64_t steps_per_second) {
	PyObject* value = show_ ? PyLong_FromUnsignedLongLong(steps_per_second) : nullptr;
	if (value && PyObject_SetAttrString(show_, "fade_rate", value) != 0) {
		PyErr_Print();
	}
	Py_XDECREF(value);
}

void Tasks::settle(uint64_t bound_ms, bool cancel_first, std::function<void()> then) {
	if (!show_) {
		then();
		return;
	}
	PyObject* next = make_python_callback([then](PyObject*) -> PyObject* {
		then();
		Py_RETURN_NONE;
	});
	PyObject* args = next ? Py_BuildValue("(dOO)", static_cast<double>(bound_ms) / 1000.0,
	                                      cancel_first ? Py_True : Py_False, next)
	                      : nullptr;
	PyObject* task = args ? call("start_settle", args) : nullptr;
	Py_XDECREF(args);
	Py_XDECREF(next);
	if (!task) {
		PyErr_Print();
		then();  // shutdown goes on without waiting for tasks
		return;
	}
	Py_DECREF(task);
}

std::optional<std::string> Tasks::running() const {
	if (!show_) {
		return std::nullopt;
	}
	PyObject* text = PyObject_CallMethod(show_, "running", nullptr);
	std::optional<std::string> description;
	if (text && PyUnicode_Check(text)) {
		if (const char* utf8 = PyUnicode_AsUTF8(text)) {
			description = utf8;
		}
	}
	Py_XDECREF(text);
	PyErr_Clear();
	return description;
}

PyObject* Tasks::current_channel() const {
	PyObject* value = nullptr;
	if (current_ && PyContextVar_Get(current_, Py_None, &value) == 0 && value) {
		return value;
	}
	PyErr_Clear();
	Py_RETURN_NONE;
}

void Tasks::close() {
	if (show_) {
		notify("close");
	}
	loop_ = nullptr;
	Py_CLEAR(current_);
	Py_CLEAR(show_);
	Py_CLEAR(module_);
}

}  // namespace mmpy::host
