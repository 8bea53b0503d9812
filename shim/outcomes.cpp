#include "outcomes.h"

#include <sys/wait.h>

#include <cstring>

namespace mmpy::shim {

namespace {

std::string seconds(uint64_t ms) {
	return std::to_string(ms / 1000) + " s";
}

}  // namespace

HostEnd host_end_from_status(int status) {
	if (WIFEXITED(status)) {
		return {HostEnd::Kind::Exited, WEXITSTATUS(status)};
	}
	if (WIFSIGNALED(status)) {
		return {HostEnd::Kind::Signalled, WTERMSIG(status)};
	}
	return {HostEnd::Kind::Gone};
}

std::string describe(const HostEnd& end) {
	switch (end.kind) {
	case HostEnd::Kind::Exited:
		return "exited with status " + std::to_string(end.code);
	case HostEnd::Kind::Signalled:
		return "was killed by signal " + std::to_string(end.code) + " (" + strsignal(end.code) + ")";
	case HostEnd::Kind::KilledAfterWait:
		return "did not exit within " + std::to_string(end.waited_ms) + " ms and was killed";
	case HostEnd::Kind::Gone:
		break;
	}
	return "was already reaped";
}

std::string describe(const HostLoss& loss, const char* subject) {
	switch (loss.kind) {
	case HostLoss::Kind::Closed:
		return std::string(subject) + " closed the connection";
	case HostLoss::Kind::ReadFailed:
		return std::string("read from the host failed: ") + std::strerror(loss.error);
	case HostLoss::Kind::WriteFailed:
		return std::string("write to the host failed: ") + std::strerror(loss.error);
	case HostLoss::Kind::PollFailed:
		return std::string("poll failed: ") + std::strerror(loss.error);
	case HostLoss::Kind::Malformed:
		return "malformed frame from the host: " + loss.detail;
	case HostLoss::Kind::Misbehaved:
	case HostLoss::Kind::Stopped:
	case HostLoss::Kind::Unreachable:
		return loss.detail;
	case HostLoss::Kind::Silent:
		return std::string(subject) + " sent nothing for " + seconds(loss.ms) +
		       " (it hangs, was stopped with SIGSTOP, or is stuck in a C call)";
	case HostLoss::Kind::NoAnswer:
		return "the host did not answer within " + seconds(loss.ms);
	case HostLoss::Kind::StartOverdue:
		return std::string(subject) + " did not finish starting within " + seconds(loss.ms);
	case HostLoss::Kind::CannotWatch:
		return "the core cannot watch the new host's socket";
	case HostLoss::Kind::TableTooLarge:
		return "the channel table with its values is larger than one frame may be";
	}
	return "lost";
}

}  // namespace mmpy::shim
