#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "host_reach.h"

namespace mmpy::shim {

// Never blocks: a listener whose backlog is full counts as not reachable right now.
int AttachedHost::open(std::string& error) {
	sockaddr_un address{};
	if (path_.size() >= sizeof(address.sun_path)) {
		error = "the socket path " + path_ + " is " + std::to_string(path_.size()) + " bytes long, Unix sockets allow " +
		        std::to_string(sizeof(address.sun_path) - 1) + " (choose a shorter 'socket =' path in [backend python])";
		return -1;
	}
	address.sun_family = AF_UNIX;
	std::memcpy(address.sun_path, path_.c_str(), path_.size() + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		error = std::string("socket failed: ") + std::strerror(errno);
		return -1;
	}
	if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
		return fd;
	}
	int failure = errno;
	close(fd);
	error = "cannot reach mm-pyhost at " + path_ + ": ";
	struct stat info {};
	if (failure == ECONNREFUSED && stat(path_.c_str(), &info) == 0 && !S_ISSOCK(info.st_mode)) {
		// connect() says "refused" for any file that is not a socket.
		error += std::string("it is ") + (S_ISDIR(info.st_mode) ? "a folder" : "a file") +
		         ", not a socket (check 'socket =' in [backend python])";
		return -1;
	}
	error += std::strerror(failure);
	if (failure == EACCES) {
		error += " (run MIDIMonster as the user who runs 'mm-pyhost --listen " + path_ + "')";
	} else if (failure == ECONNREFUSED) {
		error += ": nothing listens there (is 'mm-pyhost --listen " + path_ + "' running?)";
	} else {
		error += " (is 'mm-pyhost --listen " + path_ + "' running?)";
	}
	return -1;
}

}  // namespace mmpy::shim
