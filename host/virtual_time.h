// The test harness's time (mm_pyhost.testing, ShimHello::virtual_clock): the show's clock
// stands still until an Advance frame asks for a later time. Then, each time the loop has
// nothing ready, the clock jumps to the next thing due on the way (an interval tick or an
// asyncio timer: sleep(), fades, call_later), which runs before the clock moves on; once
// nothing is due before the time asked for, the clock stops there and the shim is told.
// So timed behaviour runs exactly, in order, and as fast as the code runs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core_clock.h"
#include "scheduler.h"

namespace mmpy::host {

class VirtualTime {
public:
	// `reached` runs once the clock has stopped at the time an Advance asked for (ms).
	VirtualTime(CoreClock& clock, Scheduler& scheduler, std::function<void(uint64_t now_ms)> reached)
	    : clock_(clock), scheduler_(scheduler), reached_(std::move(reached)) {}

	// An Advance to `to_ms`; false with `error` if that is before the clock.
	bool advance_to(uint64_t to_ms, std::string& error);

	// The loop has nothing ready and asyncio's next timer is `asyncio_due_in_ns` away (none:
	// no timer): moves the clock as far as it may go now and runs the intervals due there.
	// Returns how long the loop may then wait for I/O, in ns: 0 when what is due must run
	// first, -1 (no limit) when the clock is where it was asked to be.
	int64_t step(std::optional<int64_t> asyncio_due_in_ns);

private:
	CoreClock& clock_;
	Scheduler& scheduler_;
	std::function<void(uint64_t)> reached_;
	std::optional<uint64_t> target_ns_;
};

}  // namespace mmpy::host
