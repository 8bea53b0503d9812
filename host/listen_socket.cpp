#include "listen_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "log.h"
#include "runtime_dir.h"
#include "socket_activation.h"

namespace mmpy::host {

namespace {

// The address of `path`; false if it does not fit (bind() would silently cut it).
bool make_address(const std::string& path, sockaddr_un& address, std::string& error) {
	address = {};
	address.sun_family = AF_UNIX;
	if (path.empty() || path.size() >= sizeof(address.sun_path)) {
		error = "cannot listen on '" + path + "': a socket path must have 1 to " +
		        std::to_string(sizeof(address.sun_path) - 1) + " bytes";
		return false;
	}
	std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
	return true;
}

// The path a passed socket is bound to, so the operator can check it against `socket =`.
std::string bound_path(int fd) {
	sockaddr_un address{};
	socklen_t size = sizeof(address);
	if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0 || size <= sizeof(sa_family_t)) {
		return "(unnamed socket)";
	}
	if (address.sun_path[0] == '\0') {
		return "@" + std::string(address.sun_path + 1, size - sizeof(sa_family_t) - 1);  // abstract
	}
	return std::string(address.sun_path, strnlen(address.sun_path, sizeof(address.sun_path)));
}

// A socket file left by a host that died is in the way of bind(); one that still answers
// belongs to a running host, which must not be stolen from.
bool clear_stale_socket(const std::string& path, const sockaddr_un& address, std::string& error) {
	struct stat info;
	if (lstat(path.c_str(), &info) != 0) {
		return true;
	}
	if (!S_ISSOCK(info.st_mode)) {
		error = "cannot listen on " + path + ": it exists and is not a socket";
		return false;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		error = std::string("socket failed: ") + std::strerror(errno);
		return false;
	}
	bool alive = connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
	close(probe);
	if (alive) {
		error = "another mm-pyhost already listens on " + path;
		return false;
	}
	if (unlink(path.c_str()) != 0 && errno != ENOENT) {
		error = "cannot remove the old socket " + path + ": " + std::strerror(errno);
		return false;
	}
	return true;
}

// Binds with umask 0177, so the socket is 0600 from its first instant, never wider.
bool bind_socket(const std::string& path, int& fd, std::string& error) {
	sockaddr_un address;
	if (!make_address(path, address, error) || !clear_stale_socket(path, address, error)) {
		return false;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		error = std::string("socket failed: ") + std::strerror(errno);
		return false;
	}
	mode_t previous = umask(0177);
	int rc = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
	int bind_errno = errno;
	umask(previous);
	// A core reconnecting after a restart, one connection per instance, waits in the backlog.
	if (rc != 0 || listen(fd, SOMAXCONN) != 0) {
		error = "cannot listen on " + path + ": " + std::strerror(rc != 0 ? bind_errno : errno);
		if (rc == 0) {
			unlink(path.c_str());
		}
		close(fd);
		fd = -1;
		return false;
	}
	return true;
}

}  // namespace

bool open_listen_socket(const std::string& requested, ListenSocket& out, std::string& error) {
	out = {};
	if (!take_activated_socket(out.fd, error)) {
		return false;
	}
	if (out.fd >= 0) {
		out.path = bound_path(out.fd);
		out.from_systemd = true;
		if (!requested.empty() && requested != out.path) {
			log_line("ignoring --listen " + requested + ": serving the socket systemd passed, " + out.path);
		}
		return true;
	}
	out.path = requested;
	if (out.path.empty() && !protocol::prepare_default_socket_path(out.path, error)) {
		return false;
	}
	return bind_socket(out.path, out.fd, error);
}

}  // namespace mmpy::host
