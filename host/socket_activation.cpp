#include "socket_activation.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "log.h"

namespace mmpy::host {

namespace {

// systemd passes its sockets from this descriptor on (SD_LISTEN_FDS_START).
constexpr int kFirstPassedFd = 3;

// A variable's value, copied because unsetenv() frees it; "" if unset.
std::string take_variable(const char* name) {
	const char* value = std::getenv(name);
	std::string copy = value ? value : "";
	unsetenv(name);
	return copy;
}

// Strict decimal parse: a garbled variable must not be read as 0 or as a prefix.
bool parse_positive(const std::string& text, long& value) {
	if (text.empty()) {
		return false;
	}
	char* end = nullptr;
	errno = 0;
	value = std::strtol(text.c_str(), &end, 10);
	return errno == 0 && *end == '\0' && value > 0;
}

// One integer socket option; false if the descriptor does not have it.
bool socket_option(int fd, int name, int& value) {
	socklen_t size = sizeof(value);
	return getsockopt(fd, SOL_SOCKET, name, &value, &size) == 0;
}

// Only a listening Unix stream socket can be served: the peer uid check and the protocol
// both assume one, and a wrong ListenStream= line should fail loudly, not half work.
bool check_listening_unix_socket(int fd, std::string& error) {
	const std::string what = "descriptor " + std::to_string(fd) + " from systemd";
	struct stat info;
	if (fstat(fd, &info) != 0) {
		error = what + " is not open: " + std::strerror(errno);
		return false;
	}
	int domain = 0, type = 0, listening = 0;
	bool is_socket = S_ISSOCK(info.st_mode) && socket_option(fd, SO_DOMAIN, domain) &&
	                 socket_option(fd, SO_TYPE, type) && socket_option(fd, SO_ACCEPTCONN, listening);
	if (!is_socket || domain != AF_UNIX || type != SOCK_STREAM || !listening) {
		error = what + " is not a listening Unix stream socket; mm-pyhost.socket needs "
		        "ListenStream=/path/to/socket and Accept=no";
		return false;
	}
	return true;
}

}  // namespace

// sd_listen_fds(3): systemd sets LISTEN_PID to the pid it executes and LISTEN_FDS to the
// number of sockets it passed, from descriptor 3 on (LISTEN_FDNAMES names them). The pid
// check keeps a process that merely inherited the variables from taking descriptor 3.
bool take_activated_socket(int& fd, std::string& error) {
	fd = -1;
	std::string pid_text = take_variable("LISTEN_PID");
	std::string count_text = take_variable("LISTEN_FDS");
	take_variable("LISTEN_FDNAMES");
	if (pid_text.empty() && count_text.empty()) {
		return true;  // started by hand, not by systemd
	}
	long pid = 0, count = 0;
	if (!parse_positive(pid_text, pid) || pid != getpid()) {
		// Meant for another process (a wrapper that did not exec us): not ours to take.
		log_line("ignoring LISTEN_FDS=" + count_text + ": it was passed to process " +
		         (pid_text.empty() ? "(no LISTEN_PID)" : pid_text) + ", not to this one");
		return true;
	}
	if (count_text.empty() || count_text == "0") {
		return true;  // as sd_listen_fds(): nothing passed
	}
	if (!parse_positive(count_text, count) || count != 1) {
		error = "systemd passed LISTEN_FDS=" + count_text + "; mm-pyhost serves exactly one socket "
		        "(one ListenStream= line in mm-pyhost.socket)";
		return false;
	}
	if (!check_listening_unix_socket(kFirstPassedFd, error)) {
		return false;
	}
	if (fcntl(kFirstPassedFd, F_SETFD, FD_CLOEXEC) != 0) {
		error = std::string("cannot mark the socket from systemd close-on-exec: ") + std::strerror(errno);
		return false;
	}
	fd = kFirstPassedFd;
	return true;
}

}  // namespace mmpy::host
