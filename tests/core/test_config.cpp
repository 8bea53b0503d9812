// Specification of mmcore's configuration parsing (MIDIMonster's format).
#include "core_test_util.h"

using namespace core_test;

TEST_CASE("comment lines, blank lines and surrounding whitespace are ignored", "[core][config]") {
	CoreProcess core(
	    "; a comment line\n"
	    "   ; an indented comment\n"
	    "\n"
	    "\t[test a]   \n"
	    "[test b]\r\n"
	    "  echo-stdout   =   yes  \n"
	    "[map]\n"
	    "   a.in   >   b.out   \n",
	    {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.in", 0.5);
	auto e = core.wait_event("b.out");
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->value == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("a mapping with a range expands pairwise", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.in{1..3} > b.out{1..3}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.in2", 0.25);
	REQUIRE(core.sync());
	INFO(core.transcript());
	auto events = core.events();
	REQUIRE(events.size() == 1);
	CHECK(events[0].channel == "b.out2");
	CHECK(events[0].value == Approx(0.25));
}

TEST_CASE("a descending range pairs with an ascending one", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x{3..1} > b.y{1..3}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x3", 1.0);
	core.inject("a.x1", 0.5);
	REQUIRE(core.sync());
	INFO(core.transcript());
	REQUIRE(events_on(core, "b.y1").size() == 1);
	REQUIRE(events_on(core, "b.y3").size() == 1);
	CHECK(events_on(core, "b.y1")[0].value == Approx(1.0));
	CHECK(events_on(core, "b.y3")[0].value == Approx(0.5));
}

TEST_CASE("a list expression expands like a range", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.{red,green,blue} > b.c{1..3}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.blue", 0.75);
	auto e = core.wait_event(std::regex("^event b\\."));
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->channel == "b.c3");
}

TEST_CASE("one channel mapped to a range fans out to every channel of the range", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.in > b.out{1..3}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.in", 0.5);
	REQUIRE(core.sync());
	INFO(core.transcript());
	auto events = core.events();
	REQUIRE(events.size() == 3);
	CHECK(events[0].channel == "b.out1");
	CHECK(events[1].channel == "b.out2");
	CHECK(events[2].channel == "b.out3");
}

TEST_CASE("several expressions in one spec expand with the rightmost varying fastest", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.r{1..2}c{1..2} > b.n{1..4}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.r2c1", 1.0);
	auto e = core.wait_event(std::regex("^event b\\."));
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->channel == "b.n3");
}

TEST_CASE("ranges of different sizes are a configuration error", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x{1..3} > b.y{1..2}\n", {}, test_plugins());
	INFO(core.transcript());
	CHECK(core.process().wait_exit() != 0);
	CHECK(core.wait_log("size mismatch"));
	CHECK(core.wait_log("Error in " + core.config_path() + " line 4"));
}

TEST_CASE("an included file is resolved relative to the including file", "[core][config]") {
	// The core runs elsewhere; includes only resolve because it works in each file's folder.
	CoreOptions options = test_plugins();
	options.cwd = "/";
	CoreProcess core(
	    "[test a]\n"
	    "[include sub/inner.cfg]\n"
	    "[include back.cfg]\n"
	    "[map]\n"
	    "a.x > b.x\n"
	    "a.x > c.x\n",
	    {{"sub/inner.cfg", "[test b]\n[include deeper.cfg]\n"},
	     {"sub/deeper.cfg", "; next to inner.cfg\n"},
	     {"back.cfg", "[test c]\n"}},
	    options);
	REQUIRE(core.wait_started());
	core.inject("a.x", 0.5);
	REQUIRE(core.sync());
	INFO(core.transcript());
	CHECK(events_on(core, "b.x").size() == 1);
	CHECK(events_on(core, "c.x").size() == 1);
}

TEST_CASE("an error in an included file names that file and line", "[core][config]") {
	CoreProcess core("[test a]\n[include inc.cfg]\n", {{"inc.cfg", "[test b]\n\nthis is not an assignment\n"}},
	                 test_plugins());
	INFO(core.transcript());
	CHECK(core.process().wait_exit() != 0);
	CHECK(core.wait_log("Not an assignment"));
	CHECK(core.wait_log("Error in inc.cfg line 3"));
	CHECK(core.wait_log("Error in " + core.config_path() + " line 2"));
}

TEST_CASE("bad configuration lines are reported with file and line", "[core][config]") {
	struct Case {
		std::string config, message;
		int line;
	};
	auto c = GENERATE(Case{"[nosuch x]\n", "No such backend nosuch", 1},
	                  Case{"\n[backend nosuch]\n", "Cannot configure unknown backend nosuch", 2},
	                  Case{"[test]\n", "No instance name specified", 1},
	                  Case{"[test a]\n[test a]\n", "Duplicate instance name a", 2},
	                  Case{"[test a.b]\n", "Invalid instance name a.b", 1},
	                  Case{"[test a]\nbogus = 1\n", "Failed to configure instance a", 2},
	                  Case{"[test a]\n[map]\na.x > nobody.y\n", "No such instance nobody", 3},
	                  Case{"[test a]\n[map]\na.x b.y\n", "Not a channel mapping", 3},
	                  Case{"[test a]\n[map]\na.x > b\n", "Mapping does not contain a proper instance", 3},
	                  Case{"[test a]\n[test b]\n[map]\na.x{1 > b.y\n", "Unterminated glob", 4},
	                  Case{"[test a]\n[test b]\n[map]\na.{x} > b.y\n", "Failed to detect glob type", 4});
	CoreProcess core(c.config, {}, test_plugins());
	INFO(c.config);
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 1);
	CHECK(core.wait_log(c.message));
	CHECK(core.wait_log("Error in " + core.config_path() + " line " + std::to_string(c.line)));
	CHECK(stdout_index(core, "started") == -1);
	CHECK(stdout_index(core, "stopped") >= 0);
}

TEST_CASE("a missing configuration file is an error", "[core][config]") {
	ChildProcess core({mmcore_path(), "-p", test_plugin_dir(), "/nonexistent/monster.cfg"});
	INFO(core.transcript());
	CHECK(core.wait_exit() == 1);
	CHECK(core.wait_stderr_anywhere(contains("Failed to change to configuration file directory")));
}

TEST_CASE("an -i override is applied when the instance section starts, before its own lines", "[core][config]") {
	CoreProcess core("[echo e]\nmode = direct\n[test t]\n[map]\nt.a > e.x\ne.x > t.b\n", {},
	                 test_plugins({"-i", "e.gain=0.5", "-i", "t.echo-stdout=yes"}));
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	long created = stderr_index(core, "echo\tcreate");
	long overridden = stderr_index(core, "echo\tinstance e gain=0.5");
	long own_line = stderr_index(core, "echo\tinstance e mode=direct");
	REQUIRE(created >= 0);
	CHECK(overridden > created);
	CHECK(own_line > overridden);
	core.inject("t.a", 0.5);
	auto e = core.wait_event("t.b");
	REQUIRE(e);
	CHECK(e->value == Approx(0.25));
}

TEST_CASE("an -i override of a test instance switches off its event lines", "[core][config]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x > b.y\n", {}, test_plugins({"-i", "b.echo-stdout=no"}));
	REQUIRE(core.wait_started());
	core.inject("a.x", 1.0);
	core.send("stats");
	auto stats = core.process().wait_stdout(contains("stats "));
	INFO(core.transcript());
	REQUIRE(stats);
	CHECK(stats->find("events=1") != std::string::npos);
	CHECK(core.events().empty());
}

TEST_CASE("a -b override is applied when the backend section appears, before its own lines", "[core][config]") {
	CoreProcess core("[backend echo]\ntag = file\n[test t]\n", {}, test_plugins({"-b", "echo.tag=cli"}));
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	long cli = stderr_index(core, "echo\tconf tag=cli");
	long file = stderr_index(core, "echo\tconf tag=file");
	REQUIRE(cli >= 0);
	CHECK(file > cli);
}

TEST_CASE("a -b override without a matching backend section is not applied", "[core][config]") {
	CoreProcess core("[test t]\n", {}, test_plugins({"-b", "echo.tag=cli"}));
	REQUIRE(core.wait_started());
	REQUIRE(core.sync());
	INFO(core.transcript());
	CHECK(stderr_index(core, "echo\tconf") == -1);
}

TEST_CASE("a failing override fails the configuration", "[core][config]") {
	CoreProcess core("[backend echo]\n", {}, test_plugins({"-b", "echo.fail=1"}));
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 1);
	CHECK(core.wait_log("Configuration override for fail failed"));
}

TEST_CASE("a malformed override is rejected at start", "[core][config]") {
	ChildProcess core({mmcore_path(), "-p", test_plugin_dir(), "-i", "novalue", "x.cfg"});
	INFO(core.transcript());
	CHECK(core.wait_exit() == 1);
	CHECK(core.wait_stderr_anywhere(contains("Override novalue is not a valid assignment")));
}
