#include "stream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "protocol_limits.h"
#include "wire.h"

namespace mmpy::protocol {

void FrameStream::reserve(size_t outbox_bytes) {
	outbox_.reserve(outbox_bytes);
	decoder_.reserve(kHeaderSize + kMaxPayload + kReadChunk);
}

void FrameStream::reset() {
	outbox_.clear();
	sent_ = 0;
	decoder_ = FrameDecoder();
}

// MSG_NOSIGNAL: in the shim a closed peer must never raise SIGPIPE in the core.
IoOutcome FrameStream::send_some(int fd, const uint8_t* data, size_t size, size_t& done) {
	done = 0;
	while (done < size) {
		ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK) {
			n = ::write(fd, data + done, size - done);
		}
		if (n >= 0) {
			done += static_cast<size_t>(n);
			continue;
		}
		if (errno == EINTR) {
			continue;  // the host's handler-timeout signal may land here
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return {IoOutcome::Kind::WouldBlock};
		}
		return {IoOutcome::Kind::Failed, errno};
	}
	return {IoOutcome::Kind::Done};
}

IoOutcome FrameStream::write(int fd) {
	size_t done = 0;
	IoOutcome outcome = send_some(fd, outbox_.data() + sent_, unsent(), done);
	sent_ += done;
	if (sent_ == outbox_.size()) {
		// Everything went: keep the capacity, so the next frames allocate nothing.
		outbox_.clear();
		sent_ = 0;
	} else if (sent_ > outbox_.size() / 2) {
		compact();
	}
	return outcome;
}

IoOutcome FrameStream::write(int fd, std::span<const uint8_t> frames) {
	if (unsent() > 0) {
		outbox_.insert(outbox_.end(), frames.begin(), frames.end());
		return write(fd);
	}
	size_t done = 0;
	IoOutcome outcome = send_some(fd, frames.data(), frames.size(), done);
	if (outcome.kind == IoOutcome::Kind::WouldBlock) {
		// The outbox starts at a frame, as compact() and for_each_unsent_frame() expect.
		size_t boundary = written_whole(frames.data(), done);
		outbox_.assign(frames.begin() + static_cast<ptrdiff_t>(boundary), frames.end());
		sent_ = done - boundary;
	}
	return outcome;
}

void FrameStream::discard_unsent() {
	outbox_.clear();
	sent_ = 0;
}

// The bytes of the frames at the start of `frames` that the first `written` bytes hold whole.
size_t FrameStream::written_whole(const uint8_t* frames, size_t written) {
	size_t boundary = 0;
	while (boundary + kHeaderSize <= written) {
		size_t end = boundary + kHeaderSize + load<uint32_t>(frames + boundary);
		if (end > written) {
			break;
		}
		boundary = end;
	}
	return boundary;
}

// Drops the frames already written whole, so a slowly draining outbox does not keep
// growing; a frame partly written stays, so the outbox always starts at a frame.
void FrameStream::compact() {
	size_t boundary = written_whole(outbox_.data(), sent_);
	outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<ptrdiff_t>(boundary));
	sent_ -= boundary;
}

void FrameStream::for_each_unsent_frame(const std::function<void(const Frame&)>& take) const {
	FrameDecoder frames;
	frames.feed(outbox_);
	Frame frame;
	size_t end = 0;
	while (frames.next(frame) == FrameDecoder::Status::Ready) {
		end += kHeaderSize + frame.payload.size();
		if (end > sent_) {
			take(frame);
		}
	}
}

IoOutcome FrameStream::read(int fd) {
	for (;;) {
		auto space = decoder_.prepare(kReadChunk);
		ssize_t n = ::read(fd, space.data(), std::min(space.size(), kReadChunk));
		if (n > 0) {
			decoder_.commit(static_cast<size_t>(n));
			return {IoOutcome::Kind::Done, 0, static_cast<size_t>(n)};
		}
		if (n == 0) {
			return {IoOutcome::Kind::Closed};
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return {IoOutcome::Kind::WouldBlock};
		}
		return {IoOutcome::Kind::Failed, errno};
	}
}

}  // namespace mmpy::protocol
