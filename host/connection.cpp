#include "connection.h"

#include "control.h"

namespace mmpy::host {

namespace {
// A shim that stops reading must not make the host hoard its outputs forever.
constexpr size_t kMaxQueued = 64u << 20;
constexpr size_t kReadChunk = 64u << 10;
}  // namespace

Connection::Connection(uv_loop_t* loop, FrameHandler on_frame, IdleHandler on_idle, CloseHandler on_close)
    : loop_(loop), on_frame_(std::move(on_frame)), on_idle_(std::move(on_idle)), on_close_(std::move(on_close)) {
	pipe_.data = this;
}

Connection::~Connection() = default;

bool Connection::open(int fd, std::string& error) {
	int rc = uv_pipe_init(loop_, &pipe_, 0);
	if (rc == 0) {
		handle_open_ = true;
		rc = uv_pipe_open(&pipe_, fd);
	}
	if (rc == 0) {
		rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&pipe_), on_alloc, on_read);
	}
	if (rc != 0) {
		error = std::string("cannot use descriptor ") + std::to_string(fd) + ": " + uv_strerror(rc);
		return false;
	}
	return true;
}

void Connection::send(const std::vector<uint8_t>& frames) {
	if (closing_ || frames.empty()) {
		return;
	}
	if (!write_in_flight_) {
		// Most writes go through at once; only the rest needs a copy.
		uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(frames.data())),
		                           static_cast<unsigned>(frames.size()));
		int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&pipe_), &buf, 1);
		if (written == static_cast<int>(frames.size())) {
			return;
		}
		if (written < 0 && written != UV_EAGAIN) {
			close(std::string("write failed: ") + uv_strerror(written));
			return;
		}
		size_t done = written > 0 ? static_cast<size_t>(written) : 0;
		queued_.insert(queued_.end(), frames.begin() + static_cast<ptrdiff_t>(done), frames.end());
		start_write();
		return;
	}
	if (queued_.size() + frames.size() > kMaxQueued) {
		close("the shim stopped reading; more than 64 MiB of frames are waiting");
		return;
	}
	queued_.insert(queued_.end(), frames.begin(), frames.end());
}

void Connection::start_write() {
	if (write_in_flight_ || queued_.empty()) {
		return;
	}
	writing_.swap(queued_);
	queued_.clear();
	uv_buf_t buf = uv_buf_init(reinterpret_cast<char*>(writing_.data()), static_cast<unsigned>(writing_.size()));
	write_req_.data = this;
	int rc = uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&pipe_), &buf, 1, on_write);
	if (rc != 0) {
		close(std::string("write failed: ") + uv_strerror(rc));
		return;
	}
	write_in_flight_ = true;
}

void Connection::on_write(uv_write_t* req, int status) {
	auto* self = static_cast<Connection*>(req->data);
	self->write_in_flight_ = false;
	self->writing_.clear();
	if (status != 0) {
		self->close(std::string("write failed: ") + uv_strerror(status));
		self->finish_close();
		return;
	}
	self->start_write();
	if (self->closing_ && !self->write_in_flight_) {
		self->finish_close();
	}
}

void Connection::fail(const std::string& reason) {
	std::vector<uint8_t> frame;
	protocol::encode(frame, protocol::Error{reason});
	send(frame);
	close(reason);
}

void Connection::close(const std::string& reason) {
	if (closing_) {
		return;
	}
	closing_ = true;
	close_reason_ = reason;
	if (handle_open_) {
		uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_));
	}
	if (!write_in_flight_) {
		finish_close();
	}
}

// Closes the handle once nothing is in flight, then reports the end exactly once.
void Connection::finish_close() {
	if (!handle_open_) {
		if (on_close_) {
			auto handler = std::move(on_close_);
			on_close_ = nullptr;
			handler(close_reason_);
		}
		return;
	}
	if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&pipe_))) {
		return;
	}
	uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), on_closed);
}

void Connection::on_closed(uv_handle_t* handle) {
	auto* self = static_cast<Connection*>(handle->data);
	self->handle_open_ = false;
	self->finish_close();
}

void Connection::on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
	auto* self = static_cast<Connection*>(handle->data);
	auto space = self->decoder_.prepare(kReadChunk);
	*buf = uv_buf_init(reinterpret_cast<char*>(space.data()), static_cast<unsigned>(space.size()));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
	auto* self = static_cast<Connection*>(stream->data);
	if (nread < 0) {
		self->close(nread == UV_EOF ? std::string() : std::string("read failed: ") + uv_strerror(static_cast<int>(nread)));
		return;
	}
	self->decoder_.commit(static_cast<size_t>(nread));
	protocol::Frame frame;
	for (;;) {
		auto status = self->decoder_.next(frame);
		if (status == protocol::FrameDecoder::Status::NeedMore) {
			break;
		}
		if (status == protocol::FrameDecoder::Status::Invalid) {
			self->fail("malformed frame: " + self->decoder_.error());
			return;
		}
		if (!self->on_frame_(frame) || self->closing_) {
			break;
		}
	}
	if (self->on_idle_) {
		self->on_idle_();
	}
}

}  // namespace mmpy::host
