// The instance's report file for the operator's commands (protocol::ShimReport, in the
// runtime folder's `instances`): `mm-pyhost list` and `status` read it to tell an instance whose
// host is down or restarting, which no host can answer for. Written when the instance's state
// changes, never while the show runs smoothly (it allocates); removed at shutdown. Failing to
// write it never touches the show.
#pragma once

#include <cstdint>
#include <string>

#include "operator.h"

namespace mmpy::shim {

class StatusReport {
public:
	// The file of `instance` of the core `core_pid`; false with `error` if the runtime folder
	// cannot be used (write() then does nothing).
	bool open(int64_t core_pid, const std::string& instance, std::string& error);

	// Replaces the file's content at once (a reader never sees half of it).
	void write(const protocol::ShimReport& report);

	// Removes the file. Idempotent.
	void remove();

private:
	std::string path_;
};

}  // namespace mmpy::shim
