#include "host_command.h"

#include <charconv>
#include <string_view>

namespace mmpy::protocol {

namespace {

template <typename Int>
bool whole(std::string_view text, Int& value) {
	auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
	return status == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::vector<std::string> host_command(const std::string& exe, std::optional<pid_t> exit_with_parent) {
	std::vector<std::string> argv{exe, "--fd", std::to_string(kHostFd)};
	if (exit_with_parent) {
		argv.push_back("--exit-with-parent");
		argv.push_back(std::to_string(*exit_with_parent));
	}
	return argv;
}

HostCommand parse_host_command(int argc, const char* const* argv) {
	HostCommand command;
	std::string_view mode = argc > 1 ? argv[1] : "";
	if (argc == 2 && mode == "--version") {
		command.mode = HostCommand::Mode::Version;
	} else if (argc == 2 && (mode == "--help" || mode == "-h")) {
		command.mode = HostCommand::Mode::Help;
	} else if ((argc == 2 || argc == 3) && mode == "--listen") {
		command.mode = HostCommand::Mode::Listen;
		command.listen_path = argc == 3 ? argv[2] : "";
	} else if ((argc == 3 || argc == 5) && mode == "--fd") {
		if (!whole(argv[2], command.fd) || command.fd < 0) {
			command.error = std::string("--fd needs a descriptor number, not '") + argv[2] + "'";
			return command;
		}
		if (argc == 5) {
			pid_t parent = 0;
			if (std::string_view(argv[3]) != "--exit-with-parent" || !whole(argv[4], parent) || parent <= 0) {
				return command;
			}
			command.exit_with_parent = parent;
		}
		command.mode = HostCommand::Mode::Serve;
	}
	return command;
}

const char* host_usage() {
	return "usage: mm-pyhost --listen [PATH] | --fd N | check FILE | drive | --version | --help\n"
	       "  --listen [PATH]  accept MIDIMonster cores on the Unix socket PATH (attach mode);\n"
	       "                   without PATH: the socket systemd passes, else\n"
	       "                   $XDG_RUNTIME_DIR/mm-pyhost/socket (or /tmp/mm-pyhost-UID/socket)\n"
	       "  --fd N           serve one core connection on descriptor N (used by the shim)\n"
	       "  check FILE       the pre-show check of a MIDIMonster configuration: imports each\n"
	       "                   python instance's modules, looks up its mapped handlers\n"
	       "  drive            run one instance on a virtual clock for the test harness, by JSON\n"
	       "                   lines on stdin and stdout (python3 -m pytest with mm_pyhost.testing)\n"
	       "operator commands (docs/running-a-show.md), all but console with --json for scripts:\n"
	       "  mm-pyhost list                         every python instance that runs\n"
	       "  mm-pyhost status INSTANCE              its health: events, tasks, memory, last error\n"
	       "  mm-pyhost values INSTANCE [PATTERN]    last input and output of each channel\n"
	       "  mm-pyhost monitor INSTANCE [PATTERN]   inputs and outputs as they happen\n"
	       "  mm-pyhost inject INSTANCE CHANNEL V    run CHANNEL's handler with V (0 to 1)\n"
	       "  mm-pyhost reload INSTANCE              reload its code, keeping values and state\n"
	       "  mm-pyhost restart INSTANCE             start a new host for it\n"
	       "  mm-pyhost logs INSTANCE [-f]           its recent log lines (-f: follow)\n"
	       "  mm-pyhost console INSTANCE             a Python prompt inside the running show\n";
}

}  // namespace mmpy::protocol
