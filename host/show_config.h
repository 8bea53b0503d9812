// A MIDIMonster configuration file as `mm-pyhost check` needs it: each [python NAME] instance
// with its option lines and the channels the [map] sections use of it, each with the file and
// line it came from. Read the way the core reads it (docs: ../MIDIMONSTER_ABI.md): `[backend
// NAME]`, `[TYPE NAME]` and `[map]` sections, `key = value` lines, `;` comment lines,
// `[include FILE]` relative to the including file's folder, map lines with `>`, `<`, `<>`
// or `><`, and `{a..b}` ranges in channel names.
#pragma once

#include <string>
#include <vector>

namespace mmpy::host {

struct ConfigPlace {
	std::string file;  // as absolute as the core would open it
	int line = 0;
};

struct ConfigOption {
	std::string key, value;
	ConfigPlace place;
};

struct PythonSection {
	std::string name;
	std::string folder;  // of the file that holds the section: modules resolve there
	ConfigPlace place;
	std::vector<ConfigOption> options;
	// Each channel of this instance a map line names, once, with its first place.
	std::vector<std::pair<std::string, ConfigPlace>> channels;
};

struct ShowConfig {
	std::vector<ConfigOption> backend_options;  // [backend python]
	std::vector<PythonSection> instances;
};

// False with `error` ("show.cfg, line 7: ...") if the file cannot be read as the core would.
bool read_show_config(const std::string& path, ShowConfig& config, std::string& error);

}  // namespace mmpy::host
