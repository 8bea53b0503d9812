// The backend callbacks MIDIMonster calls: thin adapters from the C ABI to ShimInstance.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "clock.h"
#include "host_reach.h"
#include "log_lines.h"
#include "midimonster.h"
#include "shim_instance.h"

using mmpy::shim::ShimInstance;

namespace {

// How the shim reaches hosts, from the [backend python] section.
struct BackendOptions {
	std::string host;    // spawn mode: the executable ("" = find it)
	std::string socket;  // attach mode: a listening mm-pyhost
	mmpy::shim::HostPlacement placement;  // spawn mode: host-cpu, host-priority
	bool placement_set = false;
};

struct CoreClock final : mmpy::shim::Clock {
	uint64_t now() const override { return mm_timestamp(); }
};

// Most [python NAME] instances one core may have: each runs a process of its own.
constexpr size_t kMaxInstances = 256;

BackendOptions options;
const CoreClock core_clock;
std::vector<ShimInstance*> instances;

ShimInstance* of(instance* inst) {
	return static_cast<ShimInstance*>(inst->impl);
}

// A relative path in the configuration means the configuration's folder, where the core is
// while it reads it. Restarts during the show happen later, wherever the core is then.
// A bare program name for `host` ("mm-pyhost") stays as it is: it is looked up in PATH.
std::string absolute_in_config_folder(const std::string& path, bool bare_name_is_program) {
	char folder[PATH_MAX];
	bool bare = path.find('/') == std::string::npos;
	if (path.empty() || path[0] == '/' || (bare && bare_name_is_program) || !getcwd(folder, sizeof(folder))) {
		return path;
	}
	return std::string(folder) + "/" + (path.rfind("./", 0) == 0 ? path.substr(2) : path);
}

// [backend python]: how to reach the host. These must come before the first instance.
int python_configure(char* option, char* value) {
	std::string name = option;
	bool placement = name == "host-cpu" || name == "host-priority";
	if (name != "host" && name != "socket" && !placement) {
		SHIM_LOG("Unknown backend option '%s' in [backend python] (known: host, socket, host-cpu, host-priority)", option);
		return 1;
	}
	if (!instances.empty()) {
		SHIM_LOG("Backend option '%s' must come before the first [python ...] section", option);
		return 1;
	}
	if (placement) {
		std::string error;
		if (!options.placement.set(name, value, error)) {
			SHIM_LOG("Backend option %s", error.c_str());
			return 1;
		}
		options.placement_set = true;
		return 0;
	}
	if (std::string(value).empty()) {
		SHIM_LOG("Backend option '%s' needs a path", option);
		return 1;
	}
	(name == "host" ? options.host : options.socket) = absolute_in_config_folder(value, name == "host");
	return 0;
}

// [python NAME]: every instance gets a host of its own. The core names the instance only
// after this returns, so the host is reached at the instance's first option (or at start).
int python_instance(instance* inst) {
	if (instances.size() >= kMaxInstances) {
		SHIM_LOG("More than %zu [python ...] instances: each runs a process of its own; merge instances",
		         kMaxInstances);
		return 1;
	}
	std::unique_ptr<mmpy::shim::HostReach> reach;
	if (options.socket.empty()) {
		if (instances.empty()) {
			mmpy::shim::log_lines::core_pinned(options.placement.pin_core());
		}
		reach = std::make_unique<mmpy::shim::SpawnedHost>(options.host, options.placement);
	} else if (options.placement_set) {
		SHIM_LOG("host-cpu and host-priority place the hosts the shim starts; a listening mm-pyhost (socket = %s) is "
		         "placed where it is started (taskset, nice, or CPUAffinity= and Nice= in its service)",
		         options.socket.c_str());
		return 1;
	} else {
		reach = std::make_unique<mmpy::shim::AttachedHost>(options.socket);
	}
	auto shim = std::make_unique<ShimInstance>(inst, std::move(reach), core_clock);
	inst->impl = shim.get();
	instances.push_back(shim.release());
	return 0;
}

// Reaches the instance's host unless that happened already; says how to fix a failure.
bool ensure_host(instance* inst) {
	std::string error;
	if (of(inst)->connected() || of(inst)->connect(error)) {
		return true;
	}
	SHIM_LOG("%s: %s", inst->name, error.c_str());
	if (options.socket.empty()) {
		SHIM_LOG("%s: set 'host = /path/to/mm-pyhost' in [backend python] if the host is installed elsewhere",
		         inst->name);
	}
	return false;
}

int python_configure_instance(instance* inst, char* option, char* value) {
	if (!ensure_host(inst)) {
		return 1;
	}
	std::string error;
	if (!of(inst)->configure(option, value, error)) {
		SHIM_LOG("%s: %s", inst->name, error.c_str());
		return 1;
	}
	return 0;
}

channel* python_channel(instance* inst, char* spec, uint8_t) {
	std::string error;
	channel* mapped = of(inst)->map_channel(spec, error);
	if (!mapped) {
		SHIM_LOG("%s: %s", inst->name, error.c_str());
	}
	return mapped;
}

int python_handle(instance* inst, size_t count, channel** channels, channel_value* values) {
	of(inst)->deliver(count, channels, values);
	return 0;
}

// Runs every core iteration: read what the hosts sent, write what waits for them.
int python_process(size_t count, managed_fd* fds) {
	for (size_t i = 0; i < count; i++) {
		static_cast<ShimInstance*>(fds[i].impl)->on_readable();
	}
	for (ShimInstance* shim : instances) {
		shim->tick();
	}
	return 0;
}

int python_start(size_t count, instance** list) {
	for (size_t i = 0; i < count; i++) {
		if (!ensure_host(list[i])) {
			return 1;
		}
		std::string error;
		if (!of(list[i])->start(error)) {
			SHIM_LOG("%s: %s", list[i]->name, error.c_str());
			return 1;
		}
	}
	return 0;
}

int python_shutdown(size_t, instance**) {
	for (ShimInstance* shim : instances) {
		shim->shutdown();
	}
	for (ShimInstance* shim : instances) {
		delete shim;
	}
	instances.clear();
	return 0;
}

// Come back soon while writes are pending, a lost host is being reaped or its restart is
// due; otherwise the heartbeat cadence is enough.
uint32_t python_interval() {
	uint32_t within = 1000;
	for (ShimInstance* shim : instances) {
		within = std::min(within, shim->wants_tick_within());
	}
	return within;
}

}  // namespace

extern "C" MM_PLUGIN_API int init(void) {
	mmpy::shim::SpawnedHost::remember_plugin_folder();
	backend python = {};
	python.name = const_cast<char*>("python");
	python.conf = python_configure;
	python.create = python_instance;
	python.conf_instance = python_configure_instance;
	python.channel = python_channel;
	python.handle = python_handle;
	python.process = python_process;
	python.start = python_start;
	python.shutdown = python_shutdown;
	python.interval = python_interval;
	if (mm_backend_register(python)) {
		SHIM_LOG("Failed to register the python backend (is another python.so loaded?)");
		return 1;
	}
	return 0;
}
