#include "runtime_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>

namespace mmpy::protocol {

namespace {

// The folder for the socket. The XDG base directory rules say a relative path in the
// variable is invalid and must be ignored, like an empty one.
std::string private_folder() {
	const char* runtime = std::getenv("XDG_RUNTIME_DIR");
	if (runtime && runtime[0] == '/') {
		return std::string(runtime) + "/mm-pyhost";
	}
	return "/tmp/mm-pyhost-" + std::to_string(geteuid());
}

// "0755" for log lines: operators know modes in octal.
std::string octal(mode_t mode) {
	char text[8];
	std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
	return text;
}

// A folder found already there may have been prepared by another user (in /tmp anyone can
// create it first) to read or replace our socket: trust it only if it is ours and closed.
// `use` says what was to be done there: "listen in", "write in".
bool check_folder(const std::string& folder, const char* use, std::string& error) {
	struct stat info;
	if (lstat(folder.c_str(), &info) != 0) {
		error = "cannot inspect " + folder + ": " + std::strerror(errno);
		return false;
	}
	if (!S_ISDIR(info.st_mode)) {
		error = std::string("refusing to ") + use + " " + folder + ": it is not a folder (a link or a file is in the way); "
		        "remove it, or give mm-pyhost --listen a PATH";
		return false;
	}
	if (info.st_uid != geteuid()) {
		error = std::string("refusing to ") + use + " " + folder + ": it belongs to uid " + std::to_string(info.st_uid) +
		        ", not to this user (uid " + std::to_string(geteuid()) + "), so it cannot be trusted; "
		        "have it removed, or give mm-pyhost --listen a PATH";
		return false;
	}
	if ((info.st_mode & 07777) != 0700) {
		error = std::string("refusing to ") + use + " " + folder + ": its mode is " + octal(info.st_mode) +
		        ", other users could reach the socket; run 'chmod 0700 " + folder + "' or remove it";
		return false;
	}
	return true;
}

// Creates `folder` with mode 0700, or checks the one that is there.
bool prepare_folder(const std::string& folder, const char* use, std::string& error) {
	if (mkdir(folder.c_str(), 0700) == 0) {
		// The umask may have taken bits away, never added any; set the mode exactly.
		if (chmod(folder.c_str(), 0700) != 0) {
			error = "cannot set the mode of " + folder + ": " + std::strerror(errno);
			return false;
		}
	} else if (errno != EEXIST) {
		error = "cannot create " + folder + ": " + std::strerror(errno);
		if (errno == ENOENT) {
			error += " (check XDG_RUNTIME_DIR, or give mm-pyhost --listen a PATH)";
		}
		return false;
	}
	return check_folder(folder, use, error);
}

}  // namespace

bool prepare_default_socket_path(std::string& path, std::string& error) {
	std::string folder = private_folder();
	if (!prepare_folder(folder, "listen in", error)) {
		return false;
	}
	path = folder + "/socket";
	return true;
}

bool prepare_control_folder(std::string& folder, std::string& error) {
	if (!prepare_folder(private_folder(), "listen in", error) || !prepare_folder(control_folder(), "listen in", error)) {
		return false;
	}
	folder = control_folder();
	return true;
}

std::string control_folder() {
	return private_folder() + "/control";
}

bool prepare_report_folder(std::string& folder, std::string& error) {
	if (!prepare_folder(private_folder(), "write in", error) || !prepare_folder(report_folder(), "write in", error)) {
		return false;
	}
	folder = report_folder();
	return true;
}

std::string report_folder() {
	return private_folder() + "/instances";
}

}  // namespace mmpy::protocol
