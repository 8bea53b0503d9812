// HostPlacement alone: its options, and what it does to a thread and a process.
#include <catch2/catch.hpp>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "host_placement.h"

using mmpy::shim::HostPlacement;

TEST_CASE("host-cpu and host-priority take their values and refuse others, naming them", "[shim][placement]") {
	HostPlacement placement;
	CHECK(placement.cpu == HostPlacement::Cpu::Any);
	CHECK(placement.priority == HostPlacement::Priority::Normal);
	std::string error;
	CHECK(placement.set("host-cpu", "core", error));
	CHECK(placement.set("host-priority", "low", error));
	CHECK(placement.cpu == HostPlacement::Cpu::Core);
	CHECK(placement.priority == HostPlacement::Priority::Low);
	CHECK_FALSE(placement.set("host-cpu", "Core", error));
	CHECK(error == "host-cpu: 'Core' is not one of core, any");
	CHECK_FALSE(placement.set("host-priority", "", error));
	CHECK(error == "host-priority: '' is not one of low, normal");
	CHECK(placement.cpu == HostPlacement::Cpu::Core);
}

TEST_CASE("pin_core pins the calling thread to its CPU once, and leaves a pinned one alone", "[shim][placement]") {
	cpu_set_t mine;
	REQUIRE(sched_getaffinity(0, sizeof mine, &mine) == 0);
	HostPlacement::Pinned first, second, any;
	cpu_set_t after;
	CPU_ZERO(&after);
	// A thread of its own: the test runner's thread keeps all its CPUs.
	std::thread([&] {
		HostPlacement core{HostPlacement::Cpu::Core, HostPlacement::Priority::Normal};
		first = core.pin_core();
		second = core.pin_core();
		any = HostPlacement{}.pin_core();
		sched_getaffinity(0, sizeof after, &after);
	}).join();
	CHECK(first.error == 0);
	if (CPU_COUNT(&mine) > 1) {
		REQUIRE(first.cpu >= 0);
		CHECK(CPU_ISSET(first.cpu, &mine));
	} else {
		CHECK(first.cpu == -1);  // one CPU already: nothing to do
	}
	CHECK(CPU_COUNT(&after) == 1);
	CHECK(second.cpu == -1);
	CHECK(second.error == 0);
	CHECK(any.cpu == -1);
	CHECK(any.error == 0);
}

TEST_CASE("lower sets nice 19 under Priority::Low only", "[shim][placement]") {
	pid_t low = fork();
	if (low == 0) {
		pause();
		_exit(0);
	}
	pid_t normal = fork();
	if (normal == 0) {
		pause();
		_exit(0);
	}
	HostPlacement below{HostPlacement::Cpu::Any, HostPlacement::Priority::Low};
	CHECK(below.lower(low) == 0);
	CHECK(HostPlacement{}.lower(normal) == 0);
	errno = 0;
	CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(low)) == HostPlacement::kLowNice);
	CHECK(getpriority(PRIO_PROCESS, static_cast<id_t>(normal)) == getpriority(PRIO_PROCESS, 0));
	CHECK(errno == 0);
	for (pid_t pid : {low, normal}) {
		kill(pid, SIGKILL);
		waitpid(pid, nullptr, 0);
	}
	CHECK(below.lower(low) == ESRCH);  // reaped: no such process any more
}
