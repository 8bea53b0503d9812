// Channel mappings and event routing (mirrors core/routing.c).
#pragma once

#include <cstddef>

#include "midimonster.h"

namespace mmcore {

// Adds the mapping from -> to (idempotent); non-zero on failure.
int routing_map(channel* from, channel* to);

// Number of distinct source channels (start-up statistics).
size_t routing_sources();

// Delivers collected events with handle(), grouped per instance; events pushed meanwhile are
// routed in further passes of the same iteration (bounded). Non-zero on fatal failure.
int routing_iteration();

// Drops all mappings and queued events.
void routing_cleanup();

}  // namespace mmcore
