// `mm-pyhost check show.cfg` end to end: real hosts started through the shim's parts, real
// Python, configuration files as a show programmer writes them.
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "port_lock.h"
#include "python_test.h"

using namespace mmpy::test;

namespace {

struct Checked {
	int status = -1;
	std::string out;
};

// `mm-pyhost check FILE` in `dir`.
Checked check(const TempDir& dir, const std::string& file) {
	SpawnOptions options;
	options.cwd = dir.path();
	ChildProcess child({host_path(), "check", file}, options);
	auto status = child.wait_exit(Duration(60000));
	REQUIRE(status);
	Checked result;
	result.status = *status;
	for (const std::string& line : child.stdout_lines()) {
		result.out += line + "\n";
	}
	return result;
}

bool has(const Checked& checked, const std::string& text) {
	return checked.out.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("check: a show without problems passes, with exit status 0", "[python][check]") {
	TempDir dir;
	dir.write("show.py", "import midimonster\ndef on_in(value):\n    midimonster.output('out', value)\n"
	                     "async def later(value):\n    await midimonster.sleep(10)\n");
	dir.write("show.cfg", "[python py1]\nmodule = show\nhandler-timeout = 500\n[test t]\n[map]\nt.in > py1.show.on_in\n"
	                      "t.x{1..3} > py1.show.later\npy1.out > t.out\n");
	Checked checked = check(dir, "show.cfg");
	INFO(checked.out);
	CHECK(checked.status == 0);
	CHECK(checked.out == "py1: ok (2 option lines, 3 mapped channels)\n");
}

TEST_CASE("check: each problem is named with its file and line, and the exit status is 1", "[python][check]") {
	TempDir dir;
	dir.write("show.py", "import midimonster\ndef on_in(value):\n    pass\ndef two(a, b):\n    pass\nlevel = 3\n");
	dir.write("broken.py", "def cue(value)\n    pass\n");
	dir.write("raises.py", "import midimonster\nraise RuntimeError('no fixture file')\n");
	dir.write("more.cfg", "[python py3]\nmodule = raises\n");
	dir.write("show.cfg", "; every mistake check finds\n"
	                      "[python py1]\n"
	                      "module = show\n"
	                      "colour = blue\n"
	                      "[python py2]\n"
	                      "module = broken\n"
	                      "[include more.cfg]\n"
	                      "[test t]\n"
	                      "[map]\n"
	                      "t.in > py1.show.on_in\n"
	                      "t.a > py1.show.missing\n"
	                      "t.b > py1.show.two\n"
	                      "t.c > py1.show.level\n"
	                      "t.d <> py2.broken.cue\n");
	Checked checked = check(dir, "show.cfg");
	INFO(checked.out);
	std::string cfg = dir.path() + "/show.cfg, line ";
	CHECK(checked.status == 1);
	CHECK(has(checked, cfg + "4: [python py1] colour = blue: unknown instance option 'colour' (known: module, "));
	CHECK(has(checked, cfg + "11: [python py1] channel show.missing has no handler: module 'show' has no function 'missing'\n"));
	CHECK(has(checked, cfg + "12: [python py1] channel show.two has no handler: 'show.two' takes (a, b); a channel "
	                         "handler is called with one argument, the value\n"));
	CHECK(has(checked, cfg + "13: [python py1] channel show.level has no handler: 'show.level' is not callable"));
	CHECK(has(checked, "py1: 4 problems (2 option lines, 4 mapped channels)\n"));
	CHECK(has(checked, cfg + "6: [python py2] module = broken: failed to import module 'broken': SyntaxError: expected ':' "
	                         "(broken.py, line 1)\n"));
	CHECK(has(checked, cfg + "14: [python py2] channel broken.cue has no handler: module 'broken' failed to import"));
	CHECK(has(checked, dir.path() + "/more.cfg, line 2: [python py3] module = raises: failed to import module 'raises': "
	                                "RuntimeError: no fixture file (raises.py, line 2)\n"));
	CHECK(has(checked, "    RuntimeError: no fixture file\n"));  // its traceback, indented
	CHECK(has(checked, "py3: 1 problem (1 option lines, 0 mapped channels)\n"));
}

TEST_CASE("check: a file the core could not read is named with its line, exit status 2", "[python][check][bad-input]") {
	TempDir dir;
	dir.write("show.cfg", "[python py1]\nmodule = show\n[map]\nt.in > py1.show.on_in\n");
	Checked unknown = check(dir, "show.cfg");
	CHECK(unknown.status == 2);
	CHECK(unknown.out == dir.path() + "/show.cfg, line 4: no instance t (instances are declared before the map uses them)\n");
	dir.write("bad.cfg", "[python py1]\nmodule show\n");
	Checked bad = check(dir, "bad.cfg");
	CHECK(bad.status == 2);
	CHECK(bad.out == dir.path() + "/bad.cfg, line 2: expected 'option = value', got: module show\n");
	Checked missing = check(dir, "nowhere.cfg");
	CHECK(missing.status == 2);
	CHECK(missing.out == "cannot read " + dir.path() + "/nowhere.cfg\n");
}

TEST_CASE("check: the demo show passes", "[python][check]") {
	// The demo's module connects to the lighting desk at import, as the show would.
	PortLock turn(8990);
	int desk = socket(AF_INET, SOCK_STREAM, 0);
	int yes = 1;
	setsockopt(desk, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
	sockaddr_in address{};
	address.sin_family = AF_INET;
	address.sin_port = htons(8990);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	REQUIRE(bind(desk, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
	REQUIRE(listen(desk, 4) == 0);
	SpawnOptions options;
	ChildProcess child({host_path(), "check", std::string(MMPY_SOURCE_DIR) + "/examples/demo/demo.cfg"}, options);
	auto status = child.wait_exit(Duration(60000));
	close(desk);
	INFO(child.transcript());
	CHECK(status == 0);
	CHECK(child.stdout_lines() == std::vector<std::string>{"py1: ok (1 option lines, 2 mapped channels)"});
}
