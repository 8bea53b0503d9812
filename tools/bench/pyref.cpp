// pyref.so: BENCHMARK-ONLY reference backend. Not a product, not installed.
//
// The in-process baseline of tools/bench/mmpy-bench: it embeds CPython in the core's own
// process and calls the Python handlers directly from handle(), the way MIDIMonster's old
// in-process `python` backend did (../shared/MIDIMONSTER_ABI.md, "what the in-process
// backend did"). It registers the backend name `pyref`, so it can sit next to python.so,
// but the build puts it in a plugin folder of its own (build/bench-backends).
//
// Just enough for the benchmark's handler modules to run unchanged here and under the real
// backend: options `module` and `default-handler`; channels `module.function` (handler
// resolved at start) and plain channels (default-handler); a `midimonster` module with
// output, inputvalue, outputvalue, current, timestamp, interval. Deliberate simplifications,
// none of which change the cost of the event path:
//   - one (main) interpreter for all instances instead of one sub-interpreter each;
//   - the main thread holds the GIL for the life of the core (there is nothing else to run);
//   - no manage(), channels(), cleanup_handler(); minimal argument checking;
//   - libpython is re-opened RTLD_GLOBAL so standard-library extension modules import
//     (the old backend could not import them, see the ABI notes).
#include <Python.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "midimonster.h"

namespace {

constexpr const char* kName = "pyref";

struct RefChannel {
	std::string name;
	PyObject* handler = nullptr;  // resolved at start
	channel* core = nullptr;      // the core's channel, if a mapping names it (looked up at start)
	double input = 0;
	double output = 0;
	bool initial = false;  // output() before start: pushed when the show starts
};

struct RefInstance {
	instance* inst = nullptr;
	std::vector<RefChannel> channels;  // ident = index
	std::unordered_map<std::string, size_t> ids;
	std::string default_handler;
	RefChannel* current = nullptr;
};

struct Timer {
	RefInstance* owner;
	PyObject* callable;
	uint64_t interval;
	uint64_t delta;
};

std::vector<RefInstance*> instances;
std::vector<Timer> timers;
RefInstance* active = nullptr;  // the instance whose Python code runs
bool started = false;
uint64_t last_timestamp = 0;

#define REF_LOG(...)                                                \
	do {                                                            \
		char line_[1024];                                           \
		std::snprintf(line_, sizeof(line_), __VA_ARGS__);           \
		log_printf(0, const_cast<char*>(kName), const_cast<char*>("%s\n"), line_); \
	} while (0)

size_t channel_id(RefInstance& ref, const std::string& name) {
	auto it = ref.ids.find(name);
	if (it != ref.ids.end()) {
		return it->second;
	}
	ref.channels.push_back(RefChannel{name});
	ref.ids.emplace(name, ref.channels.size() - 1);
	return ref.channels.size() - 1;
}

// ---- the `midimonster` module ------------------------------------------------------------

PyObject* py_output(PyObject*, PyObject* args) {
	const char* name = nullptr;
	double value = 0;
	if (!PyArg_ParseTuple(args, "sd:output", &name, &value)) {
		return nullptr;
	}
	if (!active) {
		Py_RETURN_NONE;
	}
	value = std::clamp(value, 0.0, 1.0);
	if (!started) {
		RefChannel& c = active->channels[channel_id(*active, name)];
		c.output = value;
		c.initial = true;
		Py_RETURN_NONE;
	}
	auto it = active->ids.find(name);
	if (it == active->ids.end()) {
		Py_RETURN_NONE;  // no mapping names it: dropped
	}
	RefChannel& c = active->channels[it->second];
	c.output = value;
	if (c.core) {
		channel_value v{};
		v.raw.dbl = value;
		v.normalised = value;
		mm_channel_event(c.core, v);
	}
	Py_RETURN_NONE;
}

PyObject* value_of(PyObject* args, const char* format, bool input) {
	const char* name = nullptr;
	if (!PyArg_ParseTuple(args, format, &name)) {
		return nullptr;
	}
	if (active) {
		auto it = active->ids.find(name);
		if (it != active->ids.end()) {
			const RefChannel& c = active->channels[it->second];
			return PyFloat_FromDouble(input ? c.input : c.output);
		}
	}
	Py_RETURN_NONE;
}

PyObject* py_inputvalue(PyObject*, PyObject* args) {
	return value_of(args, "s:inputvalue", true);
}

PyObject* py_outputvalue(PyObject*, PyObject* args) {
	return value_of(args, "s:outputvalue", false);
}

PyObject* py_current(PyObject*, PyObject*) {
	if (active && active->current) {
		return PyUnicode_FromString(active->current->name.c_str());
	}
	Py_RETURN_NONE;
}

PyObject* py_timestamp(PyObject*, PyObject*) {
	return PyLong_FromUnsignedLongLong(mm_timestamp());
}

// interval(fn, ms): rounded to the nearest 10 ms; the same fn again updates it; 0 cancels.
// Driven by the core's loop (interval() and process()), as the old backend did.
PyObject* py_interval(PyObject*, PyObject* args) {
	PyObject* callable = nullptr;
	unsigned long long period = 0;
	if (!PyArg_ParseTuple(args, "OK:interval", &callable, &period)) {
		return nullptr;
	}
	if (!PyCallable_Check(callable)) {
		PyErr_SetString(PyExc_TypeError, "interval(): the first argument must be callable");
		return nullptr;
	}
	uint64_t rounded = (period + 5) / 10 * 10;
	for (auto it = timers.begin(); it != timers.end(); ++it) {
		if (it->owner == active && PyObject_RichCompareBool(callable, it->callable, Py_EQ) == 1) {
			if (rounded) {
				it->interval = rounded;
			} else {
				Py_DECREF(it->callable);
				timers.erase(it);
			}
			Py_RETURN_NONE;
		}
	}
	PyErr_Clear();
	if (rounded && active) {
		Py_INCREF(callable);
		timers.push_back(Timer{active, callable, rounded, 0});
	}
	Py_RETURN_NONE;
}

PyMethodDef methods[] = {
    {"output", py_output, METH_VARARGS, "output(channel, value)"},
    {"inputvalue", py_inputvalue, METH_VARARGS, "inputvalue(channel)"},
    {"outputvalue", py_outputvalue, METH_VARARGS, "outputvalue(channel)"},
    {"current", py_current, METH_NOARGS, "current()"},
    {"timestamp", py_timestamp, METH_NOARGS, "timestamp()"},
    {"interval", py_interval, METH_VARARGS, "interval(function, ms)"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "midimonster", "pyref: benchmark-only in-process midimonster module", -1, methods,
    nullptr, nullptr, nullptr, nullptr,
};

PyObject* init_module() {
	return PyModule_Create(&definition);
}

// ---- helpers -------------------------------------------------------------------------------

// A Python error: traceback to the core's stderr, the show goes on.
void report_error() {
	if (PyErr_Occurred()) {
		PyErr_Print();
	}
}

void call(RefInstance* ref, PyObject* fn, PyObject* arg) {
	RefInstance* before = active;
	active = ref;
	PyObject* result = arg ? PyObject_CallOneArg(fn, arg) : PyObject_CallNoArgs(fn);
	if (!result) {
		report_error();
	}
	Py_XDECREF(result);
	active = before;
}

bool ensure_python() {
	if (Py_IsInitialized()) {
		return true;
	}
	// RTLD_LOCAL plugin: make libpython's symbols global for extension modules.
	Dl_info info{};
	if (dladdr(reinterpret_cast<void*>(&Py_InitializeEx), &info) && info.dli_fname) {
		dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
	}
	if (PyImport_AppendInittab("midimonster", init_module) != 0) {
		return false;
	}
	Py_InitializeEx(0);  // no Python signal handlers: SIGINT stays the core's
	// print() must not reach the core's stdout (the test core's protocol lines).
	return PyRun_SimpleString("import sys\nsys.stdout = sys.stderr\n") == 0;
}

PyObject* resolve(const std::string& dotted) {
	size_t dot = dotted.rfind('.');
	if (dot == std::string::npos || dot == 0) {
		PyErr_Format(PyExc_ValueError, "'%s' is not module.function", dotted.c_str());
		return nullptr;
	}
	PyObject* module = PyImport_ImportModule(dotted.substr(0, dot).c_str());
	if (!module) {
		return nullptr;
	}
	PyObject* fn = PyObject_GetAttrString(module, dotted.c_str() + dot + 1);
	Py_DECREF(module);
	return fn;
}

// ---- backend callbacks ----------------------------------------------------------------------

int ref_conf(char* option, char*) {
	REF_LOG("Unknown backend option %s", option);
	return 1;
}

// The instance's working directory (the configuration's folder) goes first on sys.path.
int ref_create(instance* inst) {
	if (!ensure_python()) {
		REF_LOG("Failed to start the Python interpreter");
		return 1;
	}
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd))) {
		PyObject* path = PySys_GetObject("path");
		PyObject* folder = PyUnicode_FromString(cwd);
		if (path && folder) {
			PyList_Insert(path, 0, folder);
		}
		Py_XDECREF(folder);
	}
	auto* ref = new RefInstance();
	ref->inst = inst;
	inst->impl = ref;
	instances.push_back(ref);
	return 0;
}

int ref_conf_instance(instance* inst, char* option, char* value) {
	auto* ref = static_cast<RefInstance*>(inst->impl);
	std::string opt = option;
	if (opt == "module") {
		RefInstance* before = active;
		active = ref;
		PyObject* module = PyImport_ImportModule(value);
		active = before;
		if (!module) {
			report_error();
			REF_LOG("%s: failed to import module %s", inst->name, value);
			return 1;
		}
		Py_DECREF(module);
		return 0;
	}
	if (opt == "default-handler") {
		ref->default_handler = value;
		return 0;
	}
	REF_LOG("Unknown instance option %s for %s", option, inst->name);
	return 1;
}

channel* ref_channel(instance* inst, char* spec, uint8_t) {
	auto* ref = static_cast<RefInstance*>(inst->impl);
	return mm_channel(inst, channel_id(*ref, spec), 1);
}

// The in-process path: each event calls its handler right here, in the core's iteration.
int ref_handle(instance* inst, size_t n, channel** c, channel_value* v) {
	auto* ref = static_cast<RefInstance*>(inst->impl);
	for (size_t u = 0; u < n; u++) {
		if (c[u]->ident >= ref->channels.size()) {
			continue;
		}
		RefChannel& chan = ref->channels[c[u]->ident];
		if (chan.handler) {
			PyObject* arg = PyFloat_FromDouble(v[u].normalised);
			ref->current = &chan;
			if (arg) {
				call(ref, chan.handler, arg);
			} else {
				report_error();
			}
			ref->current = nullptr;
			Py_XDECREF(arg);
		}
		// Stored after the handler: inputvalue() of its own channel is the previous value.
		ref->channels[c[u]->ident].input = v[u].normalised;
	}
	return 0;
}

// Interval timers, accumulated from the core's millisecond clock.
int ref_process(size_t, managed_fd*) {
	uint64_t now = mm_timestamp();
	if (!started || now == last_timestamp) {
		return 0;
	}
	uint64_t elapsed = now - last_timestamp;
	last_timestamp = now;
	// A handler may add or cancel timers: walk by index over a snapshot of the count.
	for (size_t u = 0; u < timers.size(); u++) {
		Timer& t = timers[u];
		t.delta += elapsed;
		if (t.delta >= t.interval) {
			t.delta %= t.interval;
			PyObject* fn = t.callable;
			RefInstance* owner = t.owner;
			Py_INCREF(fn);
			call(owner, fn, nullptr);
			Py_DECREF(fn);
		}
	}
	return 0;
}

int ref_start(size_t n, instance** list) {
	for (size_t i = 0; i < n; i++) {
		auto* ref = static_cast<RefInstance*>(list[i]->impl);
		PyObject* fallback = nullptr;
		if (!ref->default_handler.empty() && !(fallback = resolve(ref->default_handler))) {
			report_error();
			REF_LOG("%s: default-handler %s not found", list[i]->name, ref->default_handler.c_str());
			return 1;
		}
		for (size_t id = 0; id < ref->channels.size(); id++) {
			RefChannel& chan = ref->channels[id];
			chan.core = mm_channel(list[i], id, 0);
			if (chan.name.find('.') != std::string::npos) {
				if (!(chan.handler = resolve(chan.name))) {
					report_error();
					REF_LOG("%s: handler %s not found", list[i]->name, chan.name.c_str());
				}
			} else if (fallback) {
				Py_INCREF(fallback);
				chan.handler = fallback;
			}
		}
		Py_XDECREF(fallback);
	}
	started = true;
	last_timestamp = mm_timestamp();
	for (RefInstance* ref : instances) {
		for (size_t id = 0; id < ref->channels.size(); id++) {
			channel* c = ref->channels[id].initial ? ref->channels[id].core : nullptr;
			if (c) {
				channel_value v{};
				v.raw.dbl = ref->channels[id].output;
				v.normalised = ref->channels[id].output;
				mm_channel_event(c, v);
			}
		}
	}
	return 0;
}

uint32_t ref_interval() {
	uint64_t next = 1000;
	for (const Timer& t : timers) {
		next = std::min(next, t.interval > t.delta ? t.interval - t.delta : 1);
	}
	return static_cast<uint32_t>(next);
}

int ref_shutdown(size_t n, instance** list) {
	if (!Py_IsInitialized()) {
		return 0;
	}
	for (Timer& t : timers) {
		Py_DECREF(t.callable);
	}
	timers.clear();
	for (size_t i = 0; i < n; i++) {
		auto* ref = static_cast<RefInstance*>(list[i]->impl);
		for (RefChannel& chan : ref->channels) {
			Py_XDECREF(chan.handler);
		}
		delete ref;
		list[i]->impl = nullptr;
	}
	instances.clear();
	Py_FinalizeEx();
	return 0;
}

}  // namespace

extern "C" MM_PLUGIN_API int init(void) {
	backend b = {};
	b.name = const_cast<char*>(kName);
	b.conf = ref_conf;
	b.create = ref_create;
	b.conf_instance = ref_conf_instance;
	b.channel = ref_channel;
	b.handle = ref_handle;
	b.process = ref_process;
	b.start = ref_start;
	b.shutdown = ref_shutdown;
	b.interval = ref_interval;
	return mm_backend_register(b) ? 1 : 0;
}
