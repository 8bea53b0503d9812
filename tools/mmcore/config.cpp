// Line-based parser for MIDIMonster configuration files.
#include "config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <vector>

#include "globs.h"
#include "log.h"
#include "midimonster.h"
#include "registry.h"
#include "routing.h"

namespace {

constexpr const char* module = "core/cfg";

enum class State { none, backend_cfg, instance_cfg, map };

struct Override {
	bool backend_override;
	std::string target, option, value;
	bool handled = false;
};

// Parser state persists across [include] like in the real core.
State state = State::none;
backend* current_backend = nullptr;
instance* current_instance = nullptr;
std::vector<Override> overrides;

// Strips everything that is not a printable non-space character from both ends.
std::string trim(const std::string& in) {
	auto graph = [](char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0; };
	auto first = std::find_if(in.begin(), in.end(), graph);
	auto last = std::find_if(in.rbegin(), in.rend(), graph).base();
	return first < last ? std::string(first, last) : std::string();
}

// Applies not-yet-used overrides for a backend/instance when its section first appears.
int apply_overrides(bool backend_override, const std::string& target) {
	for (auto& o : overrides) {
		if (o.handled || o.backend_override != backend_override || o.target != target) {
			continue;
		}
		std::string option = o.option, value = o.value;
		int rc = backend_override ? current_backend->conf(option.data(), value.data())
		                          : current_backend->conf_instance(current_instance, option.data(), value.data());
		if (rc) {
			mmcore::logf(module, "Configuration override for %s failed for %s %s", o.option.c_str(),
			             backend_override ? "backend" : "instance", target.c_str());
			return 1;
		}
		o.handled = true;
	}
	return 0;
}

// Asks an instance's backend for the channel `spec` (with direction flags).
channel* resolve_channel(instance* inst, const std::string& spec, uint8_t flags) {
	std::string copy = spec;
	return inst->backend->channel(inst, copy.data(), flags);
}

// Maps events of `from_raw` to `to_raw` (both "instance.spec"), expanding globs pairwise.
int config_map(const std::string& to_raw, const std::string& from_raw) {
	size_t to_dot = to_raw.find('.'), from_dot = from_raw.find('.');
	if (to_dot == std::string::npos || from_dot == std::string::npos) {
		mmcore::logf(module, "Mapping does not contain a proper instance specification");
		return 1;
	}
	std::string to_name = to_raw.substr(0, to_dot), from_name = from_raw.substr(0, from_dot);
	instance* to = mmcore::instance_match(to_name);
	instance* from = mmcore::instance_match(from_name);
	if (!to || !from) {
		mmcore::logf(module, "No such instance %s", from ? to_name.c_str() : from_name.c_str());
		return 1;
	}

	std::string error;
	auto to_specs = mmcore::glob_expand(to_raw.substr(to_dot + 1), error);
	auto from_specs = to_specs ? mmcore::glob_expand(from_raw.substr(from_dot + 1), error) : std::nullopt;
	if (!to_specs || !from_specs) {
		mmcore::logf(module, "%s", error.c_str());
		return 1;
	}
	size_t nt = to_specs->size(), nf = from_specs->size();
	if (nt != nf && nt != 1 && nf != 1) {
		mmcore::logf(module, "Multi-channel specification size mismatch: %s (%zu channels) - %s (%zu channels)",
		             from_raw.c_str(), nf, to_raw.c_str(), nt);
		return 1;
	}

	for (size_t n = 0; n < std::max(nt, nf); n++) {
		const std::string& fs = (*from_specs)[nf == 1 ? 0 : n];
		const std::string& ts = (*to_specs)[nt == 1 ? 0 : n];
		channel* cf = resolve_channel(from, fs, mmchannel_input);
		channel* ct = resolve_channel(to, ts, mmchannel_output);
		if (!cf || !ct) {
			mmcore::logf(module, "Failed to match %s.%s to a channel", cf ? to_name.c_str() : from_name.c_str(),
			             cf ? ts.c_str() : fs.c_str());
			return 1;
		}
		if (mmcore::routing_map(cf, ct)) {
			return 1;
		}
	}
	return 0;
}

// "[backend NAME]": select the backend and apply its -b overrides.
int section_backend(const std::string& name) {
	state = State::backend_cfg;
	current_backend = mmcore::backend_match(name);
	if (!current_backend) {
		mmcore::logf(module, "Cannot configure unknown backend %s", name.c_str());
		return 1;
	}
	return apply_overrides(true, current_backend->name);
}

// "[BACKEND NAME]": create the instance (create() before the name is set, as the real core does).
int section_instance(const std::string& body) {
	state = State::instance_cfg;
	size_t space = body.find(' ');
	if (space == std::string::npos) {
		mmcore::logf(module, "No instance name specified for backend %s", body.c_str());
		return 1;
	}
	std::string backend_name = body.substr(0, space), name = body.substr(space + 1);
	current_backend = mmcore::backend_match(backend_name);
	if (!current_backend) {
		mmcore::logf(module, "No such backend %s", backend_name.c_str());
		return 1;
	}
	if (mmcore::instance_match(name)) {
		mmcore::logf(module, "Duplicate instance name %s", name.c_str());
		return 1;
	}
	if (name.find_first_of(" .") != std::string::npos) {
		mmcore::logf(module, "Invalid instance name %s", name.c_str());
		return 1;
	}
	current_instance = mmcore::instance_new(current_backend);
	if (!current_instance) {
		return 1;
	}
	if (current_backend->create(current_instance)) {
		mmcore::logf(module, "Failed to create %s instance %s", backend_name.c_str(), name.c_str());
		return 1;
	}
	current_instance->name = strdup(name.c_str());
	current_instance->backend = current_backend;
	mmcore::logf(module, "Created %s instance %s", backend_name.c_str(), name.c_str());
	return apply_overrides(false, name);
}

// A line in [map]: "a > b", "a < b", "a <> b" (also "><"); "a = b" is our bidirectional extension.
int map_line(const std::string& line) {
	size_t sep = line.find_first_of("<>");
	bool ltr = false, rtl = false;
	size_t rhs = 0;
	if (sep != std::string::npos) {
		ltr = line[sep] == '>';
		rtl = !ltr;
		rhs = sep + 1;
		if (rhs < line.size() && line[rhs] == (ltr ? '<' : '>')) {
			ltr = rtl = true;
			rhs++;
		}
	} else if ((sep = line.find('=')) != std::string::npos) {
		mmcore::logf(module, "Note: '=' mappings are an mmcore extension, MIDIMonster itself expects '<>'");
		ltr = rtl = true;
		rhs = sep + 1;
	} else {
		mmcore::logf(module, "Not a channel mapping: %s", line.c_str());
		return 1;
	}
	std::string left = trim(line.substr(0, sep)), right = trim(line.substr(rhs));
	if (ltr && config_map(right, left)) {
		mmcore::logf(module, "Failed to map channel %s to %s", left.c_str(), right.c_str());
		return 1;
	}
	if (rtl && config_map(left, right)) {
		mmcore::logf(module, "Failed to map channel %s to %s", right.c_str(), left.c_str());
		return 1;
	}
	return 0;
}

// "option = value" inside a backend or instance section.
int assignment_line(const std::string& line) {
	size_t eq = line.find('=');
	if (eq == std::string::npos) {
		mmcore::logf(module, "Not an assignment (currently expecting %s configuration): %s",
		             state == State::backend_cfg ? "backend" : "instance", line.c_str());
		return 1;
	}
	std::string option = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
	if (state == State::backend_cfg && current_backend->conf(option.data(), value.data())) {
		mmcore::logf(module, "Failed to configure backend %s", current_backend->name);
		return 1;
	}
	if (state == State::instance_cfg &&
	    current_backend->conf_instance(current_instance, option.data(), value.data())) {
		mmcore::logf(module, "Failed to configure instance %s", current_instance->name);
		return 1;
	}
	if (state == State::none) {
		// The real core silently ignores this; we at least say so.
		mmcore::logf(module, "Ignoring assignment outside of any section: %s", line.c_str());
	}
	return 0;
}

// Dispatches one raw line by its shape and the current section.
int config_line(const std::string& raw) {
	std::string line = trim(raw);
	if (line.empty() || line[0] == ';') {
		return 0;
	}
	if (line.front() == '[' && line.back() == ']') {
		std::string body = line.substr(1, line.size() - 2);
		if (body.rfind("backend ", 0) == 0) {
			return section_backend(body.substr(8));
		}
		if (body.rfind("include ", 0) == 0) {
			return mmcore::config_read(body.substr(8));
		}
		if (body == "map") {
			state = State::map;
			return 0;
		}
		return section_instance(body);
	}
	if (state == State::map) {
		return map_line(line);
	}
	return assignment_line(line);
}

}  // namespace

namespace mmcore {

// Same split as the real core: target before the first '.', value after the first '='.
int config_add_override(bool backend_override, const std::string& spec) {
	size_t dot = spec.find('.'), eq = spec.find('=');
	if (dot == std::string::npos || eq == std::string::npos || eq < dot) {
		logf(module, "Override %s is not a valid assignment", spec.c_str());
		return 1;
	}
	overrides.push_back(Override{backend_override, trim(spec.substr(0, dot)), trim(spec.substr(dot + 1, eq - dot - 1)),
	                             trim(spec.substr(eq + 1))});
	return 0;
}

// chdir() into the file's folder while reading it, so relative paths resolve next to it.
int config_read(const std::string& path) {
	size_t slash = path.rfind('/');
	std::string file = path;
	char original[PATH_MAX * 2] = "";
	bool moved = false;
	if (slash != std::string::npos) {
		std::string dir = slash ? path.substr(0, slash) : std::string("/");
		file = path.substr(slash + 1);
		if (!getcwd(original, sizeof(original))) {
			logf(module, "Failed to read current working directory: %s", std::strerror(errno));
			return 1;
		}
		if (chdir(dir.c_str())) {
			logf(module, "Failed to change to configuration file directory %s: %s", dir.c_str(), std::strerror(errno));
			return 1;
		}
		moved = true;
	}

	logf(module, "Reading configuration file %s", path.c_str());
	int rv = 0;
	std::ifstream source(file);
	if (!source) {
		logf(module, "Failed to open %s for reading", path.c_str());
		rv = 1;
	}
	std::string line;
	for (size_t number = 1; rv == 0 && std::getline(source, line); number++) {
		if (config_line(line)) {
			logf(module, "Error in %s line %zu: %s", path.c_str(), number, trim(line).c_str());
			rv = 1;
		}
	}

	if (moved && chdir(original)) {
		logf(module, "Failed to change back to %s: %s", original, std::strerror(errno));
		rv = 1;
	}
	return rv;
}

// Called at shutdown.
void config_free() {
	overrides.clear();
	state = State::none;
	current_backend = nullptr;
	current_instance = nullptr;
}

}  // namespace mmcore
