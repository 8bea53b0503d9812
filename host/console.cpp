#include "console.h"

#include <utility>
#include <vector>

#include "python_callback.h"
#include "python_sources.h"

namespace mmpy::host {

namespace {

protocol::OperatorReply said(std::string message, bool more = false) {
	protocol::OperatorReply reply;
	reply.message = std::move(message);
	reply.more = more;
	return reply;
}

}  // namespace

// One operator at the prompt: their _mmpy_console.Session, and the way back to them.
struct Console::Session {
	PyObject* object = nullptr;  // owned
	std::shared_ptr<ControlServer::Replier> replier;
	bool running = false;     // a statement runs (one that awaits may take long): the next waits
	uint64_t statement = 0;   // which one: only its own `done` answers it

	~Session() { Py_XDECREF(object); }
};

bool Console::load(std::string& error) {
	if (module_) {
		return true;
	}
	module_ = load_host_module("_mmpy_console", kConsoleSource);
	PyObject* result =
	    module_ ? PyObject_CallMethod(module_, "install", "i", protocol::console_interrupt_signal()) : nullptr;
	if (!result) {
		error = take_python_error("the host's console (console.py) failed to load");
		Py_CLEAR(module_);
		return false;
	}
	Py_DECREF(result);
	return true;
}

void Console::open(protocol::OperatorReply greeting, const std::shared_ptr<ControlServer::Replier>& replier) {
	protocol::OperatorReply refused;
	refused.ok = false;
	if (!load(refused.error)) {
		replier->answer(refused);
		return;
	}
	PyObject* modules = PyList_New(0);
	for (const std::string& line : code_.module_lines()) {
		PyObject* name = PyUnicode_FromString(loaded_module_name(line).c_str());
		if (!name || PyList_Append(modules, name) != 0) {
			PyErr_Clear();
		}
		Py_XDECREF(name);
	}
	auto session = std::make_shared<Session>();
	session->replier = replier;
	session->object = modules ? PyObject_CallMethod(module_, "Session", "O", modules) : nullptr;
	Py_XDECREF(modules);
	PyObject* where = session->object ? PyObject_CallMethod(session->object, "where", nullptr) : nullptr;
	const char* text = where ? PyUnicode_AsUTF8(where) : nullptr;
	if (!text) {
		refused.error = take_python_error("the console could not start");
		Py_XDECREF(where);
		replier->answer(refused);
		return;
	}
	greeting.message = std::string("statements run in ") + text;
	Py_DECREF(where);
	log_.log(0, "console: an operator opened a Python console (mm-pyhost console)");
	std::weak_ptr<Session> weak = session;
	replier->converse(
	    greeting, [this, session](const protocol::OperatorRequest& request) { this->request(session, request); },
	    [this, weak] {
		    if (auto gone = weak.lock()) {
			    PyObject* result = PyObject_CallMethod(gone->object, "close", nullptr);
			    Py_XDECREF(result);
			    PyErr_Clear();
			    log_.log(0, "console: the operator left the console");
		    }
	    });
}

void Console::request(std::shared_ptr<Session> session, const protocol::OperatorRequest& request) {
	if (request.command == "interrupt") {
		// Ctrl-C while a statement awaits; it answers once cancelled. Never answered itself.
		PyObject* result = PyObject_CallMethod(session->object, "interrupt", nullptr);
		Py_XDECREF(result);
		PyErr_Clear();
		return;
	}
	protocol::OperatorReply refused;
	refused.ok = false;
	if ((request.command != "run" && request.command != "complete") || request.args.size() != 1) {
		refused.error = "the console takes run [SOURCE], complete [TEXT] and interrupt, not '" + request.command +
		                "' with " + std::to_string(request.args.size()) + " words";
	} else if (session->running) {
		refused.error = "a statement still runs; the next one waits for its output";
	}
	if (!refused.error.empty()) {
		session->replier->say(refused);
	} else if (request.command == "run") {
		run(session, request.args[0]);
	} else {
		complete(*session, request.args[0]);
	}
}

// Answers statement number `statement` of `session`, once: later calls (and those of an
// earlier statement) say nothing.
void Console::answer(const std::shared_ptr<Session>& session, uint64_t statement, std::string output, bool more) {
	if (!session->running || session->statement != statement) {
		return;
	}
	if (!more && !code_.reloading()) {
		output += rebind_handlers();
	}
	session->running = false;
	session->replier->say(said(std::move(output), more));
}

// The statement's output comes through `done`, at once or, when it awaits, once it has
// finished; the session answers nothing else meanwhile.
void Console::run(std::shared_ptr<Session> session, const std::string& source) {
	if (code_.reloading()) {
		session->replier->say(said("the show's code is reloading; type it again in a moment\n"));
		return;
	}
	session->running = true;
	uint64_t statement = ++session->statement;
	std::weak_ptr<Session> weak = session;
	PyObject* done = make_python_callback([this, weak, statement](PyObject* args) -> PyObject* {
		int more = 0;
		PyObject* output = nullptr;
		if (!PyArg_ParseTuple(args, "pU", &more, &output)) {
			return nullptr;
		}
		Py_ssize_t size = 0;
		const char* text = PyUnicode_AsUTF8AndSize(output, &size);
		if (!text) {
			return nullptr;
		}
		if (auto session = weak.lock()) {
			answer(session, statement, std::string(text, static_cast<size_t>(size)), more != 0);
		}
		Py_RETURN_NONE;
	});
	PyObject* method = PyObject_GetAttrString(session->object, "run");
	PyObject* args = done && method ? Py_BuildValue("(s#O)", source.data(), static_cast<Py_ssize_t>(source.size()), done)
	                                : nullptr;
	PyObject* result = args ? python_.call(method, args, "the console", &subject_) : nullptr;
	bool awaits = result == Py_True;
	Py_XDECREF(result);
	Py_XDECREF(args);
	Py_XDECREF(method);
	Py_XDECREF(done);
	if (!awaits) {
		// Said already, unless something (handler-timeout) struck the console's own code.
		answer(session, statement, "the statement was interrupted (the show's log says how)\n", false);
	}
}

// A statement may have defined a channel's handler anew (or deleted it): the channels get
// what their names now find, as after a reload. What lost its handler is said in the log and
// to the operator.
std::string Console::rebind_handlers() {
	std::vector<Instance::Unresolved> misses = instance_.resolve_handlers();
	std::string said;
	for (const Instance::Unresolved& miss : misses) {
		said += "(" + (miss.channel.empty() ? miss.error : "channel " + miss.channel + " has no handler now: " + miss.error) +
		        ")\n";
	}
	instance_.log_unresolved(misses);
	return said;
}

void Console::complete(Session& session, const std::string& text) {
	// Completing evaluates the name before the last dot: watched like a statement.
	PyObject* method = PyObject_GetAttrString(session.object, "complete");
	PyObject* args = method ? Py_BuildValue("(s#n)", text.data(), static_cast<Py_ssize_t>(text.size()),
	                                        static_cast<Py_ssize_t>(protocol::kMaxCompletions))
	                        : nullptr;
	PyObject* found = args ? python_.call(method, args, "the console", &subject_) : nullptr;
	Py_XDECREF(args);
	Py_XDECREF(method);
	protocol::OperatorReply reply;
	reply.matches.emplace();
	for (Py_ssize_t i = 0; found && PyList_Check(found) && i < PyList_GET_SIZE(found); i++) {
		if (const char* match = PyUnicode_AsUTF8(PyList_GET_ITEM(found, i))) {
			reply.matches->emplace_back(match);
		}
	}
	Py_XDECREF(found);
	PyErr_Clear();
	session.replier->say(reply);
}

}  // namespace mmpy::host
