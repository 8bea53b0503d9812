// The shim's end of one host connection. Before the show it may wait (with a deadline)
// for an answer; once the show runs it never blocks: writes go as far as the socket
// takes them and the rest waits in a bounded outbox.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "frame.h"

namespace mmpy::shim {

class HostLink {
public:
	~HostLink();

	// Takes ownership of a connected socket.
	void adopt(int fd);
	void close();
	int fd() const { return fd_; }
	bool connected() const { return fd_ >= 0; }

	// Frames to send are appended here, then flush() writes them.
	std::vector<uint8_t>& outbox() { return outbox_; }
	bool has_unsent() const { return !outbox_.empty(); }

	// Non-blocking write of as much of the outbox as the socket takes. False if the
	// connection broke (error says how).
	bool flush(std::string& error);

	// Non-blocking read of what is available, up to kReadChunk bytes, into the decoder.
	// False on end of stream (error empty) or a read error.
	bool receive(std::string& error);

	// Hands every whole frame received so far to `handle`; false if the stream is
	// malformed or `handle` asked to stop.
	bool dispatch(const std::function<bool(const protocol::Frame&)>& handle, std::string& error);

	// Configuration and shutdown only: writes the outbox and waits until a frame of type
	// `wanted` arrives, dispatching every other frame to `other`. The wanted frame's payload
	// is copied into `payload`. With `quiet_ms`, a host that sends nothing at all for that
	// long (a healthy one sends heartbeats) is given up early.
	bool exchange(protocol::FrameType wanted, std::vector<uint8_t>& payload, int timeout_ms,
	              const std::function<bool(const protocol::Frame&)>& other, std::string& error, int quiet_ms = 0);

	// Calls `take` for every frame of the outbox the host cannot have received whole, so
	// that the events in them can be sent again to the next host.
	void for_each_unsent_frame(const std::function<void(const protocol::Frame&)>& take) const;

private:
	int fd_ = -1;
	std::vector<uint8_t> outbox_;
	size_t outbox_sent_ = 0;
	protocol::FrameDecoder decoder_;
};

}  // namespace mmpy::shim
