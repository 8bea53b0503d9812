// The operator's console (`mm-pyhost console`, docs/running-a-show.md): a Python prompt inside
// the running show. Each operator's session (a conversation on the control socket) runs the
// statements they type on this host's loop, between two events, in the globals of the show's
// first module (host/console.py); after each one the channels' handlers are looked up anew,
// so a function redefined at the prompt handles its channel. A statement is watched like a
// handler (handler-timeout);
// Ctrl-C reaches it as protocol::console_interrupt_signal(); a statement that awaits runs as
// a task while the show goes on.
#pragma once

#include <Python.h>

#include <cstdint>
#include <memory>
#include <string>

#include "control_server.h"
#include "instance.h"
#include "python_runtime.h"
#include "show_code.h"
#include "sinks.h"

namespace mmpy::host {

class Console {
public:
	Console(PythonRuntime& python, ShowCode& code, Instance& instance, LogSink& log)
	    : python_(python), code_(code), instance_(instance), log_(log) {}
	Console(const Console&) = delete;
	Console& operator=(const Console&) = delete;
	// Before Python stops (the sessions have ended with the control socket).
	void close() { Py_CLEAR(module_); }

	// `console`: the reply opens a session on the replier's connection; `greeting` is the
	// reply's status and message (the banner says whose globals statements run in).
	void open(protocol::OperatorReply greeting, const std::shared_ptr<ControlServer::Replier>& replier);

private:
	struct Session;
	bool load(std::string& error);
	void request(std::shared_ptr<Session> session, const protocol::OperatorRequest& request);
	void run(std::shared_ptr<Session> session, const std::string& source);
	void answer(const std::shared_ptr<Session>& session, uint64_t statement, std::string output, bool more);
	void complete(Session& session, const std::string& text);
	std::string rebind_handlers();

	PythonRuntime& python_;
	ShowCode& code_;
	Instance& instance_;
	LogSink& log_;
	PyObject* module_ = nullptr;  // _mmpy_console, loaded when the first operator opens one
	const std::string subject_ = "statement";
};

}  // namespace mmpy::host
