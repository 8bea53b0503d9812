// ShimInstance as a whole, with a fake host and the smallest core that the shim's calls need
// (mm_channel, mm_manage_fd, mm_channel_event, mm_timestamp, log_printf): what the core
// never sees in an end-to-end test, such as the outbox under a host that drains slowly.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
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
	std::vector<std::string> log;  // "INSTANCE: text", without the newline
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

int log_printf(int, char*, char* format, ...) {
	va_list args;
	va_start(args, format);
	va_list again;
	va_copy(again, args);
	size_t length = static_cast<size_t>(std::max(0, std::vsnprintf(nullptr, 0, format, args)));
	std::string text(length + 1, '\0');
	std::vsnprintf(text.data(), text.size(), format, again);
	va_end(again);
	va_end(args);
	text.resize(length);
	if (!text.empty() && text.back() == '\n') {
		text.pop_back();
	}
	if (core) {
		core->log.push_back(text);
	}
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

namespace {

template <typename Message>
std::vector<uint8_t> frame(const Message& message) {
	std::vector<uint8_t> bytes;
	mmpy::protocol::encode(bytes, message);
	return bytes;
}

// The show runs: an instance whose host (attached, so there is nothing to reap) answered its
// hello and Started, having sent `before_start` in between.
struct Show {
	FakeCore fake;
	CoreClock clock;
	char name[4] = "py1";
	instance inst{nullptr, 1, nullptr, name};
	testing::FakeHost* host = nullptr;
	std::unique_ptr<ShimInstance> shim;

	explicit Show(const std::vector<uint8_t>& before_start = {}) {
		core = &fake;
		auto reach = std::make_unique<testing::FakeHost>(false);
		host = reach.get();
		host->first_words = frame(mmpy::protocol::HostHello{});
		host->first_words.insert(host->first_words.end(), before_start.begin(), before_start.end());
		mmpy::protocol::encode(host->first_words, mmpy::protocol::Started{});
		shim = std::make_unique<ShimInstance>(&inst, std::move(reach), clock);
		inst.impl = shim.get();
		std::string error;
		REQUIRE(shim->connect(error));
		REQUIRE(shim->start(error));
	}
	~Show() {
		shim.reset();
		core = nullptr;
	}

	// The current host sends `bytes` and the shim reads them.
	void host_sends(const std::vector<uint8_t>& bytes) {
		REQUIRE(write(host->host_ends.back(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
		shim->on_readable();
	}
	// The current host crashes: its end of the connection closes.
	void host_crashes() {
		::shutdown(host->host_ends.back(), SHUT_RDWR);
		shim->on_readable();
	}
	size_t lines_containing(const std::string& part) const {
		return std::count_if(fake.log.begin(), fake.log.end(),
		                     [&](const std::string& line) { return line.find(part) != std::string::npos; });
	}
};

const char* const kSequencesGone = "these sequences were running when the host was lost";

}  // namespace

TEST_CASE("a host lost during the show is followed by one line naming the sequences it ran", "[shim][instance][tasks]") {
	Show show;
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.chase", 1}, {"show.cue_list", 2}}, 3}));
	show.host_crashes();
	CHECK(show.shim->phase() == ShimInstance::Phase::Down);
	CHECK(show.lines_containing(kSequencesGone) == 1);
	REQUIRE(show.fake.log.size() >= 2);
	CHECK(show.fake.log.back() ==
	      "py1: these sequences were running when the host was lost and are gone: show.chase, show.cue_list (2 running), "
	      "and 3 others");
	CHECK(show.fake.log.end()[-2].rfind("py1: lost the host: ", 0) == 0);
}

TEST_CASE("the sequences named are those of the host's last tasks frame", "[shim][instance][tasks]") {
	Show show;
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.chase", 1}, {"show.fade", 4}}, 0}));
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.fade", 1}}, 0}));
	show.host_crashes();
	CHECK(show.lines_containing(kSequencesGone) == 1);
	CHECK(show.fake.log.back() == "py1: these sequences were running when the host was lost and are gone: show.fade");
}

TEST_CASE("a host whose last tasks frame was empty is lost without a line about sequences", "[shim][instance][tasks]") {
	Show show;
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.chase", 1}}, 0}));
	show.host_sends(frame(mmpy::protocol::Tasks{}));
	show.host_crashes();
	CHECK(show.shim->phase() == ShimInstance::Phase::Down);
	CHECK(show.lines_containing("lost the host") == 1);
	CHECK(show.lines_containing(kSequencesGone) == 0);
}

TEST_CASE("a clean shutdown logs no sequences, whatever ran", "[shim][instance][tasks]") {
	Show show;
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.chase", 1}}, 2}));
	std::vector<uint8_t> bye;
	mmpy::protocol::encode_empty(bye, mmpy::protocol::FrameType::Bye);
	REQUIRE(write(show.host->host_ends.back(), bye.data(), bye.size()) == static_cast<ssize_t>(bye.size()));
	show.shim->shutdown();
	CHECK(show.shim->phase() == ShimInstance::Phase::Stopped);
	CHECK_FALSE(show.shim->connected());
	CHECK(show.lines_containing(kSequencesGone) == 0);
	CHECK(show.fake.log.size() == 1);  // the hello's "ready" line
}

TEST_CASE("sequences a module started at import time are named when the host is lost", "[shim][instance][tasks]") {
	Show show(frame(mmpy::protocol::Tasks{{{"show.intro", 1}}, 0}));
	show.host_crashes();
	CHECK(show.lines_containing(kSequencesGone) == 1);
	CHECK(show.fake.log.back() == "py1: these sequences were running when the host was lost and are gone: show.intro");
}

TEST_CASE("a new host starts with no sequences: a second loss names none", "[shim][instance][tasks]") {
	Show show;
	show.host_sends(frame(mmpy::protocol::Tasks{{{"show.chase", 1}}, 0}));
	show.host_crashes();
	REQUIRE(show.shim->phase() == ShimInstance::Phase::Down);
	show.shim->tick();  // after a first loss, a new host at once
	REQUIRE(show.shim->phase() == ShimInstance::Phase::Replaying);
	show.shim->on_readable();  // its hello and Started wait in the socket
	REQUIRE(show.shim->phase() == ShimInstance::Phase::Up);
	CHECK(show.host->opened == 2);
	show.host_crashes();
	CHECK(show.lines_containing("lost the host") == 2);
	CHECK(show.lines_containing(kSequencesGone) == 1);
}

TEST_CASE("a tasks frame that does not parse loses the host like any malformed frame", "[shim][instance][tasks]") {
	Show show;
	std::string body = R"({"running": 5, "others": 0})";
	std::vector<uint8_t> bad;
	mmpy::protocol::append_header(bad, mmpy::protocol::FrameType::Tasks, static_cast<uint32_t>(body.size()));
	bad.insert(bad.end(), body.begin(), body.end());
	show.host_sends(bad);
	CHECK(show.shim->phase() == ShimInstance::Phase::Down);
	CHECK_FALSE(show.shim->connected());
	CHECK(show.lines_containing(
	          "lost the host: malformed tasks frame: malformed control message: field 'running' must be a list") == 1);
}
