// One end of a framed byte stream over a non-blocking socket, as both the shim and the host
// use it: frames to send wait in an outbox until the socket takes them, bytes received wait
// in a decoder until they make whole frames. Every I/O call returns its outcome as a value.
//
// The write side (outbox) and the read side (decoder) share no state, so a user may guard
// one with a lock and keep the other on a single thread (the host does); only reserve()
// and reset() touch both.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "frame.h"

namespace mmpy::protocol {

struct IoOutcome {
	enum class Kind {
		Done,        // write: the outbox is empty; read: bytes arrived
		WouldBlock,  // the socket takes or has nothing more right now
		Closed,      // read: the peer ended the stream
		Failed,      // `error` is the errno
	};
	Kind kind = Kind::Done;
	int error = 0;
	size_t bytes = 0;  // read, Done: how many arrived

	bool ok() const { return kind == Kind::Done || kind == Kind::WouldBlock; }
};

class FrameStream {
public:
	// Room up front, so that neither side allocates while it stays within it: the outbox
	// `outbox_bytes`, the decoder the largest frame plus one read.
	void reserve(size_t outbox_bytes);

	// Forgets everything buffered in both directions (a new connection).
	void reset();

	// --- write side ---
	// Frames are appended here (encode(), BatchWriter), then write() sends them.
	std::vector<uint8_t>& outbox() { return outbox_; }
	size_t unsent() const { return outbox_.size() - sent_; }
	size_t outbox_capacity() const { return outbox_.capacity(); }

	// Writes as much of the outbox as `fd` takes now.
	IoOutcome write(int fd);

	// Writes `frames` straight from the caller's buffer when nothing waits before them;
	// what the socket does not take is queued in the outbox.
	IoOutcome write(int fd, std::span<const uint8_t> frames);

	// Drops every unsent byte (the connection is beyond repair).
	void discard_unsent();

	// Calls `take` for each frame of the outbox the peer cannot have received whole.
	void for_each_unsent_frame(const std::function<void(const Frame&)>& take) const;

	// --- read side ---
	// One read of up to kReadChunk bytes from `fd` into the decoder.
	IoOutcome read(int fd);

	// Appends bytes that arrived elsewhere (tests, fuzzing).
	void feed(std::span<const uint8_t> bytes) { decoder_.feed(bytes); }

	// The next whole frame received; after Invalid, decode_error() says why.
	FrameDecoder::Status next(Frame& frame) { return decoder_.next(frame); }
	const std::string& decode_error() const { return decoder_.error(); }

private:
	IoOutcome send_some(int fd, const uint8_t* data, size_t size, size_t& done);
	static size_t written_whole(const uint8_t* frames, size_t written);
	void compact();

	std::vector<uint8_t> outbox_;
	size_t sent_ = 0;  // bytes at the front of outbox_ already written
	FrameDecoder decoder_;
};

}  // namespace mmpy::protocol
