// Mapping table, mm_channel_event and the per-iteration routing passes.
#include "routing.h"

#include <unordered_map>
#include <vector>

#include "callstats.h"
#include "log.h"

namespace {

// Most passes per iteration; the real core names this MM_SWAP_LIMIT (20).
constexpr int max_passes = 20;

struct EventQueue {
	std::vector<channel*> channels;
	std::vector<channel_value> values;
};

std::unordered_map<channel*, std::vector<channel*>> mappings;
EventQueue pending;

// Calls handle() once per instance (in order of first appearance) with its events in order.
void deliver(const EventQueue& batch) {
	std::vector<instance*> order;
	std::unordered_map<instance*, EventQueue> grouped;
	for (size_t u = 0; u < batch.channels.size(); u++) {
		instance* inst = batch.channels[u]->instance;
		auto [it, fresh] = grouped.try_emplace(inst);
		if (fresh) {
			order.push_back(inst);
		}
		it->second.channels.push_back(batch.channels[u]);
		it->second.values.push_back(batch.values[u]);
	}
	for (instance* inst : order) {
		EventQueue& q = grouped[inst];
		// Like the real core, a failing handle() is not fatal.
		mmcore::CallStats& stats = mmcore::callstats_of(inst->backend);
		stats.handle_calls++;
		stats.events += q.channels.size();
		int failed;
		{
			mmcore::BackendCall call(stats, stats.handle_ns);
			failed = inst->backend->handle(inst, q.channels.size(), q.channels.data(), q.values.data());
		}
		if (failed) {
			mmcore::debugf("core/rt", "Backend %s failed to handle output on %s", inst->backend->name,
			               inst->name ? inst->name : "(unnamed)");
		}
	}
}

}  // namespace

namespace mmcore {

// Builds the routing table while the config is read.
int routing_map(channel* from, channel* to) {
	auto& targets = mappings[from];
	for (channel* t : targets) {
		if (t == to) {
			return 0;
		}
	}
	targets.push_back(to);
	return 0;
}

// Reported at start like the real core's routing_stats().
size_t routing_sources() {
	return mappings.size();
}

// Swaps the queue and delivers until nothing is left or the pass limit is hit.
int routing_iteration() {
	int passes = 0;
	while (!pending.channels.empty() && passes < max_passes) {
		EventQueue batch;
		batch.channels.swap(pending.channels);
		batch.values.swap(pending.values);
		deliver(batch);
		passes++;
	}
	if (!pending.channels.empty()) {
		logf("core/rt", "Iteration pass limit hit, a backend may be configured to route events in an infinite loop");
	}
	return 0;
}

// Shutdown: nothing may be routed any more.
void routing_cleanup() {
	mappings.clear();
	pending = EventQueue{};
}

}  // namespace mmcore

extern "C" {

// Plugin entry: queue an event for every target mapped from `c`; unmapped channels are dropped.
__attribute__((visibility("default"))) int mm_channel_event(channel* c, channel_value v) {
	mmcore::AllocPause core_side;
	auto it = mappings.find(c);
	if (it == mappings.end()) {
		return 0;
	}
	for (channel* target : it->second) {
		pending.channels.push_back(target);
		pending.values.push_back(v);
	}
	return 0;
}
}
