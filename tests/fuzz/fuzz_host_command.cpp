// fuzz_host_command: mm-pyhost's command line (protocol/host_command.h), which the shim and
// the listener build with host_command() and the host's main() reads back with
// parse_host_command(). The input is split at its NUL bytes into argv, as exec() would hand
// it over (an empty input is argc 0; argv[argc] is null, as in main()).
//
// What must hold whatever the command line: the parser never crashes; Serve comes with a
// descriptor >= 0 and, if it names a parent, a parent > 0 (the host would otherwise watch
// pid 0, its own process group, or no one); Listen keeps the path it was given, byte for
// byte. And what the shim builds, the host reads back: for an exe taken from argv[0] and a
// parent taken from the first four input bytes (none when their low 31 bits are 0),
// parse_host_command(host_command(exe, parent)) is Serve on protocol::kHostFd with that parent.
#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "host_command.h"

namespace {

using mmpy::protocol::HostCommand;

std::vector<const char*> argv_of(const std::vector<std::string>& args) {
	std::vector<const char*> argv;
	for (const std::string& arg : args) {
		argv.push_back(arg.c_str());
	}
	argv.push_back(nullptr);
	return argv;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	std::vector<std::string> args;
	if (size > 0) {
		const char* text = reinterpret_cast<const char*>(data);
		size_t start = 0;
		for (size_t i = 0; i <= size; i++) {
			if (i == size || data[i] == 0) {
				args.emplace_back(text + start, i - start);
				start = i + 1;
			}
		}
	}
	std::vector<const char*> argv = argv_of(args);
	int argc = static_cast<int>(args.size());

	HostCommand command = mmpy::protocol::parse_host_command(argc, argv.data());
	if (command.mode == HostCommand::Mode::Serve) {
		FUZZ_CHECK(command.fd >= 0, "Serve on descriptor %d", command.fd);
		FUZZ_CHECK(!command.exit_with_parent || *command.exit_with_parent > 0, "Serve, ending with parent %d",
		           static_cast<int>(*command.exit_with_parent));
	}
	if (command.mode == HostCommand::Mode::Listen) {
		FUZZ_CHECK(argc == 2 || argc == 3, "Listen from %d arguments", argc);
		const std::string& given = argc == 3 ? args[2] : std::string();
		FUZZ_CHECK(command.listen_path == given, "Listen on '%s', given '%s'", command.listen_path.c_str(),
		           given.c_str());
	}

	// The round trip: any executable path (it is argv[0], never read), any positive parent.
	std::string exe = args.empty() ? std::string() : args[0];
	uint32_t bits = 0;
	if (size > 0) {
		std::memcpy(&bits, data, size < sizeof bits ? size : sizeof bits);
	}
	std::optional<pid_t> parent;
	if ((bits & INT_MAX) != 0) {
		parent = static_cast<pid_t>(bits & INT_MAX);
	}
	std::vector<std::string> built = mmpy::protocol::host_command(exe, parent);
	std::vector<const char*> built_argv = argv_of(built);
	HostCommand back = mmpy::protocol::parse_host_command(static_cast<int>(built.size()), built_argv.data());
	FUZZ_CHECK(back.mode == HostCommand::Mode::Serve, "host_command() read back as mode %d: %s",
	           static_cast<int>(back.mode), back.error.c_str());
	FUZZ_CHECK(back.fd == mmpy::protocol::kHostFd, "host_command() read back with descriptor %d", back.fd);
	FUZZ_CHECK(back.exit_with_parent == parent, "host_command() with parent %d read back as %d",
	           parent ? static_cast<int>(*parent) : 0,
	           back.exit_with_parent ? static_cast<int>(*back.exit_with_parent) : 0);
	return 0;
}
