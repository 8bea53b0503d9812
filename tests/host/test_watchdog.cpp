// The host's Watchdog on its own: its heartbeats through a real Connection on a socketpair,
// read by the test as the shim reads them.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "connection.h"
#include "control.h"
#include "core_clock.h"
#include "shim_peer.h"
#include "watchdog.h"
#include "wire.h"

namespace mmpy::host {
// The watchdog logs here only once its connection is gone, which these tests never see.
void log_line(const std::string&) {}
}  // namespace mmpy::host

namespace protocol = mmpy::protocol;
using mmpy::host::Connection;
using mmpy::host::ConnectionEnd;
using mmpy::host::CoreClock;
using mmpy::host::Watchdog;
using mmpy::test::Peer;

namespace {

// The handled count of every heartbeat the shim's end read, in the order they arrived.
std::vector<uint64_t> handled_counts(const Peer& shim) {
	std::vector<uint64_t> counts;
	for (const auto& frame : shim.frames) {
		protocol::Heartbeat beat;
		std::string error;
		if (frame.type == protocol::FrameType::Heartbeat && protocol::parse(frame.payload, beat, error)) {
			counts.push_back(beat.handled);
		}
	}
	return counts;
}

}  // namespace

// The shim judges a lost host by the last count it heard (RestartPolicy): a count read by the
// watchdog thread before a handler returned must not arrive after the loop thread's newer one.
TEST_CASE("heartbeats from both threads arrive with their handled counts rising", "[host][watchdog]") {
	uv_loop_t loop{};
	REQUIRE(uv_loop_init(&loop) == 0);
	int pair[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
	Peer shim;
	shim.fd = pair[0];
	std::vector<ConnectionEnd> ends;
	Connection connection(
	    &loop, [](const protocol::Frame&) { return true; }, [] {}, [&](const ConnectionEnd& end) { ends.push_back(end); });
	std::string error;
	REQUIRE(connection.open(pair[1], error));
	CoreClock clock;
	Watchdog watchdog(connection, clock);
	REQUIRE(watchdog.start(error));

	// The loop thread's part, as the host's Session does it: an input handled, then a beat;
	// meanwhile the watchdog thread beats on its own every 250 ms.
	auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1100);
	while (std::chrono::steady_clock::now() < until) {
		watchdog.count_handled();
		watchdog.beat();
		uv_run(&loop, UV_RUN_NOWAIT);
		shim.read_available();
	}
	watchdog.stop();
	uv_run(&loop, UV_RUN_NOWAIT);
	shim.read_available();

	CHECK(ends.empty());
	uint64_t counted = watchdog.handled();
	std::vector<uint64_t> handled = handled_counts(shim);
	REQUIRE(handled.size() > counted);  // every loop-thread beat, and the watchdog's own
	CHECK(handled.back() == counted);
	size_t fallen = 0;
	for (size_t i = 1; i < handled.size(); i++) {
		fallen += handled[i] < handled[i - 1];
	}
	CHECK(fallen == 0);

	connection.close();
	uv_run(&loop, UV_RUN_NOWAIT);
	close(shim.fd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}
