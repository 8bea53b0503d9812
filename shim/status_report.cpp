#include "status_report.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "runtime_dir.h"

namespace mmpy::shim {

bool StatusReport::open(int64_t core_pid, const std::string& instance, std::string& error) {
	std::string folder;
	if (!protocol::prepare_report_folder(folder, error)) {
		return false;
	}
	path_ = folder + "/" + protocol::control_socket_name(core_pid, instance);
	return true;
}

void StatusReport::write(const protocol::ShimReport& report) {
	std::string text;
	if (path_.empty() || !protocol::encode(text, report)) {
		return;
	}
	std::string temporary = path_ + ".new";
	int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		return;
	}
	bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
	::close(fd);
	if (!written || std::rename(temporary.c_str(), path_.c_str()) != 0) {
		::unlink(temporary.c_str());
	}
}

void StatusReport::remove() {
	if (!path_.empty()) {
		::unlink(path_.c_str());
		path_.clear();
	}
}

}  // namespace mmpy::shim
