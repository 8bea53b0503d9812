#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host_command.h"
#include "host_reach.h"

extern char** environ;

namespace mmpy::shim {

namespace {

bool executable(const std::string& path) {
	return access(path.c_str(), X_OK) == 0;
}

std::string& plugin_folder() {
	static std::string folder;
	return folder;
}

// The host executable to run: the `host` option if given, else mm-pyhost next to this
// plugin, else the installed one, else "mm-pyhost" on PATH.
std::string locate(const std::string& configured) {
	if (!configured.empty()) {
		return configured;
	}
	std::string beside = plugin_folder() + "/mm-pyhost";
	if (!plugin_folder().empty() && executable(beside)) {
		return beside;
	}
	if (executable(MMPY_INSTALLED_HOST)) {
		return MMPY_INSTALLED_HOST;
	}
	return "mm-pyhost";
}

// Why `exe` (an absolute path: plugin.cpp resolved it in the config's folder) cannot be
// started, or "" if it looks like a program we may run.
std::string unusable(const std::string& exe) {
	struct stat info {};
	if (stat(exe.c_str(), &info) != 0) {
		return "the host executable " + exe + " " +
		       (errno == ENOENT ? std::string("does not exist") : std::string("cannot be reached: ") + std::strerror(errno));
	}
	if (S_ISDIR(info.st_mode)) {
		return "the host executable " + exe + " is a folder, not the mm-pyhost program";
	}
	if (!executable(exe)) {
		return "the host executable " + exe + " is not executable (no execute permission: chmod +x it)";
	}
	return "";
}

// Starts `exe --fd 3` with `child_end` as its descriptor 3, in its own process group (a
// Ctrl-C meant for the core must not hit Python first), stdin from /dev/null, stdout to the
// core's stderr, no other descriptor of the core, default signals.
int spawn(const std::string& exe, int child_end, pid_t& pid) {
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, child_end, protocol::kHostFd);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, 2, 1);  // the core's stdout is not the host's
	posix_spawn_file_actions_addclosefrom_np(&actions, protocol::kHostFd + 1);  // the core's sockets stay its own

	posix_spawnattr_t attributes;
	posix_spawnattr_init(&attributes);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attributes, &none);
	posix_spawnattr_setsigdefault(&attributes, &all);
	posix_spawnattr_setpgroup(&attributes, 0);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

	std::vector<std::string> command = protocol::host_command(exe);
	std::vector<char*> argv;
	for (std::string& word : command) {
		argv.push_back(word.data());
	}
	argv.push_back(nullptr);
	int rc = posix_spawnp(&pid, exe.c_str(), &actions, &attributes, argv.data(), environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attributes);
	return rc;
}

// Waits up to `timeout_ms` (0: not at all) for `pid` to exit, then kills it.
HostEnd wait_for(pid_t pid, int timeout_ms) {
	int status = 0;
	for (int waited = 0;; waited += 10) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid) {
			return host_end_from_status(status);
		}
		if (done < 0) {
			return {HostEnd::Kind::Gone};
		}
		if (waited >= timeout_ms) {
			break;
		}
		struct timespec pause = {0, 10 * 1000 * 1000};
		nanosleep(&pause, nullptr);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	// A host already dying of its own signal (a segfault, say) reports that, not our kill.
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL) {
		return host_end_from_status(status);
	}
	return {HostEnd::Kind::KilledAfterWait, SIGKILL, timeout_ms};
}

}  // namespace

void SpawnedHost::remember_plugin_folder() {
	Dl_info info{};
	if (dladdr(reinterpret_cast<void*>(&SpawnedHost::remember_plugin_folder), &info) == 0 || !info.dli_fname) {
		return;
	}
	char resolved[PATH_MAX];
	if (!realpath(info.dli_fname, resolved)) {
		return;
	}
	std::string path = resolved;
	plugin_folder() = path.substr(0, path.rfind('/'));
}

SpawnedHost::~SpawnedHost() {
	for (pid_t pid : {current_, let_go_}) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			wait_for(pid, 1000);
		}
	}
}

int SpawnedHost::open(std::string& error) {
	std::string exe = locate(configured_);
	if (exe.find('/') != std::string::npos) {
		error = unusable(exe);
		if (!error.empty()) {
			return -1;
		}
	}
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		error = std::string("socketpair failed: ") + std::strerror(errno);
		return -1;
	}
	// dup2 onto descriptor 3 clears close-on-exec only if the numbers differ.
	int child_end = fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
	close(pair[1]);
	pid_t pid = -1;
	int rc = spawn(exe, child_end, pid);
	close(child_end);
	if (rc != 0) {
		close(pair[0]);
		error = rc == ENOENT && exe.find('/') == std::string::npos
		            ? "cannot start the host: there is no program " + exe + " in PATH"
		            : "cannot start the host " + exe + ": " + std::strerror(rc);
		return -1;
	}
	if (int failed = placement_.lower(pid)) {
		close(pair[0]);
		kill(pid, SIGKILL);
		wait_for(pid, 1000);
		error = std::string("cannot lower the host's priority (host-priority = low): ") + std::strerror(failed);
		return -1;
	}
	current_ = pid;
	return pair[0];
}

void SpawnedHost::let_go(bool kill_it) {
	if (current_ <= 0) {
		return;
	}
	if (kill_it) {
		kill(current_, SIGKILL);
	}
	let_go_ = current_;
	current_ = -1;
}

std::optional<HostEnd> SpawnedHost::reap() {
	if (let_go_ <= 0) {
		return std::nullopt;
	}
	int status = 0;
	pid_t done = waitpid(let_go_, &status, WNOHANG);
	if (done == 0) {
		return std::nullopt;
	}
	let_go_ = -1;
	return done < 0 ? HostEnd{HostEnd::Kind::Gone} : host_end_from_status(status);
}

void SpawnedHost::kill_let_go() {
	if (let_go_ > 0) {
		kill(let_go_, SIGKILL);
	}
}

std::optional<HostEnd> SpawnedHost::reap_within(int timeout_ms) {
	if (let_go_ <= 0) {
		return std::nullopt;
	}
	HostEnd ended = wait_for(let_go_, timeout_ms);
	let_go_ = -1;
	return ended;
}

std::optional<HostEnd> SpawnedHost::finish(int timeout_ms) {
	reap_within(0);
	if (current_ <= 0) {
		return std::nullopt;
	}
	HostEnd ended = wait_for(current_, timeout_ms);
	current_ = -1;
	return ended;
}

}  // namespace mmpy::shim
