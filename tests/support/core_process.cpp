// CoreProcess: config files in a TempDir plus the mmcore stdin/stdout protocol.
#include "core_process.h"

#include <csignal>
#include <cstdio>
#include <sstream>

namespace mmpy::test {

// Paths baked in by tests/CMakeLists.txt.
std::string mmcore_path() {
	return MMCORE_PATH;
}
std::string plugin_dir() {
	return MMPY_PLUGIN_DIR;
}
std::string host_path() {
	return MMPY_HOST_PATH;
}
std::string test_plugin_dir() {
	return MMPY_TEST_PLUGIN_DIR;
}

// "event INST.CHAN VALUE T_US" -> Event.
std::optional<Event> parse_event(const std::string& line) {
	std::istringstream in(line);
	std::string word;
	Event e;
	if (!(in >> word) || word != "event" || !(in >> e.channel >> e.value >> e.t_us)) {
		return std::nullopt;
	}
	return e;
}

namespace {

// Full precision, so injected values arrive unchanged.
std::string format_value(double v) {
	char buffer[64];
	std::snprintf(buffer, sizeof(buffer), "%.17g", v);
	return buffer;
}

}  // namespace

// Files first, then the process, so the config is complete when mmcore reads it.
CoreProcess::CoreProcess(const std::string& config, const std::map<std::string, std::string>& files,
                         CoreOptions options)
    : dir_(std::make_unique<TempDir>()) {
	dir_->write("test.cfg", config);
	for (const auto& [path, text] : files) {
		dir_->write(path, text);
	}
	std::vector<std::string> argv{mmcore_path(), "-p", options.plugin_dir};
	argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
	argv.push_back(config_path());
	SpawnOptions spawn;
	spawn.cwd = options.cwd.empty() ? dir_->path() : options.cwd;
	spawn.env = options.env;
	child_ = std::make_unique<ChildProcess>(argv, spawn);
}

// Child first (it may still use the folder), then the folder.
CoreProcess::~CoreProcess() {
	child_.reset();
	dir_.reset();
}

bool CoreProcess::wait_started(Duration timeout) {
	return child_->wait_stdout_anywhere([](const std::string& l) { return l == "started"; }, timeout).has_value();
}

bool CoreProcess::send(const std::string& line) {
	return child_->send_line(line);
}

bool CoreProcess::inject(const std::string& channel, double value) {
	return send("inject " + channel + " " + format_value(value));
}

bool CoreProcess::inject(const std::vector<std::pair<std::string, double>>& events) {
	std::string line = "inject";
	for (const auto& [channel, value] : events) {
		line += " " + channel + " " + format_value(value);
	}
	return send(line);
}

// Unique tokens, so a non-consuming search cannot confuse two syncs.
bool CoreProcess::sync(Duration timeout) {
	std::string token = "sync " + std::to_string(++sync_counter_);
	if (!send(token)) {
		return false;
	}
	return child_->wait_stdout_anywhere([&](const std::string& l) { return l == token; }, timeout).has_value();
}

std::optional<Event> CoreProcess::wait_event(const std::string& channel, Duration timeout) {
	std::string prefix = "event " + channel + " ";
	auto line = child_->wait_stdout([&](const std::string& l) { return l.rfind(prefix, 0) == 0; }, timeout);
	return line ? parse_event(*line) : std::nullopt;
}

std::optional<Event> CoreProcess::wait_event(const std::regex& pattern, Duration timeout) {
	auto line = child_->wait_stdout(
	    [&](const std::string& l) { return l.rfind("event ", 0) == 0 && std::regex_search(l, pattern); }, timeout);
	return line ? parse_event(*line) : std::nullopt;
}

std::vector<Event> CoreProcess::events() {
	child_->pump();
	std::vector<Event> out;
	for (const auto& line : child_->stdout_lines()) {
		if (auto e = parse_event(line)) {
			out.push_back(*e);
		}
	}
	return out;
}

std::optional<std::string> CoreProcess::wait_log(const std::string& text, Duration timeout) {
	return child_->wait_stderr_anywhere(contains(text), timeout);
}

// quit -> wait -> SIGKILL fallback.
std::optional<int> CoreProcess::stop(Duration timeout) {
	if (!child_->running()) {
		return child_->wait_exit(Duration(0));
	}
	send("quit");
	if (auto status = child_->wait_exit(timeout)) {
		return status;
	}
	child_->signal(SIGKILL);
	return child_->wait_exit(timeout);
}

}  // namespace mmpy::test
