// The core's main loop: select(), timestamp, process(), routing (mirrors core_iteration()).
#pragma once

#include <cstdint>

namespace mmcore {

// Updates the millisecond clock mm_timestamp() returns.
void timestamp_update();

// Asks the loop to finish its current iteration and stop (signal handler safe).
void loop_request_shutdown();

// True once a shutdown was requested (signal or `quit`).
bool loop_shutdown_requested();

// Installs SIGINT/SIGTERM handlers that request an orderly shutdown.
void loop_install_signals();

// One iteration; non-zero on a fatal error (select failure, process() failure).
int loop_iteration();

}  // namespace mmcore
