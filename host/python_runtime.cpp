#include "python_runtime.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <ctime>

#include "midimonster_module.h"
#include "watchdog.h"

namespace mmpy::host {

namespace {

// Runs inside the interpreter at start-up. Kept in Python because it is Python's own
// plumbing: line-buffered streams for the log. (`module = file.py` loads through
// show_code.py, which ShowCode installs as _mmpy_load_path.)
const char* kBootstrap = R"PY(
import sys, signal, midimonster

# handler-timeout: the watchdog thread sends this signal to the main thread; the handler
# (C, so it adds no frame to the traceback) raises midimonster.HandlerTimeout, but only
# while the call that overran is still running.
signal.signal(midimonster._INTERRUPT_SIGNAL, midimonster._on_interrupt)

class _LogStream:
    """sys.stdout / sys.stderr: every complete line goes to the core's log."""
    encoding = "utf-8"
    errors = "replace"

    def __init__(self, level):
        self._level = level
        self._pending = ""

    def write(self, text):
        self._pending += str(text)
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            midimonster._log(self._level, line)
        return len(text)

    def flush(self):
        if self._pending:
            midimonster._log(self._level, self._pending)
            self._pending = ""

    def isatty(self):
        return False

    def writable(self):
        return True

sys.stdout = _LogStream(0)
sys.stderr = _LogStream(0)

def _mmpy_handler_problem(function):
    """Why `function` cannot be a channel handler, which is called with one argument (the
    value); None if it can, or if Python cannot tell (some built-ins)."""
    import inspect
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(0.0)
    except TypeError:
        return "takes %s; a channel handler is called with one argument, the value" % (
            "no arguments" if not signature.parameters else "(%s)" % ", ".join(signature.parameters))
    return None
)PY";

PyObject* main_dict() {
	return PyModule_GetDict(PyImport_AddModule("__main__"));
}

bool is_module_path(const std::string& value) {
	return value.find('/') != std::string::npos || (value.size() > 3 && value.compare(value.size() - 3, 3, ".py") == 0);
}

// The name a `module = VALUE` line loads: a path's file name without `.py`, else the
// first part of a dotted name (the part handler names start with).
std::string module_name_of(const std::string& value, bool is_path) {
	if (is_path) {
		std::string file = value.substr(value.rfind('/') + 1);
		return file.size() > 3 && file.compare(file.size() - 3, 3, ".py") == 0 ? file.substr(0, file.size() - 3) : file;
	}
	return value.substr(0, value.find('.'));
}

// Drops the leading traceback entries of the host's own loader ("<string>") and of
// importlib ("<frozen ...>"), so a traceback starts at the user's file.
PyObject* without_loader_frames(PyObject* trace) {
	while (trace && PyTraceBack_Check(trace)) {
		auto* entry = reinterpret_cast<PyTracebackObject*>(trace);
		PyCodeObject* code = PyFrame_GetCode(entry->tb_frame);
		const char* file = code ? PyUnicode_AsUTF8(code->co_filename) : nullptr;
		Py_XDECREF(code);
		if (!file || file[0] != '<') {
			break;
		}
		PyObject* next = reinterpret_cast<PyObject*>(entry->tb_next);
		Py_XINCREF(next);
		Py_DECREF(trace);
		trace = next;
	}
	return trace;
}

// "ValueError: bad show file": an exception's type and message (only the type if it has no
// message), for a one-line summary. Clears what making it may have raised.
std::string type_and_message(PyObject* type, PyObject* value) {
	PyObject* text = value ? PyObject_Str(value) : nullptr;
	const char* message = text ? PyUnicode_AsUTF8(text) : nullptr;
	std::string line = std::string(type ? reinterpret_cast<PyTypeObject*>(type)->tp_name : "error") +
	                   (message && *message ? std::string(": ") + message : std::string());
	Py_XDECREF(text);
	PyErr_Clear();
	return line;
}

// " (show.py, line 5)": the innermost frame of `trace` in a file, relative to the
// configuration's folder (the working directory); empty if there is none.
std::string where_raised(PyObject* trace) {
	std::string where;
	for (; trace && PyTraceBack_Check(trace); trace = reinterpret_cast<PyObject*>(
	                                              reinterpret_cast<PyTracebackObject*>(trace)->tb_next)) {
		auto* entry = reinterpret_cast<PyTracebackObject*>(trace);
		PyCodeObject* code = PyFrame_GetCode(entry->tb_frame);
		const char* file = code ? PyUnicode_AsUTF8(code->co_filename) : nullptr;
		if (file && file[0] != '<') {
			std::string path = file;
			char directory[PATH_MAX];
			if (getcwd(directory, sizeof(directory))) {
				std::string folder = std::string(directory) + "/";
				if (path.rfind(folder, 0) == 0) {
					path = path.substr(folder.size());
				}
			}
			where = " (" + path + ", line " + std::to_string(entry->tb_lineno) + ")";
		}
		Py_XDECREF(code);
	}
	PyErr_Clear();
	return where;
}

}  // namespace

PyObject* load_host_module(const char* name, const char* source) {
	std::string file = std::string("<mm-pyhost ") + name + ">";
	PyObject* code = Py_CompileString(source, file.c_str(), Py_file_input);
	if (!code) {
		return nullptr;
	}
	PyObject* module = PyImport_ExecCodeModule(name, code);
	Py_DECREF(code);
	return module;
}

std::string loaded_module_name(const std::string& value) {
	return is_module_path(value) ? module_name_of(value, true) : value;
}

std::string take_python_error(const char* what) {
	PyObject *type, *value, *trace;
	PyErr_Fetch(&type, &value, &trace);
	PyObject* text = value ? PyObject_Str(value) : nullptr;
	const char* message = text ? PyUnicode_AsUTF8(text) : nullptr;
	std::string error = std::string(what) + (message ? std::string(": ") + message : std::string());
	Py_XDECREF(text);
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(trace);
	PyErr_Clear();
	return error;
}

bool PythonRuntime::start(const std::string& directory, Instance& instance, std::string& error) {
	// Always true in mm-pyhost (one session per process); see owns_interpreter_.
	if (!Py_IsInitialized()) {
		PyImport_AppendInittab("midimonster", init_midimonster_module);

		PyConfig config;
		PyConfig_InitPythonConfig(&config);
		config.install_signal_handlers = 0;  // the host's loop owns the signals
		config.parse_argv = 0;
		config.buffered_stdio = 0;
		PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, "mm-pyhost");
		if (!PyStatus_Exception(status)) {
			status = Py_InitializeFromConfig(&config);
		}
		PyConfig_Clear(&config);
		if (PyStatus_Exception(status)) {
			error = std::string("Python failed to start: ") + (status.err_msg ? status.err_msg : "unknown error");
			return false;
		}
		owns_interpreter_ = true;
	}
	running_ = true;
	failed_imports_.clear();
	// Before the bootstrap: its streams already log through the module.
	if (!bind_midimonster_module(instance, error)) {
		return false;
	}

	PyObject* path = PySys_GetObject("path");  // borrowed
	PyObject* folder = PyUnicode_DecodeFSDefault(directory.c_str());
	if (!path || !folder || PyList_Insert(path, 0, folder) != 0) {
		Py_XDECREF(folder);
		error = "cannot put " + directory + " on sys.path";
		return false;
	}
	Py_DECREF(folder);

	PyObject* result = PyRun_String(kBootstrap, Py_file_input, main_dict(), main_dict());
	if (!result) {
		PyErr_Print();
		error = "the host's Python bootstrap failed";
		return false;
	}
	Py_DECREF(result);
	return true;
}

void PythonRuntime::stop() {
	if (!running_) {
		return;
	}
	flush_streams();
	if (owns_interpreter_) {
		// The module stays bound meanwhile: what Python prints while it finalizes is logged.
		Py_FinalizeEx();
		owns_interpreter_ = false;
	} else {
		unbind_midimonster_module();  // the Instance goes with its session
	}
	running_ = false;
}

bool PythonRuntime::import_module(const std::string& value, std::string& error) {
	bool is_path = is_module_path(value);
	PyObject* module = nullptr;
	struct stat info {};
	if (is_path && stat(value.c_str(), &info) != 0) {
		char directory[PATH_MAX];
		error = "failed to import module '" + value + "': there is no file " + value +
		        (value[0] != '/' && getcwd(directory, sizeof(directory)) ? std::string(" in ") + directory : std::string());
		failed_imports_.insert(module_name_of(value, is_path));
		return false;
	}
	if (is_path) {
		PyObject* loader = PyDict_GetItemString(main_dict(), "_mmpy_load_path");  // borrowed
		PyObject* arg = PyUnicode_DecodeFSDefault(value.c_str());
		module = loader && arg ? PyObject_CallOneArg(loader, arg) : nullptr;
		Py_XDECREF(arg);
	} else {
		module = PyImport_ImportModule(value.c_str());
	}
	if (module) {
		Py_DECREF(module);
		flush_streams();
		return true;
	}
	// One line that names the module and the exception, then the full traceback.
	PyObject *type, *exc, *trace;
	PyErr_Fetch(&type, &exc, &trace);
	PyErr_NormalizeException(&type, &exc, &trace);
	error = "failed to import module '" + value + "': " + type_and_message(type, exc);
	if (is_path) {
		trace = without_loader_frames(trace);
		if (exc) {
			PyException_SetTraceback(exc, trace ? trace : Py_None);
		}
	}
	// A SyntaxError's message names its file and line already.
	if (!type || !PyErr_GivenExceptionMatches(type, PyExc_SyntaxError)) {
		error += where_raised(trace);
	}
	PyErr_Restore(type, exc, trace);
	report_exception("");
	failed_imports_.insert(module_name_of(value, is_path));
	return false;
}

PyObject* PythonRuntime::resolve(const std::string& dotted, std::string& error) {
	size_t dot = dotted.find('.');
	if (dot == std::string::npos || dot == 0 || dot + 1 == dotted.size()) {
		error = "'" + dotted + "' is not of the form module.function";
		return nullptr;
	}
	std::string module_name = dotted.substr(0, dot);
	PyObject* modules = PyImport_GetModuleDict();  // borrowed
	PyObject* object = PyDict_GetItemString(modules, module_name.c_str());  // borrowed
	if (!object) {
		error = failed_imports_.count(module_name)
		            ? "module '" + module_name + "' failed to import (the error is logged above)"
		            : "module '" + module_name + "' is not loaded (is there a 'module = " + module_name +
		                  "' line in the instance's section?)";
		return nullptr;
	}
	Py_INCREF(object);
	size_t begin = dot + 1;
	while (begin <= dotted.size()) {
		size_t end = dotted.find('.', begin);
		std::string attribute = dotted.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
		PyObject* next = PyObject_GetAttrString(object, attribute.c_str());
		if (!next) {
			PyErr_Clear();
			error = "module '" + module_name + "' has no function '" + dotted.substr(dot + 1) + "'";
			Py_DECREF(object);
			return nullptr;
		}
		Py_SETREF(object, next);
		if (end == std::string::npos) {
			break;
		}
		begin = end + 1;
	}
	if (!PyCallable_Check(object)) {
		error = "'" + dotted + "' is not callable (it is of type " + Py_TYPE(object)->tp_name + ")";
		Py_DECREF(object);
		return nullptr;
	}
	PyObject* check = PyDict_GetItemString(main_dict(), "_mmpy_handler_problem");  // borrowed
	PyObject* problem = check ? PyObject_CallOneArg(check, object) : nullptr;
	const char* why = problem && PyUnicode_Check(problem) ? PyUnicode_AsUTF8(problem) : nullptr;
	if (why) {
		error = "'" + dotted + "' " + why;
	}
	Py_XDECREF(problem);
	PyErr_Clear();
	if (why) {
		Py_DECREF(object);
		return nullptr;
	}
	return object;
}

// The watch ends before the exception is reported, so that a late interrupt can never
// hit the traceback printing.
PyObject* PythonRuntime::call(PyObject* callable, PyObject* args, const char* context, const std::string* subject) {
	if (watchdog_) {
		watchdog_->begin_call(context, subject);
	}
	PyObject* result = args ? PyObject_Call(callable, args, nullptr) : PyObject_CallNoArgs(callable);
	if (watchdog_) {
		watchdog_->end_call();
	}
	if (!result) {
		report_exception(context);
	}
	return result;
}

PyObject* PythonRuntime::call_one(PyObject* callable, PyObject* arg, const char* context, const std::string& subject) {
	if (watchdog_) {
		watchdog_->begin_call(context, &subject);
	}
	PyObject* result = PyObject_CallOneArg(callable, arg);
	if (watchdog_) {
		watchdog_->end_call();
	}
	if (!result) {
		report_exception(std::string(context) + " " + subject);
	}
	return result;
}

// Logs the pending exception with its traceback. sys.exit() in a handler must not end the
// host behind the core's back, so SystemExit is reported like any other exception.
void PythonRuntime::report_exception(const std::string& context) {
	if (!context.empty()) {
		log_.log(0, context + " raised an exception:");
	}
	if (PyErr_ExceptionMatches(PyExc_SystemExit)) {
		PyErr_Clear();
		log_.log(0, "SystemExit ignored: the host only stops when the core shuts down");
		return;
	}
	PyObject *type, *value, *trace;
	PyErr_Fetch(&type, &value, &trace);
	PyErr_NormalizeException(&type, &value, &trace);
	last_error_ = (context.empty() ? std::string() : context + ": ") + type_and_message(type, value);
	last_error_ms_ = static_cast<uint64_t>(time(nullptr)) * 1000;
	PyErr_Restore(type, value, trace);
	PyErr_PrintEx(0);
	flush_streams();
}

std::string PythonRuntime::version() const {
	std::string full = Py_GetVersion();  // "3.11.2 (main, ...) [GCC ...]"
	return full.substr(0, full.find(' '));
}

void PythonRuntime::flush_streams() {
	for (const char* name : {"stdout", "stderr"}) {
		PyObject* stream = PySys_GetObject(name);  // borrowed
		if (!stream) {
			continue;
		}
		PyObject* result = PyObject_CallMethod(stream, "flush", nullptr);
		if (!result) {
			PyErr_Clear();
		}
		Py_XDECREF(result);
	}
}

}  // namespace mmpy::host
