// Bad input from users: every row of docs/bad-input.md. Each gets a message that names what
// is wrong and where (instance, option, value, channel, or the file and line of the Python
// call), and the show either refuses to start or goes on, as the table says.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// A module whose `ok` handler proves the instance still works after something failed.
const char* kWorkingModule = R"(
import midimonster
def ok(value):
    midimonster.output("out", value)
def first(value):
    print("first handler got", value)
def second(value):
    print("second handler got", value)
notfn = 3
)";

// A core with [python py1] (its own `lines`), the working module `h`, and t.ok > py1.h.ok > t.out.
std::string config_with(const std::string& lines, const std::string& mappings = "") {
	return "[python py1]\nmodule = h\n" + lines + "[test t]\n[map]\nt.ok > py1.h.ok\npy1.out > t.out\n" + mappings;
}

void require_still_working(CoreProcess& core) {
	core.inject("t.ok", 0.375);
	CHECK(next_value(core, "t.out") == Approx(0.375));
}

// One bad call made inside a channel handler: the statement, and the exception line the log must show.
struct BadCall {
	std::string statement;
	std::string exception;  // "TypeError: ..." as Python prints it (its start, if `rest` is set)
	std::string rest = "";  // the end of the same line, after a descriptor number that varies
};

// What the bad calls of the table need: a function, a socket pair, objects that are not sockets.
const char* kCallPrelude = R"(import midimonster, socket
def tick():
    pass
def readable(sock):
    sock.recv(100)
def ok(value):
    midimonster.output("out", value)
class NoFileno:
    pass
class BadFileno:
    def fileno(self):
        return "three"
PAIR = socket.socketpair()
class Twin:
    def fileno(self):
        return PAIR[0].fileno()
CLOSED = socket.socket()
CLOSED.close()
def go(value):
)";

// Runs `call.statement` in the handler of bad.go and asserts the log shows the exception
// with the file and line of the call, and that the instance goes on working.
void require_raises_at_the_call(const BadCall& call) {
	INFO("statement: " << call.statement);
	std::string prelude = kCallPrelude;
	size_t line = 1;
	for (char c : prelude) {
		line += c == '\n';
	}
	CoreProcess core(R"(
[python py1]
module = bad
[test t]
[map]
t.go > py1.bad.go
t.ok > py1.bad.ok
py1.out > t.out
py1.x > t.x
)",
	                 {{"bad.py", prelude + "    " + call.statement + "\n"}});
	REQUIRE(core.wait_started());
	core.inject("t.go", 1);
	REQUIRE_LOG(core, "py1: the handler of channel bad.go raised an exception:");
	REQUIRE_LOG(core, "bad.py\", line " + std::to_string(line) + ", in go");
	REQUIRE_LOG(core, "py1: " + call.exception);
	if (!call.rest.empty()) {
		REQUIRE_LOG(core, call.rest);
	}
	require_still_working(core);
	CHECK(core.stop() == 0);
}

}  // namespace

// ---- [backend python] ----------------------------------------------------------------

TEST_CASE("bad input: backend option names are exact and a wrong one stops the configuration naming the known ones",
          "[python][bad-input][config]") {
	// The plain typo is "an unknown backend option is refused, naming the known ones" (test_errors.cpp).
	std::string name = GENERATE(as<std::string>{}, "Host", "SOCKET");
	REQUIRE_CONFIG_ERROR("[backend python]\n" + name + " = /x\n[python py1]\n",
	                     "Unknown backend option '" + name + "' in [backend python] (known: host, socket, host-cpu, host-priority)");
}

TEST_CASE("bad input: an empty host or socket value stops the configuration at its line",
          "[python][bad-input][config]") {
	std::string name = GENERATE(as<std::string>{}, "host", "socket");
	REQUIRE_CONFIG_ERROR("[backend python]\n" + name + " =\n[python py1]\n", "Backend option '" + name + "' needs a path");
}

TEST_CASE("bad input: a backend option after the first python instance stops the configuration",
          "[python][bad-input][config]") {
	REQUIRE_CONFIG_ERROR("[python py1]\n[backend python]\nhost = " + host_path() + "\n",
	                     "Backend option 'host' must come before the first [python ...] section");
}

TEST_CASE("bad input: a backend option given twice counts with its last value", "[python][bad-input][config]") {
	CoreProcess core("[backend python]\nhost = /nonexistent/mm-pyhost\nhost = " + host_path() + "\n" + config_with(""),
	                 {{"h.py", kWorkingModule}});
	REQUIRE(core.wait_started());
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a host file without execute permission stops the configuration saying so",
          "[python][bad-input][config]") {
	// A host that does not exist at all: "a host path that does not exist is a clear configuration error".
	CoreProcess core("[backend python]\nhost = ./fakehost\n[python py1]\nmodule = h\n",
	                 {{"fakehost", "#!/bin/sh\nexit 0\n"}});
	auto status = core.process().wait_exit();
	INFO(core.transcript());
	REQUIRE(status);
	CHECK(*status != 0);
	// A relative path means the configuration's folder.
	REQUIRE_LOG(core, "py1: the host executable " + core.dir().file("fakehost"));
	REQUIRE_LOG(core, "is not executable (no execute permission: chmod +x it)");
	REQUIRE_LOG(core, "test.cfg line 4: module = h");
}

TEST_CASE("bad input: a host path that is a folder stops the configuration saying so", "[python][bad-input][config]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nhost = /tmp\n[python py1]\nmodule = h\n",
	                     "py1: the host executable /tmp is a folder, not the mm-pyhost program");
}

TEST_CASE("bad input: a host name that is not in PATH stops the configuration saying so",
          "[python][bad-input][config]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nhost = no-such-mm-pyhost-program\n[python py1]\nmodule = h\n",
	                     "py1: cannot start the host: there is no program no-such-mm-pyhost-program in PATH");
}

TEST_CASE("bad input: a host program that is not mm-pyhost stops the configuration: no answer from the host",
          "[python][bad-input][config]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nhost = /bin/true\n[python py1]\nmodule = h\n",
	                     "py1: no answer from the host");
}

TEST_CASE("bad input: a socket path that is a file or a folder stops the configuration saying it is not a socket",
          "[python][bad-input][config][attach]") {
	// A socket path that does not exist: "attach mode: an unreachable socket is a clear configuration error".
	TempDir run;
	std::string kind = GENERATE(as<std::string>{}, "file", "folder");
	std::string path = kind == "file" ? run.write("not-a-socket", "") : run.path();
	REQUIRE_CONFIG_ERROR("[backend python]\nsocket = " + path + "\n[python py1]\nmodule = h\n",
	                     "py1: cannot reach mm-pyhost at " + path + ": it is a " + kind +
	                         ", not a socket (check 'socket =' in [backend python])");
}

TEST_CASE("bad input: a socket nobody listens on stops the configuration saying nothing listens there",
          "[python][bad-input][config][attach]") {
	TempDir run;
	std::string path = run.file("dead.sock");
	make_dead_socket(path);
	REQUIRE_CONFIG_ERROR("[backend python]\nsocket = " + path + "\n[python py1]\nmodule = h\n",
	                     "py1: cannot reach mm-pyhost at " + path + ": Connection refused: nothing listens there (is "
	                     "'mm-pyhost --listen " + path + "' running?)");
}

TEST_CASE("bad input: a socket path longer than Unix sockets allow stops the configuration saying so",
          "[python][bad-input][config][attach]") {
	std::string path = "/tmp/" + std::string(120, 's') + ".sock";
	REQUIRE_CONFIG_ERROR("[backend python]\nsocket = " + path + "\n[python py1]\nmodule = h\n",
	                     "py1: the socket path " + path + " is 130 bytes long, Unix sockets allow 107 (choose a shorter "
	                     "'socket =' path in [backend python])");
}

// ---- [python NAME] options -----------------------------------------------------------

TEST_CASE("bad input: instance option names are exact and a wrong case or '_' stops the configuration with a suggestion",
          "[python][bad-input][config]") {
	// The plain typo is "an unknown instance option fails the configuration at its line" (test_errors.cpp).
	auto [given, meant] = GENERATE(table<std::string, std::string>({{"Module", "module"},
	                                                                {"DEFAULT-HANDLER", "default-handler"},
	                                                                {"default_handler", "default-handler"},
	                                                                {"handler_timeout", "handler-timeout"}}));
	REQUIRE_CONFIG_ERROR("[python py1]\n" + given + " = h\n",
	                     "py1: unknown instance option '" + given +
	                         "' (known: module, default-handler, handler-timeout, overlap, fade-rate, reload); option names are exact (lower "
	                         "case, with '-'): did you mean '" + meant + "'?");
}

TEST_CASE("bad input: an empty module value stops the configuration at its line", "[python][bad-input][config]") {
	CoreProcess core("[python py1]\nmodule =\n");
	auto status = core.process().wait_exit();
	INFO(core.transcript());
	REQUIRE(status);
	CHECK(*status != 0);
	REQUIRE_LOG(core, "py1: option 'module' needs a module name or a path to a .py file");
	REQUIRE_LOG(core, "test.cfg line 2: module =");
}

TEST_CASE("bad input: a module file that does not exist is named with its folder and the show starts without it",
          "[python][bad-input][config]") {
	CoreProcess core(config_with("module = lib/nothere.py\n"), {{"h.py", kWorkingModule}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: failed to import module 'lib/nothere.py': there is no file lib/nothere.py in " +
	                      core.dir().path());
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a module file that fails names its own file and line and not the loader's",
          "[python][bad-input][config]") {
	CoreProcess core(config_with("module = lib/broken.py\n"),
	                 {{"h.py", kWorkingModule}, {"lib/broken.py", "x = 1\nraise ValueError('bad show file')\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: failed to import module 'lib/broken.py': ValueError: bad show file");
	REQUIRE_LOG(core, "lib/broken.py\", line 2, in <module>");
	CHECK_FALSE(core.wait_log("_mmpy_load_path", Duration(0)));
	CHECK_FALSE(core.wait_log("<frozen importlib", Duration(0)));
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a module given twice is imported once", "[python][bad-input][config]") {
	CoreProcess core(config_with("module = counted\nmodule = counted\n"),
	                 {{"h.py", kWorkingModule}, {"counted.py", "open('imports.txt', 'a').write('imported ')\n"}});
	REQUIRE(core.wait_started());
	require_still_working(core);
	CHECK(core.stop() == 0);
	CHECK(read_file(core.dir().file("imports.txt")) == "imported ");
}

TEST_CASE("bad input: without a module line each mapped module.function channel names the missing module and the show starts",
          "[python][bad-input][config]") {
	CoreProcess core(R"(
[python py1]
[test t]
[map]
t.a > py1.handlers.in1
t.b > py1.plain
py1.plain > t.back
)");
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: channel handlers.in1 has no handler: module 'handlers' is not loaded (is there a 'module = "
	                  "handlers' line in the instance's section?); its events are ignored");
	core.inject("t.a", 0.5);
	core.inject("t.b", 0.5);
	REQUIRE(core.sync());
	CHECK(core.process().running());
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a mapped function of a module that failed to import says the import failed",
          "[python][bad-input][config]") {
	CoreProcess core(config_with("module = broken\n", "t.a > py1.broken.handler\n"),
	                 {{"h.py", kWorkingModule}, {"broken.py", "raise RuntimeError('no')\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: channel broken.handler has no handler: module 'broken' failed to import (the error is "
	                  "logged above); its events are ignored");
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a default-handler naming nothing callable is logged at start with the instance and the show goes on",
          "[python][bad-input][config]") {
	auto [value, reason] = GENERATE(table<std::string, std::string>(
	    {{"h.nope", "module 'h' has no function 'nope'"},
	     {"h.notfn", "'h.notfn' is not callable (it is of type int)"},
	     {"h", "'h' is not of the form module.function"},
	     {"gone.d", "module 'gone' is not loaded (is there a 'module = gone' line in the instance's section?)"},
	     {"broken.d", "module 'broken' failed to import (the error is logged above)"}}));
	CoreProcess core(config_with("module = broken\ndefault-handler = " + value + "\n", "t.plain > py1.plain\n"),
	                 {{"h.py", kWorkingModule}, {"broken.py", "raise RuntimeError('no')\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: default-handler " + value + ": " + reason);
	core.inject("t.plain", 0.5);  // no handler: only its stored input value changes
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: an empty default-handler is logged at its line and the show goes on",
          "[python][bad-input][config]") {
	CoreProcess core(config_with("default-handler =\n", "t.plain > py1.plain\n"), {{"h.py", kWorkingModule}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: option 'default-handler' is empty: channels without a module name get no handler");
	core.inject("t.plain", 0.5);
	require_still_working(core);
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a default-handler given twice counts with its last value", "[python][bad-input][config]") {
	CoreProcess core(config_with("default-handler = h.first\ndefault-handler = h.second\n", "t.plain > py1.plain\n"),
	                 {{"h.py", kWorkingModule}});
	REQUIRE(core.wait_started());
	core.inject("t.plain", 0.5);
	REQUIRE_LOG(core, "py1: second handler got 0.5");
	CHECK_FALSE(core.wait_log("first handler got", Duration(0)));
	CHECK(core.stop() == 0);
}

TEST_CASE("bad input: a handler-timeout given twice counts with its last value", "[python][bad-input][config]") {
	// Values that are not whole milliseconds: "handler-timeout needs a whole number of milliseconds" (test_watchdog.cpp).
	CoreProcess core(config_with("handler-timeout = 0\nhandler-timeout = 300\nmodule = spin\n", "t.spin > py1.spin.run\n"),
	                 {{"h.py", kWorkingModule}, {"spin.py", "def run(value):\n    while True:\n        pass\n"}});
	REQUIRE(core.wait_started());
	core.inject("t.spin", 1);
	REQUIRE_LOG(core, "py1: the handler of channel spin.run has run for 300 ms (handler-timeout); interrupting it");
	require_still_working(core);
	CHECK(core.stop() == 0);
}

// ---- the midimonster module: raised at the call --------------------------------------

TEST_CASE("bad input: output() with a value that is not a finite number raises at the call naming the channel",
          "[python][bad-input][api]") {
	auto call = GENERATE(values<BadCall>({
	    {"midimonster.output('x', '0.5')", "TypeError: output(): the value for channel 'x' must be a number, not str"},
	    {"midimonster.output('x', None)", "TypeError: output(): the value for channel 'x' must be a number, not NoneType"},
	    {"midimonster.output('x', float('nan'))", "ValueError: output(): the value for channel 'x' must be a finite number, not nan"},
	    {"midimonster.output('x', float('inf'))", "ValueError: output(): the value for channel 'x' must be a finite number, not inf"},
	    {"midimonster.output('x', float('-inf'))", "ValueError: output(): the value for channel 'x' must be a finite number, not -inf"},
	    {"midimonster.output('x', 10 ** 400)", "OverflowError: output(): the value for channel 'x' is too large for a float"},
	}));
	require_raises_at_the_call(call);
}

TEST_CASE("bad input: output() and inputvalue() with a channel name that is not a string or the wrong arguments raise at the call",
          "[python][bad-input][api]") {
	auto call = GENERATE(values<BadCall>({
	    {"midimonster.output(5, 0.5)", "TypeError: output(): the channel name must be a str, not int"},
	    {"midimonster.output(None, 0.5)", "TypeError: output(): the channel name must be a str, not NoneType"},
	    {"midimonster.output('a\\0b', 0.5)", "ValueError: output(): the channel name must not contain a NUL character"},
	    {"midimonster.output('x')", "TypeError: output() takes exactly 2 arguments (1 given)"},
	    {"midimonster.output('x', 0.5, 1)", "TypeError: output() takes exactly 2 arguments (3 given)"},
	    {"midimonster.inputvalue(3)", "TypeError: inputvalue() argument 1 must be str, not int"},
	    {"midimonster.outputvalue()", "TypeError: outputvalue() takes exactly 1 argument (0 given)"},
	}));
	require_raises_at_the_call(call);
}

TEST_CASE("bad input: interval() with a non-callable or a period that is not whole non-negative milliseconds raises at the call",
          "[python][bad-input][api]") {
	auto call = GENERATE(values<BadCall>({
	    {"midimonster.interval(5, 100)", "TypeError: interval(): the first argument must be callable, not int"},
	    {"midimonster.interval(None, 100)", "TypeError: interval(): the first argument must be callable, not NoneType"},
	    {"midimonster.interval(tick, -10)", "ValueError: interval(): the period must be 0 (cancel) or more milliseconds, not -10"},
	    {"midimonster.interval(tick, 10.5)", "TypeError: interval(): the period must be a whole number of milliseconds (an int), not float"},
	    {"midimonster.interval(tick, '100')", "TypeError: interval(): the period must be a whole number of milliseconds (an int), not str"},
	    {"midimonster.interval(tick, float('nan'))", "TypeError: interval(): the period must be a whole number of milliseconds (an int), not float"},
	    {"midimonster.interval(tick, 10 ** 30)", "OverflowError: interval(): the period 1000000000000000000000000000000 is too large (at most 9223372036854775807 milliseconds)"},
	    {"midimonster.interval(tick)", "TypeError: interval() takes exactly 2 arguments (1 given)"},
	}));
	require_raises_at_the_call(call);
}

TEST_CASE("bad input: manage() with a non-callable or something that is not a watchable socket raises at the call",
          "[python][bad-input][api]") {
	auto call = GENERATE(values<BadCall>({
	    {"midimonster.manage(5, PAIR[0])", "TypeError: manage(): the handler must be callable or None, not int"},
	    {"midimonster.manage(readable, NoFileno())", "TypeError: manage(): NoFileno has no fileno(); pass a socket-like object"},
	    {"midimonster.manage(readable, None)", "TypeError: manage(): NoneType has no fileno(); pass a socket-like object"},
	    {"midimonster.manage(readable, BadFileno())", "TypeError: manage(): fileno() of the BadFileno returned str, not an int"},
	    {"midimonster.manage(readable, CLOSED)", "ValueError: manage(): the socket is closed (its fileno() is -1)"},
	    {"midimonster.manage(readable, open(__file__))", "ValueError: manage(): descriptor ",
	     "(a _io.TextIOWrapper) is a regular file or folder, which cannot be watched; pass a socket or a pipe"},
	    {"midimonster.manage(readable, PAIR[0]); midimonster.manage(readable, Twin())", "ValueError: manage(): descriptor ",
	     "is already managed with another socket object"},
	}));
	require_raises_at_the_call(call);
}

TEST_CASE("bad input: cleanup_handler() with a non-callable raises at the call", "[python][bad-input][api]") {
	auto call = GENERATE(values<BadCall>({
	    {"midimonster.cleanup_handler('save')", "TypeError: cleanup_handler(): the handler must be callable or None, not str"},
	    {"midimonster.cleanup_handler(5)", "TypeError: cleanup_handler(): the handler must be callable or None, not int"},
	}));
	require_raises_at_the_call(call);
}

TEST_CASE("bad input: a bad call at import time fails that module's import with file and line and the show starts without it",
          "[python][bad-input][api]") {
	CoreProcess core(config_with("module = early\n", "t.a > py1.early.handler\n"),
	                 {{"h.py", kWorkingModule},
	                  {"early.py", "import midimonster\ndef handler(value):\n    pass\nmidimonster.interval(handler, -1)\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "early.py\", line 4, in <module>");
	REQUIRE_LOG(core, "py1: failed to import module 'early': ValueError: interval(): the period must be 0 (cancel) or "
	                  "more milliseconds, not -1");
	REQUIRE_LOG(core, "py1: channel early.handler has no handler: module 'early' failed to import");
	require_still_working(core);
	CHECK(core.stop() == 0);
}
