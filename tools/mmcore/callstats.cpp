// Storage of the per-backend callback stats (see callstats.h).
#include "callstats.h"

#include <deque>
#include <utility>

namespace {

// Few backends: a linear list; deque keeps the stats at stable addresses.
std::deque<std::pair<const backend*, mmcore::CallStats>> all_stats;

}  // namespace

namespace mmcore {

constinit thread_local uint64_t* current_alloc_counter = nullptr;

// Looked up before the BackendCall scope starts, so a first-use insertion is not counted.
CallStats& callstats_of(const backend* b) {
	for (auto& [owner, stats] : all_stats) {
		if (owner == b) {
			return stats;
		}
	}
	return all_stats.emplace_back(b, CallStats{}).second;
}

}  // namespace mmcore
