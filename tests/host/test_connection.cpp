// The host's Connection on its own: a socketpair, a libuv loop on this thread, and the test
// as the shim at the other end. Outcomes are checked as values (kinds and counts).
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connection.h"
#include "control.h"
#include "shim_peer.h"
#include "wire.h"

namespace protocol = mmpy::protocol;
using mmpy::host::Connection;
using mmpy::host::ConnectionEnd;
using mmpy::test::Peer;
using protocol::FrameType;

namespace {

using Clock = std::chrono::steady_clock;

std::vector<uint8_t> heartbeat(uint64_t timestamp, uint64_t handled) {
	std::vector<uint8_t> bytes;
	protocol::encode(bytes, protocol::Heartbeat{timestamp, handled});
	return bytes;
}

// A Connection serving one end of a socketpair on a loop of its own.
struct Harness {
	uv_loop_t loop{};
	Peer peer;
	std::unique_ptr<Connection> connection;
	std::vector<FrameType> frames;  // what the Connection handed on
	int idles = 0;
	std::vector<ConnectionEnd> ends;
	bool accept_frames = true;

	Harness() {
		REQUIRE(uv_loop_init(&loop) == 0);
		int pair[2];
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
		peer.fd = pair[0];
		connection = std::make_unique<Connection>(
		    &loop,
		    [this](const protocol::Frame& frame) {
			    frames.push_back(frame.type);
			    return accept_frames;
		    },
		    [this] { idles++; }, [this](const ConnectionEnd& end) { ends.push_back(end); });
		std::string error;
		REQUIRE(connection->open(pair[1], error));
	}

	~Harness() {
		if (ends.empty()) {
			connection->close();
			run_until([this] { return !ends.empty(); });
		}
		uv_run(&loop, UV_RUN_NOWAIT);
		connection.reset();
		uv_loop_close(&loop);
		close(peer.fd);
	}

	// Runs the loop (and reads as the shim) until `done` or `limit` has passed.
	bool run_until(const std::function<bool()>& done, Clock::duration limit = std::chrono::seconds(5)) {
		auto deadline = Clock::now() + limit;
		while (!done()) {
			if (Clock::now() > deadline) {
				return false;
			}
			pollfd ready[2] = {{uv_backend_fd(&loop), POLLIN, 0}, {peer.fd, POLLIN, 0}};
			poll(ready, 2, 10);
			uv_run(&loop, UV_RUN_NOWAIT);
			peer.read_available();
		}
		return true;
	}

	bool ended() { return run_until([this] { return !ends.empty(); }); }
};

}  // namespace

TEST_CASE("a connection hands on every frame of one read, then goes idle once", "[host][connection]") {
	Harness h;
	std::vector<uint8_t> bytes;
	protocol::encode(bytes, protocol::ShimHello{});
	protocol::encode(bytes, protocol::Configure{"module", "m"});
	protocol::encode(bytes, protocol::Heartbeat{1, 0});
	h.peer.write_all(bytes);
	REQUIRE(h.run_until([&] { return h.frames.size() == 3; }));
	CHECK(h.frames == std::vector<FrameType>{FrameType::Hello, FrameType::Configure, FrameType::Heartbeat});
	CHECK(h.idles == 1);
	CHECK(h.ends.empty());
}

TEST_CASE("a connection writes the frames it is given, whole and in order", "[host][connection]") {
	Harness h;
	std::vector<uint8_t> bytes;
	protocol::encode(bytes, protocol::Log{0, "one"});
	protocol::encode_empty(bytes, FrameType::Bye);
	h.connection->send(bytes);
	h.connection->send(heartbeat(7, 1));
	REQUIRE(h.run_until([&] { return h.peer.frames.size() == 3; }));
	CHECK(h.peer.frames[0].type == FrameType::Log);
	CHECK(h.peer.frames[1].type == FrameType::Bye);
	CHECK(h.peer.frames[2].type == FrameType::Heartbeat);
}

TEST_CASE("frames sent from another thread arrive whole, each thread's in order", "[host][connection]") {
	Harness h;
	// More than the socket holds, so bytes wait and the loop thread is woken to write them.
	constexpr uint64_t kThreads = 2;
	constexpr uint64_t kFrames = 2000;
	std::vector<std::thread> senders;
	for (uint64_t thread = 0; thread < kThreads; thread++) {
		senders.emplace_back([&h, thread] {
			std::string padding(1000, 'x');
			for (uint64_t i = 0; i < kFrames; i++) {
				std::vector<uint8_t> frame = heartbeat(thread, i);
				protocol::encode(frame, protocol::Log{0, padding});
				h.connection->send(frame);
			}
		});
	}
	bool all = h.run_until([&] { return h.peer.frames.size() == 2 * kThreads * kFrames; });
	for (std::thread& sender : senders) {
		sender.join();
	}
	REQUIRE(all);
	std::vector<uint64_t> next(kThreads, 0);
	for (size_t i = 0; i < h.peer.frames.size(); i += 2) {
		REQUIRE(h.peer.frames[i].type == FrameType::Heartbeat);
		REQUIRE(h.peer.frames[i + 1].type == FrameType::Log);
		protocol::Heartbeat beat;
		std::string error;
		REQUIRE(protocol::parse(h.peer.frames[i].payload, beat, error));
		REQUIRE(beat.timestamp < kThreads);
		CHECK(beat.handled == next[beat.timestamp]++);
	}
	CHECK(next == std::vector<uint64_t>(kThreads, kFrames));
	CHECK(h.ends.empty());
}

TEST_CASE("the shim closing its end ends the connection once, as peer closed", "[host][connection]") {
	Harness h;
	shutdown(h.peer.fd, SHUT_WR);
	REQUIRE(h.ended());
	h.run_until([] { return false; }, std::chrono::milliseconds(100));  // nothing more happens meanwhile
	REQUIRE(h.ends.size() == 1);
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::PeerClosed);
	CHECK(h.connection->closed());
}

TEST_CASE("a malformed header ends the connection as malformed, with an Error frame to the shim",
          "[host][connection]") {
	Harness h;
	std::vector<uint8_t> bytes;
	protocol::append_header(bytes, FrameType::Hello, 2);
	protocol::store<uint16_t>(bytes.data() + 6, 0x8000);  // reserved bits
	h.peer.write_all(bytes);
	REQUIRE(h.ended());
	REQUIRE(h.ends.size() == 1);
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::Malformed);
	CHECK(h.frames.empty());
	REQUIRE(h.run_until([&] { return h.peer.ended; }));
	REQUIRE(h.peer.frames.size() == 1);
	CHECK(h.peer.frames[0].type == FrameType::Error);
}

TEST_CASE("a frame handler that says stop closes the connection as closed by us", "[host][connection]") {
	Harness h;
	h.accept_frames = false;
	std::vector<uint8_t> bytes;
	protocol::encode_empty(bytes, FrameType::Shutdown);
	protocol::encode_empty(bytes, FrameType::Shutdown);
	h.peer.write_all(bytes);
	REQUIRE(h.ended());
	CHECK(h.frames.size() == 1);
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::ClosedByUs);
	CHECK(h.ends[0].detail.empty());
}

TEST_CASE("close() ends the connection as closed by us after the queued frames have left", "[host][connection]") {
	Harness h;
	h.connection->send(heartbeat(1, 1));
	h.connection->close("done");
	CHECK(h.connection->closed());
	REQUIRE(h.ended());
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::ClosedByUs);
	CHECK(h.ends[0].detail == "done");
	REQUIRE(h.run_until([&] { return h.peer.ended; }));
	REQUIRE(h.peer.frames.size() == 1);
	CHECK(h.peer.frames[0].type == FrameType::Heartbeat);
}

TEST_CASE("fail() sends one Error frame, then ends the connection as closed by us", "[host][connection]") {
	Harness h;
	h.connection->fail("protocol violation: test");
	REQUIRE(h.ended());
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::ClosedByUs);
	REQUIRE(h.run_until([&] { return h.peer.ended; }));
	REQUIRE(h.peer.frames.size() == 1);
	CHECK(h.peer.frames[0].type == FrameType::Error);
}

TEST_CASE("frames sent after the connection closed are dropped", "[host][connection]") {
	Harness h;
	h.connection->close();
	h.connection->send(heartbeat(1, 1));
	REQUIRE(h.ended());
	REQUIRE(h.run_until([&] { return h.peer.ended; }));
	CHECK(h.peer.frames.empty());
}

TEST_CASE("a write to a shim that has gone ends the connection as write failed", "[host][connection]") {
	Harness h;
	close(h.peer.fd);
	h.peer.fd = -1;
	h.connection->send(heartbeat(1, 1));
	REQUIRE(h.ended());
	REQUIRE(h.ends.size() == 1);
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::WriteFailed);
	CHECK(h.ends[0].error == EPIPE);
}

TEST_CASE("a shim that stops reading ends the connection as overflow past the queue limit", "[host][connection]") {
	Harness h;
	std::vector<uint8_t> big;
	REQUIRE(protocol::encode(big, protocol::Log{0, std::string(protocol::kMaxPayload - 64, 'x')}));
	size_t sends = Connection::kMaxQueued / big.size() + 2;
	for (size_t i = 0; i < sends && !h.connection->closed(); i++) {
		h.connection->send(big);
	}
	REQUIRE(h.connection->closed());
	// Read nothing meanwhile: the shim has stopped reading.
	auto deadline = Clock::now() + std::chrono::seconds(5);
	while (h.ends.empty() && Clock::now() < deadline) {
		uv_run(&h.loop, UV_RUN_NOWAIT);
	}
	REQUIRE(h.ends.size() == 1);
	CHECK(h.ends[0].kind == ConnectionEnd::Kind::Overflow);
}
