// A program on a pseudo-terminal, typed at as a person at a keyboard would (mm-pyhost console):
// its line editing, completion and Ctrl-C are the terminal's, not a pipe's.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.h"

namespace mmpy::test {

class Terminal {
public:
	// Starts argv[0] (a path) on a new pseudo-terminal of 120 columns, with `env` added to
	// the inherited environment; throws std::runtime_error if that fails.
	Terminal(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
	// SIGKILLs and reaps the program if it still runs.
	~Terminal();
	Terminal(const Terminal&) = delete;
	Terminal& operator=(const Terminal&) = delete;

	pid_t pid() const { return pid_; }

	// Keys as typed: "\t" is Tab, "\x03" Ctrl-C, "\x04" Ctrl-D, "\x10" Ctrl-P.
	void type(std::string_view keys);

	// Waits until `text` appears in what the program wrote after the previous match (and
	// consumes up to it); false on timeout or when the program has ended.
	bool wait_for(std::string_view text, Duration timeout = default_timeout);

	// Everything the program wrote so far, for failure messages.
	const std::string& screen() const { return screen_; }

	// Waits for the program to exit: its exit status, or nullopt on timeout.
	std::optional<int> wait_exit(Duration timeout = default_timeout);

private:
	bool read_some(int wait_ms);

	pid_t pid_ = -1;
	int master_ = -1;
	std::string screen_;
	size_t matched_ = 0;
	std::optional<int> status_;
};

}  // namespace mmpy::test
