#include "terminal.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <stdexcept>

namespace mmpy::test {

Terminal::Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
	winsize size{};
	size.ws_row = 40;
	size.ws_col = 120;
	pid_ = forkpty(&master_, nullptr, nullptr, &size);
	if (pid_ < 0) {
		throw std::runtime_error("forkpty failed");
	}
	if (pid_ == 0) {
		for (const auto& [name, value] : env) {
			setenv(name.c_str(), value.c_str(), 1);
		}
		std::vector<char*> args;
		for (const std::string& arg : argv) {
			args.push_back(const_cast<char*>(arg.c_str()));
		}
		args.push_back(nullptr);
		execv(args[0], args.data());
		_exit(127);
	}
}

Terminal::~Terminal() {
	if (!status_) {
		kill(pid_, SIGKILL);
		waitpid(pid_, nullptr, 0);
	}
	close(master_);
}

void Terminal::type(std::string_view keys) {
	while (!keys.empty()) {
		ssize_t n = write(master_, keys.data(), keys.size());
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return;
		}
		keys.remove_prefix(static_cast<size_t>(n));
	}
}

// False once the program has closed its side (EIO on Linux).
bool Terminal::read_some(int wait_ms) {
	pollfd p{master_, POLLIN, 0};
	if (poll(&p, 1, wait_ms) <= 0) {
		return true;
	}
	char buffer[4096];
	ssize_t n = read(master_, buffer, sizeof(buffer));
	if (n <= 0) {
		return n < 0 && errno == EINTR;
	}
	screen_.append(buffer, static_cast<size_t>(n));
	return true;
}

bool Terminal::wait_for(std::string_view text, Duration timeout) {
	auto deadline = std::chrono::steady_clock::now() + timeout;
	while (true) {
		size_t at = screen_.find(text, matched_);
		if (at != std::string::npos) {
			matched_ = at + text.size();
			return true;
		}
		if (std::chrono::steady_clock::now() >= deadline || !read_some(20)) {
			return false;
		}
	}
}

std::optional<int> Terminal::wait_exit(Duration timeout) {
	auto deadline = std::chrono::steady_clock::now() + timeout;
	while (!status_ && std::chrono::steady_clock::now() < deadline) {
		read_some(20);
		int status = 0;
		if (waitpid(pid_, &status, WNOHANG) == pid_) {
			status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
	}
	return status_;
}

}  // namespace mmpy::test
