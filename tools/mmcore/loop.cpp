// select() wait with backend-requested timeout, then process() and routing.
#include "loop.h"

#include <sys/select.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <vector>

#include "callstats.h"
#include "fds.h"
#include "log.h"
#include "midimonster.h"
#include "registry.h"
#include "routing.h"

namespace {

constexpr uint32_t default_interval_ms = 1000;

volatile sig_atomic_t shutdown_flag = 0;
uint64_t current_timestamp = 0;

// Signal handler: only sets the flag, the loop does the rest.
void on_signal(int) {
	shutdown_flag = 1;
}

// Smallest non-zero interval() of the backends with instances (default 1000 ms).
uint32_t loop_timeout_ms() {
	uint32_t timeout = default_interval_ms;
	for (backend* b : mmcore::backends_all()) {
		if (!b->interval || mmcore::backend_instance_list(b).empty()) {
			continue;
		}
		uint32_t wanted = b->interval();
		if (wanted && wanted < timeout) {
			timeout = wanted;
		}
	}
	return timeout;
}

// Calls process() for every backend with instances or with readable fds.
int backends_process(std::vector<managed_fd>& ready) {
	int rv = 0;
	for (backend* b : mmcore::backends_all()) {
		std::vector<managed_fd> mine;
		for (const auto& m : ready) {
			if (m.backend == b) {
				mine.push_back(m);
			}
		}
		if (mine.empty() && mmcore::backend_instance_list(b).empty()) {
			continue;
		}
		if (!b->process) {
			continue;
		}
		mmcore::CallStats& stats = mmcore::callstats_of(b);
		stats.process_calls++;
		int failed;
		{
			mmcore::BackendCall call(stats, stats.process_ns);
			failed = b->process(mine.size(), mine.empty() ? nullptr : mine.data());
		}
		if (failed) {
			mmcore::logf("core/be", "Backend %s failed to handle input", b->name);
			rv = 1;
			break;
		}
	}
	return rv;
}

}  // namespace

extern "C" {

// Plugin entry: this iteration's millisecond timestamp.
__attribute__((visibility("default"))) uint64_t mm_timestamp(void) {
	return current_timestamp;
}
}

namespace mmcore {

// Monotonic milliseconds, taken once per iteration.
void timestamp_update() {
	timespec now{};
	clock_gettime(CLOCK_MONOTONIC, &now);
	current_timestamp = static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

// Used by SIGINT/SIGTERM and the test backend's `quit`.
void loop_request_shutdown() {
	shutdown_flag = 1;
}

// Checked by main between iterations.
bool loop_shutdown_requested() {
	return shutdown_flag != 0;
}

// No SA_RESTART, so a signal interrupts select() and the loop stops promptly.
void loop_install_signals() {
	struct sigaction sa{};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
}

// select(), timestamp, process(), route: the real core's iteration.
int loop_iteration() {
	fd_set ready;
	int max_fd = fds_collect(&ready);
	uint32_t timeout = loop_timeout_ms();
	timeval tv{static_cast<time_t>(timeout / 1000), static_cast<suseconds_t>((timeout % 1000) * 1000)};

	if (max_fd >= 0) {
		int rc = select(max_fd + 1, &ready, nullptr, nullptr, &tv);
		if (rc < 0) {
			if (errno == EINTR) {
				FD_ZERO(&ready);
			} else {
				logf("core", "select failed: %s", std::strerror(errno));
				return 1;
			}
		}
	} else {
		FD_ZERO(&ready);
		timespec ts{tv.tv_sec, tv.tv_usec * 1000};
		nanosleep(&ts, nullptr);
	}

	timestamp_update();
	std::vector<managed_fd> signaled = fds_signaled(ready);
	if (backends_process(signaled)) {
		return 1;
	}
	return routing_iteration();
}

}  // namespace mmcore
