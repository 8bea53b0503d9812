#include "listener.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <unistd.h>

#include "log.h"

namespace mmpy::host {

namespace {

struct Listener {
	uv_loop_t* loop;
	std::string path;
	uv_pipe_t server{};
	uv_signal_t sigint{}, sigterm{};
	std::set<uv_process_t*> children;
	bool stopping = false;
};

// A socket file left by a host that died is in the way of bind(); one that still answers
// belongs to a running host, which must not be stolen from.
bool clear_stale_socket(const std::string& path, std::string& error) {
	struct stat info;
	if (lstat(path.c_str(), &info) != 0) {
		return true;
	}
	if (!S_ISSOCK(info.st_mode)) {
		error = path + " exists and is not a socket";
		return false;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
	bool alive = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
	if (probe >= 0) {
		close(probe);
	}
	if (alive) {
		error = "another mm-pyhost already listens on " + path;
		return false;
	}
	unlink(path.c_str());
	return true;
}

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

// Hands the accepted connection to a new `mm-pyhost --fd 3`.
void on_connection(uv_stream_t* server, int status) {
	auto* listener = static_cast<Listener*>(server->data);
	if (status < 0) {
		log_line(std::string("accept failed: ") + uv_strerror(status));
		return;
	}
	auto* client = new uv_pipe_t;
	uv_pipe_init(listener->loop, client, 0);
	auto close_client = [client] {
		uv_close(reinterpret_cast<uv_handle_t*>(client), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
	};
	if (uv_accept(server, reinterpret_cast<uv_stream_t*>(client)) != 0) {
		close_client();
		return;
	}
	uv_os_fd_t fd;
	uv_fileno(reinterpret_cast<uv_handle_t*>(client), &fd);

	char exe[4096];
	size_t exe_size = sizeof(exe);
	uv_exepath(exe, &exe_size);
	char fd_arg[] = "--fd";
	char fd_value[] = "3";
	char* args[] = {exe, fd_arg, fd_value, nullptr};
	uv_stdio_container_t stdio[4];
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = 2;  // a host never writes to stdout; keep its lines with the log
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = 2;
	stdio[3].flags = UV_INHERIT_FD;
	stdio[3].data.fd = fd;
	uv_process_options_t options{};
	options.file = exe;
	options.args = args;
	options.stdio = stdio;
	options.stdio_count = 4;
	options.exit_cb = on_child_exit;
	auto* process = new uv_process_t;
	process->data = listener;
	int rc = uv_spawn(listener->loop, process, &options);
	if (rc != 0) {
		log_line(std::string("cannot start an instance host: ") + uv_strerror(rc));
		delete process;
	} else {
		listener->children.insert(process);
		log_line("core connected; instance host " + std::to_string(process->pid) + " serves it");
	}
	close_client();
}

void on_stop_signal(uv_signal_t* handle, int signum) {
	auto* listener = static_cast<Listener*>(handle->data);
	if (listener->stopping) {
		return;
	}
	listener->stopping = true;
	log_line(std::string("stopping on ") + strsignal(signum) + "; instance hosts run their cleanup handlers");
	uv_close(reinterpret_cast<uv_handle_t*>(&listener->server), nullptr);
	unlink(listener->path.c_str());
	for (uv_process_t* child : listener->children) {
		uv_process_kill(child, SIGTERM);
	}
	uv_signal_stop(&listener->sigint);
	uv_signal_stop(&listener->sigterm);
	if (listener->children.empty()) {
		uv_stop(listener->loop);
	}
}

}  // namespace

int run_listener(const std::string& path) {
	Listener listener;
	listener.loop = uv_default_loop();
	listener.path = path;
	std::string error;
	if (!clear_stale_socket(path, error)) {
		log_line(error);
		return 1;
	}
	uv_pipe_init(listener.loop, &listener.server, 0);
	listener.server.data = &listener;
	mode_t previous = umask(0077);  // the socket is for its owner only
	int rc = uv_pipe_bind(&listener.server, path.c_str());
	umask(previous);
	if (rc == 0) {
		rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener.server), 16, on_connection);
	}
	if (rc != 0) {
		log_line("cannot listen on " + path + ": " + uv_strerror(rc));
		return 1;
	}
	for (auto [handle, signum] : {std::pair{&listener.sigint, SIGINT}, std::pair{&listener.sigterm, SIGTERM}}) {
		uv_signal_init(listener.loop, handle);
		handle->data = &listener;
		uv_signal_start(handle, on_stop_signal, signum);
		uv_unref(reinterpret_cast<uv_handle_t*>(handle));
	}
	log_line("listening on " + path);
	uv_run(listener.loop, UV_RUN_DEFAULT);
	uv_walk(listener.loop, [](uv_handle_t* h, void*) { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
	uv_run(listener.loop, UV_RUN_DEFAULT);
	return 0;
}

}  // namespace mmpy::host
