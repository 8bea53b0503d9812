// /proc helpers for "no process left behind" checks.
#pragma once

#include <sys/types.h>

#include <vector>

namespace mmpy::test {

// All live descendants (children, grandchildren, ...) of `pid`, from /proc/*/stat.
std::vector<pid_t> descendant_pids(pid_t pid);

// The live descendants of `pid` that run mm-pyhost (by /proc/*/comm).
std::vector<pid_t> host_pids_below(pid_t pid);

// True if `pid` exists and is not a zombie.
bool process_alive(pid_t pid);

}  // namespace mmpy::test
