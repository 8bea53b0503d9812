// Who may use a listener: only its own user. The socket's mode (0600, in a 0700 folder)
// already keeps others out; this check holds even when the file modes do not (a socket
// passed by a unit with a wider SocketMode=, a folder chmod-ed by hand).
#pragma once

#include <string>

namespace mmpy::host {

// True if the process at the other end of the accepted connection `fd` runs as this
// user, or as root (root bypasses the socket's file mode and could act as this user
// anyway, so refusing it would protect nothing). Otherwise false, with `refusal` naming the
// peer's uid and pid for the log.
bool peer_allowed(int fd, std::string& refusal);

}  // namespace mmpy::host
