// The framed stream both ends use, over a socketpair: what each I/O call returns, and an
// outbox that always starts at a frame, however the socket took it.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "events.h"
#include "stream.h"

using namespace mmpy::protocol;

namespace {

struct Pair {
	int a = -1, b = -1;
	Pair() {
		int fds[2];
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
		a = fds[0];
		b = fds[1];
	}
	~Pair() {
		for (int fd : {a, b}) {
			if (fd >= 0) {
				close(fd);
			}
		}
	}
};

// A batch frame of `events` events.
void batch(std::vector<uint8_t>& out, uint32_t events) {
	BatchWriter writer(out, FrameType::Inputs, 1);
	for (uint32_t i = 0; i < events; i++) {
		writer.add(i, 0.5);
	}
	writer.finish();
}

size_t frames_in(FrameStream& stream) {
	size_t frames = 0;
	Frame frame;
	while (stream.next(frame) == FrameDecoder::Status::Ready) {
		frames++;
	}
	return frames;
}

}  // namespace

TEST_CASE("frames written on one end are read whole on the other", "[protocol][stream]") {
	Pair pair;
	FrameStream writer, reader;
	encode(writer.outbox(), Heartbeat{1, 2});
	encode(writer.outbox(), Log{0, "line"});
	CHECK(writer.write(pair.a).kind == IoOutcome::Kind::Done);
	CHECK(writer.unsent() == 0);
	IoOutcome read = reader.read(pair.b);
	CHECK(read.kind == IoOutcome::Kind::Done);
	CHECK(read.bytes > 0);
	CHECK(frames_in(reader) == 2);
	CHECK(reader.read(pair.b).kind == IoOutcome::Kind::WouldBlock);
}

TEST_CASE("reading from a closed peer is Closed, writing to one Failed with EPIPE", "[protocol][stream]") {
	Pair pair;
	close(pair.b);
	pair.b = -1;
	FrameStream stream;
	CHECK(stream.read(pair.a).kind == IoOutcome::Kind::Closed);
	encode(stream.outbox(), Heartbeat{});
	IoOutcome wrote = stream.write(pair.a);
	CHECK(wrote.kind == IoOutcome::Kind::Failed);
	CHECK(wrote.error == EPIPE);
}

TEST_CASE("a socket that takes part of the outbox leaves the rest, starting at a frame", "[protocol][stream]") {
	Pair pair;
	FrameStream writer, reader;
	for (int i = 0; i < 64; i++) {
		batch(writer.outbox(), 1000);  // 16 KiB frames, more than the socket buffers hold
	}
	size_t total = writer.outbox().size();
	CHECK(writer.write(pair.a).kind == IoOutcome::Kind::WouldBlock);
	size_t unsent = writer.unsent();
	CHECK(unsent > 0);
	CHECK(unsent < total);
	size_t whole_unsent = 0;
	writer.for_each_unsent_frame([&](const Frame& frame) { whole_unsent += kHeaderSize + frame.payload.size(); });
	CHECK(whole_unsent >= unsent);
	CHECK(whole_unsent < unsent + kHeaderSize + kBatchHeaderSize + 1000 * kEventSize);

	// Drain both ends in turns until everything arrived: every frame, once.
	size_t frames = 0;
	while (writer.unsent() > 0 || frames < 64) {
		IoOutcome read = reader.read(pair.b);
		REQUIRE(read.ok());
		frames += frames_in(reader);
		REQUIRE(writer.write(pair.a).ok());
	}
	CHECK(frames == 64);
}

TEST_CASE("writing from the caller's buffer queues only what the socket did not take", "[protocol][stream]") {
	Pair pair;
	FrameStream writer;
	std::vector<uint8_t> frames;
	for (int i = 0; i < 64; i++) {
		batch(frames, 1000);
	}
	CHECK(writer.write(pair.a, frames).kind == IoOutcome::Kind::WouldBlock);
	CHECK(writer.unsent() > 0);
	CHECK(writer.unsent() < frames.size());
	writer.discard_unsent();
	CHECK(writer.unsent() == 0);
}

TEST_CASE("frames the socket takes only partly from the caller's buffer wait whole in the outbox", "[protocol][stream]") {
	Pair pair;
	std::vector<uint8_t> frames;
	constexpr size_t kFrames = 4000;
	for (size_t i = 0; i < kFrames; i++) {
		encode(frames, Log{0, std::string(100, 'x')});
	}
	FrameStream writer, reader;
	REQUIRE(writer.write(pair.a, frames).kind == IoOutcome::Kind::WouldBlock);
	size_t received = 0;
	while (reader.read(pair.b).kind == IoOutcome::Kind::Done) {
		received += frames_in(reader);
	}

	// The frames the peer has not received whole are still there, whole.
	size_t waiting = 0;
	writer.for_each_unsent_frame([&](const Frame& frame) {
		CHECK(frame.type == FrameType::Log);
		waiting++;
	});
	CHECK(waiting == kFrames - received);

	for (int round = 0; round < 100000 && received < kFrames; round++) {
		REQUIRE(writer.write(pair.a).ok());
		while (reader.read(pair.b).kind == IoOutcome::Kind::Done) {
			received += frames_in(reader);
		}
	}
	CHECK(received == kFrames);
	CHECK(writer.unsent() == 0);
}
