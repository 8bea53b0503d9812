// The core's managed file descriptors (select() set), mirroring core/core.c.
#pragma once

#include <sys/select.h>

#include <vector>

#include "midimonster.h"

namespace mmcore {

// Fills `set` with all managed fds; returns the highest fd or -1 if none.
int fds_collect(fd_set* set);

// Managed fds that are set in `ready`, as passed to process().
std::vector<managed_fd> fds_signaled(const fd_set& ready);

// Closes every still-managed fd (core exit) and forgets them.
void fds_close_all();

}  // namespace mmcore
