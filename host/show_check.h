// `mm-pyhost check show.cfg`: the pre-show check, like `nginx -t` (docs/python-backend.md,
// "Checking a show before it runs"). Each [python NAME] instance starts as MIDIMonster would
// start it (OfflineInstance): a host of its own, the hello, every option line (the modules
// import), the channel table of the [map] lines (every handler resolved); then it shuts down. Each problem is printed with the
// configuration file and line it comes from.
#pragma once

#include <string>

namespace mmpy::host {

// 0 when no instance has a problem, 1 when one has, 2 when the file cannot be read as the
// core would.
int run_check(const std::string& path);

}  // namespace mmpy::host
