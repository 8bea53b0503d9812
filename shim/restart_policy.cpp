#include "restart_policy.h"

#include <algorithm>

namespace mmpy::shim {

uint64_t RestartPolicy::next_pause(uint64_t now) {
	if (up_since_ && now - *up_since_ >= kStableMs) {
		failures_ = 0;
	}
	up_since_.reset();
	uint64_t pause = 0;
	if (failures_ > 0) {
		unsigned doublings = std::min(failures_ - 1, 16u);
		pause = std::min(kFirstPauseMs << doublings, kLongestPauseMs);
	}
	failures_++;
	return pause;
}

void RestartPolicy::host_up(uint64_t now) {
	up_since_ = now;
}

}  // namespace mmpy::shim
