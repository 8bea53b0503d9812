// Watches an instance's host during the show and paces bringing a lost one back: it notices
// a host that went silent or did not finish starting, reaps a lost host before the next one
// starts (so two never run the same instance's Python), and asks RestartPolicy for the pause
// before each attempt. It owns no socket: the instance closes the connection and starts the
// next host when told to.
#pragma once

#include <cstdint>
#include <optional>

#include "clock.h"
#include "host_reach.h"
#include "outcomes.h"
#include "restart_policy.h"

namespace mmpy::shim {

class Supervisor {
public:
	// A healthy host says it is alive every 250 ms; this much silence means it hangs.
	static constexpr uint64_t kSilenceMs = 3000;
	// A lost host that has not exited after this long is killed.
	static constexpr uint64_t kReapGraceMs = 1000;
	// A host has this long to import its modules and start: at configuration time, and a
	// new host to answer its replay.
	static constexpr uint64_t kStartMs = 60000;

	// One outage, ready to be logged, and what comes next.
	struct Report {
		Outage outage;
		Retry retry;
	};

	Supervisor(HostReach& reach, const Clock& clock) : reach_(reach), clock_(clock) {}

	// A host is up: the show's first one answered Started, or a new one finished its replay.
	// Returns how long the instance was without one.
	uint64_t up();

	// The host sent something.
	void heard() { heard_at_ = clock_.now(); }
	bool silent() const { return clock_.now() - heard_at_ >= kSilenceMs; }

	// A new host was given the replay; its answers are due within kStartMs.
	void replaying();
	bool start_overdue() const { return clock_.now() >= start_deadline_; }

	// The host was lost during the show; the instance has closed the connection. A host the
	// shim must reap is let go (killed first if `kill`) and told of by tick() once it has
	// ended; any other outage is told at once.
	std::optional<Report> lost(Outage outage, bool kill);

	// An attempt to bring the host back failed.
	Report attempt_failed(HostLoss why);

	// While the host is down, every core iteration: reaps the lost host (killing it after
	// kReapGraceMs), and says when the next attempt is due.
	struct Step {
		std::optional<Report> report;  // the outage has ended: log it
		bool attempt = false;          // start (or reach) a new host now
	};
	Step tick();

	// While down: a lost host is still being reaped; else the ms until the next attempt.
	bool reaping() const { return reaping_.has_value(); }
	uint64_t until_attempt() const;

private:
	Report schedule(Outage outage);

	HostReach& reach_;
	const Clock& clock_;
	RestartPolicy restart_;
	uint64_t heard_at_ = 0;
	uint64_t lost_at_ = 0;
	uint64_t start_deadline_ = 0;
	uint64_t retry_at_ = 0;
	std::optional<Outage> reaping_;  // told once its host has ended
};

}  // namespace mmpy::shim
