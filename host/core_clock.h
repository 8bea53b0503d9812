// The core's millisecond clock as the host estimates it: the last timestamp the shim sent,
// advanced by the host's own monotonic clock since. Read from any thread (the watchdog
// stamps its heartbeats with it); set by the loop thread whenever a frame carries one.
//
// Under the test harness (ShimHello::virtual_clock) it is virtual instead: it stands still
// but when VirtualTime moves it, and the timestamps frames carry are ignored.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>

namespace mmpy::host {

class CoreClock {
public:
	// The arithmetic wraps in unsigned integers: the shim's timestamps are any 64-bit value,
	// and signed overflow would be undefined (found by fuzz_host_session).
	uint64_t now_ms() const { return now_ns() / 1000000; }

	uint64_t now_ns() const {
		if (virtual_.load(std::memory_order_relaxed)) {
			return virtual_ns_.load(std::memory_order_relaxed);
		}
		auto now = static_cast<int64_t>(uv_hrtime() + static_cast<uint64_t>(offset_ns_.load(std::memory_order_relaxed)));
		return now > 0 ? static_cast<uint64_t>(now) : 0;
	}

	void set(uint64_t timestamp_ms) {
		offset_ns_.store(static_cast<int64_t>(timestamp_ms * 1000000 - uv_hrtime()), std::memory_order_relaxed);
	}

	void make_virtual(uint64_t start_ms) {
		virtual_ns_.store(start_ms * 1000000, std::memory_order_relaxed);
		virtual_.store(true, std::memory_order_relaxed);
	}
	bool is_virtual() const { return virtual_.load(std::memory_order_relaxed); }
	// Virtual only; never backwards.
	void move_to_ns(uint64_t ns) {
		if (ns > virtual_ns_.load(std::memory_order_relaxed)) {
			virtual_ns_.store(ns, std::memory_order_relaxed);
		}
	}

private:
	// The core's clock in ns minus uv_hrtime() when it was last heard: one atomic, so that
	// another thread reads a consistent value.
	std::atomic<int64_t> offset_ns_{0};
	std::atomic<bool> virtual_{false};
	std::atomic<uint64_t> virtual_ns_{0};
};

}  // namespace mmpy::host
