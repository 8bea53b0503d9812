#include "virtual_time.h"

#include <algorithm>

namespace mmpy::host {

namespace {
constexpr uint64_t kNsPerMs = 1000000;
}

bool VirtualTime::advance_to(uint64_t to_ms, std::string& error) {
	uint64_t now_ms = clock_.now_ms();
	if (to_ms < now_ms || to_ms > UINT64_MAX / kNsPerMs) {
		error = "advance to " + std::to_string(to_ms) + " ms, but the virtual clock is at " + std::to_string(now_ms) +
		        " ms and never goes back";
		return false;
	}
	// A later Advance before the first was reached only moves the goal.
	target_ns_ = std::max(target_ns_.value_or(0), to_ms * kNsPerMs);
	return true;
}

int64_t VirtualTime::step(std::optional<int64_t> asyncio_due_in_ns) {
	if (!target_ns_) {
		return -1;
	}
	uint64_t now = clock_.now_ns();
	std::optional<uint64_t> next;
	if (asyncio_due_in_ns) {
		next = now + static_cast<uint64_t>(std::max<int64_t>(*asyncio_due_in_ns, 0));
	}
	if (std::optional<uint64_t> tick = scheduler_.next_due_ms()) {
		next = std::min(next.value_or(UINT64_MAX), *tick * kNsPerMs);
	}
	if (next && *next <= *target_ns_) {
		clock_.move_to_ns(*next);
		scheduler_.run_due();
		return 0;
	}
	clock_.move_to_ns(*target_ns_);
	target_ns_.reset();
	reached_(clock_.now_ms());
	return -1;
}

}  // namespace mmpy::host
