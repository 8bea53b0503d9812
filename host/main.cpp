// mm-pyhost: runs the Python of MIDIMonster's python backend outside the core.
//   mm-pyhost --fd N           serve one core connection on descriptor N (the shim spawns this)
//   mm-pyhost --listen [PATH]  accept cores on a Unix socket (attach mode)
//   mm-pyhost list | status | values | inject | reload ...   the operator's commands
//   mm-pyhost check show.cfg   the pre-show check
//   mm-pyhost drive            the test harness's end (python/mm_pyhost/testing.py)
#include <uv.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "handshake.h"
#include "host_command.h"
#include "listener.h"
#include "log.h"
#include "operator_cli.h"
#include "show_check.h"
#include "show_driver.h"
#include "parent_death.h"
#include "session.h"

namespace {

// Serves one connection with the main interpreter, then exits.
int serve(int fd, const char* mode) {
	uv_loop_t* loop = uv_default_loop();
	mmpy::host::Session session(loop);
	session.serve_operators(mode);
	std::string error;
	if (!session.open(fd, error)) {
		mmpy::host::log_line(error);
		return 1;
	}
	uv_signal_t signals[2];
	int numbers[2] = {SIGINT, SIGTERM};
	for (int i = 0; i < 2; i++) {
		uv_signal_init(loop, &signals[i]);
		signals[i].data = &session;
		uv_signal_start(&signals[i], [](uv_signal_t* handle, int signum) {
			static_cast<mmpy::host::Session*>(handle->data)->terminate(std::string("stopped by ") + strsignal(signum));
		}, numbers[i]);
		uv_unref(reinterpret_cast<uv_handle_t*>(&signals[i]));
	}
	// SIGHUP reloads the show's code (docs/running-a-show.md, "Changing code during a show").
	uv_signal_t hangup;
	uv_signal_init(loop, &hangup);
	hangup.data = &session;
	uv_signal_start(&hangup, [](uv_signal_t* handle, int) {
		static_cast<mmpy::host::Session*>(handle->data)->reload("SIGHUP");
	}, SIGHUP);
	uv_unref(reinterpret_cast<uv_handle_t*>(&hangup));
	session.run();
	uv_walk(loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}

// `--fd N [--exit-with-parent PID]`: only the listener passes the latter, so that its
// instance hosts end when it does (parent_death.h).
int serve(const mmpy::protocol::HostCommand& command) {
	std::string error;
	if (command.exit_with_parent && !mmpy::host::exit_with_parent(*command.exit_with_parent, error)) {
		mmpy::host::log_line(error);
		return 1;
	}
	return serve(command.fd, command.exit_with_parent ? "attach" : "spawn");
}

}  // namespace

int main(int argc, char** argv) {
	std::signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && mmpy::host::is_operator_command(argv[1])) {
		return mmpy::host::run_operator_command(argc, argv);
	}
	if (argc >= 2 && std::strcmp(argv[1], "check") == 0) {
		if (argc != 3) {
			std::cerr << mmpy::protocol::host_usage();
			return 2;
		}
		return mmpy::host::run_check(argv[2]);
	}
	if (argc >= 2 && std::strcmp(argv[1], "drive") == 0) {
		if (argc != 2) {
			std::cerr << mmpy::protocol::host_usage();
			return 2;
		}
		return mmpy::host::run_driver();
	}
	using Mode = mmpy::protocol::HostCommand::Mode;
	mmpy::protocol::HostCommand command = mmpy::protocol::parse_host_command(argc, argv);
	switch (command.mode) {
	case Mode::Version:
		std::cout << "mm-pyhost " << MMPY_VERSION << " (protocol " << mmpy::protocol::kVersion << ")\n";
		return 0;
	case Mode::Help:
		std::cout << mmpy::protocol::host_usage();
		return 0;
	case Mode::Listen:
		return mmpy::host::run_listener(command.listen_path);
	case Mode::Serve:
		return serve(command);
	case Mode::Invalid:
		break;
	}
	if (!command.error.empty()) {
		std::cerr << "mm-pyhost: " << command.error << "\n";
	} else {
		std::cerr << mmpy::protocol::host_usage();
	}
	return 2;
}
