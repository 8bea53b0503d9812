// The stdin command protocol of mmcore's `test` backend.
//
//   inject INST.CHAN VALUE [INST.CHAN VALUE ...]  push events (all in the same iteration)
//   flood INST.PREFIX CHANNELS COUNT               push COUNT events round robin over
//                                                  PREFIX0..PREFIX{CHANNELS-1}, value (k+1)/COUNT
//   sync TOKEN                                     print "sync TOKEN" once everything before it
//                                                  was processed and routed
//   stats                                          print "stats rss_kb=N events=M"
//   quit                                           orderly shutdown, like SIGINT
// Bad input prints "error <reason>" on stdout and is otherwise ignored.
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
