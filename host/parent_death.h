// An instance host started by the listener ends with the listener, however the listener
// ends: stopped, restarted, upgraded, or killed outright (SIGKILL, the out-of-memory
// killer). Otherwise a killed listener would leave hosts that keep their cores attached to
// old code, and the shims would never reconnect to the new listener.
#pragma once

#include <sys/types.h>

#include <string>

namespace mmpy::host {

// Asks the kernel to send this process SIGTERM when its parent exits (SIGTERM runs the
// cleanup handler and closes the connection, as a stop of the listener does). `parent` is
// the listener's pid, passed on the command line: if it is no longer our parent, the
// listener died before the request took effect and this returns false with `error`.
bool exit_with_parent(pid_t parent, std::string& error);

}  // namespace mmpy::host
