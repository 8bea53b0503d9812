// Configuration files and command-line overrides (mirrors core/config.c).
#pragma once

#include <string>

namespace mmcore {

// Records a -b (backend_override) or -i override "target.option=value"; non-zero if malformed.
int config_add_override(bool backend_override, const std::string& spec);

// Reads a configuration file (chdir()ing into its folder meanwhile); non-zero on any error,
// which is logged naming the file and line.
int config_read(const std::string& path);

// Forgets overrides and parser state.
void config_free();

}  // namespace mmcore
