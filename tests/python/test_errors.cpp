// When user code is wrong, the log says what and where, and everything else keeps working.
#include "python_test.h"

using namespace mmpy::test;

namespace {
// A second instance that must keep working whatever the first one does.
const char* kHealthyModule = R"(
import midimonster
def handler(value):
    midimonster.output("out", value)
)";
}  // namespace

TEST_CASE("a handler that raises is logged with its traceback and the show goes on", "[python][errors]") {
	CoreProcess core(R"(
[python py1]
module = faulty
[test t]
[map]
t.in > py1.faulty.handler
py1.out > t.out
)",
	                 {{"faulty.py", R"(
import midimonster
def handler(value):
    if value > 0.5:
        raise RuntimeError("fader too high")
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 0.9);
	REQUIRE_LOG(core, "py1: the handler of channel faulty.handler raised an exception:");
	REQUIRE_LOG(core, "faulty.py\", line 5, in handler");
	REQUIRE_LOG(core, "py1: RuntimeError: fader too high");
	core.inject("t.in", 0.2);
	CHECK(next_value(core, "t.out") == Approx(0.2));
	CHECK(core.stop() == 0);
}

TEST_CASE("a module that raises at import is named in the log, other instances run", "[python][errors]") {
	CoreProcess core(R"(
[python broken]
module = explodes
[python good]
module = healthy
[test t]
[map]
t.in > good.healthy.handler
good.out > t.out
)",
	                 {{"explodes.py", "x = 1\nraise ValueError('bad show file')\n"}, {"healthy.py", kHealthyModule}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "broken: failed to import module 'explodes': ValueError: bad show file");
	REQUIRE_LOG(core, "explodes.py\", line 2, in <module>");
	core.inject("t.in", 0.7);
	CHECK(next_value(core, "t.out") == Approx(0.7));
	core.stop();
}

TEST_CASE("a syntax error names the module's file and line", "[python][errors]") {
	CoreProcess core(R"(
[python py1]
module = typo
[test t]
)",
	                 {{"typo.py", "def handler(value):\n    return (value\n\nx = = 2\n"}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: failed to import module 'typo': SyntaxError");
	REQUIRE_LOG(core, "typo.py\", line 2");
	core.stop();
}

TEST_CASE("a module that does not exist is named in the log, other instances run", "[python][errors]") {
	CoreProcess core(R"(
[python py1]
module = no_such_module
[python good]
module = healthy
[test t]
[map]
t.in > good.healthy.handler
good.out > t.out
)",
	                 {{"healthy.py", kHealthyModule}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: failed to import module 'no_such_module': ModuleNotFoundError: No module named 'no_such_module'");
	core.inject("t.in", 0.3);
	CHECK(next_value(core, "t.out") == Approx(0.3));
	core.stop();
}

TEST_CASE("a mapping to a function that does not exist names module and function", "[python][errors]") {
	CoreProcess core(R"(
[python py1]
module = healthy
[test t]
[map]
t.a > py1.healthy.no_such_function
t.b > py1.not_loaded.handler
t.c > py1.healthy.handler
py1.out > t.out
)",
	                 {{"healthy.py", kHealthyModule}});
	REQUIRE(core.wait_started());
	REQUIRE_LOG(core, "py1: channel healthy.no_such_function has no handler: module 'healthy' has no function 'no_such_function'");
	REQUIRE_LOG(core, "py1: channel not_loaded.handler has no handler: module 'not_loaded' is not loaded");
	core.inject("t.a", 0.1);
	core.inject("t.c", 0.6);
	CHECK(next_value(core, "t.out") == Approx(0.6));
	core.stop();
}

TEST_CASE("an unknown instance option fails the configuration at its line", "[python][errors]") {
	REQUIRE_CONFIG_ERROR("[python py1]\nmodul = typo\n",
	                     "py1: unknown instance option 'modul' (known: module, default-handler, handler-timeout, overlap, fade-rate, reload)");
}

TEST_CASE("an unknown backend option is refused, naming the known ones", "[python][errors]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nhots = /usr/bin/mm-pyhost\n[python py1]\n",
	                     "Unknown backend option 'hots' in [backend python] (known: host, socket, host-cpu, host-priority)");
}

TEST_CASE("a host path that does not exist is a clear configuration error", "[python][errors]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nhost = /nonexistent/mm-pyhost\n[python py1]\nmodule = x\n",
	                     "py1: the host executable /nonexistent/mm-pyhost does not exist");
}

TEST_CASE("sys.exit() in a handler is reported and does not end the host", "[python][errors]") {
	CoreProcess core(R"(
[python py1]
module = quitter
[test t]
[map]
t.in > py1.quitter.handler
py1.out > t.out
)",
	                 {{"quitter.py", R"(
import sys, midimonster
def handler(value):
    if value > 0.5:
        sys.exit(3)
    midimonster.output("out", value)
)"}});
	REQUIRE(core.wait_started());
	core.inject("t.in", 1);
	REQUIRE_LOG(core, "SystemExit ignored");
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	core.stop();
}

TEST_CASE("a host that crashes mid-show is reported with its cause, the core and other instances go on",
          "[python][errors]") {
	CoreProcess core(R"(
[python crashy]
module = crash
[python good]
module = healthy
[test t]
[map]
t.boom > crashy.crash.boom
t.in > good.healthy.handler
good.out > t.out
)",
	                 {{"crash.py", "import faulthandler\ndef boom(value):\n    faulthandler._sigsegv()\n"},
	                  {"healthy.py", kHealthyModule}});
	REQUIRE(core.wait_started());
	core.inject("t.boom", 1);
	// SIGSEGV normally; under AddressSanitizer its handler turns the crash into SIGABRT.
	auto lost = core.process().wait_stderr_anywhere(
	    matches("crashy: lost the host.*was killed by signal (11 \\(Segmentation fault\\)|6 \\(Aborted\\))"));
	INFO(core.transcript());
	REQUIRE(lost);
	core.inject("t.in", 0.45);
	CHECK(next_value(core, "t.out") == Approx(0.45));
	CHECK(core.stop() == 0);
}
