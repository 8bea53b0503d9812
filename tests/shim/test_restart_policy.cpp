// The pauses between attempts to bring a lost host back, and how each lost host is judged.
#include <catch2/catch.hpp>

#include "restart_policy.h"

using mmpy::shim::LostHost;
using mmpy::shim::RestartPolicy;

TEST_CASE("a host that handled inputs ran the show: it comes back at once, every time", "[shim][restart]") {
	RestartPolicy policy;
	uint64_t now = 0;
	for (int kill = 0; kill < 20; kill++) {
		policy.host_up(now + 150);
		now += 2000;  // killed 2 s into each host's life, having handled inputs
		RestartPolicy::Decision decision = policy.next(now, 20000);
		CHECK(decision.pause_ms == 0);
		CHECK(decision.judged == LostHost::RanTheShow);
		CHECK(decision.failures == 0);
	}
}

TEST_CASE("a host that keeps failing to start is retried with doubling pauses up to 10 s", "[shim][restart]") {
	RestartPolicy policy;
	uint64_t now = 1000;
	std::vector<uint64_t> pauses;
	for (int attempt = 0; attempt < 8; attempt++) {
		RestartPolicy::Decision decision = policy.next(now, 0);
		CHECK(decision.judged == LostHost::NotStarted);
		CHECK(decision.failures == static_cast<unsigned>(attempt + 1));
		pauses.push_back(decision.pause_ms);
		now += decision.pause_ms + 100;  // each new host dies 100 ms after it was started
	}
	CHECK(pauses == std::vector<uint64_t>{0, 500, 1000, 2000, 4000, 8000, 10000, 10000});
}

TEST_CASE("hosts that come up but die on their first input back off as before", "[shim][restart]") {
	RestartPolicy policy;
	policy.host_up(0);
	CHECK(policy.next(60000, 90000).judged == LostHost::RanTheShow);  // the show's host, then a poison input
	policy.host_up(60200);
	RestartPolicy::Decision next = policy.next(60300, 0);  // the poison again, on arrival
	CHECK(next.judged == LostHost::HandledNothing);
	CHECK(next.pause_ms == 500);
	CHECK(next.failures == 2);
	policy.host_up(61000);
	CHECK(policy.next(61100, 0).pause_ms == 1000);
	policy.host_up(62300);
	CHECK(policy.next(62400, 0).pause_ms == 2000);
}

TEST_CASE("after a host that ran the show, failing to start backs off from the start again", "[shim][restart]") {
	RestartPolicy policy;
	policy.next(0, 0);
	policy.next(100, 0);
	policy.host_up(700);
	CHECK(policy.next(900, 5).judged == LostHost::RanTheShow);
	CHECK(policy.next(1000, 0).pause_ms == 500);  // its successor could not start
	CHECK(policy.next(1600, 0).pause_ms == 1000);
}

TEST_CASE("a host that stayed up 10 s ran the show even without inputs", "[shim][restart]") {
	RestartPolicy policy;
	policy.next(0, 0);
	policy.next(100, 0);
	policy.host_up(2000);
	RestartPolicy::Decision decision = policy.next(12000, 0);
	CHECK(decision.judged == LostHost::RanTheShow);
	CHECK(decision.pause_ms == 0);
	policy.host_up(12100);
	CHECK(policy.next(15000, 0).judged == LostHost::HandledNothing);
}
