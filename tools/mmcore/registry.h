// The core's registry of backends, instances and channels (mirrors core/backend.c).
#pragma once

#include <string>
#include <vector>

#include "midimonster.h"

namespace mmcore {

// Backend registered under `name`, or nullptr.
backend* backend_match(const std::string& name);

// Instance named `name` (any backend), or nullptr.
instance* instance_match(const std::string& name);

// Allocates a new, zeroed instance of `b` (name is set by the caller after create()).
instance* instance_new(backend* b);

// All registered backends, in registration order.
std::vector<backend*> backends_all();

// Instances of `b`, in creation order (empty if none).
std::vector<instance*> backend_instance_list(const backend* b);

// Calls start() for every backend with instances; non-zero if any failed.
int backends_start();

// Frees channels (channel_free first), calls shutdown() of every backend, frees instances.
void backends_stop();

}  // namespace mmcore
