// A Python callable whose body is C++: how the host hands its own code to Python (the
// selector's wait, a task's done callback, the next step of a shutdown).
#pragma once

#include <Python.h>

#include <functional>

namespace mmpy::host {

// `body(args)` gets the positional arguments as a tuple and returns a new reference, or
// nullptr with a Python exception set. The callable owns `body` and frees it when it goes.
using PythonCallbackBody = std::function<PyObject*(PyObject* args)>;

// A new reference, or nullptr with a Python exception set.
PyObject* make_python_callback(PythonCallbackBody body);

}  // namespace mmpy::host
