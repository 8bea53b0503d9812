// The supervisor alone, with a fake clock and fake hosts: what it decides when a host dies,
// will not start, goes silent or will not exit.
#include <catch2/catch.hpp>

#include "fakes.h"
#include "supervisor.h"

using namespace mmpy::shim;
using mmpy::shim::testing::FakeClock;
using mmpy::shim::testing::FakeHost;

namespace {

Outage outage_of(HostLoss::Kind kind) {
	Outage outage;
	outage.why = HostLoss{kind};
	return outage;
}

// Brings the first host up, as start() does.
void first_host_up(FakeHost& host, Supervisor& supervisor) {
	std::string error;
	int fd = host.open(error);
	REQUIRE(fd >= 0);
	close(fd);
	supervisor.up();
}

}  // namespace

TEST_CASE("a spawned host that dies during the show is reaped, then a new one is due at once", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(true);
	Supervisor supervisor(host, clock);
	first_host_up(host, supervisor);
	clock.ms += 60000;

	CHECK_FALSE(supervisor.lost(outage_of(HostLoss::Kind::Closed), false));  // told once reaped
	CHECK(supervisor.reaping());
	CHECK(host.killed == 0);
	Supervisor::Step waiting = supervisor.tick();
	CHECK_FALSE(waiting.report);
	CHECK_FALSE(waiting.attempt);

	host.ends_with = HostEnd{HostEnd::Kind::Exited, 1};
	Supervisor::Step reaped = supervisor.tick();
	REQUIRE(reaped.report);
	CHECK(reaped.report->outage.pid == 1001);
	CHECK(reaped.report->outage.why.kind == HostLoss::Kind::Closed);
	REQUIRE(reaped.report->outage.end);
	CHECK(reaped.report->outage.end->kind == HostEnd::Kind::Exited);
	CHECK(reaped.report->outage.end->code == 1);
	CHECK(reaped.report->retry.pause_ms == 0);
	CHECK(reaped.report->retry.judged == LostHost::RanTheShow);  // up for a minute
	CHECK(reaped.report->retry.failures == 0);
	CHECK_FALSE(reaped.report->retry.reconnect);
	CHECK(reaped.attempt);
	CHECK_FALSE(supervisor.reaping());
}

TEST_CASE("hosts killed every 2 s after handling inputs each come back at once", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(false);
	Supervisor supervisor(host, clock);
	for (int kill = 0; kill < 10; kill++) {
		supervisor.up();
		clock.ms += 2000;
		Outage outage = outage_of(HostLoss::Kind::Closed);
		outage.handled = 20000;
		std::optional<Supervisor::Report> report = supervisor.lost(outage, true);
		REQUIRE(report);
		CHECK(report->retry.pause_ms == 0);
		CHECK(report->retry.judged == LostHost::RanTheShow);
		CHECK(report->outage.handled == 20000);
		CHECK(supervisor.tick().attempt);
	}
}

TEST_CASE("a host that fails at every start is tried again with doubling pauses up to 10 s", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(false);
	Supervisor supervisor(host, clock);
	first_host_up(host, supervisor);
	clock.ms += 100;  // it dies soon after starting: not a healthy run

	std::optional<Supervisor::Report> first = supervisor.lost(outage_of(HostLoss::Kind::Closed), false);
	REQUIRE(first);
	std::vector<uint64_t> pauses{first->retry.pause_ms};
	host.fails_to_start = true;
	int attempts = 0;
	while (pauses.size() < 8) {
		clock.ms += 1;
		if (!supervisor.tick().attempt) {
			continue;
		}
		attempts++;
		std::string error;
		CHECK(host.open(error) < 0);
		Supervisor::Report failed = supervisor.attempt_failed(HostLoss{HostLoss::Kind::Unreachable, error});
		CHECK(failed.outage.attempt);
		CHECK(failed.retry.failures == pauses.size() + 1);
		pauses.push_back(failed.retry.pause_ms);
		CHECK(supervisor.until_attempt() == failed.retry.pause_ms);
	}
	CHECK(attempts == 7);
	CHECK(pauses == std::vector<uint64_t>{0, 500, 1000, 2000, 4000, 8000, 10000, 10000});
}

TEST_CASE("a host that sends nothing for 3 s is silent, and is killed when lost for it", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(true);
	Supervisor supervisor(host, clock);
	first_host_up(host, supervisor);

	clock.ms += Supervisor::kSilenceMs - 1;
	CHECK_FALSE(supervisor.silent());
	supervisor.heard();
	clock.ms += Supervisor::kSilenceMs - 1;
	CHECK_FALSE(supervisor.silent());
	clock.ms += 1;
	CHECK(supervisor.silent());

	host.ends_with = HostEnd{HostEnd::Kind::Signalled, 9};
	std::optional<Supervisor::Report> report =
	    supervisor.lost(outage_of(HostLoss::Kind::Silent), true);
	CHECK(host.killed == 1);
	REQUIRE(report);  // it ended at once: our kill
	CHECK(report->outage.killed);
	CHECK_FALSE(report->outage.killed_after_grace);
}

TEST_CASE("a lost host that does not exit is killed after the grace period", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(true);
	Supervisor supervisor(host, clock);
	first_host_up(host, supervisor);

	CHECK_FALSE(supervisor.lost(outage_of(HostLoss::Kind::Closed), false));
	clock.ms += Supervisor::kReapGraceMs - 1;
	CHECK_FALSE(supervisor.tick().report);
	CHECK(host.killed == 0);
	clock.ms += 1;
	CHECK_FALSE(supervisor.tick().report);  // killed now, reaped next time
	CHECK(host.killed == 1);
	Supervisor::Step step = supervisor.tick();
	REQUIRE(step.report);
	CHECK(step.report->outage.killed);
	CHECK(step.report->outage.killed_after_grace);
}

TEST_CASE("an attached host's loss is told at once, with a reconnect next", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(false);
	Supervisor supervisor(host, clock);
	first_host_up(host, supervisor);
	clock.ms += 60000;

	std::optional<Supervisor::Report> report = supervisor.lost(outage_of(HostLoss::Kind::Stopped), true);
	REQUIRE(report);
	CHECK(report->outage.pid == 0);
	CHECK_FALSE(report->outage.end);
	CHECK(report->retry.reconnect);
	CHECK(report->retry.pause_ms == 0);
	CHECK_FALSE(supervisor.reaping());
	CHECK(host.killed == 0);
}

TEST_CASE("a new host that does not finish its replay within 60 s is overdue", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(true);
	Supervisor supervisor(host, clock);
	supervisor.replaying();
	clock.ms += Supervisor::kStartMs - 1;
	CHECK_FALSE(supervisor.start_overdue());
	clock.ms += 1;
	CHECK(supervisor.start_overdue());
}

TEST_CASE("the time without a host is measured from the loss to the next host up", "[shim][supervisor]") {
	FakeClock clock;
	FakeHost host(false);
	Supervisor supervisor(host, clock);
	CHECK(supervisor.up() == 0);
	clock.ms += 20000;
	REQUIRE(supervisor.lost(outage_of(HostLoss::Kind::Closed), false));
	clock.ms += 37;
	CHECK(supervisor.up() == 37);
}
