// ShimInstance as a whole, with a fake host and the smallest core that the shim's calls need
// (mm_channel, mm_manage_fd, mm_channel_event, mm_timestamp, log_printf): what the core
// never sees in an end-to-end test, such as the outbox under a host that drains slowly.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cstdarg>
#include <memory>

#include "control.h"
#include "fakes.h"
#include "shim_instance.h"

using namespace mmpy::shim;

namespace {

struct FakeCore {
	std::vector<std::unique_ptr<channel>> channels;
	uint64_t now = 1000000;
	size_t events = 0;
};
FakeCore* core = nullptr;

}  // namespace

extern "C" {

channel* mm_channel(instance* inst, uint64_t ident, uint8_t) {
	while (core->channels.size() <= ident) {
		core->channels.push_back(std::make_unique<channel>(channel{inst, core->channels.size(), nullptr}));
	}
	return core->channels[ident].get();
}

int mm_channel_event(channel*, channel_value) {
	core->events++;
	return 0;
}

uint64_t mm_timestamp(void) {
	return core->now;
}

int mm_manage_fd(int, char*, int, void*) {
	return 0;
}

int log_printf(int, char*, char*, ...) {
	return 0;
}

}  // extern "C"

namespace {

struct CoreClock final : Clock {
	uint64_t now() const override { return mm_timestamp(); }
};

}  // namespace

TEST_CASE("a host that drains slowly makes the shim hold inputs per channel, its outbox never growing",
          "[shim][instance]") {
	FakeCore fake;
	core = &fake;
	CoreClock clock;
	char name[4] = "py1";
	instance inst{nullptr, 1, nullptr, name};
	auto reach = std::make_unique<testing::FakeHost>(false);
	testing::FakeHost& host = *reach;
	ShimInstance shim(&inst, std::move(reach), clock);
	inst.impl = &shim;

	// The host's hello and Started wait in the socket before the shim asks for them.
	mmpy::protocol::encode(host.first_words, mmpy::protocol::HostHello{});
	mmpy::protocol::encode(host.first_words, mmpy::protocol::Started{});
	std::string error;
	REQUIRE(shim.connect(error));
	std::vector<channel*> channels;
	for (int i = 0; i < 100; i++) {
		channels.push_back(shim.map_channel("c" + std::to_string(i), error));
	}
	REQUIRE(shim.start(error));
	size_t reserved = shim.outbox_capacity();
	CHECK(reserved >= HostLink::kOutboxReserve);

	// 400 000 events, 2000 per core iteration, while the host takes 4 KiB per iteration:
	// the socket fills, then the outbox, then inputs are held. (With the hold-back limit on
	// unsent bytes only, the outbox grew to 1 MiB here.)
	std::vector<channel_value> values(2000);
	std::vector<channel*> targets(2000);
	bool held = false;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < targets.size(); i++) {
			targets[i] = channels[(round * 2000 + i) % 100];
			values[i].normalised = static_cast<double>(i) / 2000.0;
		}
		shim.deliver(targets.size(), targets.data(), values.data());
		held = held || shim.held_channels() > 0;
		CHECK(shim.held_channels() <= 100);
		uint8_t sink[4096];
		(void)recv(host.host_ends[0], sink, sizeof sink, MSG_DONTWAIT);
		fake.now += 1;
		shim.tick();
	}
	CHECK(held);
	CHECK(shim.outbox_capacity() == reserved);
	CHECK(shim.phase() == ShimInstance::Phase::Up);
	core = nullptr;
}
