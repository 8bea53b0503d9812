// Plugin folder scan, dlopen(RTLD_NOW), init() call.
#include "plugins.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "log.h"

namespace {

std::vector<void*> handles;

// Loads one file; 0 = loaded or skipped, non-zero = its init() failed.
int plugin_attach(const std::string& folder, const char* file) {
	std::string lib = folder;
	if (lib.back() != '/') {
		lib += '/';
	}
	lib += file;

	void* handle = dlopen(lib.c_str(), RTLD_NOW);
	if (!handle) {
		mmcore::logf("core/pl", "Failed to load plugin %s: %s", lib.c_str(), dlerror());
		return 0;
	}
	using init_fn = int (*)();
	auto init = reinterpret_cast<init_fn>(dlsym(handle, "init"));
	if (!init) {
		dlclose(handle);
		return 0;
	}
	if (init()) {
		mmcore::logf("core/pl", "Plugin %s failed to initialize", lib.c_str());
		dlclose(handle);
		return 1;
	}
	handles.push_back(handle);
	mmcore::debugf("core/pl", "Loaded plugin %s", lib.c_str());
	return 0;
}

}  // namespace

namespace mmcore {

// Directory order, like readdir() in the real core.
int plugins_load(const std::string& folder) {
	if (folder.empty()) {
		logf("core/pl", "Invalid plugin loader path");
		return 1;
	}
	DIR* dir = opendir(folder.c_str());
	if (!dir) {
		logf("core/pl", "Failed to open plugin search path %s: %s", folder.c_str(), std::strerror(errno));
		return 1;
	}
	int rv = 0;
	for (dirent* entry = readdir(dir); entry; entry = readdir(dir)) {
		size_t len = std::strlen(entry->d_name);
		if (len < 4 || std::strcmp(entry->d_name + len - 3, ".so")) {
			continue;
		}
		struct stat st{};
		if (fstatat(dirfd(dir), entry->d_name, &st, 0) < 0) {
			logf("core/pl", "Failed to stat %s: %s", entry->d_name, std::strerror(errno));
			continue;
		}
		if (!S_ISREG(st.st_mode)) {
			continue;
		}
		if (plugin_attach(folder, entry->d_name)) {
			rv = 1;
			break;
		}
	}
	closedir(dir);
	return rv;
}

// Unloads in load order, like the real core.
void plugins_close() {
	for (void* h : handles) {
		if (dlclose(h)) {
			logf("core/pl", "Failed to unload plugin: %s", dlerror());
		}
	}
	handles.clear();
}

}  // namespace mmcore
