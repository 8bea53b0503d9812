// The listener's socket: the one systemd passed, else one bound here (PATH, or the default
// path in a private folder), always reachable by its owner only.
#pragma once

#include <string>

namespace mmpy::host {

struct ListenSocket {
	int fd = -1;               // listening, close-on-exec
	std::string path;          // for log lines and the operator's `socket = ...`
	bool from_systemd = false; // systemd owns the socket file: it stays when we stop
};

// Picks and opens the socket. Socket activation wins; then `requested` if not empty; else
// the default path (runtime_dir.h). A bound socket gets mode 0600; a leftover socket file
// of a dead listener is replaced, a live listener's is not. False with `error` otherwise.
bool open_listen_socket(const std::string& requested, ListenSocket& out, std::string& error);

}  // namespace mmpy::host
