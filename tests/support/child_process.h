// A child process with piped stdin/stdout/stderr and expect-style line waiting.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace mmpy::test {

using Duration = std::chrono::milliseconds;
inline constexpr Duration default_timeout{10000};

// Decides whether an output line is the one being waited for.
using LineMatcher = std::function<bool(const std::string&)>;

// Matches lines containing `text`.
LineMatcher contains(const std::string& text);
// Matches lines in which `pattern` (ECMAScript regex) is found.
LineMatcher matches(const std::string& pattern);

struct SpawnOptions {
	std::string cwd;                          // empty: inherit
	std::map<std::string, std::string> env;   // added to (or replacing in) the inherited environment
};

class ChildProcess {
public:
	// Spawns argv[0] (a path) with argv; throws std::runtime_error if that fails.
	explicit ChildProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});
	// SIGKILLs and reaps the child if it still runs; closes the pipes.
	~ChildProcess();
	ChildProcess(const ChildProcess&) = delete;
	ChildProcess& operator=(const ChildProcess&) = delete;

	pid_t pid() const { return pid_; }

	// Writes `line` plus '\n' to the child's stdin; false if that failed (e.g. the child is gone).
	bool send_line(const std::string& line);
	// Closes the child's stdin (EOF).
	void close_stdin();

	// Expect-style: looks at lines after the previous match on that stream (earlier lines are
	// consumed), reading more until `timeout`; returns the matching line, or nullopt on timeout
	// or when the stream ended.
	std::optional<std::string> wait_stdout(const LineMatcher& match, Duration timeout = default_timeout);
	std::optional<std::string> wait_stderr(const LineMatcher& match, Duration timeout = default_timeout);
	std::optional<std::string> wait_stdout(const std::regex& pattern, Duration timeout = default_timeout);
	std::optional<std::string> wait_stderr(const std::regex& pattern, Duration timeout = default_timeout);

	// Like wait_*, but searches every line seen so far and consumes nothing.
	std::optional<std::string> wait_stdout_anywhere(const LineMatcher& match, Duration timeout = default_timeout);
	std::optional<std::string> wait_stderr_anywhere(const LineMatcher& match, Duration timeout = default_timeout);

	// Reads whatever output is available right now, without waiting.
	void pump();

	// All complete lines read so far (without '\n').
	const std::vector<std::string>& stdout_lines() const { return out_.lines; }
	const std::vector<std::string>& stderr_lines() const { return err_.lines; }
	// Both streams, for failure messages.
	std::string transcript() const;

	// Sends a signal; false if the child is already reaped or kill() failed.
	bool signal(int sig);
	// Waits for the child to exit (reading its output meanwhile). Returns its exit code, or
	// 128 + signal number if a signal killed it; nullopt on timeout. Repeated calls return
	// the same status.
	std::optional<int> wait_exit(Duration timeout = default_timeout);
	// True until the child has been reaped.
	bool running();

private:
	struct Stream {
		int fd = -1;
		std::string partial;
		std::vector<std::string> lines;
		size_t cursor = 0;  // first line not yet consumed by wait_*
	};
	std::optional<std::string> wait_on(Stream& s, const LineMatcher& match, Duration timeout, bool consume);
	void read_available(Duration wait);
	bool try_reap();

	pid_t pid_ = -1;
	int stdin_fd_ = -1;
	Stream out_, err_;
	std::optional<int> status_;
};

}  // namespace mmpy::test
