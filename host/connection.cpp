#include "connection.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control.h"

namespace mmpy::host {

namespace {
// A shim that stops reading must not make the host hoard its outputs forever.
constexpr size_t kMaxQueued = 64u << 20;
constexpr size_t kReadChunk = 64u << 10;
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
void Connection::send(const std::vector<uint8_t>& frames) {
	if (frames.empty()) {
		return;
	}
	{
		std::lock_guard lock(mutex_);
		if (closing_ || fd_ < 0 || !broken_.empty()) {
			return;
		}
		if (outbox_.size() - sent_ + frames.size() > kMaxQueued) {
			broken_ = "the shim stopped reading; more than 64 MiB of frames are waiting";
			outbox_.clear();
			sent_ = 0;
		} else if (sent_ == outbox_.size()) {
			// Nothing waits: write straight from the caller's buffer, keep only the rest.
			size_t done = write_some(frames.data(), frames.size());
			if (broken_.empty() && done < frames.size()) {
				outbox_.insert(outbox_.end(), frames.begin() + static_cast<ptrdiff_t>(done), frames.end());
			}
		} else {
			outbox_.insert(outbox_.end(), frames.begin(), frames.end());
			write_locked();
		}
		if (!on_loop_thread()) {
			// The loop thread must watch for writability or act on the error.
			if ((sent_ < outbox_.size() || !broken_.empty()) && wakeup_usable_) {
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
		if (fd_ < 0 || !broken_.empty() || sent_ == outbox_.size()) {
			return;
		}
		write_locked();
		if (!on_loop_thread()) {
			if (!broken_.empty() && wakeup_usable_) {
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
			if (fd_ < 0 || closing_ || !broken_.empty()) {
				return true;
			}
			write_locked();
			if (outbox_.size() - sent_ <= bytes || !broken_.empty()) {
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

// Writes what the socket takes of `data` and returns how much that was. Caller holds the
// lock. A failure is recorded in broken_ (the loop thread closes) and drops the outbox.
size_t Connection::write_some(const uint8_t* data, size_t size) {
	size_t done = 0;
	while (done < size) {
		ssize_t n = ::write(fd_, data + done, size - done);
		if (n < 0) {
			if (errno == EINTR) {
				continue;  // the handler-timeout signal may land here
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				broken_ = std::string("write failed: ") + std::strerror(errno);
				outbox_.clear();
				sent_ = 0;
			}
			break;
		}
		done += static_cast<size_t>(n);
	}
	return done;
}

// Writes as much of the outbox as the socket takes. Caller holds the lock.
void Connection::write_locked() {
	size_t done = write_some(outbox_.data() + sent_, outbox_.size() - sent_);
	if (!broken_.empty()) {
		return;  // the outbox is gone already
	}
	sent_ += done;
	if (sent_ == outbox_.size()) {
		outbox_.clear();
		sent_ = 0;
	} else if (sent_ > outbox_.size() / 2) {
		// Keep the buffer from growing while the socket drains slowly.
		outbox_.erase(outbox_.begin(), outbox_.begin() + static_cast<ptrdiff_t>(sent_));
		sent_ = 0;
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
		if (!broken_.empty() && !closing_) {
			closing_ = true;
			close_reason_ = broken_;
		}
		pending = sent_ < outbox_.size();
		closing = closing_;
		if (closing && (!pending || !broken_.empty())) {
			pending = false;
		}
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
			close_reason_ = std::string("cannot watch the connection: ") + uv_strerror(rc);
		}
	}
	finish_close();
}

void Connection::fail(const std::string& reason) {
	std::vector<uint8_t> frame;
	protocol::encode(frame, protocol::Error{reason});
	send(frame);
	close(reason);
}

void Connection::close(const std::string& reason) {
	{
		std::lock_guard lock(mutex_);
		if (closing_) {
			return;
		}
		closing_ = true;
		close_reason_ = reason;
	}
	if (open_handles_ == 0) {
		finish_close();  // never opened: report the end at once
		return;
	}
	settle();
}

bool Connection::closed() const {
	std::lock_guard lock(mutex_);
	return closing_ || fd_ < 0 || !broken_.empty();
}

// Stops watching, closes the descriptor (the shim sees end of stream) and the handles;
// the close handler runs once both handles are gone.
void Connection::finish_close() {
	if (open_handles_ == 0) {
		if (on_close_) {
			auto handler = std::move(on_close_);
			on_close_ = nullptr;
			std::string reason;
			{
				std::lock_guard lock(mutex_);
				reason = close_reason_;
			}
			handler(reason);
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
		outbox_.clear();
		sent_ = 0;
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
			if (self->broken_.empty()) {
				self->broken_ = std::string("the connection failed: ") + uv_strerror(status);
			}
		}
		self->settle();
		return;
	}
	if (events & UV_WRITABLE) {
		std::lock_guard lock(self->mutex_);
		if (self->fd_ >= 0 && self->broken_.empty()) {
			self->write_locked();
		}
	}
	if ((events & UV_READABLE) && !self->closed()) {
		self->read_frames();
	}
	self->settle();
}

// Reads what the socket has, hands every whole frame to on_frame, then calls on_idle
// once per read so that the replies of one read leave together.
void Connection::read_frames() {
	for (int round = 0; round < kReadsPerWakeup; round++) {
		auto space = decoder_.prepare(kReadChunk);
		// fd_ changes only on this thread, so reading it without the lock is safe.
		ssize_t n = ::read(fd_, space.data(), space.size());
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				close(std::string("read failed: ") + std::strerror(errno));
			}
			return;
		}
		if (n == 0) {
			close();  // end of stream: the shim closed its end
			return;
		}
		decoder_.commit(static_cast<size_t>(n));
		protocol::Frame frame;
		bool stop = false;
		for (;;) {
			auto status = decoder_.next(frame);
			if (status == protocol::FrameDecoder::Status::NeedMore) {
				break;
			}
			if (status == protocol::FrameDecoder::Status::Invalid) {
				fail("malformed frame: " + decoder_.error());
				return;
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
		if (stop || closed() || static_cast<size_t>(n) < space.size()) {
			return;
		}
	}
}

}  // namespace mmpy::host
