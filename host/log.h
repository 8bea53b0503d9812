// The host's own diagnostics (not Python's): stderr, one line each, prefixed so an operator
// can tell them from the core's lines in a shared terminal or journal.
#pragma once

#include <string>

namespace mmpy::host {

void log_line(const std::string& text);

// Names this process in every later line, e.g. "mm-pyhost[1234] py1".
void log_set_identity(const std::string& identity);

}  // namespace mmpy::host
