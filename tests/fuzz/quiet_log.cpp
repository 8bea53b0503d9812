// Stands in for host/log.cpp in fuzz_host_session: the host's own diagnostics (one or two
// lines per session) would bury libFuzzer's output at hundreds of sessions a second.
// MMPY_FUZZ_VERBOSE=1 prints them as the host would.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "log.h"

namespace mmpy::host {

namespace {

bool verbose() {
	static const bool on = std::getenv("MMPY_FUZZ_VERBOSE") != nullptr;
	return on;
}

std::string identity = "mm-pyhost[fuzz]";

}  // namespace

void log_line(const std::string& text) {
	if (verbose()) {
		std::fprintf(stderr, "%s\t%s\n", identity.c_str(), text.c_str());
	}
}

void log_set_identity(const std::string& name) {
	identity = "mm-pyhost[fuzz] " + name;
}

}  // namespace mmpy::host
