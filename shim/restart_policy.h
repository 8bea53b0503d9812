// When to try again after a host was lost. A host that ran the show (it was up and had
// handled input events, or had stayed up kStableMs) comes back at once, every time: a crash
// in an extension module or a kill costs the show a restart, never a pause. A host that could
// not start (lost before it was up, or up but lost before it had handled anything) is tried
// again after a pause that doubles while that goes on (none for the very first host of a
// show, whose loss is also the first in a row), so that a
// module that crashes on import, a broken install, or an input that kills every host on
// arrival cannot turn into a restart storm.
#pragma once

#include <cstdint>
#include <optional>

#include "outcomes.h"

namespace mmpy::shim {

class RestartPolicy {
public:
	// A host that stayed up this long ran the show, even if no input came meanwhile.
	static constexpr uint64_t kStableMs = 10000;
	static constexpr uint64_t kFirstPauseMs = 500;
	static constexpr uint64_t kLongestPauseMs = 10000;

	// The host was lost, or an attempt to bring it back failed, at `now` (ms); `handled`: the
	// input events the lost host had confirmed handling (its heartbeats), 0 for an attempt.
	struct Decision {
		uint64_t pause_ms = 0;
		unsigned failures = 0;  // in a row, counting this one; 0 after a host that ran the show
		LostHost judged = LostHost::NotStarted;
	};
	Decision next(uint64_t now, uint64_t handled);

	// The host answered its start at `now`.
	void host_up(uint64_t now);

private:
	unsigned failures_ = 0;
	std::optional<uint64_t> up_since_;
};

}  // namespace mmpy::shim
