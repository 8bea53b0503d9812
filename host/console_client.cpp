#include "console_client.h"

#include <Python.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "control_client.h"
#include "python_callback.h"
#include "python_runtime.h"
#include "python_sources.h"

namespace mmpy::host {

namespace {

// The conversation with the host, one request and its reply at a time.
class HostLine {
public:
	HostLine(int fd, std::string pending, const protocol::InstanceStatus& host, pid_t host_pid)
	    : fd_(fd), pending_(std::move(pending)), host_(host), host_pid_(host_pid) {}

	// The reply to `command` [arg]; false with ConnectionError (the host went away) or
	// ValueError (a statement too long to send) set. Ctrl-C meanwhile interrupts the
	// statement in the host, which then answers.
	bool ask(const char* command, std::string arg, protocol::OperatorReply& reply) {
		std::string line, error;
		if (!protocol::encode(line, protocol::OperatorRequest{command, {std::move(arg)}})) {
			PyErr_Format(PyExc_ValueError, "the statement is longer than the %zu bytes a request may be",
			             protocol::kMaxOperatorRequest);
			return false;
		}
		bool ok;
		Py_BEGIN_ALLOW_THREADS
		ok = write_all(fd_, line) && read_reply(fd_, pending_, reply, error, [this] { interrupted(); });
		Py_END_ALLOW_THREADS
		// A Ctrl-C that came while writing, or with the answer, is for a statement that has ended.
		if (PyErr_CheckSignals() != 0 && PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
			PyErr_Clear();
		}
		if (!ok && !PyErr_Occurred()) {
			PyErr_Format(PyExc_ConnectionError, "the host of %s went away (%s); 'mm-pyhost status %s' says how it is",
			             host_.instance.c_str(), error.empty() ? "the connection ended" : error.c_str(),
			             host_.instance.c_str());
		}
		return ok;
	}

	// run(source) -> (more, output)
	PyObject* run(PyObject* args) {
		const char* source = nullptr;
		Py_ssize_t size = 0;
		protocol::OperatorReply reply;
		if (!PyArg_ParseTuple(args, "s#", &source, &size) ||
		    !ask("run", std::string(source, static_cast<size_t>(size)), reply)) {
			return nullptr;
		}
		std::string output = reply.ok ? reply.message : "mm-pyhost: " + reply.error + "\n";
		return Py_BuildValue("(Os#)", reply.more ? Py_True : Py_False, output.data(),
		                     static_cast<Py_ssize_t>(output.size()));
	}

	// complete(text) -> [matches]
	PyObject* complete(PyObject* args) {
		const char* text = nullptr;
		Py_ssize_t size = 0;
		protocol::OperatorReply reply;
		if (!PyArg_ParseTuple(args, "s#", &text, &size) ||
		    !ask("complete", std::string(text, static_cast<size_t>(size)), reply)) {
			return nullptr;
		}
		PyObject* list = PyList_New(0);
		for (const std::string& match : reply.matches.value_or(std::vector<std::string>{})) {
			PyObject* item = list ? PyUnicode_FromStringAndSize(match.data(), static_cast<Py_ssize_t>(match.size())) : nullptr;
			if (!item || PyList_Append(list, item) != 0) {
				Py_XDECREF(item);
				Py_XDECREF(list);
				return nullptr;
			}
			Py_DECREF(item);
		}
		return list;
	}

private:
	// A signal while waiting: Ctrl-C (Python's handler raises KeyboardInterrupt) goes on to
	// the statement in the host: as a signal to one that holds the host's loop, as a request
	// to one that awaits (the only kind of request sent while a reply is due; never answered).
	void interrupted() {
		PyGILState_STATE gil = PyGILState_Ensure();
		if (PyErr_CheckSignals() != 0) {
			if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt)) {
				kill(host_pid_, protocol::console_interrupt_signal());
				std::string line;
				protocol::encode(line, protocol::OperatorRequest{"interrupt", {}});
				write_all(fd_, line);
			}
			PyErr_Clear();
		}
		PyGILState_Release(gil);
	}

	int fd_;
	std::string pending_;
	const protocol::InstanceStatus& host_;
	pid_t host_pid_;  // the process at the other end of the socket (SO_PEERCRED)
};

std::string banner(const protocol::InstanceStatus& s, const std::string& where) {
	return "Python " + s.python + " in " + s.instance + " (MIDIMonster pid " + std::to_string(s.core_pid) +
	       ", host pid " + std::to_string(s.host_pid) + "): " + where +
	       ", between the show's events; midimonster and the show's modules are at hand.\n"
	       "Tab completes, Ctrl-C interrupts a statement, Ctrl-D leaves.";
}

// A module `_mmpy_console_host` whose run() and complete() go to `line`.
PyObject* host_object(HostLine& line) {
	PyObject* module = PyModule_New("_mmpy_console_host");
	PyObject* run = make_python_callback([&line](PyObject* args) { return line.run(args); });
	PyObject* complete = make_python_callback([&line](PyObject* args) { return line.complete(args); });
	bool ok = module && run && complete && PyModule_AddObjectRef(module, "run", run) == 0 &&
	          PyModule_AddObjectRef(module, "complete", complete) == 0;
	Py_XDECREF(run);
	Py_XDECREF(complete);
	if (!ok) {
		Py_CLEAR(module);
	}
	return module;
}

}  // namespace

int run_console(int fd, std::string pending, const protocol::OperatorReply& greeting) {
	if (!greeting.status) {
		std::cerr << "mm-pyhost: the host's reply to console lacks its status\n";
		return 1;
	}
	// Ctrl-C is a signal to the process at the other end, whatever the reply says.
	ucred peer{};
	socklen_t size = sizeof(peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.pid <= 1) {
		std::cerr << "mm-pyhost: cannot tell which process answers for " << greeting.status->instance << "\n";
		return 1;
	}
	// A statement may run as long as the operator lets it (an awaited one); Ctrl-C ends it.
	timeval forever{0, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof(forever));
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.parse_argv = 0;
	PyStatus status = Py_InitializeFromConfig(&config);
	PyConfig_Clear(&config);
	if (PyStatus_Exception(status)) {
		std::cerr << "mm-pyhost: cannot start Python for the console: "
		          << (status.err_msg ? status.err_msg : "unknown error") << "\n";
		return 1;
	}
	HostLine line(fd, std::move(pending), *greeting.status, peer.pid);
	PyObject* host = host_object(line);
	PyObject* client = host ? load_host_module("_mmpy_console_client", kConsoleClientSource) : nullptr;
	PyObject* result = client ? PyObject_CallMethod(client, "main", "Os", host,
	                                                banner(*greeting.status, greeting.message).c_str())
	                          : nullptr;
	int exit_status = 1;
	if (result && PyLong_Check(result)) {
		exit_status = static_cast<int>(PyLong_AsLong(result));
	} else if (PyErr_Occurred()) {
		PyErr_Print();
	}
	Py_XDECREF(result);
	Py_XDECREF(client);
	Py_XDECREF(host);
	Py_FinalizeEx();
	return exit_status;
}

}  // namespace mmpy::host
