// When to try again after a host was lost: at once the first time, then with a growing
// pause while it keeps failing soon after starting, so a host that dies at start-up
// (a module that crashes on import, a broken install) cannot turn into a restart storm.
#pragma once

#include <cstdint>
#include <optional>

namespace mmpy::shim {

class RestartPolicy {
public:
	// A host that stayed up this long was healthy; its next loss restarts at once again.
	static constexpr uint64_t kStableMs = 10000;
	static constexpr uint64_t kFirstPauseMs = 500;
	static constexpr uint64_t kLongestPauseMs = 10000;

	// The host was lost, or an attempt to bring it back failed, at `now` (ms). Returns the
	// pause before the next attempt.
	uint64_t next_pause(uint64_t now);

	// The host answered its start at `now`: the clock for "stayed up" starts.
	void host_up(uint64_t now);

	// Failures in a row so far, counting the one next_pause() was last told about.
	unsigned failures() const { return failures_; }

private:
	unsigned failures_ = 0;
	std::optional<uint64_t> up_since_;
};

}  // namespace mmpy::shim
