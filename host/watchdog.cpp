#include "watchdog.h"

#include <signal.h>

#include <chrono>
#include <cstring>
#include <system_error>
#include <vector>

#include "connection.h"
#include "control.h"
#include "core_clock.h"
#include "log.h"

namespace mmpy::host {

namespace {

using namespace std::chrono_literals;

constexpr uint64_t kNsPerMs = 1000000;
// "alive" while no call is stuck; the shim gives up after 3 s without a frame.
constexpr uint64_t kHeartbeatNs = 250 * kNsPerMs;
// How long an interrupted call may take to return before the host gives itself up.
constexpr uint64_t kGraceNs = 2000 * kNsPerMs;
// How often a running call is looked at, at most and at least.
constexpr uint64_t kMinCheckNs = 10 * kNsPerMs;

uint64_t now_ns() {
	return static_cast<uint64_t>(
	    std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
	        .count());
}

}  // namespace

std::string Watchdog::describe(const char* kind, const std::string* subject) {
	std::string text = kind ? kind : "a Python call";
	if (text.rfind("the ", 0) != 0 && text.rfind("a ", 0) != 0 && text.rfind("code ", 0) != 0) {
		text = "the " + text;
	}
	if (subject && !subject->empty()) {
		text += " " + *subject;
	}
	return text;
}

Watchdog::Watchdog(Connection& connection, const CoreClock& core_clock)
    : connection_(connection), core_clock_(core_clock) {}

Watchdog::~Watchdog() {
	stop();
}

int Watchdog::interrupt_signal() {
	return SIGRTMIN + 2;
}

// The thread starts with every signal blocked, so that SIGINT/SIGTERM and the interrupt
// signal reach only the loop thread; the loop thread itself must be able to receive it.
bool Watchdog::start(std::string& error) {
	if (thread_.joinable()) {
		return true;
	}
	loop_thread_ = pthread_self();
	sigset_t interrupt;
	sigemptyset(&interrupt);
	sigaddset(&interrupt, interrupt_signal());
	int rc = pthread_sigmask(SIG_UNBLOCK, &interrupt, nullptr);
	if (rc != 0) {
		error = std::string("cannot unblock the handler-timeout signal: ") + std::strerror(rc);
		return false;
	}
	sigset_t all, previous;
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &previous);
	if (rc != 0) {
		error = std::string("cannot block signals for the watchdog thread: ") + std::strerror(rc);
		return false;
	}
	stopping_ = false;
	try {
		thread_ = std::thread([this] { run(); });
	} catch (const std::system_error& e) {
		error = std::string("cannot start the watchdog thread: ") + e.what();
	}
	rc = pthread_sigmask(SIG_SETMASK, &previous, nullptr);
	if (rc != 0 && error.empty()) {
		error = std::string("cannot restore the signal mask: ") + std::strerror(rc);
	}
	return error.empty();
}

void Watchdog::stop() {
	{
		std::lock_guard lock(mutex_);
		stopping_ = true;
	}
	wake_.notify_all();
	if (thread_.joinable()) {
		thread_.join();
	}
}

// Publishes the call as a sequence lock: odd while changing, then the new even number.
void Watchdog::begin_call(const char* kind, const std::string* subject) {
	uint64_t seq = seq_.load(std::memory_order_relaxed);
	seq_.store(seq + 1, std::memory_order_relaxed);
	std::atomic_thread_fence(std::memory_order_release);
	kind_.store(kind, std::memory_order_relaxed);
	subject_.store(subject, std::memory_order_relaxed);
	started_ns_.store(now_ns(), std::memory_order_relaxed);
	seq_.store(seq + 2, std::memory_order_release);
}

void Watchdog::end_call() {
	started_ns_.store(0, std::memory_order_release);
}

// Runs on the loop thread (the writer), so the plain loads see its own latest values.
std::optional<Watchdog::Overrun> Watchdog::overdue() const {
	uint64_t seq = seq_.load(std::memory_order_relaxed);
	if (started_ns_.load(std::memory_order_relaxed) == 0 || overdue_seq_.load(std::memory_order_acquire) != seq) {
		return std::nullopt;
	}
	return Overrun{kind_.load(std::memory_order_relaxed), subject_.load(std::memory_order_relaxed),
	               timeout_ms_.load(std::memory_order_relaxed)};
}

std::optional<std::string> Watchdog::calling() const {
	const char* kind = kind_.load(std::memory_order_relaxed);
	if (started_ns_.load(std::memory_order_relaxed) == 0 || kind == kLoopHeld) {
		return std::nullopt;
	}
	return describe(kind, subject_.load(std::memory_order_relaxed));
}

// A consistent copy of the running call, or false if the loop thread was changing it.
bool Watchdog::read_call(Call& call) const {
	for (int attempt = 0; attempt < 4; attempt++) {
		uint64_t before = seq_.load(std::memory_order_acquire);
		if (before & 1) {
			continue;
		}
		call.seq = before;
		call.started_ns = started_ns_.load(std::memory_order_relaxed);
		call.kind = kind_.load(std::memory_order_relaxed);
		call.subject = subject_.load(std::memory_order_relaxed);
		std::atomic_thread_fence(std::memory_order_acquire);
		if (seq_.load(std::memory_order_relaxed) == before) {
			return true;
		}
	}
	return false;
}

void Watchdog::run() {
	next_beat_ns_ = now_ns();
	std::unique_lock lock(mutex_);
	while (!stopping_) {
		lock.unlock();
		uint64_t timeout_ms = timeout_ms_.load(std::memory_order_relaxed);
		Call call;
		bool consistent = read_call(call);
		// Only now: a call read after the clock could have started after it, and its age
		// would wrap around to centuries.
		uint64_t now = now_ns();
		if (consistent) {
			watch(call, now, timeout_ms);
		} else {
			call = Call{};
		}
		// The loop thread may be busy for seconds: whatever waits in the outbox leaves now.
		connection_.flush_pending();
		if (!stuck_ && now >= next_beat_ns_) {
			send_heartbeat();
			next_beat_ns_ = now + kHeartbeatNs;
		}
		uint64_t wake_at = next_wakeup(call, now, timeout_ms);
		lock.lock();
		auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(wake_at));
		wake_.wait_until(lock, deadline, [this] { return stopping_; });
	}
}

// Interrupts a call that has run past handler-timeout (once), gives the host up when it
// does not return within the grace period, and takes it back when it returns after all.
void Watchdog::watch(const Call& call, uint64_t now, uint64_t timeout_ms) {
	bool running = call.started_ns != 0;
	if (stuck_ && (!running || call.seq != interrupted_seq_)) {
		stuck_ = false;
		send_log(stuck_description_ + " has returned after all; this host answers heartbeats again");
	}
	if (!running || timeout_ms == 0) {
		return;
	}
	if (call.seq != interrupted_seq_) {
		if (now < call.started_ns || now - call.started_ns < timeout_ms * kNsPerMs) {
			return;
		}
		send_log(call.kind == kLoopHeld ? "a task has held the asyncio loop for " + std::to_string(timeout_ms) +
		                                      " ms without awaiting (handler-timeout); interrupting it"
		                                : describe(call.kind, call.subject) + " has run for " +
		                                      std::to_string(timeout_ms) + " ms (handler-timeout); interrupting it");
		interrupted_seq_ = call.seq;
		interrupted_at_ns_ = now;
		overdue_seq_.store(call.seq, std::memory_order_release);
		int rc = pthread_kill(loop_thread_, interrupt_signal());
		if (rc != 0) {
			send_log(std::string("cannot interrupt it: ") + std::strerror(rc));
		}
		return;
	}
	if (!stuck_ && now - interrupted_at_ns_ >= kGraceNs) {
		stuck_ = true;
		stuck_description_ = call.kind == kLoopHeld ? std::string("the task holding the asyncio loop")
		                                            : describe(call.kind, call.subject);
		send_log(stuck_description_ +
		         " does not return (stuck outside Python, for example in a C extension, or it caught "
		         "HandlerTimeout); this host stops answering heartbeats so the core restarts it");
	}
}

// When to look again: the next heartbeat, the running call's deadline, and often enough
// to notice a call that starts meanwhile soon after its handler-timeout.
uint64_t Watchdog::next_wakeup(const Call& call, uint64_t now, uint64_t timeout_ms) const {
	uint64_t check = kHeartbeatNs;
	if (timeout_ms > 0) {
		check = std::min(kHeartbeatNs, std::max(kMinCheckNs, timeout_ms * kNsPerMs / 5));
	}
	uint64_t wake_at = now + check;
	if (!stuck_) {
		wake_at = std::min(wake_at, next_beat_ns_);
	}
	if (call.started_ns != 0 && timeout_ms > 0) {
		uint64_t due = call.seq == interrupted_seq_ ? interrupted_at_ns_ + kGraceNs : call.started_ns + timeout_ms * kNsPerMs;
		if (due > now) {
			wake_at = std::min(wake_at, due);
		}
	}
	return std::max(wake_at, now + 1);
}

void Watchdog::send_heartbeat() {
	std::lock_guard lock(beat_mutex_);
	std::vector<uint8_t> frame;
	protocol::Heartbeat beat;
	beat.timestamp = core_clock_.now_ms();
	beat.handled = handled_.load(std::memory_order_relaxed);
	if (protocol::encode(frame, beat)) {
		connection_.send(frame);
	}
}

// A line for the core's log, straight through the connection (Session's log belongs
// to the loop thread); the host's stderr if the connection is gone.
void Watchdog::send_log(const std::string& text) {
	if (connection_.closed()) {
		log_line(text);
		return;
	}
	std::vector<uint8_t> frame;
	if (protocol::encode(frame, protocol::Log{0, text})) {
		connection_.send(frame);
	}
}

}  // namespace mmpy::host
