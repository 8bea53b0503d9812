// Attach mode: `mm-pyhost --listen [PATH]` accepts cores on a Unix socket and serves each
// connection in a fresh host process of its own, so every instance gets the main
// interpreter and one instance's crash cannot touch another's.
#pragma once

#include <string>

namespace mmpy::host {

// Runs until SIGINT or SIGTERM; returns the process exit code. `path` empty: the socket
// systemd passed, else the default path (listen_socket.h).
int run_listener(const std::string& path);

}  // namespace mmpy::host
