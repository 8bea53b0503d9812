// The shim's end of one host connection, on the protocol's framed stream. Before the show it
// may wait (with a deadline) for an answer; once the show runs it never blocks: writes go as
// far as the socket takes them and the rest waits in the outbox.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "outcomes.h"
#include "stream.h"

namespace mmpy::shim {

class HostLink {
public:
	// Room for the inputs the shim queues before it holds them back per channel, and for a
	// busy core iteration's inputs on top: the outbox never grows during the show.
	static constexpr size_t kOutboxReserve = 512 * 1024;

	// Handles one frame; a loss ends the dispatch (and the connection).
	using FrameHandler = std::function<std::optional<HostLoss>(const protocol::Frame&)>;

	HostLink() = default;
	~HostLink();
	// It owns a descriptor.
	HostLink(const HostLink&) = delete;
	HostLink& operator=(const HostLink&) = delete;

	// Takes ownership of a connected socket.
	void adopt(int fd);
	void close();
	int fd() const { return fd_; }
	bool connected() const { return fd_ >= 0; }

	// Frames to send are appended here, then flush() writes them.
	std::vector<uint8_t>& outbox() { return stream_.outbox(); }
	size_t unsent() const { return stream_.unsent(); }
	// Memory the outbox holds; it stays at kOutboxReserve during the show.
	size_t outbox_capacity() const { return stream_.outbox_capacity(); }

	// Non-blocking write of as much of the outbox as the socket takes.
	std::optional<HostLoss> flush();

	// Non-blocking: one read of what is available, then every whole frame to `handle`.
	// A loss if the stream broke, ended, or `handle` gave one.
	std::optional<HostLoss> receive(const FrameHandler& handle);

	// Hands every whole frame received so far to `handle`.
	std::optional<HostLoss> dispatch(const FrameHandler& handle);

	// Configuration and shutdown only: writes the outbox and waits until a frame of type
	// `wanted` arrives (its payload copied into `payload`), handing every other frame to
	// `other`. With `quiet_ms`, a host that sends nothing at all for that long (a healthy
	// one sends heartbeats) is given up early.
	std::optional<HostLoss> exchange(protocol::FrameType wanted, std::vector<uint8_t>& payload, int timeout_ms,
	                                 const FrameHandler& other, int quiet_ms = 0);

	// Calls `take` for every frame of the outbox the host cannot have received whole.
	void for_each_unsent_frame(const std::function<void(const protocol::Frame&)>& take) const {
		stream_.for_each_unsent_frame(take);
	}

private:
	int fd_ = -1;
	protocol::FrameStream stream_;
};

}  // namespace mmpy::shim
