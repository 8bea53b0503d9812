// mmcore started on a generated configuration, with helpers for its stdin/stdout protocol.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "child_process.h"
#include "temp_dir.h"

namespace mmpy::test {

// Build-tree locations (compile definitions from tests/CMakeLists.txt).
std::string mmcore_path();
std::string plugin_dir();        // MMPY_PLUGIN_DIR: python.so + mm-pyhost
std::string host_path();         // MMPY_HOST_PATH
std::string test_plugin_dir();   // MMPY_TEST_PLUGIN_DIR: echo.so, noinit.so

// One `event INST.CHAN VALUE T_US` line of mmcore's test backend.
struct Event {
	std::string channel;  // "INST.CHAN"
	double value = 0;
	uint64_t t_us = 0;     // CLOCK_MONOTONIC microseconds when handle() saw it
};
std::optional<Event> parse_event(const std::string& line);

struct CoreOptions {
	std::string plugin_dir = mmpy::test::plugin_dir();  // passed as -p
	std::vector<std::string> extra_args;                // e.g. {"-i", "py1.module=x"}, before the config path
	std::map<std::string, std::string> env;             // extra environment
	std::string cwd;                                    // default: the temp folder
};

class CoreProcess {
public:
	// Writes `config` as <tmp>/test.cfg and every `files` entry (relative path -> text), then
	// starts `mmcore -p <plugin_dir> <extra_args> <tmp>/test.cfg`. Does not wait for `started`.
	explicit CoreProcess(const std::string& config, const std::map<std::string, std::string>& files = {},
	                     CoreOptions options = {});
	// Kills the core if still running (ChildProcess), then removes the folder.
	~CoreProcess();

	TempDir& dir() { return *dir_; }
	ChildProcess& process() { return *child_; }
	std::string config_path() const { return dir_->file("test.cfg"); }

	// Waits for the `started` line; false if the core failed or timed out.
	bool wait_started(Duration timeout = default_timeout);
	// Sends a raw command line.
	bool send(const std::string& line);
	// `inject CHAN VALUE` / several pairs on one line (pushed in the same core iteration).
	bool inject(const std::string& channel, double value);
	bool inject(const std::vector<std::pair<std::string, double>>& events);
	// Sends `sync N` with a fresh N and waits for its echo: everything sent earlier has been
	// processed and routed by the core.
	bool sync(Duration timeout = default_timeout);

	// Next (not yet consumed) event line on `channel` ("INST.CHAN").
	std::optional<Event> wait_event(const std::string& channel, Duration timeout = default_timeout);
	// Next (not yet consumed) event line matching `pattern` (searched in the whole line).
	std::optional<Event> wait_event(const std::regex& pattern, Duration timeout = default_timeout);
	// Every event line seen so far.
	std::vector<Event> events();
	// A stderr line containing `text`, anywhere in the log so far or arriving within `timeout`.
	std::optional<std::string> wait_log(const std::string& text, Duration timeout = default_timeout);

	// Sends `quit` and waits for exit; SIGKILL after `timeout`. Returns the exit status
	// (128 + signal if killed).
	std::optional<int> stop(Duration timeout = default_timeout);

	std::string transcript() const { return child_->transcript(); }

private:
	std::unique_ptr<TempDir> dir_;
	std::unique_ptr<ChildProcess> child_;
	unsigned sync_counter_ = 0;
};

}  // namespace mmpy::test
