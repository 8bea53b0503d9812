#include "host_link.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mmpy::shim {

namespace {

// Per read: 4096 events of the host's outputs.
constexpr size_t kReadChunk = 64 * 1024;
// ShimInstance::kOutboxLimit (256 KiB) plus the inputs of a busy core iteration on top.
constexpr size_t kOutboxReserve = 512 * 1024;

int64_t now_ms() {
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

HostLink::~HostLink() {
	close();
}

void HostLink::adopt(int fd) {
	close();
	fd_ = fd;
	fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
	fcntl(fd_, F_SETFD, FD_CLOEXEC);
	outbox_.clear();
	outbox_sent_ = 0;
	decoder_ = protocol::FrameDecoder();
	// Room for the largest frame plus a read, and for the inputs the shim queues before it
	// holds them back: the buffers never grow during the show, so the shim allocates nothing
	// then. Pages are only resident once used.
	decoder_.reserve(protocol::kHeaderSize + protocol::kMaxPayload + kReadChunk);
	outbox_.reserve(kOutboxReserve);
}

void HostLink::close() {
	if (fd_ >= 0) {
		::close(fd_);
		fd_ = -1;
	}
}

bool HostLink::flush(std::string& error) {
	while (outbox_sent_ < outbox_.size()) {
		ssize_t written = send(fd_, outbox_.data() + outbox_sent_, outbox_.size() - outbox_sent_,
		                       MSG_NOSIGNAL | MSG_DONTWAIT);
		if (written > 0) {
			outbox_sent_ += static_cast<size_t>(written);
			continue;
		}
		if (written < 0 && errno == EINTR) {
			continue;
		}
		if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return true;
		}
		error = std::string("write to the host failed: ") + std::strerror(errno);
		return false;
	}
	// Everything went: keep the capacity, so the next batch allocates nothing.
	outbox_.clear();
	outbox_sent_ = 0;
	return true;
}

// One read per call, dispatched before the next: reading on while the buffer is full would
// grow it with every burst the host sends, and the shim must not allocate in steady state.
// The core's poll reports the socket readable again for whatever is left.
bool HostLink::receive(std::string& error) {
	for (;;) {
		auto space = decoder_.prepare(kReadChunk);
		ssize_t got = recv(fd_, space.data(), space.size(), MSG_DONTWAIT);
		if (got > 0) {
			decoder_.commit(static_cast<size_t>(got));
			return true;
		}
		if (got == 0) {
			error.clear();
			return false;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return true;
		}
		error = std::string("read from the host failed: ") + std::strerror(errno);
		return false;
	}
}

bool HostLink::dispatch(const std::function<bool(const protocol::Frame&)>& handle, std::string& error) {
	protocol::Frame frame;
	for (;;) {
		switch (decoder_.next(frame)) {
		case protocol::FrameDecoder::Status::NeedMore:
			return true;
		case protocol::FrameDecoder::Status::Invalid:
			error = "malformed frame from the host: " + decoder_.error();
			return false;
		case protocol::FrameDecoder::Status::Ready:
			if (!handle(frame)) {
				return false;
			}
		}
	}
}

bool HostLink::exchange(protocol::FrameType wanted, std::vector<uint8_t>& payload, int timeout_ms,
                        const std::function<bool(const protocol::Frame&)>& other, std::string& error, int quiet_ms) {
	int64_t deadline = now_ms() + timeout_ms;
	int64_t heard_at = now_ms();
	bool found = false;
	auto take = [&](const protocol::Frame& frame) {
		if (frame.type == wanted) {
			payload.assign(frame.payload.begin(), frame.payload.end());
			found = true;
			return false;  // leave later frames in the decoder for the caller
		}
		return other(frame);
	};
	for (;;) {
		if (!flush(error)) {
			return false;
		}
		if (!dispatch(take, error)) {
			return found;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			error = "the host did not answer within " + std::to_string(timeout_ms / 1000) + " s";
			return false;
		}
		if (quiet_ms > 0) {
			int64_t quiet_left = heard_at + quiet_ms - now_ms();
			if (quiet_left <= 0) {
				error = "the host sent nothing for " + std::to_string(quiet_ms / 1000) + " s (hung or stopped)";
				return false;
			}
			left = std::min(left, quiet_left);
		}
		pollfd waiting{fd_, static_cast<short>(POLLIN | (has_unsent() ? POLLOUT : 0)), 0};
		int ready = poll(&waiting, 1, static_cast<int>(left));
		if (ready < 0 && errno != EINTR) {
			error = std::string("poll failed: ") + std::strerror(errno);
			return false;
		}
		if (ready > 0 && (waiting.revents & (POLLIN | POLLHUP | POLLERR))) {
			heard_at = now_ms();
		}
		if (ready > 0 && (waiting.revents & (POLLIN | POLLHUP | POLLERR)) && !receive(error)) {
			if (error.empty()) {
				error = "the host closed the connection";
			}
			// Frames that arrived before the end (an error message, say) still count.
			std::string ignored;
			dispatch(take, ignored);
			return found;
		}
	}
}

}  // namespace mmpy::shim

namespace mmpy::shim {

void HostLink::for_each_unsent_frame(const std::function<void(const protocol::Frame&)>& take) const {
	protocol::FrameDecoder frames;
	frames.feed(outbox_);
	protocol::Frame frame;
	size_t end = 0;
	while (frames.next(frame) == protocol::FrameDecoder::Status::Ready) {
		end += protocol::kHeaderSize + frame.payload.size();
		if (end > outbox_sent_) {
			take(frame);
		}
	}
}

}  // namespace mmpy::shim
