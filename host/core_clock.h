// The core's millisecond clock as the host estimates it: the last timestamp the shim sent,
// advanced by the host's own monotonic clock since. Read from any thread (the watchdog
// stamps its heartbeats with it); set by the loop thread whenever a frame carries one.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>

namespace mmpy::host {

class CoreClock {
public:
	// The arithmetic wraps in unsigned integers: the shim's timestamps are any 64-bit value,
	// and signed overflow would be undefined (found by fuzz_host_session).
	uint64_t now_ms() const {
		auto now = static_cast<int64_t>(uv_hrtime() + static_cast<uint64_t>(offset_ns_.load(std::memory_order_relaxed)));
		return now > 0 ? static_cast<uint64_t>(now) / 1000000 : 0;
	}

	void set(uint64_t timestamp_ms) {
		offset_ns_.store(static_cast<int64_t>(timestamp_ms * 1000000 - uv_hrtime()), std::memory_order_relaxed);
	}

private:
	// The core's clock in ns minus uv_hrtime() when it was last heard: one atomic, so that
	// another thread reads a consistent value.
	std::atomic<int64_t> offset_ns_{0};
};

}  // namespace mmpy::host
