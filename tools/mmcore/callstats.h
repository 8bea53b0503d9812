// Per-backend cost of the hot callbacks, for `stats`: CPU time spent inside each backend's
// handle() and process() (CLOCK_THREAD_CPUTIME_ID of the core thread), the events passed to
// handle(), and the heap allocations (malloc, calloc, realloc, aligned_alloc, posix_memalign,
// memalign; operator new goes through malloc) the core thread made while inside them.
// Allocations made by the core's own mm_* functions and log_printf, which the callbacks call,
// are not counted (AllocPause). Allocation counting needs the interposer in
// alloc_interpose.cpp, which is built only without sanitizers (they own malloc).
// CLOCK_THREAD_CPUTIME_ID is a system call (no vDSO), about 0.1-0.2 us each; a scope
// reads it twice, and each *_ns sum includes roughly one read per call (see *_calls).
#pragma once

#include <cstdint>
#include <ctime>

#include "midimonster.h"

// The interposer is compiled in (CMake: neither MMPY_SANITIZE nor MMPY_FUZZ) and no
// sanitizer that replaces malloc is active.
#if defined(MMCORE_COUNT_ALLOCS) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer) && !__has_feature(memory_sanitizer)
#define MMCORE_ALLOC_COUNTING 1
#endif
#else
#define MMCORE_ALLOC_COUNTING 1
#endif
#endif

namespace mmcore {

struct CallStats {
	uint64_t handle_ns = 0;
	uint64_t handle_calls = 0;
	uint64_t events = 0;  // events passed to handle()
	uint64_t process_ns = 0;
	uint64_t process_calls = 0;
	uint64_t allocs = 0;  // inside handle() and process()
};

// The counter the allocation functions bump on this thread, or nullptr (not in a callback).
// constinit: no TLS wrapper, so the interposer can read it at any time.
extern constinit thread_local uint64_t* current_alloc_counter;

// True if allocations are counted (else `stats` reports allocs=-1).
constexpr bool alloc_counting() {
#ifdef MMCORE_ALLOC_COUNTING
	return true;
#else
	return false;
#endif
}

// Stats of backend `b` (created zeroed on first use; stable address).
CallStats& callstats_of(const backend* b);

// Current CPU time of the calling thread in ns.
inline uint64_t thread_cpu_ns() {
	timespec ts{};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Scope of one handle()/process() call: adds its thread CPU time to `ns` and counts the
// allocations made meanwhile in `stats.allocs`. Nests (restores the previous counter).
class BackendCall {
public:
	BackendCall(CallStats& stats, uint64_t& ns) : stats_(stats), ns_(ns), outer_(current_alloc_counter) {
		start_ = thread_cpu_ns();
		current_alloc_counter = &stats_.allocs;
	}
	~BackendCall() {
		current_alloc_counter = outer_;
		ns_ += thread_cpu_ns() - start_;
	}
	BackendCall(const BackendCall&) = delete;
	BackendCall& operator=(const BackendCall&) = delete;

private:
	CallStats& stats_;
	uint64_t& ns_;
	uint64_t* outer_;
	uint64_t start_ = 0;
};

// Scope of a core function called by a plugin (mm_*, log_printf): its allocations are the
// core's, not the backend's.
class AllocPause {
public:
	AllocPause() : outer_(current_alloc_counter) { current_alloc_counter = nullptr; }
	~AllocPause() { current_alloc_counter = outer_; }
	AllocPause(const AllocPause&) = delete;
	AllocPause& operator=(const AllocPause&) = delete;

private:
	uint64_t* outer_;
};

}  // namespace mmcore
