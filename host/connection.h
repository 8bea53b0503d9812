// One framed connection to a shim over a libuv stream: frames in, frames out.
// Writes never block the loop: what the socket does not take at once is queued.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "frame.h"

namespace mmpy::host {

class Connection {
public:
	// Called for every whole frame; return false to stop reading (the connection closes).
	using FrameHandler = std::function<bool(const protocol::Frame&)>;
	// Called once when the connection ends: the reason, empty for a clean close.
	using CloseHandler = std::function<void(const std::string& reason)>;
	// Called after every batch of frames read, so replies leave as one write.
	using IdleHandler = std::function<void()>;

	Connection(uv_loop_t* loop, FrameHandler on_frame, IdleHandler on_idle, CloseHandler on_close);
	~Connection();

	// Adopts an already connected socket descriptor (spawn mode: the socketpair end).
	bool open(int fd, std::string& error);

	// Queues whole frames (already encoded) and starts writing them.
	void send(const std::vector<uint8_t>& frames);

	// Sends an Error frame with `reason`, then closes.
	void fail(const std::string& reason);

	// Stops reading and closes after queued frames are written.
	void close(const std::string& reason = {});

	bool closed() const { return closing_; }

private:
	static void on_alloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
	static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
	static void on_write(uv_write_t* req, int status);
	static void on_closed(uv_handle_t* handle);
	void start_write();
	void finish_close();

	uv_loop_t* loop_;
	uv_pipe_t pipe_{};
	uv_write_t write_req_{};
	protocol::FrameDecoder decoder_;
	std::vector<uint8_t> writing_;  // handed to libuv, in flight
	std::vector<uint8_t> queued_;   // waiting for the write in flight
	bool write_in_flight_ = false;
	bool closing_ = false;
	bool handle_open_ = false;
	std::string close_reason_;
	FrameHandler on_frame_;
	IdleHandler on_idle_;
	CloseHandler on_close_;
};

}  // namespace mmpy::host
