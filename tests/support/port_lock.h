// Tests that listen on a fixed port (8990: the documentation's example module connects
// there) take turns through a lock file, across CTest's parallel processes and the harness's
// pytest suite (tests/harness/conftest.py, lighting_desk), which locks the same file.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <string>

namespace mmpy::test {

class PortLock {
public:
	explicit PortLock(int port) {
		std::string path = "/tmp/mmpy-tests-port-" + std::to_string(port) + ".lock";
		fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
		if (fd_ >= 0) {
			flock(fd_, LOCK_EX);
		}
	}
	~PortLock() {
		if (fd_ >= 0) {
			close(fd_);
		}
	}
	PortLock(const PortLock&) = delete;
	PortLock& operator=(const PortLock&) = delete;

private:
	int fd_ = -1;
};

}  // namespace mmpy::test
