// How a host process is started: the shim (spawn mode) and the listener (attach mode) build
// its command line here, and mm-pyhost's main() reads it back here.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace mmpy::protocol {

// The descriptor a started host finds its connection on.
inline constexpr int kHostFd = 3;

// `exe --fd 3`, and `--exit-with-parent PID` when the host must end with its parent.
std::vector<std::string> host_command(const std::string& exe, std::optional<pid_t> exit_with_parent = {});

struct HostCommand {
	enum class Mode { Serve, Listen, Version, Help, Invalid };
	Mode mode = Mode::Invalid;
	int fd = -1;                           // Serve
	std::optional<pid_t> exit_with_parent;  // Serve
	std::string listen_path;               // Listen: "" means the default
	std::string error;                     // Invalid: what is wrong, "" for plain misuse
};

HostCommand parse_host_command(int argc, const char* const* argv);

// The usage text for --help and for a command line parse_host_command() refused.
const char* host_usage();

}  // namespace mmpy::protocol
