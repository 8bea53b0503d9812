#include "supervisor.h"

#include <signal.h>

namespace mmpy::shim {

uint64_t Supervisor::up() {
	uint64_t now = clock_.now();
	restart_.host_up(now);
	heard_at_ = now;
	return lost_at_ > 0 ? now - lost_at_ : 0;
}

void Supervisor::replaying() {
	uint64_t now = clock_.now();
	start_deadline_ = now + kStartMs;
	heard_at_ = now;
}

std::optional<Supervisor::Report> Supervisor::lost(Outage outage, bool kill) {
	lost_at_ = clock_.now();
	outage.pid = reach_.pid();
	if (outage.pid == 0) {
		return schedule(std::move(outage));
	}
	outage.killed = kill;
	reach_.let_go(kill);
	reaping_ = std::move(outage);
	return tick().report;
}

Supervisor::Report Supervisor::attempt_failed(HostLoss why) {
	Outage outage;
	outage.why = std::move(why);
	outage.attempt = true;
	return schedule(std::move(outage));
}

Supervisor::Step Supervisor::tick() {
	Step step;
	uint64_t now = clock_.now();
	if (reaping_) {
		if (auto end = reach_.reap()) {
			reaping_->end = end;
			step.report = schedule(std::move(*reaping_));
			reaping_.reset();
		} else {
			if (now - lost_at_ >= kReapGraceMs && !reaping_->killed) {
				reach_.kill_let_go();
				reaping_->killed = true;
				reaping_->killed_after_grace = true;
			}
			return step;
		}
	}
	step.attempt = now >= retry_at_;
	return step;
}

uint64_t Supervisor::until_attempt() const {
	uint64_t now = clock_.now();
	return retry_at_ > now ? retry_at_ - now : 0;
}

Supervisor::Report Supervisor::schedule(Outage outage) {
	uint64_t now = clock_.now();
	RestartPolicy::Decision decision = restart_.next(now, outage.handled);
	Retry retry;
	retry.pause_ms = decision.pause_ms;
	retry.failures = decision.failures;
	retry.judged = decision.judged;
	retry.reconnect = reach_.reconnects();
	retry_at_ = now + retry.pause_ms;
	return {std::move(outage), retry};
}

}  // namespace mmpy::shim
