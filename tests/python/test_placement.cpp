// host-cpu and host-priority in [backend python]: where spawned hosts run and how they
// compete with the core, read back from the kernel.
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>

#include "python_test.h"

using namespace mmpy::test;

namespace {

const char* kEchoModule = R"(
import midimonster
def echo(value):
    midimonster.output("out", value)
)";

const char* kEchoShow = R"(
[python py1]
module = echo
[test t]
[map]
t.in > py1.echo.echo
py1.out > t.out
)";

cpu_set_t affinity(pid_t pid) {
	cpu_set_t set;
	CPU_ZERO(&set);
	REQUIRE(sched_getaffinity(pid, sizeof set, &set) == 0);
	return set;
}

int nice_of(pid_t pid) {
	errno = 0;
	int value = getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
	REQUIRE(errno == 0);
	return value;
}

// The host serves on the core's one CPU, at nice 19, the core at its own nice.
void require_on_core_cpu_below_it(CoreProcess& core, pid_t host) {
	cpu_set_t core_cpus = affinity(core.process().pid());
	cpu_set_t host_cpus = affinity(host);
	CHECK(CPU_COUNT(&core_cpus) == 1);
	CHECK(CPU_EQUAL(&core_cpus, &host_cpus));
	CHECK(nice_of(host) == 19);
	CHECK(nice_of(core.process().pid()) == nice_of(0));
}

const std::string kOnCoreCpuBelowIt = "[backend python]\nhost-cpu = core\nhost-priority = low\n";

}  // namespace

TEST_CASE("host-cpu = core, host-priority = low: the core and its host share one CPU, the host below the core",
          "[python][placement]") {
	CoreProcess core(kOnCoreCpuBelowIt + kEchoShow, {{"echo.py", kEchoModule}});
	REQUIRE(core.wait_started());
	pid_t host = only_host(core);
	require_on_core_cpu_below_it(core, host);
	core.inject("t.in", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	CHECK(core.stop() == 0);
}

TEST_CASE("a restarted host is placed as the first was", "[python][placement]") {
	CoreProcess core(kOnCoreCpuBelowIt + kEchoShow, {{"echo.py", kEchoModule}});
	REQUIRE(core.wait_started());
	pid_t first = only_host(core);
	REQUIRE(kill(first, SIGKILL) == 0);
	REQUIRE_LOG(core, "py1: the host is back after");
	pid_t second = only_host(core);
	CHECK(second != first);
	require_on_core_cpu_below_it(core, second);
	CHECK(core.stop() == 0);
}

TEST_CASE("by default the kernel places the core and its host, the host at the core's priority", "[python][placement]") {
	CoreProcess core(kEchoShow, {{"echo.py", kEchoModule}});
	REQUIRE(core.wait_started());
	pid_t host = only_host(core);
	cpu_set_t mine = affinity(0);
	cpu_set_t core_cpus = affinity(core.process().pid());
	cpu_set_t host_cpus = affinity(host);
	CHECK(CPU_EQUAL(&core_cpus, &mine));
	CHECK(CPU_EQUAL(&host_cpus, &mine));
	CHECK(nice_of(host) == nice_of(0));
	core.inject("t.in", 0.5);
	CHECK(next_value(core, "t.out") == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("a bad host-cpu or host-priority is a configuration error naming the option", "[python][placement]") {
	REQUIRE_CONFIG_ERROR(std::string("[backend python]\nhost-cpu = near\n") + kEchoShow,
	                     "Backend option host-cpu: 'near' is not one of core, any");
	REQUIRE_CONFIG_ERROR(std::string("[backend python]\nhost-priority = realtime\n") + kEchoShow,
	                     "Backend option host-priority: 'realtime' is not one of low, normal");
}

TEST_CASE("host-cpu is refused in attach mode, where the listener is placed by whoever starts it", "[python][placement]") {
	REQUIRE_CONFIG_ERROR("[backend python]\nsocket = /nonexistent/mm-pyhost.sock\nhost-cpu = core\n[python py1]\nmodule = x\n",
	                     "host-cpu and host-priority place the hosts the shim starts");
}
