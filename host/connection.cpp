#include "connection.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control.h"
#include "protocol_limits.h"

namespace mmpy::host {

namespace {
// Reads per readiness callback before the loop gets a turn for timers and sockets.
constexpr int kReadsPerWakeup = 16;

// The descriptor must never block the loop, and must not leak into programs that user
// Python starts: a child holding it open would keep the shim from seeing our end.
bool prepare_descriptor(int fd, std::string& error) {
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
		error = "cannot make descriptor " + std::to_string(fd) + " non-blocking: " + std::strerror(errno);
		return false;
	}
	int fd_flags = fcntl(fd, F_GETFD);
	if (fd_flags < 0 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) != 0) {
		error = "cannot mark descriptor " + std::to_string(fd) + " close-on-exec: " + std::strerror(errno);
		return false;
	}
	return true;
}
}  // namespace

std::string describe(const ConnectionEnd& end) {
	switch (end.kind) {
	case ConnectionEnd::Kind::PeerClosed:
		return {};
	case ConnectionEnd::Kind::ReadFailed:
		return std::string("read failed: ") + std::strerror(end.error);
	case ConnectionEnd::Kind::WriteFailed:
		return std::string("write failed: ") + std::strerror(end.error);
	case ConnectionEnd::Kind::PollFailed:
		return std::string("the connection failed: ") + uv_strerror(end.error);
	case ConnectionEnd::Kind::CannotWatch:
		return std::string("cannot watch the connection: ") + uv_strerror(end.error);
	case ConnectionEnd::Kind::Malformed:
		return "malformed frame: " + end.detail;
	case ConnectionEnd::Kind::Overflow:
		return "the shim stopped reading; more than " + std::to_string(Connection::kMaxQueued >> 20) +
		       " MiB of frames are waiting";
	case ConnectionEnd::Kind::ClosedByUs:
		break;
	}
	return end.detail;
}

Connection::Connection(uv_loop_t* loop, FrameHandler on_frame, IdleHandler on_idle, CloseHandler on_close)
    : loop_(loop), on_frame_(std::move(on_frame)), on_idle_(std::move(on_idle)), on_close_(std::move(on_close)) {
	poll_.data = this;
	wakeup_.data = this;
}

// Normally the loop has closed both handles by now; the descriptor is ours to close.
Connection::~Connection() {
	std::lock_guard lock(mutex_);
	if (fd_ >= 0) {
		::close(fd_);
		fd_ = -1;
	}
}

bool Connection::open(int fd, std::string& error) {
	loop_thread_ = std::this_thread::get_id();
	if (!prepare_descriptor(fd, error)) {
		return false;
	}
	int rc = uv_async_init(loop_, &wakeup_, on_wakeup);
	if (rc == 0) {
		wakeup_ready_ = true;
		open_handles_++;
		rc = uv_poll_init(loop_, &poll_, fd);
	}
	if (rc == 0) {
		poll_ready_ = true;
		open_handles_++;
		rc = uv_poll_start(&poll_, UV_READABLE, on_poll);
	}
	if (rc != 0) {
		error = std::string("cannot use descriptor ") + std::to_string(fd) + ": " + uv_strerror(rc);
		return false;
	}
	polled_events_ = UV_READABLE;
	std::lock_guard lock(mutex_);
	fd_ = fd;
	wakeup_usable_ = true;
	return true;
}

// Appends under the lock so that frames from the loop thread and the watchdog never
// interleave; writes at once so that a heartbeat leaves even while the loop is busy.
void Connection::send(std::span<const uint8_t> frames) {
	if (frames.empty()) {
		return;
	}
	{
		std::lock_guard lock(mutex_);
		if (closing_ || fd_ < 0 || broken_) {
			return;
		}
		if (stream_.unsent() + frames.size() > kMaxQueued) {
			broken_ = ConnectionEnd{ConnectionEnd::Kind::Overflow};
			stream_.discard_unsent();
		} else {
			note_write(stream_.write(fd_, frames));
		}
		if (!on_loop_thread()) {
			// The loop thread must watch for writability or act on the error.
			if ((stream_.unsent() > 0 || broken_) && wakeup_usable_) {
				uv_async_send(&wakeup_);
			}
			return;
		}
	}
	settle();
}

void Connection::flush_pending() {
	{
		std::lock_guard lock(mutex_);
		if (fd_ < 0 || broken_ || stream_.unsent() == 0) {
			return;
		}
		note_write(stream_.write(fd_));
		if (!on_loop_thread()) {
			// Bytes still waiting are the loop thread's to watch already; an error is news.
			if (broken_ && wakeup_usable_) {
				uv_async_send(&wakeup_);
			}
			return;
		}
	}
	settle();
}

bool Connection::wait_until_queued_below(size_t bytes) {
	for (;;) {
		int fd;
		{
			std::lock_guard lock(mutex_);
			if (fd_ < 0 || closing_ || broken_) {
				return true;
			}
			note_write(stream_.write(fd_));
			if (stream_.unsent() <= bytes || broken_) {
				return true;
			}
			fd = fd_;
		}
		pollfd writable{fd, POLLOUT, 0};
		if (poll(&writable, 1, 100) < 0 && errno == EINTR) {
			return false;
		}
	}
}

// Caller holds the lock. A failure is recorded in broken_ (the loop thread closes) and
// drops the outbox: nothing more can reach the shim.
void Connection::note_write(const protocol::IoOutcome& outcome) {
	if (outcome.kind == protocol::IoOutcome::Kind::Failed) {
		broken_ = ConnectionEnd{ConnectionEnd::Kind::WriteFailed, outcome.error};
		stream_.discard_unsent();
	}
}

// Loop thread: brings the poll interest in line with the outbox, and turns a recorded
// error or a finished close into the end of the connection.
void Connection::settle() {
	bool pending = false;
	bool closing = false;
	{
		std::lock_guard lock(mutex_);
		if (fd_ < 0) {
			return;
		}
		if (broken_ && !closing_) {
			closing_ = true;
			end_ = *broken_;
		}
		pending = stream_.unsent() > 0 && !broken_;
		closing = closing_;
	}
	if (closing && !pending) {
		finish_close();
		return;
	}
	int events = (closing ? 0 : UV_READABLE) | (pending ? UV_WRITABLE : 0);
	if (events == polled_events_) {
		return;
	}
	int rc = uv_poll_start(&poll_, events, on_poll);
	if (rc == 0) {
		polled_events_ = events;
		return;
	}
	{
		std::lock_guard lock(mutex_);
		if (!closing_) {
			closing_ = true;
			end_ = ConnectionEnd{ConnectionEnd::Kind::CannotWatch, rc};
		}
	}
	finish_close();
}

void Connection::fail(const std::string& reason) {
	fail(ConnectionEnd{ConnectionEnd::Kind::ClosedByUs, reason});
}

void Connection::fail(const ConnectionEnd& end) {
	std::vector<uint8_t> frame;
	protocol::encode(frame, protocol::Error{describe(end)});
	send(frame);
	close(end);
}

void Connection::close(const std::string& reason) {
	close(ConnectionEnd{ConnectionEnd::Kind::ClosedByUs, reason});
}

void Connection::close(ConnectionEnd end) {
	{
		std::lock_guard lock(mutex_);
		if (closing_) {
			return;
		}
		closing_ = true;
		end_ = std::move(end);
	}
	if (open_handles_ == 0) {
		finish_close();  // never opened: report the end at once
		return;
	}
	settle();
}

bool Connection::closed() const {
	std::lock_guard lock(mutex_);
	return closing_ || fd_ < 0 || broken_;
}

// Stops watching, closes the descriptor (the shim sees end of stream) and the handles;
// the close handler runs once both handles are gone.
void Connection::finish_close() {
	if (open_handles_ == 0) {
		if (on_close_) {
			auto handler = std::move(on_close_);
			on_close_ = nullptr;
			ConnectionEnd end;
			{
				std::lock_guard lock(mutex_);
				end = end_;
			}
			handler(end);
		}
		return;
	}
	if (handles_closing_) {
		return;
	}
	handles_closing_ = true;
	if (poll_ready_) {
		uv_poll_stop(&poll_);
	}
	{
		std::lock_guard lock(mutex_);
		if (fd_ >= 0) {
			::close(fd_);
			fd_ = -1;
		}
		stream_.discard_unsent();
		wakeup_usable_ = false;
	}
	if (poll_ready_) {
		uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_handle_closed);
	}
	if (wakeup_ready_) {
		uv_close(reinterpret_cast<uv_handle_t*>(&wakeup_), on_handle_closed);
	}
}

void Connection::on_handle_closed(uv_handle_t* handle) {
	auto* self = static_cast<Connection*>(handle->data);
	if (--self->open_handles_ == 0) {
		self->finish_close();
	}
}

void Connection::on_wakeup(uv_async_t* handle) {
	static_cast<Connection*>(handle->data)->settle();
}

void Connection::on_poll(uv_poll_t* handle, int status, int events) {
	auto* self = static_cast<Connection*>(handle->data);
	if (status < 0) {
		{
			std::lock_guard lock(self->mutex_);
			if (!self->broken_) {
				self->broken_ = ConnectionEnd{ConnectionEnd::Kind::PollFailed, status};
			}
		}
		self->settle();
		return;
	}
	if (events & UV_WRITABLE) {
		std::lock_guard lock(self->mutex_);
		if (self->fd_ >= 0 && !self->broken_) {
			self->note_write(self->stream_.write(self->fd_));
		}
	}
	if ((events & UV_READABLE) && !self->closed()) {
		self->read_frames();
	}
	self->settle();
}

// Reads what the socket has, a chunk at a time, and dispatches the frames of each chunk
// before the next; a short read means the socket is drained for now.
void Connection::read_frames() {
	for (int round = 0; round < kReadsPerWakeup; round++) {
		// fd_ changes only on this thread, so reading it without the lock is safe.
		protocol::IoOutcome got = stream_.read(fd_);
		switch (got.kind) {
		case protocol::IoOutcome::Kind::WouldBlock:
			return;
		case protocol::IoOutcome::Kind::Closed:
			close(ConnectionEnd{ConnectionEnd::Kind::PeerClosed});
			return;
		case protocol::IoOutcome::Kind::Failed:
			close(ConnectionEnd{ConnectionEnd::Kind::ReadFailed, got.error});
			return;
		case protocol::IoOutcome::Kind::Done:
			break;
		}
		if (!dispatch_frames() || got.bytes < protocol::kReadChunk) {
			return;
		}
	}
}

// Hands every whole frame to on_frame, then calls on_idle once so that the replies of
// one read leave together. False when reading must stop.
bool Connection::dispatch_frames() {
	protocol::Frame frame;
	bool stop = false;
	for (;;) {
		auto status = stream_.next(frame);
		if (status == protocol::FrameDecoder::Status::NeedMore) {
			break;
		}
		if (status == protocol::FrameDecoder::Status::Invalid) {
			fail(ConnectionEnd{ConnectionEnd::Kind::Malformed, stream_.decode_error()});
			return false;
		}
		if (!on_frame_(frame)) {
			close();
			stop = true;
			break;
		}
		if (closed()) {
			stop = true;
			break;
		}
	}
	if (on_idle_) {
		on_idle_();
	}
	return !stop && !closed();
}

}  // namespace mmpy::host
