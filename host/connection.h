// One framed connection to a shim over a socket descriptor: frames in, frames out.
// Reading runs on the loop thread. send() may be called from any thread (the watchdog
// sends heartbeats while the loop thread is busy in Python), so the outbox is guarded
// by a mutex and every write is non-blocking. What the socket does not take at once
// stays in the outbox and leaves when the socket is writable again.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <string>
#include <thread>
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
	Connection(const Connection&) = delete;
	Connection& operator=(const Connection&) = delete;

	// Adopts an already connected socket descriptor (the socketpair end, or an accepted
	// connection): non-blocking, close-on-exec, watched by the loop. Call on the loop thread.
	bool open(int fd, std::string& error);

	// Queues whole frames (already encoded) and writes what the socket takes now.
	// Any thread. Frames of one call are never interleaved with another thread's.
	void send(const std::vector<uint8_t>& frames);

	// Writes what waits in the outbox, if the socket takes it. Any thread: the watchdog
	// calls it while the loop thread may be stuck in Python.
	void flush_pending();

	// Loop thread, inside a Python call: waits until at most `bytes` wait in the outbox, so
	// that a handler producing output in a long loop is slowed to the shim's pace instead
	// of queueing without end. False if a signal interrupted the wait (the caller lets
	// Python act on it: handler-timeout); true once below, or when the connection is over.
	bool wait_until_queued_below(size_t bytes);

	// Sends an Error frame with `reason`, then closes. Loop thread.
	void fail(const std::string& reason);

	// Stops reading and closes after queued frames are written. Loop thread.
	void close(const std::string& reason = {});

	// True once close() or fail() was called (or the connection broke).
	bool closed() const;

private:
	static void on_poll(uv_poll_t* handle, int status, int events);
	static void on_wakeup(uv_async_t* handle);
	static void on_handle_closed(uv_handle_t* handle);
	void read_frames();
	size_t write_some(const uint8_t* data, size_t size);
	void write_locked();
	void settle();
	void finish_close();
	bool on_loop_thread() const { return std::this_thread::get_id() == loop_thread_; }

	uv_loop_t* loop_;
	std::thread::id loop_thread_;
	uv_poll_t poll_{};
	uv_async_t wakeup_{};  // another thread left bytes or an error for the loop thread
	bool wakeup_ready_ = false;
	bool poll_ready_ = false;
	bool handles_closing_ = false;
	int open_handles_ = 0;
	int polled_events_ = 0;
	protocol::FrameDecoder decoder_;  // loop thread only

	mutable std::mutex mutex_;  // guards everything below
	int fd_ = -1;
	std::vector<uint8_t> outbox_;
	size_t sent_ = 0;          // bytes of outbox_ already written
	bool closing_ = false;
	bool wakeup_usable_ = false;
	std::string broken_;       // a write error or overflow, for the loop thread to act on
	std::string close_reason_;

	FrameHandler on_frame_;
	IdleHandler on_idle_;
	CloseHandler on_close_;
};

}  // namespace mmpy::host
