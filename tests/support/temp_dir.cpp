// TempDir: mkdtemp + recursive removal.
#include "temp_dir.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace mmpy::test {

// Folder name pattern mmpy-test-XXXXXX under TMPDIR.
TempDir::TempDir() {
	const char* base = std::getenv("TMPDIR");
	std::string pattern = std::string(base && *base ? base : "/tmp") + "/mmpy-test-XXXXXX";
	std::vector<char> buffer(pattern.begin(), pattern.end());
	buffer.push_back(0);
	if (!mkdtemp(buffer.data())) {
		throw std::runtime_error("mkdtemp failed for " + pattern);
	}
	path_ = buffer.data();
}

// Best effort: a failing removal must not throw from a destructor.
TempDir::~TempDir() {
	std::error_code ignored;
	std::filesystem::remove_all(path_, ignored);
}

// Path join.
std::string TempDir::file(const std::string& relative) const {
	return path_ + "/" + relative;
}

// Creates parents, then writes the whole text.
std::string TempDir::write(const std::string& relative, const std::string& text) const {
	std::filesystem::path target = file(relative);
	std::filesystem::create_directories(target.parent_path());
	std::ofstream out(target, std::ios::binary | std::ios::trunc);
	out << text;
	if (!out) {
		throw std::runtime_error("cannot write " + target.string());
	}
	return target.string();
}

}  // namespace mmpy::test
