#include "restart_policy.h"

#include <algorithm>

namespace mmpy::shim {

RestartPolicy::Decision RestartPolicy::next(uint64_t now, uint64_t handled) {
	Decision decision;
	if (!up_since_) {
		decision.judged = LostHost::NotStarted;
	} else if (handled > 0 || now - *up_since_ >= kStableMs) {
		decision.judged = LostHost::RanTheShow;
	} else {
		decision.judged = LostHost::HandledNothing;
	}
	up_since_.reset();
	if (decision.judged == LostHost::RanTheShow) {
		// Its successor gets the first attempt; if that one cannot start either, pauses follow.
		failures_ = 1;
		return decision;
	}
	if (failures_ > 0) {
		unsigned doublings = std::min(failures_ - 1, 16u);
		decision.pause_ms = std::min(kFirstPauseMs << doublings, kLongestPauseMs);
	}
	decision.failures = ++failures_;
	return decision;
}

void RestartPolicy::host_up(uint64_t now) {
	up_since_ = now;
}

}  // namespace mmpy::shim
