// The `midimonster` Python module that user code imports: the API of the in-process
// backend, answered from the Instance bound to the module's state.
#pragma once

#include <Python.h>

#include <string>

namespace mmpy::host {

class Instance;

// Registered with PyImport_AppendInittab before the interpreter starts.
PyObject* init_midimonster_module();

// Imports the module and makes its functions act on `instance`. Python must run, with
// the GIL held.
bool bind_midimonster_module(Instance& instance, std::string& error);

// Leaves the module acting on no instance, so that nothing reaches one that is gone.
void unbind_midimonster_module();

// The Instance the module acts on now, nullptr if none (the fuzz harness checks that a
// finished session left none behind).
Instance* midimonster_module_instance();

}  // namespace mmpy::host
