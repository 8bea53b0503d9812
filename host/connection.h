// One framed connection to a shim over a socket descriptor: frames in, frames out, on the
// protocol's FrameStream. Reading runs on the loop thread. send() may be called from any
// thread (the watchdog sends heartbeats while the loop thread is busy in Python), so the
// stream's write side is guarded by a mutex and every write is non-blocking; its read side
// belongs to the loop thread. What the socket does not take at once waits in the outbox and
// leaves when the socket is writable again.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "stream.h"

namespace mmpy::host {

// How a connection ended, as a value; describe() words it.
struct ConnectionEnd {
	enum class Kind {
		PeerClosed,   // end of stream: the shim closed its end
		ReadFailed,   // `error` is the errno
		WriteFailed,  // `error` is the errno
		PollFailed,   // `error` is the libuv status the poll reported
		CannotWatch,  // `error` is the libuv status of uv_poll_start
		Malformed,    // the bytes broke the framing: `detail` says how
		Overflow,     // more than Connection::kMaxQueued bytes waited for the shim
		ClosedByUs,   // close() or fail(): `detail` is the reason, empty for a clean close
	};
	Kind kind = Kind::ClosedByUs;
	int error = 0;
	std::string detail;

	ConnectionEnd() = default;
	explicit ConnectionEnd(Kind k, int error_code = 0) : kind(k), error(error_code) {}
	ConnectionEnd(Kind k, std::string what) : kind(k), detail(std::move(what)) {}
};

// The reason as the host logs it and as an Error frame carries it; empty for a clean end.
std::string describe(const ConnectionEnd& end);

class Connection {
public:
	// A shim that stops reading must not make the host hoard its outputs forever.
	static constexpr size_t kMaxQueued = 64u << 20;

	// Called for every whole frame; return false to stop reading (the connection closes).
	using FrameHandler = std::function<bool(const protocol::Frame&)>;
	// Called once when the connection ends.
	using CloseHandler = std::function<void(const ConnectionEnd& end)>;
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
	void send(std::span<const uint8_t> frames);

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
	bool dispatch_frames();
	void fail(const ConnectionEnd& end);
	void close(ConnectionEnd end);
	void note_write(const protocol::IoOutcome& outcome);
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

	mutable std::mutex mutex_;  // guards the stream's write side and everything below
	protocol::FrameStream stream_;  // read side: loop thread only, without the lock
	int fd_ = -1;
	bool closing_ = false;
	bool wakeup_usable_ = false;
	std::optional<ConnectionEnd> broken_;  // a write error or overflow, for the loop thread to act on
	ConnectionEnd end_;

	FrameHandler on_frame_;
	IdleHandler on_idle_;
	CloseHandler on_close_;
};

}  // namespace mmpy::host
