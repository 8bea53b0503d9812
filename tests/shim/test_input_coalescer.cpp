// The input coalescer alone: however many inputs, one held entry per channel.
#include <catch2/catch.hpp>

#include "input_coalescer.h"

using mmpy::shim::InputCoalescer;

TEST_CASE("100000 inputs over 100 channels are held as 100 entries, released once each", "[shim][coalescer]") {
	InputCoalescer held;
	for (uint32_t i = 0; i < 100000; i++) {
		held.hold((i * 7) % 100);
	}
	CHECK(held.channels() == 100);
	CHECK(held.events() == 100000);
	std::vector<uint32_t> released;
	held.release([&](uint32_t id) { released.push_back(id); });
	REQUIRE(released.size() == 100);
	CHECK(released[0] == 0);
	CHECK(released[1] == 7);  // in the order they were first held
	std::sort(released.begin(), released.end());
	CHECK(std::adjacent_find(released.begin(), released.end()) == released.end());
	CHECK(held.empty());
	CHECK(held.events() == 0);
	CHECK_FALSE(held.holds(7));
}

TEST_CASE("a channel held again after a release is held once more", "[shim][coalescer]") {
	InputCoalescer held;
	held.hold(3);
	held.release([](uint32_t) {});
	held.hold(3);
	held.hold(3);
	CHECK(held.channels() == 1);
	CHECK(held.events() == 2);
	CHECK(held.holds(3));
}
