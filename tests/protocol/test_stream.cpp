// The framed stream's write side over a real socket that takes only part of what is written.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <vector>

#include "control.h"
#include "stream.h"

namespace protocol = mmpy::protocol;

namespace {

// Reads all the socket has and counts the whole frames that came.
uint64_t drain(protocol::FrameStream& peer, int fd) {
	uint64_t frames = 0;
	while (peer.read(fd).kind == protocol::IoOutcome::Kind::Done) {
		protocol::Frame frame;
		protocol::FrameDecoder::Status status;
		while ((status = peer.next(frame)) == protocol::FrameDecoder::Status::Ready) {
			frames++;
		}
		REQUIRE(status == protocol::FrameDecoder::Status::NeedMore);
	}
	return frames;
}

}  // namespace

TEST_CASE("frames the socket takes only partly wait in the outbox from the start of a frame", "[protocol][stream]") {
	int pair[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) == 0);
	std::vector<uint8_t> frames;
	constexpr uint64_t kFrames = 4000;
	for (uint64_t i = 0; i < kFrames; i++) {
		protocol::encode(frames, protocol::Log{0, std::string(100, 'x')});
	}
	protocol::FrameStream stream;
	protocol::FrameStream peer;
	REQUIRE(stream.write(pair[0], frames).kind == protocol::IoOutcome::Kind::WouldBlock);
	uint64_t received = drain(peer, pair[1]);

	// The frames the peer has not received whole are still there, whole.
	uint64_t waiting = 0;
	stream.for_each_unsent_frame([&](const protocol::Frame& frame) {
		CHECK(frame.type == protocol::FrameType::Log);
		waiting++;
	});
	CHECK(waiting == kFrames - received);

	for (int round = 0; round < 100000 && received < kFrames; round++) {
		REQUIRE(stream.write(pair[0]).ok());
		received += drain(peer, pair[1]);
	}
	CHECK(received == kFrames);
	CHECK(stream.unsent() == 0);
	close(pair[0]);
	close(pair[1]);
}
