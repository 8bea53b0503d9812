#include "listener.h"

#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "host_command.h"
#include "listen_socket.h"
#include "log.h"
#include "peer_credentials.h"

namespace mmpy::host {

namespace {

// Most instance hosts one listener serves at a time: each is a process.
constexpr size_t kMaxInstanceHosts = 256;

struct Listener {
	uv_loop_t* loop;
	ListenSocket socket;
	std::string exe;        // this executable, started once per connection
	uv_pipe_t server{};
	uv_signal_t sigint{}, sigterm{}, sighup{};
	std::set<uv_process_t*> children;
	bool stopping = false;
};

// Forgets an instance host that ended; during a stop, the last one to end ends the loop.
void on_child_exit(uv_process_t* process, int64_t status, int signal) {
	auto* listener = static_cast<Listener*>(process->data);
	log_line("instance host " + std::to_string(process->pid) +
	         (signal ? " ended by signal " + std::to_string(signal) : " exited with status " + std::to_string(status)));
	listener->children.erase(process);
	uv_close(reinterpret_cast<uv_handle_t*>(process), [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
	if (listener->stopping && listener->children.empty()) {
		uv_stop(listener->loop);
	}
}

// Starts `mm-pyhost --fd 3 --exit-with-parent OUR_PID` serving the connection `fd`.
void start_instance_host(Listener* listener, int fd) {
	std::vector<std::string> command = protocol::host_command(listener->exe, getpid());
	std::vector<char*> args;
	for (std::string& arg : command) {
		args.push_back(arg.data());
	}
	args.push_back(nullptr);
	static_assert(protocol::kHostFd > 2, "the host's connection comes after stdin, stdout and stderr");
	uv_stdio_container_t stdio[protocol::kHostFd + 1];
	for (uv_stdio_container_t& slot : stdio) {
		slot.flags = UV_IGNORE;
	}
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 2;  // a host never writes to stdout; keep its lines with the log
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[protocol::kHostFd].flags = UV_INHERIT_FD;
	stdio[protocol::kHostFd].data.fd = fd;
	uv_process_options_t options{};
	options.file = listener->exe.c_str();
	options.args = args.data();
	options.stdio = stdio;
	options.stdio_count = protocol::kHostFd + 1;
	options.exit_cb = on_child_exit;
	auto* process = new uv_process_t;
	process->data = listener;
	int rc = uv_spawn(listener->loop, process, &options);
	if (rc != 0) {
		log_line("cannot start an instance host " + listener->exe + ": " + uv_strerror(rc) +
		         "; the core's connection is closed");
		// A failed spawn leaves the handle initialised: it must be closed, not just freed.
		uv_close(reinterpret_cast<uv_handle_t*>(process), [](uv_handle_t* h) { delete reinterpret_cast<uv_process_t*>(h); });
		return;
	}
	listener->children.insert(process);
	log_line("core connected; instance host " + std::to_string(process->pid) + " serves it");
}

// Checks who connected, then hands the connection to a new instance host. A refused
// peer's connection is closed before any host starts, so it never reaches Python.
void on_connection(uv_stream_t* server, int status) {
	auto* listener = static_cast<Listener*>(server->data);
	if (status < 0) {
		log_line(std::string("accept failed: ") + uv_strerror(status));
		return;
	}
	auto* client = new uv_pipe_t;
	int rc = uv_pipe_init(listener->loop, client, 0);
	if (rc != 0) {
		log_line(std::string("cannot take a connection: ") + uv_strerror(rc));
		delete client;
		return;
	}
	rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(client));
	uv_os_fd_t fd = -1;
	if (rc == 0) {
		rc = uv_fileno(reinterpret_cast<uv_handle_t*>(client), &fd);
	}
	std::string refusal;
	if (rc != 0) {
		log_line(std::string("accept failed: ") + uv_strerror(rc));
	} else if (!peer_allowed(fd, refusal)) {
		log_line(refusal);
	} else if (listener->children.size() >= kMaxInstanceHosts) {
		// Every connection is a process: a runaway client must not fork the machine to death.
		log_line("refused a connection: " + std::to_string(kMaxInstanceHosts) +
		         " instance hosts already run; stop a core or start another listener");
	} else {
		start_instance_host(listener, fd);
	}
	// The instance host has its own copy of the descriptor; ours goes.
	uv_close(reinterpret_cast<uv_handle_t*>(client), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
}

// Stops accepting and tells every instance host to run its cleanup and exit; the loop
// ends when the last one has. A socket from systemd stays: systemd keeps listening on it
// and starts the next listener when a core connects.
void on_stop_signal(uv_signal_t* handle, int signum) {
	auto* listener = static_cast<Listener*>(handle->data);
	if (listener->stopping) {
		return;
	}
	listener->stopping = true;
	log_line(std::string("stopping on ") + strsignal(signum) + "; instance hosts run their cleanup handlers");
	uv_close(reinterpret_cast<uv_handle_t*>(&listener->server), nullptr);
	if (!listener->socket.from_systemd && unlink(listener->socket.path.c_str()) != 0) {
		log_line("cannot remove " + listener->socket.path + ": " + strerror(errno));
	}
	for (uv_process_t* child : listener->children) {
		uv_process_kill(child, SIGTERM);
	}
	uv_signal_stop(&listener->sigint);
	uv_signal_stop(&listener->sigterm);
	uv_signal_stop(&listener->sighup);
	if (listener->children.empty()) {
		uv_stop(listener->loop);
	}
}

// SIGHUP (kill -HUP, systemctl --user reload mm-pyhost) reloads the show's code of every
// instance host (docs/running-a-show.md, "Changing code during a show").
void on_reload_signal(uv_signal_t* handle, int) {
	auto* listener = static_cast<Listener*>(handle->data);
	log_line("SIGHUP: every instance host reloads its show's code");
	for (uv_process_t* child : listener->children) {
		uv_process_kill(child, SIGHUP);
	}
}

// This executable's path, for the instance hosts. Read once at start: after an upgrade
// replaces the file, /proc/self/exe names "... (deleted)", while the path still leads to
// the installed mm-pyhost (a mismatched protocol is refused at hello).
bool own_executable(std::string& exe, std::string& error) {
	char buffer[4096];
	size_t size = sizeof(buffer);
	int rc = uv_exepath(buffer, &size);
	if (rc != 0) {
		error = std::string("cannot find mm-pyhost's own executable: ") + uv_strerror(rc);
		return false;
	}
	exe.assign(buffer, size);
	return true;
}

// Puts the listening socket on the loop.
bool serve_socket(Listener& listener, std::string& error) {
	int rc = uv_pipe_init(listener.loop, &listener.server, 0);
	if (rc == 0) {
		listener.server.data = &listener;
		rc = uv_pipe_open(&listener.server, listener.socket.fd);
	}
	if (rc == 0) {
		rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener.server), SOMAXCONN, on_connection);
	}
	if (rc != 0) {
		error = "cannot listen on " + listener.socket.path + ": " + uv_strerror(rc);
		return false;
	}
	return true;
}

// SIGINT (Ctrl-C) and SIGTERM (kill, systemctl stop) stop the listener in order; SIGHUP
// reloads. The handles do not keep the loop alive: the server and the instance hosts do.
bool watch_stop_signals(Listener& listener, std::string& error) {
	for (auto [handle, signum] : {std::pair{&listener.sigint, SIGINT}, std::pair{&listener.sigterm, SIGTERM},
	                              std::pair{&listener.sighup, SIGHUP}}) {
		int rc = uv_signal_init(listener.loop, handle);
		if (rc == 0) {
			handle->data = &listener;
			rc = uv_signal_start(handle, signum == SIGHUP ? on_reload_signal : on_stop_signal, signum);
		}
		if (rc != 0) {
			error = std::string("cannot watch for ") + strsignal(signum) + ": " + uv_strerror(rc);
			return false;
		}
		uv_unref(reinterpret_cast<uv_handle_t*>(handle));
	}
	return true;
}

}  // namespace

int run_listener(const std::string& path) {
	Listener listener;
	listener.loop = uv_default_loop();
	std::string error;
	if (!own_executable(listener.exe, error) || !open_listen_socket(path, listener.socket, error)) {
		log_line(error);
		return 1;
	}
	if (!serve_socket(listener, error) || !watch_stop_signals(listener, error)) {
		log_line(error);
		if (!listener.socket.from_systemd) {
			unlink(listener.socket.path.c_str());  // a socket nobody answers on misleads cores
		}
		return 1;
	}
	log_line("listening on " + listener.socket.path + (listener.socket.from_systemd ? " (socket from systemd)" : "") +
	         "; cores reach it with 'socket = " + listener.socket.path + "' in [backend python]");
	uv_run(listener.loop, UV_RUN_DEFAULT);
	uv_walk(listener.loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
	uv_run(listener.loop, UV_RUN_DEFAULT);
	return 0;
}

}  // namespace mmpy::host
