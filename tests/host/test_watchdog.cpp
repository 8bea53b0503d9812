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

namespace {

// The shim's end: every heartbeat's handled count, in the order they arrived.
struct Shim {
	int fd = -1;
	protocol::FrameDecoder decoder;
	std::vector<uint64_t> handled;

	void read_available() {
		for (;;) {
			auto space = decoder.prepare(64 * 1024);
			ssize_t n = recv(fd, space.data(), space.size(), MSG_DONTWAIT);
			if (n <= 0) {
				break;
			}
			decoder.commit(static_cast<size_t>(n));
		}
		protocol::Frame frame;
		while (decoder.next(frame) == protocol::FrameDecoder::Status::Ready) {
			protocol::Heartbeat beat;
			std::string error;
			if (frame.type == protocol::FrameType::Heartbeat && protocol::parse(frame.payload, beat, error)) {
				handled.push_back(beat.handled);
			}
		}
	}
};

}  // namespace

// The shim judges a lost host by the last count it heard (RestartPolicy): a count read by the
// watchdog thread before a handler returned must not arrive after the loop thread's newer one.
TEST_CASE("heartbeats from both threads arrive with their handled counts rising", "[host][watchdog]") {
	uv_loop_t loop{};
	REQUIRE(uv_loop_init(&loop) == 0);
	int pair[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
	Shim shim;
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
	REQUIRE(shim.handled.size() > counted);  // every loop-thread beat, and the watchdog's own
	CHECK(shim.handled.back() == counted);
	size_t fallen = 0;
	for (size_t i = 1; i < shim.handled.size(); i++) {
		fallen += shim.handled[i] < shim.handled[i - 1];
	}
	CHECK(fallen == 0);

	connection.close();
	uv_run(&loop, UV_RUN_NOWAIT);
	close(shim.fd);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
}
