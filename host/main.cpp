// mm-pyhost: runs the Python of MIDIMonster's python backend outside the core.
//   mm-pyhost --fd N           serve one core connection on descriptor N (the shim spawns this)
//   mm-pyhost --listen [PATH]  accept cores on a Unix socket (attach mode)
#include <Python.h>
#include <poll.h>
#include <uv.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "handshake.h"
#include "listener.h"
#include "log.h"
#include "parent_death.h"
#include "session.h"

namespace {

void usage(std::ostream& out) {
	out << "usage: mm-pyhost --listen [PATH] | --fd N | --version | --help\n"
	       "  --listen [PATH]  accept MIDIMonster cores on the Unix socket PATH (attach mode);\n"
	       "                   without PATH: the socket systemd passes, else\n"
	       "                   $XDG_RUNTIME_DIR/mm-pyhost/socket (or /tmp/mm-pyhost-UID/socket)\n"
	       "  --fd N           serve one core connection on descriptor N (used by the shim)\n";
}

// Runs the loop, letting Python threads run while it waits: the interpreter's lock is
// released around the wait for events and held while callbacks (which call Python) run.
void run_releasing_python(uv_loop_t* loop, const mmpy::host::Session& session) {
	while (!session.finished() && uv_loop_alive(loop)) {
		PyThreadState* saved = Py_IsInitialized() ? PyEval_SaveThread() : nullptr;
		pollfd ready{uv_backend_fd(loop), POLLIN, 0};
		poll(&ready, 1, uv_backend_timeout(loop));
		if (saved) {
			PyEval_RestoreThread(saved);
		}
		uv_run(loop, UV_RUN_NOWAIT);
	}
}

// Serves one connection with the main interpreter, then exits.
int serve(int fd) {
	uv_loop_t* loop = uv_default_loop();
	mmpy::host::Session session(loop);
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
	run_releasing_python(loop, session);
	uv_walk(loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0;
}

}  // namespace

int main(int argc, char** argv) {
	std::signal(SIGPIPE, SIG_IGN);
	std::string mode = argc > 1 ? argv[1] : "";
	if (mode == "--version") {
		std::cout << "mm-pyhost " << MMPY_VERSION << " (protocol " << mmpy::protocol::kVersion << ")\n";
		return 0;
	}
	if (mode == "--help" || mode == "-h") {
		usage(std::cout);
		return 0;
	}
	if ((argc == 3 || argc == 5) && mode == "--fd") {
		char* end = nullptr;
		long fd = std::strtol(argv[2], &end, 10);
		if (*end != '\0' || fd < 0) {
			std::cerr << "mm-pyhost: --fd needs a descriptor number, not '" << argv[2] << "'\n";
			return 2;
		}
		// Only the listener passes this: its instance hosts end when it does (parent_death.h).
		if (argc == 5) {
			long parent = std::strtol(argv[4], &end, 10);
			if (std::string(argv[3]) != "--exit-with-parent" || *end != '\0' || parent <= 0) {
				usage(std::cerr);
				return 2;
			}
			std::string error;
			if (!mmpy::host::exit_with_parent(static_cast<pid_t>(parent), error)) {
				mmpy::host::log_line(error);
				return 1;
			}
		}
		return serve(static_cast<int>(fd));
	}
	if ((argc == 2 || argc == 3) && mode == "--listen") {
		return mmpy::host::run_listener(argc == 3 ? argv[2] : "");
	}
	usage(std::cerr);
	return 2;
}
