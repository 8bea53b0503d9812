#include "kept_state.h"

#include "protocol_limits.h"
#include "python_sources.h"

namespace mmpy::host {

namespace {
// Half the age a snapshot may reach: the one the shim holds is never older than a second.
constexpr uint64_t kSnapshotEveryMs = 500;
}  // namespace

KeptState::KeptState(uv_loop_t* loop, PythonRuntime& python, Send send)
    : python_(python), loop_(loop), send_(std::move(send)) {}

bool KeptState::load(std::string& error) {
	module_ = load_host_module("_mmpy_kept_state", kKeptStateSource);
	PyObject* type = module_ ? PyObject_GetAttrString(module_, "KeptState") : nullptr;
	kept_ = type ? PyObject_CallFunction(type, "k", static_cast<unsigned long>(protocol::kMaxPayload)) : nullptr;
	Py_XDECREF(type);
	if (!kept_) {
		error = take_python_error("the host's state keeping (kept_state.py) failed to load");
		return false;
	}
	uv_timer_init(loop_, &timer_);
	timer_.data = this;
	timer_open_ = true;
	return true;
}

void KeptState::restore(std::span<const uint8_t> snapshot) {
	PyObject* bytes = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(snapshot.data()),
	                                            static_cast<Py_ssize_t>(snapshot.size()));
	PyObject* method = kept_ && bytes ? PyObject_GetAttrString(kept_, "restore") : nullptr;
	PyObject* args = method ? PyTuple_Pack(1, bytes) : nullptr;
	PyObject* result = args ? python_.call(method, args, "restoring midimonster.state") : nullptr;
	Py_XDECREF(result);
	Py_XDECREF(args);
	Py_XDECREF(method);
	Py_XDECREF(bytes);
	PyErr_Clear();
}

void KeptState::show_started() {
	if (!kept_) {
		return;
	}
	PyObject* method = PyObject_GetAttrString(kept_, "restore_waiting");
	Py_XDECREF(method ? python_.call(method, nullptr, "restoring midimonster.state") : nullptr);
	Py_XDECREF(method);
	PyErr_Clear();
	uv_timer_start(&timer_, on_tick, kSnapshotEveryMs, kSnapshotEveryMs);
}

void KeptState::on_tick(uv_timer_t* handle) {
	auto* self = static_cast<KeptState*>(handle->data);
	PyObject* method = PyObject_GetAttrString(self->kept_, "snapshot");
	PyObject* data = method ? self->python_.call(method, nullptr, "the snapshot of midimonster.state") : nullptr;
	Py_XDECREF(method);
	PyErr_Clear();
	if (data && PyBytes_Check(data)) {
		const auto* begin = reinterpret_cast<const uint8_t*>(PyBytes_AS_STRING(data));
		self->send_(std::vector<uint8_t>(begin, begin + PyBytes_GET_SIZE(data)));
	}
	Py_XDECREF(data);
}

void KeptState::close() {
	if (timer_open_) {
		uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
		timer_open_ = false;
	}
	Py_CLEAR(kept_);
	Py_CLEAR(module_);
}

}  // namespace mmpy::host
