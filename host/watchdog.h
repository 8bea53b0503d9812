// The watchdog thread: tells the shim "alive" every 250 ms, and interrupts a Python call
// that runs longer than handler-timeout. It never takes Python's lock, so it keeps
// working while the loop thread sits in a handler; when a call cannot be interrupted it
// stops the heartbeats so that the shim restarts this host.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace mmpy::host {

class Connection;
class CoreClock;

class Watchdog {
public:
	// Heartbeats and log lines go through `connection`, stamped with `core_clock`.
	Watchdog(Connection& connection, const CoreClock& core_clock);
	~Watchdog();
	Watchdog(const Watchdog&) = delete;
	Watchdog& operator=(const Watchdog&) = delete;

	// The `kind` of the time between two waits of asyncio's loop (EventLoop): what handler-timeout
	// limits for tasks is how long code holds the loop without awaiting.
	// An array, not a pointer to a literal: one object whose address every use compares.
	static constexpr char kLoopHeld[] = "code on the asyncio loop";

	// What overran, for the message of the HandlerTimeout it gets.
	struct Overrun {
		const char* kind;
		const std::string* subject;
		uint64_t timeout_ms;
	};

	// "the handler of channel mod.fn", "the interval handler ticker.spin": `kind` (a string
	// literal) with `subject`.
	static std::string describe(const char* kind, const std::string* subject);

	// The signal that interrupts the loop thread (SIGRTMIN+2). Python's handler for it is
	// installed by the bootstrap and raises midimonster.HandlerTimeout.
	static int interrupt_signal();

	// Loop thread, once Python runs: starts the thread. The calling thread is the one
	// that runs Python calls and gets interrupted.
	bool start(std::string& error);
	// Stops and joins the thread (before Python is finalized). Idempotent.
	void stop();

	// handler-timeout in ms; 0 switches interruption off (heartbeats always flow).
	// Beyond about 35 years it makes no difference; the cap keeps the ns arithmetic exact.
	void set_timeout_ms(uint64_t ms) { timeout_ms_.store(std::min<uint64_t>(ms, 1ull << 40), std::memory_order_relaxed); }

	// Hot path, loop thread: one input event handled (its handler returned).
	void count_handled() { handled_.store(handled_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
	uint64_t handled() const { return handled_.load(std::memory_order_relaxed); }
	// A heartbeat now, from any thread: the shim learns at once that this host has handled
	// its first inputs, so it judges a loss after that as a host that ran the show.
	void beat() { send_heartbeat(); }

	// Hot path, loop thread: a Python call starts / has returned. `kind` is a string
	// literal ("the handler of channel"), `subject` a name that outlives the call or nullptr.
	void begin_call(const char* kind, const std::string* subject);
	void end_call();

	// Loop thread (Python's signal handler): the running call if it is the one this watchdog
	// interrupted; nothing if that call has already returned.
	std::optional<Overrun> overdue() const;

	// Loop thread: the Python call running now ("the handler of channel show.go"), if one
	// is and it is not the loop's own time (kLoopHeld).
	std::optional<std::string> calling() const;

private:
	struct Call {
		uint64_t seq = 0;
		uint64_t started_ns = 0;  // 0: no call running
		const char* kind = nullptr;
		const std::string* subject = nullptr;
	};

	void run();
	bool read_call(Call& call) const;
	void watch(const Call& call, uint64_t now_ns, uint64_t timeout_ms);
	void send_heartbeat();
	void send_log(const std::string& text);
	uint64_t next_wakeup(const Call& call, uint64_t now_ns, uint64_t timeout_ms) const;

	Connection& connection_;
	const CoreClock& core_clock_;
	pthread_t loop_thread_{};
	std::thread thread_;
	std::mutex mutex_;
	std::condition_variable wake_;
	// Both threads send heartbeats: counting and sending under one lock keeps the counts
	// on the wire rising, so a beat read before a handler returned cannot land after it.
	std::mutex beat_mutex_;
	bool stopping_ = false;

	std::atomic<uint64_t> timeout_ms_{10000};
	std::atomic<uint64_t> handled_{0};

	// The running call, written by the loop thread only, read by the watchdog as a
	// sequence lock: an odd seq_ means "being changed".
	std::atomic<uint64_t> seq_{0};
	std::atomic<uint64_t> started_ns_{0};
	std::atomic<const char*> kind_{nullptr};
	std::atomic<const std::string*> subject_{nullptr};
	std::atomic<uint64_t> overdue_seq_{0};  // the call that was interrupted (0: none)

	// Watchdog thread only.
	uint64_t interrupted_seq_ = 0;
	uint64_t interrupted_at_ns_ = 0;
	bool stuck_ = false;  // heartbeats withheld: the interrupted call did not return
	std::string stuck_description_;
	uint64_t next_beat_ns_ = 0;
};

}  // namespace mmpy::host
