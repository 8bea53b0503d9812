// `mm-pyhost drive`: the test harness's end (python/mm_pyhost/testing.py). It plays
// MIDIMonster and its shim for one instance, on a virtual clock: requests arrive on stdin
// and replies leave on stdout, one JSON line each (protocol/driver.h); the instance runs in a
// host of its own (OfflineInstance), the very runtime of a show.
#pragma once

namespace mmpy::host {

// Serves requests until `stop` or the end of stdin; 0, or 2 for a command line misused.
int run_driver();

}  // namespace mmpy::host
