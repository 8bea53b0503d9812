// The shim's end of a socketpair whose other end a host part (Connection, Watchdog) serves,
// for the host's unit tests: what the test writes as the shim, and every frame it read.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wire.h"

namespace mmpy::test {

namespace protocol = mmpy::protocol;

// A frame as the test keeps it: the decoder's payload span does not outlive the next read.
struct Received {
	protocol::FrameType type;
	std::vector<uint8_t> payload;
};

// The shim's end of the socketpair.
struct Peer {
	int fd = -1;
	protocol::FrameDecoder decoder;
	std::vector<Received> frames;
	bool ended = false;  // end of stream from the host

	void write_all(const std::vector<uint8_t>& bytes) const {
		size_t done = 0;
		while (done < bytes.size()) {
			ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
			REQUIRE(n > 0);
			done += static_cast<size_t>(n);
		}
	}

	// Reads what is there without waiting, and keeps every whole frame.
	void read_available() {
		for (;;) {
			auto space = decoder.prepare(64 * 1024);
			ssize_t n = recv(fd, space.data(), space.size(), MSG_DONTWAIT);
			if (n > 0) {
				decoder.commit(static_cast<size_t>(n));
				continue;
			}
			if (n == 0) {
				ended = true;
			}
			break;
		}
		protocol::Frame frame;
		while (decoder.next(frame) == protocol::FrameDecoder::Status::Ready) {
			frames.push_back({frame.type, {frame.payload.begin(), frame.payload.end()}});
		}
	}
};

}  // namespace mmpy::test
