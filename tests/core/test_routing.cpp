// Specification of event routing through the core and of the test backend's commands.
#include "core_test_util.h"

using namespace core_test;

TEST_CASE("an injected event reaches the mapped channel with its value", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x > b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x", 0.123456);
	auto e = core.wait_event("b.y");
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->value == Approx(0.123456));
	CHECK(e->t_us > 0);
}

TEST_CASE("an event is delivered to every target mapped from its source", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[test c]\n[map]\na.x > b.y\na.x > c.z\nb.w < a.x\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x", 1.0);
	REQUIRE(core.sync());
	INFO(core.transcript());
	CHECK(events_on(core, "b.y").size() == 1);
	CHECK(events_on(core, "c.z").size() == 1);
	CHECK(events_on(core, "b.w").size() == 1);
	CHECK(core.events().size() == 3);
}

TEST_CASE("'<' maps right to left", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x < b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("b.y", 0.5);
	core.send("inject a.x 0.5");
	REQUIRE(core.sync());
	INFO(core.transcript());
	CHECK(events_on(core, "a.x").size() == 1);
	CHECK(events_on(core, "b.y").empty());
}

TEST_CASE("'<>' maps both ways, and so does '=' (an mmcore extension)", "[core][routing]") {
	auto op = GENERATE(std::string("<>"), std::string("><"), std::string("="));
	CoreProcess core("[test a]\n[test b]\n[map]\na.x " + op + " b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x", 0.25);
	core.inject("b.y", 0.75);
	REQUIRE(core.sync());
	INFO(core.transcript());
	REQUIRE(events_on(core, "b.y").size() == 1);
	REQUIRE(events_on(core, "a.x").size() == 1);
	CHECK(events_on(core, "b.y")[0].value == Approx(0.25));
	CHECK(events_on(core, "a.x")[0].value == Approx(0.75));
}

TEST_CASE("events for one instance arrive in the order they were pushed", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[test c]\n[map]\na.{1,2,3} > b.{1,2,3}\na.4 > c.4\n", {},
	                 test_plugins());
	REQUIRE(core.wait_started());
	core.inject({{"a.1", 0.1}, {"a.4", 0.4}, {"a.2", 0.2}, {"a.1", 0.3}, {"a.3", 0.5}});
	REQUIRE(core.sync());
	INFO(core.transcript());
	std::vector<std::string> order;
	for (const auto& e : core.events()) {
		if (e.channel.rfind("b.", 0) == 0) {
			order.push_back(e.channel);
		}
	}
	CHECK(order == std::vector<std::string>{"b.1", "b.2", "b.1", "b.3"});
	CHECK(events_on(core, "c.4").size() == 1);
}

TEST_CASE("events pushed while handling are routed in the same iteration", "[core][routing]") {
	CoreProcess core("[test t]\n[echo e]\n[map]\nt.a > e.x\ne.x > t.b\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	// One write, so the core reads both lines in one iteration; the sync is answered at the
	// start of the next one, hence after t.b only if the echo was routed in the first.
	core.send("inject t.a 0.5\nsync same-iteration");
	REQUIRE(core.process().wait_stdout_anywhere(contains("sync same-iteration")));
	INFO(core.transcript());
	long event = -1;
	const auto& lines = core.process().stdout_lines();
	for (size_t u = 0; u < lines.size(); u++) {
		if (lines[u].rfind("event t.b ", 0) == 0) {
			event = static_cast<long>(u);
		}
	}
	REQUIRE(event >= 0);
	CHECK(event < stdout_index(core, "sync same-iteration"));
}

TEST_CASE("a routing loop is cut by the pass limit and the core carries on", "[core][routing]") {
	CoreProcess core("[test t]\n[echo e]\n[map]\nt.a > e.x\ne.x > e.x\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("t.a", 0.5);
	INFO(core.transcript());
	CHECK(core.wait_log("pass limit hit"));
	CHECK(core.sync());
	CHECK(core.stop() == 0);
}

TEST_CASE("an unknown instance or unmapped channel in inject is reported and skipped", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x > b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("nobody.x", 1.0);
	CHECK(core.process().wait_stdout(contains("error inject: no test instance named nobody")));
	core.inject("a.unmapped", 1.0);
	CHECK(core.process().wait_stdout(contains("error inject: channel a.unmapped is not named by any mapping")));
	core.send("inject a.x notanumber");
	CHECK(core.process().wait_stdout(contains("error inject: bad value notanumber")));
	core.send("frobnicate");
	CHECK(core.process().wait_stdout(contains("error unknown command frobnicate")));
	core.inject("a.x", 0.5);
	INFO(core.transcript());
	CHECK(core.wait_event("b.y"));
}

TEST_CASE("a flood delivers every event and leaves each channel at a known value", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.f{0..3} > b.f{0..3}\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.send("flood a.f 4 100");
	core.send("stats");
	auto stats = core.process().wait_stdout(contains("stats "));
	INFO(core.transcript());
	REQUIRE(stats);
	CHECK(stats->find("events=100") != std::string::npos);
	// Event k goes to channel k % 4 with value (k + 1) / 100.
	CHECK(events_on(core, "b.f0").back().value == Approx(0.97));
	CHECK(events_on(core, "b.f3").back().value == Approx(1.0));
	CHECK(events_on(core, "b.f1").size() == 25);
}

TEST_CASE("stats reports the core's memory and the events handled", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x > b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x", 1.0);
	core.send("stats");
	auto stats = core.process().wait_stdout(matches("^stats rss_kb=[1-9][0-9]* events=1$"));
	INFO(core.transcript());
	CHECK(stats);
}

TEST_CASE("sync answers with its token after everything sent before it", "[core][routing]") {
	CoreProcess core("[test a]\n[test b]\n[map]\na.x > b.y\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("a.x", 0.5);
	core.send("sync token-1");
	REQUIRE(core.process().wait_stdout(contains("sync token-1")));
	INFO(core.transcript());
	CHECK(stdout_index(core, "sync token-1") > 0);
	CHECK(events_on(core, "b.y").size() == 1);
}

TEST_CASE("stats reports the CPU time and events of a plugin backend's handle() and process()", "[core][routing]") {
	CoreProcess core("[test t]\n[echo e]\n[map]\nt.a > e.x\ne.x > t.b\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject({{"t.a", 0.1}, {"t.a", 0.2}, {"t.a", 0.3}});
	REQUIRE(core.sync());
	core.send("stats");
	// The old fields first and unchanged, then the echo backend's; none for `test` itself.
	auto line = core.process().wait_stdout(matches("^stats rss_kb=[1-9][0-9]* events=3 echo\\.handle_ns="));
	INFO(core.transcript());
	REQUIRE(line);
	auto f = stats_fields(*line);
	CHECK(f.size() == 8);
	CHECK(std::stoull(f["echo.handle_ns"]) > 0);
	CHECK(f["echo.handle_calls"] == "1");  // the three events arrive in one handle() call
	CHECK(f["echo.events"] == "3");
	CHECK(std::stoull(f["echo.process_calls"]) >= 1);
	CHECK(f.count("echo.process_ns") == 1);
	CHECK(f.count("test.handle_ns") == 0);
#if !defined(__SANITIZE_ADDRESS__)
	// echo allocates nothing itself; the core's allocations in mm_channel_event are not its.
	CHECK(f["echo.allocs"] == "0");
#else
	CHECK(f["echo.allocs"] == "-1");  // sanitizers own malloc: not counted
#endif
}

TEST_CASE("stats counts the heap allocations a plugin makes inside handle()", "[core][routing]") {
	auto mode = GENERATE(std::string("direct"), std::string("pipe"));
	CoreProcess core("[test t]\n[echo e]\nmode = " + mode + "\nallocs-per-event = 3\n[map]\nt.a > e.x\ne.x > t.b\n",
	                 {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject({{"t.a", 0.1}, {"t.a", 0.2}});
	REQUIRE(core.wait_event("t.b"));
	core.inject("t.a", 0.3);
	REQUIRE(core.wait_event("t.b"));
	REQUIRE(core.wait_event("t.b"));
	core.send("stats");
	auto line = core.process().wait_stdout(matches("^stats rss_kb="));
	INFO(mode << "\n" << core.transcript());
	REQUIRE(line);
	auto f = stats_fields(*line);
	CHECK(f["events"] == "3");
	CHECK(f["echo.events"] == "3");
	CHECK(f["echo.handle_calls"] == "2");
#if !defined(__SANITIZE_ADDRESS__)
	CHECK(f["echo.allocs"] == "9");  // 3 events x (malloc, calloc, realloc)
#else
	CHECK(f["echo.allocs"] == "-1");
#endif
}
