#include "host_process.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

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

}  // namespace

void remember_plugin_folder() {
	Dl_info info{};
	if (dladdr(reinterpret_cast<void*>(&locate_host), &info) == 0 || !info.dli_fname) {
		return;
	}
	char resolved[PATH_MAX];
	if (!realpath(info.dli_fname, resolved)) {
		return;
	}
	std::string path = resolved;
	plugin_folder() = path.substr(0, path.rfind('/'));
}

std::string locate_host(const std::string& configured) {
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

namespace {

// Why `exe` (a path) cannot be started, or "" if it looks like a program we may run.
std::string unusable_host(const std::string& exe) {
	const std::string& shown = exe;  // absolute: plugin.cpp resolved it in the config's folder
	struct stat info {};
	if (stat(exe.c_str(), &info) != 0) {
		return "the host executable " + shown + " " +
		       (errno == ENOENT ? std::string("does not exist") : std::string("cannot be reached: ") + std::strerror(errno));
	}
	if (S_ISDIR(info.st_mode)) {
		return "the host executable " + shown + " is a folder, not the mm-pyhost program";
	}
	if (!executable(exe)) {
		return "the host executable " + shown + " is not executable (no execute permission: chmod +x it)";
	}
	return "";
}

}  // namespace

int spawn_host(const std::string& exe, pid_t& pid, std::string& error) {
	if (exe.find('/') != std::string::npos) {
		error = unusable_host(exe);
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

	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, child_end, 3);
	posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, 2, 1);  // the core's stdout is not the host's
	posix_spawn_file_actions_addclosefrom_np(&actions, 4);  // the core's other sockets stay its own

	posix_spawnattr_t attributes;
	posix_spawnattr_init(&attributes);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attributes, &none);
	posix_spawnattr_setsigdefault(&attributes, &all);
	posix_spawnattr_setpgroup(&attributes, 0);
	posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

	std::string fd_arg = "--fd", fd_value = "3";
	char* argv[] = {const_cast<char*>(exe.c_str()), fd_arg.data(), fd_value.data(), nullptr};
	int rc = posix_spawnp(&pid, exe.c_str(), &actions, &attributes, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attributes);
	close(child_end);
	if (rc != 0) {
		close(pair[0]);
		error = rc == ENOENT && exe.find('/') == std::string::npos
		            ? "cannot start the host: there is no program " + exe + " in PATH"
		            : "cannot start the host " + exe + ": " + std::strerror(rc);
		return -1;
	}
	return pair[0];
}

int connect_host(const std::string& path, std::string& error) {
	sockaddr_un address{};
	if (path.size() >= sizeof(address.sun_path)) {
		error = "the socket path " + path + " is " + std::to_string(path.size()) + " bytes long, Unix sockets allow " +
		        std::to_string(sizeof(address.sun_path) - 1) + " (choose a shorter 'socket =' path in [backend python])";
		return -1;
	}
	address.sun_family = AF_UNIX;
	std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		error = std::string("socket failed: ") + std::strerror(errno);
		return -1;
	}
	if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
		int failure = errno;
		close(fd);
		error = "cannot reach mm-pyhost at " + path + ": ";
		struct stat info {};
		if (failure == ECONNREFUSED && stat(path.c_str(), &info) == 0 && !S_ISSOCK(info.st_mode)) {
			// connect() says "refused" for any file that is not a socket.
			error += std::string("it is ") + (S_ISDIR(info.st_mode) ? "a folder" : "a file") +
			         ", not a socket (check 'socket =' in [backend python])";
			return -1;
		}
		error += std::strerror(failure);
		if (failure == EACCES) {
			error += " (run MIDIMonster as the user who runs 'mm-pyhost --listen " + path + "')";
		} else if (failure == ECONNREFUSED) {
			error += ": nothing listens there (is 'mm-pyhost --listen " + path + "' running?)";
		} else {
			error += " (is 'mm-pyhost --listen " + path + "' running?)";
		}
		return -1;
	}
	return fd;
}

std::string describe_exit(int status) {
	if (WIFEXITED(status)) {
		return "exited with status " + std::to_string(WEXITSTATUS(status));
	}
	if (WIFSIGNALED(status)) {
		return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
	}
	return "ended";
}

bool try_reap(pid_t pid, std::string& how) {
	int status = 0;
	pid_t done = waitpid(pid, &status, WNOHANG);
	if (done == pid) {
		how = describe_exit(status);
		return true;
	}
	if (done < 0) {
		how = "was already reaped";
		return true;
	}
	return false;
}

std::string reap_host(pid_t pid, int timeout_ms) {
	int status = 0;
	for (int waited = 0;; waited += 10) {
		pid_t done = waitpid(pid, &status, WNOHANG);
		if (done == pid) {
			return describe_exit(status);
		}
		if (done < 0) {
			return "was already reaped";
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
		return describe_exit(status);
	}
	return "did not exit within " + std::to_string(timeout_ms) + " ms and was killed";
}

}  // namespace mmpy::shim
