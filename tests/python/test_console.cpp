// `mm-pyhost console` end to end: typed at on a pseudo-terminal as an operator would, against
// the test core, the real shim and a real host, in spawn and attach mode.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "python_test.h"
#include "terminal.h"

using namespace mmpy::test;

namespace {

const char* kConfig =
    "[python py1]\nmodule = show\n[test t]\n[map]\nt.in > py1.show.on_in\npy1.out > t.out\n";
// `factor` is what an operator changes from the console.
const char* kShow =
    "import midimonster\nfactor = 0.5\ndef on_in(value):\n    midimonster.output('out', value * factor)\n";

// `mm-pyhost console TARGET` on a terminal, its history in the runtime folder.
std::unique_ptr<Terminal> console(const Runtime& runtime, const std::string& target = "py1") {
	auto env = runtime.env();
	env["XDG_STATE_HOME"] = runtime.dir.path() + "/state";
	env["TERM"] = "dumb";
	auto terminal = std::make_unique<Terminal>(std::vector<std::string>{host_path(), "console", target}, env);
	REQUIRE(terminal->wait_for("Ctrl-D leaves."));
	REQUIRE(terminal->wait_for(">>> "));
	return terminal;
}

// Types `statement` and Enter, and waits for its output and the next prompt.
void enter(Terminal& terminal, const std::string& statement, const std::string& output) {
	terminal.type(statement + "\r");
	INFO(terminal.screen());
	REQUIRE(terminal.wait_for(output));
	REQUIRE(terminal.wait_for(">>> "));
}

void leave(Terminal& terminal) {
	terminal.type("\x04");
	INFO(terminal.screen());
	CHECK(terminal.wait_exit() == 0);
}

}  // namespace

TEST_CASE("console: statements run in the show's globals, and what they change (values, handlers) the show uses",
          "[python][operator][console]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto terminal = console(runtime);
	INFO(terminal->screen());
	CHECK(terminal->screen().find("statements run in the globals of module show") != std::string::npos);
	enter(*terminal, "factor", "\r\n0.5\r\n");
	enter(*terminal, "factor = 2", "");
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	enter(*terminal, "midimonster.outputvalue('out')", "\r\n0.5\r\n");
	// A block, with the continuation prompt, and output from print().
	terminal->type("for i in range(2):\r");
	REQUIRE(terminal->wait_for("... "));
	terminal->type("    print('line', i)\r\r");
	REQUIRE(terminal->wait_for("line 0\r\nline 1\r\n"));
	REQUIRE(terminal->wait_for(">>> "));
	enter(*terminal, "1/0", "ZeroDivisionError: division by zero");
	// A handler defined anew at the prompt handles its channel from then on.
	terminal->type("def on_in(value):\r");
	REQUIRE(terminal->wait_for("... "));
	terminal->type("    midimonster.output('out', value / 10)\r\r");
	REQUIRE(terminal->wait_for(">>> "));
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.05));
	enter(*terminal, "del on_in", "(channel show.on_in has no handler now: ");
	leave(*terminal);
	core.process().pump();
	CHECK(core.process().wait_stderr_anywhere(contains("console: an operator opened a Python console")));
	CHECK(core.process().wait_stderr_anywhere(contains("console: the operator left the console")));
	// The print()s went to the console, not to the show's log.
	for (const std::string& line : core.process().stderr_lines()) {
		CHECK(line.find("line 0") == std::string::npos);
	}
	CHECK(core.stop() == 0);
}

TEST_CASE("console: Tab completes names in the show, and what the prompt outputs reaches the core",
          "[python][operator][console]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto terminal = console(runtime);
	terminal->type("on_\t");
	REQUIRE(terminal->wait_for("on_in("));
	terminal->type("0.5)\r");
	CHECK(next_value(core, "t.out") == Approx(0.25));
	REQUIRE(terminal->wait_for(">>> "));
	terminal->type("midimonster.outputv\t");
	REQUIRE(terminal->wait_for("midimonster.outputvalue("));
	terminal->type("'out')\r");
	REQUIRE(terminal->wait_for("\r\n0.25\r\n"));
	REQUIRE(terminal->wait_for(">>> "));
	// Tab on an empty line indents.
	terminal->type("for i in range(2):\r");
	REQUIRE(terminal->wait_for("... "));
	terminal->type("\tprint('tabbed', i)\r\r");
	REQUIRE(terminal->wait_for("tabbed 1"));
	REQUIRE(terminal->wait_for(">>> "));
	// An ambiguous name completes as far as its matches agree: here to output.
	terminal->type("midimonster.out\t");
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	terminal->type("(\"out\", 0.75)\r");
	CHECK(next_value(core, "t.out") == Approx(0.75));
	REQUIRE(terminal->wait_for(">>> "));
	leave(*terminal);
	CHECK(core.stop() == 0);
}

TEST_CASE("console: Ctrl-C interrupts a long statement, and an awaited one lets the show go on",
          "[python][operator][console]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto terminal = console(runtime);
	// The statement leaves a file once it runs: Ctrl-C before that would find nothing to stop.
	terminal->type("if True:\r    open('looping', 'w').close()\r    while True: pass\r\r");
	for (int waited = 0; waited < 200 && access(core.dir().file("looping").c_str(), F_OK) != 0; waited++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	REQUIRE(access(core.dir().file("looping").c_str(), F_OK) == 0);
	terminal->type("\x03");
	INFO(terminal->screen());
	REQUIRE(terminal->wait_for("KeyboardInterrupt"));
	REQUIRE(terminal->wait_for(">>> "));
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));

	// While a statement awaits, the show's events are handled as usual.
	terminal->type("await midimonster.sleep(60000)\r");
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	core.inject("t.in", 1.0);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	terminal->type("\x03");
	REQUIRE(terminal->wait_for("the awaited statement was cancelled"));
	REQUIRE(terminal->wait_for(">>> "));
	// Ctrl-C at the prompt drops the line being typed, as in Python.
	terminal->type("for i in range(3):\r");
	REQUIRE(terminal->wait_for("... "));
	// readline prints the prompt, then waits for a key: a SIGINT in between is seen only at the
	// next key (CPython's readline), which a person never types that fast.
	std::this_thread::sleep_for(std::chrono::milliseconds(200));
	terminal->type("\x03");
	REQUIRE(terminal->wait_for("KeyboardInterrupt"));
	enter(*terminal, "factor", "0.5");
	leave(*terminal);
	CHECK(hosts_of(core).size() == 1);  // the same host all along
	CHECK(core.stop() == 0);
}

TEST_CASE("console: a statement that runs past handler-timeout is stopped like a handler",
          "[python][operator][console]") {
	Runtime runtime;
	CoreProcess core("[python py1]\nmodule = show\nhandler-timeout = 300\n[test t]\n[map]\nt.in > py1.show.on_in\n"
	                 "py1.out > t.out\n",
	                 {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto terminal = console(runtime);
	enter(*terminal, "while True: pass\r", "HandlerTimeout: the console statement ran longer than handler-timeout (300 ms)");
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	leave(*terminal);
	CHECK(core.stop() == 0);
}

TEST_CASE("console: history is kept from one session to the next", "[python][operator][console]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	{
		auto terminal = console(runtime);
		enter(*terminal, "marker = 41 + 1", "");
		leave(*terminal);
	}
	CHECK(read_file(runtime.dir.path() + "/state/mm-pyhost/console_history").find("marker = 41 + 1") !=
	      std::string::npos);
	auto terminal = console(runtime);
	terminal->type("\x10");  // Ctrl-P: the previous line
	INFO(terminal->screen());
	REQUIRE(terminal->wait_for("marker = 41 + 1"));
	terminal->type("\r");
	REQUIRE(terminal->wait_for(">>> "));
	enter(*terminal, "marker", "\r\n42\r\n");
	leave(*terminal);
	CHECK(core.stop() == 0);
}

TEST_CASE("console: attach mode has the same console", "[python][operator][console][attach]") {
	Runtime runtime;
	std::string path = runtime.dir.path() + "/mm-pyhost.sock";
	SpawnOptions options;
	options.env = runtime.env();
	ChildProcess listener({host_path(), "--listen", path}, options);
	REQUIRE(listener.wait_stderr(contains("listening on")));
	CoreProcess core("[backend python]\nsocket = " + path + "\n" + kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	auto terminal = console(runtime);
	enter(*terminal, "factor = 4", "");
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(1.0));
	leave(*terminal);
	CHECK(core.stop() == 0);
}

TEST_CASE("console: requests it does not know end the conversation with the reason, and the host goes on",
          "[python][operator][console][bad-input]") {
	Runtime runtime;
	CoreProcess core(kConfig, {{"show.py", kShow}}, runtime.core());
	REQUIRE(core.wait_started());
	std::string socket_path =
	    runtime.dir.path() + "/mm-pyhost/control/" + std::to_string(core.process().pid()) + ".py1";
	auto converse = [&](const std::vector<std::string>& lines) {
		int fd = connect_unix(socket_path);
		REQUIRE(fd >= 0);
		timeval patience{10, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
		std::string out = R"({"command":"console","args":[]})" "\n";
		for (const std::string& line : lines) {
			out += line + "\n";
		}
		REQUIRE(write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size()));
		std::vector<nlohmann::json> replies;
		std::string in;
		char buffer[4096];
		ssize_t n;
		while (replies.size() < lines.size() + 1 && (n = read(fd, buffer, sizeof(buffer))) > 0) {
			in.append(buffer, static_cast<size_t>(n));
			size_t newline;
			while ((newline = in.find('\n')) != std::string::npos) {
				replies.push_back(nlohmann::json::parse(in.substr(0, newline)));
				in.erase(0, newline + 1);
			}
		}
		close(fd);
		return replies;
	};
	auto replies = converse({R"({"command":"run","args":["6 * 7"]})", R"({"command":"complete","args":["fac"]})",
	                         R"({"command":"eval","args":[]})", "not json"});
	REQUIRE(replies.size() == 5);
	CHECK(replies[0]["ok"] == true);
	CHECK(replies[0]["status"]["instance"] == "py1");
	CHECK(replies[1]["message"] == "42\n");
	CHECK(replies[2]["matches"] == nlohmann::json::array({"factor"}));
	CHECK(replies[3]["ok"] == false);
	CHECK(replies[3]["error"] == "the console takes run [SOURCE], complete [TEXT] and interrupt, not 'eval' with 0 words");
	CHECK(replies[4]["error"].get<std::string>().find("not a request mm-pyhost understands") == 0);
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK(core.stop() == 0);
}
