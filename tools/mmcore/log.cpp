// log_printf as exported to plugins, and the core's own log/stdout helpers.
#include "log.h"

#include <cstdio>

#include "callstats.h"
#include "midimonster.h"

namespace {
bool verbose_enabled = false;

// Shared body of the core's log helpers: prefix like the real core, then newline.
void vlog(int level, const char* module, const char* fmt, va_list args) {
	if (level && !verbose_enabled) {
		return;
	}
	std::fprintf(stderr, "%s%s\t", level ? "debug/" : "", module);
	std::vfprintf(stderr, fmt, args);
	std::fputc('\n', stderr);
}
}  // namespace

extern "C" {

// The plugin-facing log: "[debug/]module<TAB>message". Like the real core it appends nothing;
// the plugins' LOG macros carry the newline. Debug (level != 0) needs -v.
__attribute__((visibility("default"))) int log_printf(int level, char* module, char* fmt, ...) {
	mmcore::AllocPause core_side;
	if (level && !verbose_enabled) {
		return 0;
	}
	va_list args;
	va_start(args, fmt);
	std::fprintf(stderr, "%s%s\t", level ? "debug/" : "", module);
	int rv = std::vfprintf(stderr, fmt, args);
	va_end(args);
	return rv;
}
}

namespace mmcore {

// Remembers the -v switch for all log paths.
void log_set_verbose(bool verbose) {
	verbose_enabled = verbose;
}

// Core message at level 0.
void logf(const char* module, const char* fmt, ...) {
	va_list args;
	va_start(args, fmt);
	vlog(0, module, fmt, args);
	va_end(args);
}

// Core message at debug level.
void debugf(const char* module, const char* fmt, ...) {
	va_list args;
	va_start(args, fmt);
	vlog(1, module, fmt, args);
	va_end(args);
}

// Protocol line for whoever drives mmcore (tests, demo, benchmark).
void outf(const char* fmt, ...) {
	va_list args;
	va_start(args, fmt);
	std::vfprintf(stdout, fmt, args);
	va_end(args);
	std::fputc('\n', stdout);
	std::fflush(stdout);
}

// Both streams line-buffered, even when they are pipes.
void output_init() {
	std::setvbuf(stdout, nullptr, _IOLBF, 0);
	std::setvbuf(stderr, nullptr, _IOLBF, 0);
}

}  // namespace mmcore
