#include "log.h"

#include <cstdio>
#include <unistd.h>

namespace mmpy::host {

namespace {
std::string identity = "mm-pyhost[" + std::to_string(getpid()) + "]";
}

void log_line(const std::string& text) {
	std::fprintf(stderr, "%s\t%s\n", identity.c_str(), text.c_str());
	std::fflush(stderr);
}

void log_set_identity(const std::string& name) {
	identity = "mm-pyhost[" + std::to_string(getpid()) + "] " + name;
}

}  // namespace mmpy::host
