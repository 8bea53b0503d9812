// ChildProcess: fork/exec with three pipes, poll()-based reading inside the wait calls.
#include "child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace mmpy::test {

namespace {

using Clock = std::chrono::steady_clock;

// A test must not die of SIGPIPE when it writes to a child that already exited.
void ignore_sigpipe_once() {
	static bool done = false;
	if (!done) {
		std::signal(SIGPIPE, SIG_IGN);
		done = true;
	}
}

// Inherited environment with `extra` applied, as "K=V" strings.
std::vector<std::string> build_env(const std::map<std::string, std::string>& extra) {
	std::map<std::string, std::string> merged;
	for (char** e = environ; e && *e; e++) {
		std::string kv = *e;
		size_t eq = kv.find('=');
		if (eq != std::string::npos) {
			merged[kv.substr(0, eq)] = kv.substr(eq + 1);
		}
	}
	for (const auto& [k, v] : extra) {
		merged[k] = v;
	}
	std::vector<std::string> out;
	for (const auto& [k, v] : merged) {
		out.push_back(k + "=" + v);
	}
	return out;
}

// NULL-terminated char* view of strings (they must outlive the view).
std::vector<char*> c_array(std::vector<std::string>& strings) {
	std::vector<char*> out;
	for (auto& s : strings) {
		out.push_back(s.data());
	}
	out.push_back(nullptr);
	return out;
}

}  // namespace

// Substring matcher.
LineMatcher contains(const std::string& text) {
	return [text](const std::string& line) { return line.find(text) != std::string::npos; };
}

// Regex-search matcher.
LineMatcher matches(const std::string& pattern) {
	std::regex re(pattern);
	return [re](const std::string& line) { return std::regex_search(line, re); };
}

// Pipes are O_CLOEXEC so only the dup2()ed ends reach the child; ours are non-blocking.
ChildProcess::ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
	ignore_sigpipe_once();
	if (argv.empty()) {
		throw std::runtime_error("ChildProcess: empty argv");
	}
	int in[2], out[2], err[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
	}
	std::vector<std::string> args = argv;
	std::vector<std::string> env = build_env(options.env);
	std::vector<char*> c_args = c_array(args), c_env = c_array(env);

	pid_ = fork();
	if (pid_ < 0) {
		throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
	}
	if (pid_ == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		std::signal(SIGPIPE, SIG_DFL);
		if (!options.cwd.empty() && chdir(options.cwd.c_str())) {
			_exit(126);
		}
		execve(c_args[0], c_args.data(), c_env.data());
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	stdin_fd_ = in[1];
	out_.fd = out[0];
	err_.fd = err[0];
	fcntl(out_.fd, F_SETFL, O_NONBLOCK);
	fcntl(err_.fd, F_SETFL, O_NONBLOCK);
}

// Never leave a child behind.
ChildProcess::~ChildProcess() {
	if (!status_ && pid_ > 0) {
		kill(pid_, SIGKILL);
		int st;
		waitpid(pid_, &st, 0);
	}
	for (int fd : {stdin_fd_, out_.fd, err_.fd}) {
		if (fd >= 0) {
			close(fd);
		}
	}
}

// Blocking write of one line (the child reads its stdin promptly).
bool ChildProcess::send_line(const std::string& line) {
	if (stdin_fd_ < 0) {
		return false;
	}
	std::string data = line + "\n";
	size_t done = 0;
	while (done < data.size()) {
		ssize_t n = write(stdin_fd_, data.data() + done, data.size() - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		done += static_cast<size_t>(n);
	}
	return true;
}

// EOF for the child.
void ChildProcess::close_stdin() {
	if (stdin_fd_ >= 0) {
		close(stdin_fd_);
		stdin_fd_ = -1;
	}
}

// poll() both pipes for up to `wait`, then read everything available and split lines.
void ChildProcess::read_available(Duration wait) {
	pollfd fds[2] = {{out_.fd, POLLIN, 0}, {err_.fd, POLLIN, 0}};
	if (out_.fd < 0 && err_.fd < 0) {
		return;
	}
	if (poll(fds, 2, static_cast<int>(wait.count())) <= 0) {
		return;
	}
	for (Stream* s : {&out_, &err_}) {
		while (s->fd >= 0) {
			char buffer[65536];
			ssize_t n = read(s->fd, buffer, sizeof(buffer));
			if (n > 0) {
				s->partial.append(buffer, static_cast<size_t>(n));
				size_t nl;
				while ((nl = s->partial.find('\n')) != std::string::npos) {
					s->lines.push_back(s->partial.substr(0, nl));
					s->partial.erase(0, nl + 1);
				}
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
				break;
			}
			// EOF or error: flush a final unterminated line and stop watching.
			if (!s->partial.empty()) {
				s->lines.push_back(s->partial);
				s->partial.clear();
			}
			close(s->fd);
			s->fd = -1;
		}
	}
}

// Non-blocking read of what is there.
void ChildProcess::pump() {
	read_available(Duration(0));
}

// Shared body of the wait_* functions.
std::optional<std::string> ChildProcess::wait_on(Stream& s, const LineMatcher& match, Duration timeout, bool consume) {
	auto deadline = Clock::now() + timeout;
	size_t scanned = consume ? s.cursor : 0;
	while (true) {
		for (; scanned < s.lines.size(); scanned++) {
			if (match(s.lines[scanned])) {
				if (consume) {
					s.cursor = scanned + 1;
				}
				return s.lines[scanned];
			}
		}
		auto now = Clock::now();
		if (s.fd < 0 || now >= deadline) {
			return std::nullopt;
		}
		auto left = std::chrono::duration_cast<Duration>(deadline - now);
		read_available(std::min(left, Duration(100)));
	}
}

std::optional<std::string> ChildProcess::wait_stdout(const LineMatcher& match, Duration timeout) {
	return wait_on(out_, match, timeout, true);
}

std::optional<std::string> ChildProcess::wait_stderr(const LineMatcher& match, Duration timeout) {
	return wait_on(err_, match, timeout, true);
}

std::optional<std::string> ChildProcess::wait_stdout(const std::regex& pattern, Duration timeout) {
	return wait_on(out_, [&](const std::string& l) { return std::regex_search(l, pattern); }, timeout, true);
}

std::optional<std::string> ChildProcess::wait_stderr(const std::regex& pattern, Duration timeout) {
	return wait_on(err_, [&](const std::string& l) { return std::regex_search(l, pattern); }, timeout, true);
}

std::optional<std::string> ChildProcess::wait_stdout_anywhere(const LineMatcher& match, Duration timeout) {
	return wait_on(out_, match, timeout, false);
}

std::optional<std::string> ChildProcess::wait_stderr_anywhere(const LineMatcher& match, Duration timeout) {
	return wait_on(err_, match, timeout, false);
}

// Readable dump of everything seen, for INFO()/FAIL() messages.
std::string ChildProcess::transcript() const {
	std::string text = "--- stdout of pid " + std::to_string(pid_) + " ---\n";
	for (const auto& l : out_.lines) {
		text += l + "\n";
	}
	if (!out_.partial.empty()) {
		text += out_.partial + " [no newline]\n";
	}
	text += "--- stderr ---\n";
	for (const auto& l : err_.lines) {
		text += l + "\n";
	}
	if (!err_.partial.empty()) {
		text += err_.partial + " [no newline]\n";
	}
	if (status_) {
		text += "--- exit status " + std::to_string(*status_) + " ---\n";
	}
	return text;
}

// kill() unless already reaped (a reaped pid may belong to someone else).
bool ChildProcess::signal(int sig) {
	if (status_ || pid_ <= 0) {
		return false;
	}
	return kill(pid_, sig) == 0;
}

// waitpid(WNOHANG) and status decoding.
bool ChildProcess::try_reap() {
	if (status_) {
		return true;
	}
	int st = 0;
	pid_t r = waitpid(pid_, &st, WNOHANG);
	if (r == pid_) {
		status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		return true;
	}
	return false;
}

// Keeps draining the pipes so a chatty child cannot block on a full pipe while exiting.
std::optional<int> ChildProcess::wait_exit(Duration timeout) {
	auto deadline = Clock::now() + timeout;
	while (!try_reap()) {
		if (Clock::now() >= deadline) {
			return std::nullopt;
		}
		if (out_.fd < 0 && err_.fd < 0) {
			usleep(10000);
		} else {
			read_available(Duration(10));
		}
	}
	pump();
	return status_;
}

// Reaps if it exited meanwhile.
bool ChildProcess::running() {
	return !try_reap();
}

}  // namespace mmpy::test
