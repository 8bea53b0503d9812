// The stdin command protocol of mmcore's `test` backend.
//
//   inject INST.CHAN VALUE [INST.CHAN VALUE ...]  push events (all in the same iteration)
//   flood INST.PREFIX CHANNELS COUNT               push COUNT events round robin over
//                                                  PREFIX0..PREFIX{CHANNELS-1}, value (k+1)/COUNT
//   sync TOKEN                                     print "sync TOKEN" once everything before it
//                                                  was processed and routed
//   stats                                          print "stats rss_kb=N events=M" plus the
//                                                  per-backend fields below
//   quit                                           orderly shutdown, like SIGINT
// Bad input prints "error <reason>" on stdout and is otherwise ignored.
//
// `stats`: N is this process's VmRSS in kB, M the events handled by test instances. Then,
// for every backend other than `test` whose handle() or process() has run (registration
// order), six more space-separated fields (each token has exactly one '='):
//   NAME.handle_ns=A NAME.handle_calls=B NAME.events=C NAME.process_ns=D NAME.process_calls=E NAME.allocs=F
// A/D: CPU time (CLOCK_THREAD_CPUTIME_ID) of the core thread inside handle()/process(), ns;
// B/E: calls; C: events passed to handle(); F: heap allocations (malloc, calloc, realloc,
// memalign, aligned_alloc, posix_memalign, operator new) by the core thread inside them,
// not counting those of the core's mm_* functions and log_printf; -1 in sanitizer builds,
// which cannot count them. See callstats.h.
//
// On a test instance with `echo-inject = yes`, every event `inject` pushes on its channels
// is also reported as "injected INST.CHAN VALUE T_US" (T_US: CLOCK_MONOTONIC in µs, taken
// right after the push, like the T_US of "event" lines). The line is printed at the start
// of the next iteration, so that printing it does not delay this iteration's routing
// (the benchmark, tools/bench, measures the round trip between the two stamps).
#pragma once

#include <cstddef>

namespace mmcore::testbackend {

// Appends bytes read from stdin.
void commands_feed(const char* data, size_t n);

// Stdin ended: a trailing unterminated line counts as complete.
void commands_eof();

// Runs buffered complete lines. A `sync`/`stats` after events were pushed in this call is
// deferred to the next iteration (so the events are routed first); returns true if deferred.
bool commands_run();

// Prints the `injected` lines of earlier iterations.
void commands_flush_injected();

// True while `injected` lines wait to be printed.
bool commands_injected_pending();

}  // namespace mmcore::testbackend
