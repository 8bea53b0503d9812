#include "host_link.h"

#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace mmpy::shim {

namespace {

int64_t now_ms() {
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::optional<HostLoss> loss_of(const protocol::IoOutcome& outcome, HostLoss::Kind failed) {
	switch (outcome.kind) {
	case protocol::IoOutcome::Kind::Done:
	case protocol::IoOutcome::Kind::WouldBlock:
		return std::nullopt;
	case protocol::IoOutcome::Kind::Closed:
		return HostLoss{HostLoss::Kind::Closed};
	case protocol::IoOutcome::Kind::Failed:
		break;
	}
	return HostLoss{failed, outcome.error};
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
	stream_.reset();
	// The buffers never grow during the show, so the shim allocates nothing then. Pages
	// are only resident once used.
	stream_.reserve(kOutboxReserve);
}

void HostLink::close() {
	if (fd_ >= 0) {
		::close(fd_);
		fd_ = -1;
	}
}

std::optional<HostLoss> HostLink::flush() {
	return loss_of(stream_.write(fd_), HostLoss::Kind::WriteFailed);
}

// One read per call, dispatched before the next: reading on while the buffer is full would
// grow it with every burst the host sends, and the shim must not allocate in steady state.
// The core's poll reports the socket readable again for whatever is left.
std::optional<HostLoss> HostLink::receive(const FrameHandler& handle) {
	std::optional<HostLoss> ended = loss_of(stream_.read(fd_), HostLoss::Kind::ReadFailed);
	// Frames that arrived before the end (an Error frame, say) tell more than the end.
	if (auto loss = dispatch(handle)) {
		return loss;
	}
	return ended;
}

std::optional<HostLoss> HostLink::dispatch(const FrameHandler& handle) {
	protocol::Frame frame;
	for (;;) {
		switch (stream_.next(frame)) {
		case protocol::FrameDecoder::Status::NeedMore:
			return std::nullopt;
		case protocol::FrameDecoder::Status::Invalid:
			return HostLoss{HostLoss::Kind::Malformed, stream_.decode_error()};
		case protocol::FrameDecoder::Status::Ready:
			if (auto loss = handle(frame)) {
				return loss;
			}
		}
	}
}

std::optional<HostLoss> HostLink::exchange(protocol::FrameType wanted, std::vector<uint8_t>& payload, int timeout_ms,
                                           const FrameHandler& other, int quiet_ms) {
	int64_t deadline = now_ms() + timeout_ms;
	int64_t heard_at = now_ms();
	bool found = false;
	auto take = [&](const protocol::Frame& frame) -> std::optional<HostLoss> {
		if (frame.type != wanted) {
			return other(frame);
		}
		payload.assign(frame.payload.begin(), frame.payload.end());
		found = true;
		return HostLoss{};  // stops the dispatch: later frames stay for the caller
	};
	for (;;) {
		if (auto loss = flush()) {
			return loss;
		}
		if (auto loss = dispatch(take)) {
			return found ? std::nullopt : loss;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			return HostLoss{HostLoss::Kind::NoAnswer, 0, static_cast<uint64_t>(timeout_ms)};
		}
		if (quiet_ms > 0) {
			int64_t quiet_left = heard_at + quiet_ms - now_ms();
			if (quiet_left <= 0) {
				return HostLoss{HostLoss::Kind::Silent, 0, static_cast<uint64_t>(quiet_ms)};
			}
			left = std::min(left, quiet_left);
		}
		pollfd waiting{fd_, static_cast<short>(POLLIN | (unsent() ? POLLOUT : 0)), 0};
		int ready = poll(&waiting, 1, static_cast<int>(left));
		if (ready < 0 && errno != EINTR) {
			return HostLoss{HostLoss::Kind::PollFailed, errno};
		}
		if (ready > 0 && (waiting.revents & (POLLIN | POLLHUP | POLLERR))) {
			heard_at = now_ms();
			if (auto loss = receive(take)) {
				return found ? std::nullopt : loss;
			}
		}
	}
}

}  // namespace mmpy::shim
