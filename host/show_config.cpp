#include "show_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

namespace mmpy::host {

namespace {

std::string trim(const std::string& in) {
	auto graph = [](char c) { return std::isgraph(static_cast<unsigned char>(c)) != 0; };
	auto first = std::find_if(in.begin(), in.end(), graph);
	auto last = std::find_if(in.rbegin(), in.rend(), graph).base();
	return first < last ? std::string(first, last) : std::string();
}

// "f{1..3}" -> f1, f2, f3; several ranges multiply. False if a range is malformed.
bool expand(const std::string& spec, std::vector<std::string>& out) {
	size_t open = spec.find('{');
	if (open == std::string::npos) {
		out.push_back(spec);
		return true;
	}
	size_t dots = spec.find("..", open), close = spec.find('}', open);
	if (dots == std::string::npos || close == std::string::npos || dots > close) {
		return false;
	}
	std::string low = spec.substr(open + 1, dots - open - 1), high = spec.substr(dots + 2, close - dots - 2);
	auto number = [](const std::string& text) {
		return !text.empty() && text.size() < 10 && std::all_of(text.begin(), text.end(), ::isdigit);
	};
	if (!number(low) || !number(high)) {
		return false;
	}
	long from = std::stol(low), to = std::stol(high);
	if (std::labs(to - from) > 65536) {
		return false;
	}
	for (long n = from;; n += from <= to ? 1 : -1) {
		if (!expand(spec.substr(0, open) + std::to_string(n) + spec.substr(close + 1), out)) {
			return false;
		}
		if (n == to) {
			break;
		}
	}
	return true;
}

class Reader {
public:
	explicit Reader(ShowConfig& config) : config_(config) {}

	bool read(const std::filesystem::path& path, int depth, std::string& error) {
		std::ifstream in(path);
		if (!in) {
			error = "cannot read " + path.string();
			return false;
		}
		if (depth > 16) {
			error = path.string() + ": includes nest deeper than 16 files (does it include itself?)";
			return false;
		}
		std::string raw;
		int number = 0;
		while (std::getline(in, raw)) {
			number++;
			std::string line = trim(raw);
			ConfigPlace place{path.string(), number};
			if (line.empty() || line[0] == ';') {
				continue;
			}
			std::string problem;
			bool ok = line.front() == '[' ? section(line, place, path, depth, problem) : entry(line, place, problem);
			if (!ok) {
				error = error.empty() ? place.file + ", line " + std::to_string(number) + ": " + problem : error;
				return false;
			}
		}
		return true;
	}

private:
	enum class In { Nothing, PythonBackend, Python, Other, Map };

	bool section(const std::string& line, const ConfigPlace& place, const std::filesystem::path& path, int depth,
	             std::string& problem) {
		if (line.back() != ']') {
			problem = "a section header must end with ']': " + line;
			return false;
		}
		std::string inside = trim(line.substr(1, line.size() - 2));
		size_t space = inside.find(' ');
		std::string type = inside.substr(0, space);
		std::string name = space == std::string::npos ? std::string() : trim(inside.substr(space + 1));
		if (type == "map" && name.empty()) {
			in_ = In::Map;
		} else if (type == "include" && !name.empty()) {
			std::filesystem::path included = path.parent_path() / name;
			std::string nested;
			if (!read(included, depth + 1, nested)) {
				problem = "in [include " + name + "]: " + nested;
				return false;
			}
		} else if (type == "backend" && !name.empty()) {
			in_ = name == "python" ? In::PythonBackend : In::Other;
		} else if (!name.empty()) {
			if (!instances_.insert(name).second) {
				problem = "a second instance named " + name;
				return false;
			}
			in_ = In::Other;
			if (type == "python") {
				config_.instances.push_back({name, path.parent_path().string(), place, {}, {}});
				in_ = In::Python;
			}
		} else {
			problem = "not a section MIDIMonster knows: [" + inside + "]";
			return false;
		}
		return true;
	}

	bool entry(const std::string& line, const ConfigPlace& place, std::string& problem) {
		if (in_ == In::Map) {
			return mapping(line, place, problem);
		}
		size_t equals = line.find('=');
		if (equals == std::string::npos) {
			problem = "expected 'option = value', got: " + line;
			return false;
		}
		ConfigOption option{trim(line.substr(0, equals)), trim(line.substr(equals + 1)), place};
		if (in_ == In::Python) {
			config_.instances.back().options.push_back(std::move(option));
		} else if (in_ == In::PythonBackend) {
			config_.backend_options.push_back(std::move(option));
		} else if (in_ == In::Nothing) {
			problem = "an option outside of any section";
			return false;
		}
		return true;
	}

	bool mapping(const std::string& line, const ConfigPlace& place, std::string& problem) {
		size_t at = line.find("<>");
		size_t width = 2;
		if (at == std::string::npos) {
			at = line.find("><");
		}
		if (at == std::string::npos) {
			at = line.find_first_of("<>");
			width = 1;
		}
		if (at == std::string::npos) {
			problem = "a map line needs '>', '<' or '<>': " + line;
			return false;
		}
		for (const std::string& side : {trim(line.substr(0, at)), trim(line.substr(at + width))}) {
			size_t dot = side.find('.');
			if (dot == std::string::npos || dot == 0) {
				problem = "'" + side + "' is not of the form instance.channel";
				return false;
			}
			std::string instance = side.substr(0, dot);
			if (!instances_.count(instance)) {
				problem = "no instance " + instance + " (instances are declared before the map uses them)";
				return false;
			}
			std::vector<std::string> channels;
			if (!expand(side.substr(dot + 1), channels)) {
				problem = "a malformed range {a..b} in " + side;
				return false;
			}
			for (PythonSection& section : config_.instances) {
				if (section.name != instance) {
					continue;
				}
				for (const std::string& channel : channels) {
					auto known = std::find_if(section.channels.begin(), section.channels.end(),
					                          [&](const auto& entry) { return entry.first == channel; });
					if (known == section.channels.end()) {
						section.channels.emplace_back(channel, place);
					}
				}
			}
		}
		return true;
	}

	ShowConfig& config_;
	In in_ = In::Nothing;
	std::set<std::string> instances_;
};

}  // namespace

bool read_show_config(const std::string& path, ShowConfig& config, std::string& error) {
	std::error_code failed;
	std::filesystem::path absolute = std::filesystem::absolute(path, failed);
	Reader reader(config);
	return reader.read(failed ? std::filesystem::path(path) : absolute, 0, error);
}

}  // namespace mmpy::host
