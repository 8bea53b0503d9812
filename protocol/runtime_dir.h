// The user's private runtime folder of mm-pyhost, shared by the shim, the hosts and the
// operator's commands: where `mm-pyhost --listen` with no PATH listens, the hosts' control
// sockets, and the shims' reports. No other user can reach what is in it, even if a socket's
// own mode were wrong.
#pragma once

#include <string>

namespace mmpy::protocol {

// Sets `path` to $XDG_RUNTIME_DIR/mm-pyhost/socket (the folder systemd's %t/mm-pyhost
// names too), or /tmp/mm-pyhost-UID/socket without XDG_RUNTIME_DIR. Creates the folder with
// mode 0700; an existing one is used only if it is a real folder, owned by this user, mode
// 0700. False with `error` (saying what to fix) otherwise.
bool prepare_default_socket_path(std::string& path, std::string& error);

// Sets `folder` to the folder of the instance hosts' control sockets, `control` in the same
// private folder (created, and checked, the same way).
bool prepare_control_folder(std::string& folder, std::string& error);

// The same folder, only named (for the operator's tools, which create nothing).
std::string control_folder();

// Sets `folder` to the folder of the shims' reports on their instances (ShimReport),
// `instances` in the same private folder (created, and checked, the same way).
bool prepare_report_folder(std::string& folder, std::string& error);
std::string report_folder();

}  // namespace mmpy::protocol
