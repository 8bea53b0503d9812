// Logging (stderr, MIDIMonster style) and protocol output (stdout) of mmcore.
#pragma once

#include <cstdarg>

namespace mmcore {

// Enables level != 0 (debug) messages, which are hidden by default (-v).
void log_set_verbose(bool verbose);

// Core-internal log line: prints "module<TAB>message\n" (newline appended).
void logf(const char* module, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Core-internal debug line, shown only with -v.
void debugf(const char* module, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// One protocol line on stdout (newline appended), flushed immediately.
void outf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Makes stdout and stderr line-buffered so test harnesses see whole lines promptly.
void output_init();

}  // namespace mmcore
