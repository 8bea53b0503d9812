// The pauses between attempts to bring a lost host back.
#include <catch2/catch.hpp>

#include "restart_policy.h"

using mmpy::shim::RestartPolicy;

TEST_CASE("the first restart after a healthy run is immediate", "[shim][restart]") {
	RestartPolicy policy;
	policy.host_up(0);
	CHECK(policy.next_pause(60000) == 0);
}

TEST_CASE("a host that keeps failing soon after starting is retried with doubling pauses up to 10 s",
          "[shim][restart]") {
	RestartPolicy policy;
	uint64_t now = 1000;
	std::vector<uint64_t> pauses;
	for (int attempt = 0; attempt < 8; attempt++) {
		pauses.push_back(policy.next_pause(now));
		now += pauses.back() + 100;  // each new host dies 100 ms after it was started
	}
	CHECK(pauses == std::vector<uint64_t>{0, 500, 1000, 2000, 4000, 8000, 10000, 10000});
	CHECK(policy.failures() == 8);
}

TEST_CASE("a host that came up but died within 10 s still counts as failing", "[shim][restart]") {
	RestartPolicy policy;
	CHECK(policy.next_pause(0) == 0);
	policy.host_up(100);
	CHECK(policy.next_pause(5000) == 500);
	policy.host_up(5600);
	CHECK(policy.next_pause(9000) == 1000);
}

TEST_CASE("a host that stayed up 10 s is healthy again: its next loss restarts at once", "[shim][restart]") {
	RestartPolicy policy;
	policy.next_pause(0);
	policy.next_pause(100);
	policy.next_pause(700);
	policy.host_up(2000);
	CHECK(policy.next_pause(12000) == 0);
	CHECK(policy.failures() == 1);
}
