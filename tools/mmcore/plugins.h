// Backend plugin loading (mirrors core/plugin.c).
#pragma once

#include <string>

namespace mmcore {

// dlopen()s every regular `*.so` in `folder` and calls its init(); non-zero aborts start-up.
int plugins_load(const std::string& folder);

// dlclose()s all loaded plugins (after shutdown).
void plugins_close();

}  // namespace mmcore
