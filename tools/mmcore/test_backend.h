// The built-in `test` backend: instances whose channels are driven from stdin and whose
// received events are printed on stdout (see test_commands.h for the command protocol).
#pragma once

#include <cstdint>
#include <string>

#include "midimonster.h"

namespace mmcore::testbackend {

// Registers backend "test" and starts watching stdin; called before plugins load.
int register_backend();

// The registered channel "INST.CHAN" of a test instance, or nullptr with a reason in `why`.
channel* find_channel(const std::string& spec, std::string& why);

// CLOCK_MONOTONIC in microseconds: the T_US of `event` and `injected` lines.
uint64_t monotonic_us();

// True if the channel belongs to a test instance with `echo-inject = yes`.
bool echo_inject(const channel* c);

// Events delivered to test instances so far (for `stats`).
uint64_t events_handled();

}  // namespace mmcore::testbackend
