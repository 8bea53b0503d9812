// Where a spawned host runs and how it competes for its CPU: `host-cpu` and `host-priority`
// in [backend python]. A process woken on another, idle CPU waits for that CPU's way out of
// idle, milliseconds now and then on a virtual machine; a host that shares the core's CPU is
// never woken that way, and a host below the core in priority never holds the core up. Both
// have a price (the core's input can no longer move the core to another CPU; other work on
// that CPU starves a low host), so the defaults leave it all to the kernel.
// docs/performance.md ("Latency tails") has the measurements.
#pragma once

#include <sys/types.h>

#include <string>

namespace mmpy::shim {

struct HostPlacement {
	enum class Cpu {
		Core,  // the core's thread and its hosts stay on the CPU the core runs on
		Any,   // the kernel places both
	};
	enum class Priority {
		Low,     // nice 19: the core takes the CPU from a computing host at once
		Normal,  // as the core
	};
	static constexpr int kLowNice = 19;
	Cpu cpu = Cpu::Any;
	Priority priority = Priority::Normal;

	// `value` of the option named `option` ("host-cpu" or "host-priority"); false and
	// `error` naming what is accepted when it is neither.
	bool set(const std::string& option, const std::string& value, std::string& error);

	// What pin_core() did: `cpu` the core was pinned to now (-1: nothing to do, it was
	// pinned already or placement is Cpu::Any), or the errno that stopped it.
	struct Pinned {
		int cpu = -1;
		int error = 0;
	};

	// Before the first host is spawned: under Cpu::Core the calling (core) thread is pinned to
	// the CPU it runs on, so that every host inherits it.
	Pinned pin_core() const;

	// A new host at Priority::Low gets kLowNice. 0, or the errno of setpriority.
	int lower(pid_t host) const;
};

}  // namespace mmpy::shim
