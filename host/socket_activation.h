// systemd socket activation: a socket unit listens on mm-pyhost's behalf and hands the
// listening socket over when the service starts, so the socket exists before the host and
// outlives its restarts (a core reconnecting meanwhile waits in the backlog).
#pragma once

#include <string>

namespace mmpy::host {

// The sd_listen_fds() protocol, written out so mm-pyhost needs no libsystemd. Sets `fd` to
// the listening socket systemd passed to this process, or to -1 if none was passed. Returns
// false (with `error` for the operator) if the hand-over is unusable: more than one socket,
// or descriptor 3 is not a listening Unix stream socket. Always removes LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES from the environment, so the instance hosts this process
// starts never take the variables for theirs.
bool take_activated_socket(int& fd, std::string& error);

}  // namespace mmpy::host
