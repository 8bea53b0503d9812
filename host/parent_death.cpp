#include "parent_death.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace mmpy::host {

bool exit_with_parent(pid_t parent, std::string& error) {
	// The signal fires when the thread that forked us exits; the listener forks from its
	// only thread (the libuv loop's), so that is when the listener exits.
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
		error = std::string("cannot arrange to stop with the listener (PR_SET_PDEATHSIG): ") + std::strerror(errno);
		return false;
	}
	// The listener may have died between its fork and the prctl above; then no signal
	// will come and we have been reparented (to init or to a subreaper such as systemd).
	if (getppid() != parent) {
		error = "the listener (pid " + std::to_string(parent) + ") has already gone; not serving its connection";
		return false;
	}
	return true;
}

}  // namespace mmpy::host
