// Process tree inspection through /proc.
#include "proc_util.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace mmpy::test {

namespace {

// Parent pid and state letter of one /proc/<pid>/stat (the comm field may contain spaces).
bool read_stat(pid_t pid, pid_t& parent, char& state) {
	std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
	std::string text;
	if (!std::getline(in, text)) {
		return false;
	}
	size_t close = text.rfind(')');
	if (close == std::string::npos) {
		return false;
	}
	std::istringstream rest(text.substr(close + 1));
	long ppid = 0;
	rest >> state >> ppid;
	parent = static_cast<pid_t>(ppid);
	return static_cast<bool>(rest);
}

}  // namespace

// Builds the parent->children map once, then walks it from `pid`.
std::vector<pid_t> descendant_pids(pid_t pid) {
	std::multimap<pid_t, pid_t> children;
	if (DIR* proc = opendir("/proc")) {
		for (dirent* e = readdir(proc); e; e = readdir(proc)) {
			char* end = nullptr;
			long p = std::strtol(e->d_name, &end, 10);
			pid_t parent;
			char state;
			if (*end == 0 && p > 0 && read_stat(static_cast<pid_t>(p), parent, state) && state != 'Z') {
				children.emplace(parent, static_cast<pid_t>(p));
			}
		}
		closedir(proc);
	}
	std::vector<pid_t> out, todo{pid};
	while (!todo.empty()) {
		pid_t current = todo.back();
		todo.pop_back();
		auto [first, last] = children.equal_range(current);
		for (auto it = first; it != last; ++it) {
			out.push_back(it->second);
			todo.push_back(it->second);
		}
	}
	return out;
}

// Zombies count as gone.
bool process_alive(pid_t pid) {
	pid_t parent;
	char state;
	return read_stat(pid, parent, state) && state != 'Z';
}

std::vector<pid_t> host_pids_below(pid_t pid) {
	std::vector<pid_t> hosts;
	for (pid_t descendant : descendant_pids(pid)) {
		std::ifstream comm("/proc/" + std::to_string(descendant) + "/comm");
		std::string name;
		std::getline(comm, name);
		if (name == "mm-pyhost") {
			hosts.push_back(descendant);
		}
	}
	return hosts;
}

}  // namespace mmpy::test
