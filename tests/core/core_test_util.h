// Shared helpers for the tests of mmcore itself (they use the test plugin folder).
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mmpy_test.h"

namespace core_test {

using namespace mmpy::test;

// Options running mmcore with only the echo/noinit test plugins.
inline CoreOptions test_plugins(std::vector<std::string> extra_args = {}) {
	CoreOptions options;
	options.plugin_dir = test_plugin_dir();
	options.extra_args = std::move(extra_args);
	return options;
}

// Events seen so far on `channel`.
inline std::vector<Event> events_on(CoreProcess& core, const std::string& channel) {
	std::vector<Event> out;
	for (const auto& e : core.events()) {
		if (e.channel == channel) {
			out.push_back(e);
		}
	}
	return out;
}

// Index of the first stdout line equal to `line`, or -1.
inline long stdout_index(CoreProcess& core, const std::string& line) {
	const auto& lines = core.process().stdout_lines();
	auto it = std::find(lines.begin(), lines.end(), line);
	return it == lines.end() ? -1 : static_cast<long>(it - lines.begin());
}

// Index of the first stderr line containing `text`, or -1.
inline long stderr_index(CoreProcess& core, const std::string& text) {
	const auto& lines = core.process().stderr_lines();
	for (size_t u = 0; u < lines.size(); u++) {
		if (lines[u].find(text) != std::string::npos) {
			return static_cast<long>(u);
		}
	}
	return -1;
}

// The KEY=VALUE fields of a `stats` line ("stats" itself skipped).
inline std::map<std::string, std::string> stats_fields(const std::string& line) {
	std::map<std::string, std::string> fields;
	std::istringstream words(line);
	std::string word;
	words >> word;
	while (words >> word) {
		size_t eq = word.find('=');
		fields[word.substr(0, eq)] = eq == std::string::npos ? "" : word.substr(eq + 1);
	}
	return fields;
}

}  // namespace core_test
