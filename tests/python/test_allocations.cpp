// The shim makes no heap allocation once the show runs: not per event, not per heartbeat.
// mmcore counts the allocations inside each backend's handle() and process() (python.allocs
// in `stats`); sanitizer builds cannot count them and report -1.
#include <chrono>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

const char* kEchoConfig = R"(
[python py1]
module = echo
default-handler = echo.handler
[test t]
[map]
t.f{0..9} > py1.f{0..9}
py1.out > t.out
)";

const char* kEchoModule = R"(
import midimonster
def handler(value):
    midimonster.output("out", value)
)";

// True (and the test is to be skipped) when this build cannot count allocations.
bool cannot_count(const std::map<std::string, long long>& stats) {
	auto allocs = stats.find("python.allocs");
	REQUIRE(allocs != stats.end());
	if (allocs->second >= 0) {
		return false;
	}
	WARN("SKIP: mmcore cannot count allocations in a sanitizer build (python.allocs=-1)");
	return true;
}

// 1000 inputs over 10 channels; each comes back as an output, the last one with 1.0.
void flood_and_wait_for_echoes(CoreProcess& core) {
	core.send("flood t.f 10 1000");
	auto last = core.wait_event(std::regex("^event t\\.out 1\\.000000 "));
	INFO(core.transcript());
	REQUIRE(last);
}

}  // namespace

TEST_CASE("the shim makes no heap allocations while the show idles, heartbeats included",
          "[python][allocations]") {
	CoreProcess core(kEchoConfig, {{"echo.py", kEchoModule}});
	REQUIRE(core.wait_started());
	std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // start-up allocates; let it finish
	auto before = core_stats(core);
	if (cannot_count(before)) {
		return;
	}
	// The host sends a heartbeat every 250 ms, the shim one every second.
	std::this_thread::sleep_for(std::chrono::milliseconds(2500));
	auto after = core_stats(core);
	INFO(core.transcript());
	CHECK(after["python.process_calls"] - before["python.process_calls"] >= 5);
	CHECK(after["python.allocs"] - before["python.allocs"] == 0);
	CHECK(core.stop() == 0);
}

TEST_CASE("the shim makes no heap allocations for 1000 input events and their outputs once warmed up",
          "[python][allocations]") {
	CoreProcess core(kEchoConfig, {{"echo.py", kEchoModule}});
	REQUIRE(core.wait_started());
	flood_and_wait_for_echoes(core);  // buffers grow to their working size
	auto before = core_stats(core);
	if (cannot_count(before)) {
		return;
	}
	flood_and_wait_for_echoes(core);
	auto after = core_stats(core);
	INFO(core.transcript());
	CHECK(after["python.events"] - before["python.events"] == 1000);
	CHECK(after["python.allocs"] - before["python.allocs"] == 0);
	CHECK(core.stop() == 0);
}
