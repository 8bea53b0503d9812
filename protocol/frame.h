// Framing of the shim <-> host byte stream: a fixed 8-byte header and a bounded payload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "protocol_limits.h"

namespace mmpy::protocol {

enum class FrameType : uint16_t {
	// Control messages, JSON payloads except Heartbeat's 16 binary bytes and State's
	// opaque snapshot (see control.h).
	Hello = 1,            // both ways: version agreement
	Configure = 2,        // shim -> host: one instance option
	ConfigureResult = 3,  // host -> shim: outcome of Configure
	Start = 4,            // shim -> host: channel table, the show starts
	Started = 5,          // host -> shim: handlers resolved
	Log = 6,              // host -> shim: a line for the core's log
	Heartbeat = 7,        // both ways: liveness and the core's clock
	Shutdown = 8,         // shim -> host: run cleanup handlers and exit
	Bye = 9,              // host -> shim: cleanup done
	Error = 10,           // both ways: the sender is closing the connection, with a reason
	Tasks = 11,           // host -> shim: the sequences (asyncio tasks) running now
	State = 12,           // both ways: a snapshot of midimonster.state (opaque bytes)
	Advance = 13,         // shim -> host, virtual clock only: run what is due up to a time
	Advanced = 14,        // host -> shim: everything due up to that time has run
	// Event batches, binary payloads (see events.h).
	Inputs = 32,          // shim -> host: events the core delivered to the instance
	Outputs = 33,         // host -> shim: events Python produced
};

// The name of a frame type for log lines; "unknown" for anything else.
const char* frame_type_name(uint16_t type);

// True for the types this protocol version defines.
bool frame_type_known(uint16_t type);

// One decoded frame. The payload points into the decoder's buffer and stays valid
// until the decoder is fed or asked for the next frame.
struct Frame {
	FrameType type;
	std::span<const uint8_t> payload;
};

// Incremental decoder for a byte stream. The read side writes straight into its buffer
// (prepare/commit), so a steady stream costs no allocation once the buffer has grown.
class FrameDecoder {
public:
	enum class Status { NeedMore, Ready, Invalid };

	// Space for at least `want` more bytes; write into it, then commit what was written.
	std::span<uint8_t> prepare(size_t want);
	void commit(size_t written);

	// Makes room up front, so that prepare() within it never allocates.
	void reserve(size_t bytes) { buffer_.reserve(bytes); }

	// Appends bytes that arrived elsewhere (tests, fuzzing, blocking reads).
	void feed(std::span<const uint8_t> bytes);

	// Takes the next whole frame off the stream. After Invalid the stream is unusable and
	// error() says why; the caller ends the connection.
	Status next(Frame& frame);
	const std::string& error() const { return error_; }

	// Bytes received but not yet returned as frames.
	size_t buffered() const { return end_ - begin_; }

private:
	void compact();

	std::vector<uint8_t> buffer_;
	size_t begin_ = 0;
	size_t end_ = 0;
	std::string error_;
};

// Appends one frame header to `out`; the payload must follow, exactly `length` bytes.
void append_header(std::vector<uint8_t>& out, FrameType type, uint32_t length);

}  // namespace mmpy::protocol
