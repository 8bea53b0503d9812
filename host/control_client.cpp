#include "control_client.h"

#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>

#include "runtime_dir.h"

namespace mmpy::host {

namespace {

// Calls `found(core_pid, instance, file)` for each <core pid>.<instance> in `folder`.
template <typename Found>
void scan(const std::string& folder, Found found) {
	DIR* dir = opendir(folder.c_str());
	if (!dir) {
		return;
	}
	while (dirent* entry = readdir(dir)) {
		std::string name = entry->d_name;
		size_t dot = name.find('.');
		// Instance names have no dot; a report being replaced ends in ".new".
		if (dot == std::string::npos || dot == 0 || !std::all_of(name.begin(), name.begin() + dot, ::isdigit) ||
		    name.find('.', dot + 1) != std::string::npos) {
			continue;
		}
		found(std::atoll(name.substr(0, dot).c_str()), name.substr(dot + 1), folder + "/" + name);
	}
	closedir(dir);
}

std::optional<protocol::ShimReport> read_report(const std::string& file) {
	std::ifstream in(file);
	std::string line, error;
	protocol::ShimReport report;
	if (!std::getline(in, line) || !protocol::parse(line, report, error)) {
		return std::nullopt;
	}
	return report;
}

}  // namespace

void Endpoint::forget() const {
	unlink(path.c_str());
	unlink((protocol::report_folder() + "/" + protocol::control_socket_name(core_pid, instance)).c_str());
}

std::vector<Endpoint> endpoints() {
	std::map<std::pair<int64_t, std::string>, Endpoint> found;
	std::string sockets = protocol::control_folder();
	auto add = [&](int64_t core_pid, const std::string& instance) -> Endpoint& {
		Endpoint& endpoint = found[{core_pid, instance}];
		endpoint.core_pid = core_pid;
		endpoint.instance = instance;
		endpoint.path = sockets + "/" + protocol::control_socket_name(core_pid, instance);
		return endpoint;
	};
	scan(sockets, [&](int64_t core_pid, const std::string& instance, const std::string&) { add(core_pid, instance); });
	scan(protocol::report_folder(), [&](int64_t core_pid, const std::string& instance, const std::string& file) {
		add(core_pid, instance).report = read_report(file);
	});
	std::vector<Endpoint> all;
	for (auto& [key, endpoint] : found) {
		all.push_back(std::move(endpoint));
	}
	return all;
}

int connect_to(const Endpoint& endpoint, const protocol::OperatorRequest& request, std::string& error) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	if (fd < 0 || endpoint.path.size() >= sizeof(address.sun_path)) {
		error = "cannot reach " + endpoint.path;
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	std::memcpy(address.sun_path, endpoint.path.c_str(), endpoint.path.size() + 1);
	// A reload answers once it is done: its steps are bounded by a few seconds each.
	timeval patience{30, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof(patience));
	std::string line;
	protocol::encode(line, request);
	if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || !write_all(fd, line)) {
		error = std::string(std::strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool write_all(int fd, std::string_view text) {
	size_t done = 0;
	while (done < text.size()) {
		ssize_t n = write(fd, text.data() + done, text.size() - done);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return false;
		}
		done += static_cast<size_t>(n);
	}
	return true;
}

bool read_line(int fd, std::string& pending, std::string& line, const std::function<void()>& interrupted) {
	char buffer[65536];
	size_t newline;
	while ((newline = pending.find('\n')) == std::string::npos) {
		ssize_t got = read(fd, buffer, sizeof(buffer));
		if (got < 0 && errno == EINTR && interrupted) {
			interrupted();
			continue;
		}
		if (got <= 0 || pending.size() > protocol::kMaxOperatorReply) {
			return false;
		}
		pending.append(buffer, static_cast<size_t>(got));
	}
	line = pending.substr(0, newline);
	pending.erase(0, newline + 1);
	return true;
}

bool read_reply(int fd, std::string& pending, protocol::OperatorReply& reply, std::string& error,
                const std::function<void()>& interrupted) {
	std::string line;
	if (!read_line(fd, pending, line, interrupted)) {
		error = "the host closed the connection without an answer";
		return false;
	}
	if (!protocol::parse(line, reply, error)) {
		error = "a reply mm-pyhost does not understand: " + error;
		return false;
	}
	return true;
}

bool ask(const Endpoint& endpoint, const protocol::OperatorRequest& request, protocol::OperatorReply& reply,
         std::string& error) {
	int fd = connect_to(endpoint, request, error);
	if (fd < 0) {
		return false;
	}
	std::string pending;
	bool ok = read_reply(fd, pending, reply, error);
	close(fd);
	return ok;
}

bool core_alive(int64_t pid) {
	return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace mmpy::host
