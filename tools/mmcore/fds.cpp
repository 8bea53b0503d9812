// mm_manage_fd and the fd list the loop selects on.
#include "fds.h"

#include <unistd.h>

#include <algorithm>
#include <string>

#include "callstats.h"
#include "log.h"
#include "registry.h"

namespace {
// Slots with fd == -1 are free, like the real core's list.
std::vector<managed_fd> managed;
}  // namespace

namespace mmcore {

// Rebuilt every iteration: cheap at our sizes and always consistent with the list.
int fds_collect(fd_set* set) {
	int max_fd = -1;
	FD_ZERO(set);
	for (const auto& m : managed) {
		if (m.fd >= 0) {
			FD_SET(m.fd, set);
			max_fd = std::max(max_fd, m.fd);
		}
	}
	return max_fd;
}

// Readable fds in list order.
std::vector<managed_fd> fds_signaled(const fd_set& ready) {
	std::vector<managed_fd> out;
	for (const auto& m : managed) {
		if (m.fd >= 0 && FD_ISSET(m.fd, &ready)) {
			out.push_back(m);
		}
	}
	return out;
}

// The real core closes managed fds at exit; backends must not rely on closing them later.
void fds_close_all() {
	for (auto& m : managed) {
		if (m.fd >= 0) {
			close(m.fd);
		}
	}
	managed.clear();
}

}  // namespace mmcore

extern "C" {

// Plugin entry: add/update (manage=1) or remove (manage=0) an fd of backend `name`.
__attribute__((visibility("default"))) int mm_manage_fd(int fd, char* name, int manage, void* impl) {
	mmcore::AllocPause core_side;
	backend* b = name ? mmcore::backend_match(name) : nullptr;
	if (!b) {
		mmcore::logf("core", "Unknown backend %s registered for managed fd", name ? name : "(null)");
		return 1;
	}
	for (auto& m : managed) {
		if (m.fd == fd && m.backend == b) {
			m.impl = impl;
			if (!manage) {
				m = managed_fd{-1, nullptr, nullptr};
			}
			return 0;
		}
	}
	if (!manage) {
		return 0;
	}
	if (fd < 0 || fd >= FD_SETSIZE) {
		mmcore::logf("core", "Backend %s tried to manage fd %d, outside the select() range 0..%d", name, fd,
		             FD_SETSIZE - 1);
		return 1;
	}
	for (auto& m : managed) {
		if (m.fd < 0) {
			m = managed_fd{fd, b, impl};
			return 0;
		}
	}
	managed.push_back(managed_fd{fd, b, impl});
	return 0;
}
}
