// Finding and starting the mm-pyhost executable for an instance (spawn mode), and making
// sure it is gone afterwards.
#pragma once

#include <sys/types.h>

#include <string>

namespace mmpy::shim {

// Notes the absolute folder python.so was loaded from. Called from init(), before the core
// changes into the configuration's folder and a relative plugin path stops resolving.
void remember_plugin_folder();

// The host executable to run: the `host` option if given, else mm-pyhost next to this
// plugin, else the installed one, else "mm-pyhost" on PATH.
std::string locate_host(const std::string& configured);

// Starts `exe --fd 3` with one end of a fresh socketpair as its descriptor 3, in its own
// process group (a Ctrl-C meant for the core must not hit Python first). Returns our end.
int spawn_host(const std::string& exe, pid_t& pid, std::string& error);

// Connects to a host listening on `path` (attach mode). Never blocks: a listener whose
// backlog is full counts as not reachable right now.
int connect_host(const std::string& path, std::string& error);

// Never waits: true once `pid` has exited and was reaped (`how` describes the end), false
// while it still runs. Used during the show, where the core must not block.
bool try_reap(pid_t pid, std::string& how);

// Waits up to `timeout_ms` (0: not at all) for `pid` to exit, then kills it; returns a description of how
// it ended for the log.
std::string reap_host(pid_t pid, int timeout_ms);

// Describes a wait status: "exited with status 1", "killed by signal 11 (Segmentation fault)".
std::string describe_exit(int status);

}  // namespace mmpy::shim
