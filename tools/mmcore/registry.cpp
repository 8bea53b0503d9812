// Backends, instances and the channel store, plus their exported mm_* functions.
#include "registry.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <utility>

#include "callstats.h"
#include "log.h"

namespace {

// One registered backend with its instances; deque keeps `b` at a stable address.
struct BackendEntry {
	backend b;
	std::vector<instance*> instances;
};

std::deque<BackendEntry> registry;

// Channel store: unique channel per (instance, ident); `order` keeps creation order for freeing.
std::map<std::pair<instance*, uint64_t>, channel*> channel_index;
std::vector<channel*> channel_order;

// Registry entry owning backend pointer `b`, or nullptr.
BackendEntry* entry_of(const backend* b) {
	for (auto& e : registry) {
		if (&e.b == b) {
			return &e;
		}
	}
	return nullptr;
}

// Registry entry of the backend named `name`, or nullptr.
BackendEntry* entry_named(const char* name) {
	for (auto& e : registry) {
		if (name && e.b.name && !std::strcmp(e.b.name, name)) {
			return &e;
		}
	}
	return nullptr;
}

}  // namespace

namespace mmcore {

// Lookup used by config parsing and mm_manage_fd.
backend* backend_match(const std::string& name) {
	BackendEntry* e = entry_named(name.c_str());
	return e ? &e->b : nullptr;
}

// Instance names are global across backends, as in the real core.
instance* instance_match(const std::string& name) {
	for (auto& e : registry) {
		for (instance* inst : e.instances) {
			if (inst->name && name == inst->name) {
				return inst;
			}
		}
	}
	return nullptr;
}

// Like the real mm_instance(): calloc'ed, backend set, registered before create() runs.
instance* instance_new(backend* b) {
	BackendEntry* e = entry_of(b);
	if (!e) {
		return nullptr;
	}
	auto* inst = static_cast<instance*>(std::calloc(1, sizeof(instance)));
	if (!inst) {
		logf("core/be", "Failed to allocate memory");
		return nullptr;
	}
	inst->backend = b;
	e->instances.push_back(inst);
	return inst;
}

// Snapshot for the loop and start/stop.
std::vector<backend*> backends_all() {
	std::vector<backend*> out;
	for (auto& e : registry) {
		out.push_back(&e.b);
	}
	return out;
}

// Snapshot of one backend's instances.
std::vector<instance*> backend_instance_list(const backend* b) {
	BackendEntry* e = entry_of(b);
	return e ? e->instances : std::vector<instance*>{};
}

// start() for backends with instances; keeps going after a failure, like the real core.
int backends_start() {
	int rv = 0;
	for (auto& e : registry) {
		if (e.instances.empty()) {
			continue;
		}
		std::vector<instance*> list = e.instances;
		int current = e.b.start ? e.b.start(list.size(), list.data()) : 0;
		if (current) {
			logf("core/be", "Failed to start backend %s", e.b.name);
		}
		rv |= current;
	}
	return rv;
}

// Orderly teardown: channels (channel_free) before instances, shutdown() for every backend.
void backends_stop() {
	for (channel* c : channel_order) {
		backend* b = c->instance ? c->instance->backend : nullptr;
		if (c->impl && b && b->channel_free) {
			b->channel_free(c);
		}
		std::free(c);
	}
	channel_order.clear();
	channel_index.clear();

	for (auto& e : registry) {
		std::vector<instance*> list = e.instances;
		if (e.b.shutdown) {
			e.b.shutdown(list.size(), list.empty() ? nullptr : list.data());
		}
		for (instance* inst : e.instances) {
			std::free(inst->name);
			std::free(inst);
		}
		e.instances.clear();
	}
	registry.clear();
}

}  // namespace mmcore

extern "C" {

// Plugin entry: register a backend by value; duplicate names fail.
__attribute__((visibility("default"))) int mm_backend_register(backend b) {
	mmcore::AllocPause core_side;
	if (!b.name || entry_named(b.name)) {
		return 1;
	}
	registry.push_back(BackendEntry{b, {}});
	mmcore::logf("core/be", "Registered backend %s", b.name);
	return 0;
}

// Plugin entry: find an instance of backend `name` by its ident.
__attribute__((visibility("default"))) instance* mm_instance_find(char* name, uint64_t ident) {
	BackendEntry* e = entry_named(name);
	if (!e) {
		return nullptr;
	}
	for (instance* inst : e->instances) {
		if (inst->ident == ident) {
			return inst;
		}
	}
	return nullptr;
}

// Plugin entry: malloc'ed copy of a backend's instance list (caller frees).
__attribute__((visibility("default"))) int mm_backend_instances(char* name, size_t* n, instance*** list) {
	mmcore::AllocPause core_side;
	if (!n || !list) {
		return 1;
	}
	BackendEntry* e = entry_named(name);
	if (!e) {
		return 1;
	}
	*n = e->instances.size();
	*list = nullptr;
	if (e->instances.empty()) {
		return 0;
	}
	*list = static_cast<instance**>(std::calloc(e->instances.size(), sizeof(instance*)));
	if (!*list) {
		mmcore::logf("core/be", "Failed to allocate memory");
		return 1;
	}
	std::memcpy(*list, e->instances.data(), e->instances.size() * sizeof(instance*));
	return 0;
}

// Plugin entry: the channel store; pointers stay valid until shutdown.
__attribute__((visibility("default"))) channel* mm_channel(instance* inst, uint64_t ident, uint8_t create) {
	mmcore::AllocPause core_side;
	auto key = std::make_pair(inst, ident);
	auto it = channel_index.find(key);
	if (it != channel_index.end()) {
		return it->second;
	}
	if (!create) {
		return nullptr;
	}
	auto* c = static_cast<channel*>(std::calloc(1, sizeof(channel)));
	if (!c) {
		mmcore::logf("core/be", "Failed to allocate memory");
		return nullptr;
	}
	c->instance = inst;
	c->ident = ident;
	channel_index.emplace(key, c);
	channel_order.push_back(c);
	return c;
}

// Plugin entry: re-key a channel to a new ident (same pointer).
__attribute__((visibility("default"))) void mm_channel_update(channel* c, uint64_t ident) {
	mmcore::AllocPause core_side;
	auto it = channel_index.find(std::make_pair(c->instance, c->ident));
	if (it != channel_index.end() && it->second == c) {
		channel_index.erase(it);
	}
	c->ident = ident;
	channel_index[std::make_pair(c->instance, ident)] = c;
}
}
