#include "host_placement.h"

#include <sched.h>
#include <sys/resource.h>

#include <cerrno>

namespace mmpy::shim {

bool HostPlacement::set(const std::string& option, const std::string& value, std::string& error) {
	if (option == "host-cpu" && (value == "core" || value == "any")) {
		cpu = value == "core" ? Cpu::Core : Cpu::Any;
		return true;
	}
	if (option == "host-priority" && (value == "low" || value == "normal")) {
		priority = value == "low" ? Priority::Low : Priority::Normal;
		return true;
	}
	error = option + ": '" + value + "' is not one of " + (option == "host-cpu" ? "core, any" : "low, normal");
	return false;
}

// Once pinned, the core stays where it is: a restart's host lands on the same CPU. A core
// the operator pinned to one CPU is left as it is.
HostPlacement::Pinned HostPlacement::pin_core() const {
	if (cpu != Cpu::Core) {
		return {};
	}
	cpu_set_t allowed;
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
		return {-1, errno};
	}
	if (CPU_COUNT(&allowed) == 1) {
		return {};
	}
	int here = sched_getcpu();
	if (here < 0) {
		return {-1, errno};
	}
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(here, &one);
	if (sched_setaffinity(0, sizeof one, &one) != 0) {
		return {-1, errno};
	}
	return {here, 0};
}

// Right after posix_spawn, which returns once the host has been executed: long before it
// starts a thread of its own, so every thread it starts inherits the nice value. (There is
// no spawn attribute for it; SCHED_IDLE, which has one, makes the host's CPU look idle to
// the kernel, which then wakes other tasks there, in front of the host.)
int HostPlacement::lower(pid_t host) const {
	if (priority != Priority::Low) {
		return 0;
	}
	return setpriority(PRIO_PROCESS, static_cast<id_t>(host), kLowNice) == 0 ? 0 : errno;
}

}  // namespace mmpy::shim
