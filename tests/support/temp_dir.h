// A scratch folder for one test, removed with everything in it afterwards.
#pragma once

#include <string>

namespace mmpy::test {

class TempDir {
public:
	// Creates a fresh folder under $TMPDIR (or /tmp) via mkdtemp.
	TempDir();
	// Removes the folder recursively.
	~TempDir();
	TempDir(const TempDir&) = delete;
	TempDir& operator=(const TempDir&) = delete;

	// Absolute path of the folder.
	const std::string& path() const { return path_; }
	// Absolute path of `relative` inside the folder (nothing is created).
	std::string file(const std::string& relative) const;
	// Writes `text` to `relative` (parent folders created); returns the absolute path.
	std::string write(const std::string& relative, const std::string& text) const;

private:
	std::string path_;
};

}  // namespace mmpy::test
