#include "python_callback.h"

namespace mmpy::host {

namespace {

constexpr const char* kCapsuleName = "mmpy.python_callback";

PyObject* call_body(PyObject* capsule, PyObject* args) {
	auto* body = static_cast<PythonCallbackBody*>(PyCapsule_GetPointer(capsule, kCapsuleName));
	return body ? (*body)(args) : nullptr;
}

void free_body(PyObject* capsule) {
	delete static_cast<PythonCallbackBody*>(PyCapsule_GetPointer(capsule, kCapsuleName));
}

PyMethodDef definition = {"mmpy_callback", call_body, METH_VARARGS, "a callback of mm-pyhost"};

}  // namespace

PyObject* make_python_callback(PythonCallbackBody body) {
	auto* owned = new PythonCallbackBody(std::move(body));
	PyObject* capsule = PyCapsule_New(owned, kCapsuleName, free_body);
	if (!capsule) {
		delete owned;
		return nullptr;
	}
	PyObject* callable = PyCFunction_New(&definition, capsule);
	Py_DECREF(capsule);
	return callable;
}

}  // namespace mmpy::host
