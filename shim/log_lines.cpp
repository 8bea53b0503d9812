#include "log_lines.h"

#include <cstdio>
#include <cstring>

#include "midimonster.h"
#include "restart_policy.h"

namespace mmpy::shim {

namespace {

void line(const char* instance, const std::string& text, int level = 0) {
	log_printf(level, const_cast<char*>("python"), const_cast<char*>("%s: %s\n"), instance, text.c_str());
}

}  // namespace

namespace log_lines {

void python(const char* instance, int level, const std::string& text) {
	line(instance, text, level == 1 ? 1 : 0);
}

void host_ready(const char* instance, int64_t pid, const std::string& python) {
	line(instance, "mm-pyhost " + std::to_string(pid) + " ready (Python " + python + ")");
}

namespace {

std::string lost_the_host(pid_t pid, const HostLoss& why) {
	return "lost the host" + (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) + ": " + describe(why);
}

// Why the pause is what it is: a host that ran the show comes back at once.
std::string judged(const Retry& retry, uint64_t handled) {
	switch (retry.judged) {
	case LostHost::RanTheShow:
		if (handled == 0) {
			return "; it had been up for " + std::to_string(RestartPolicy::kStableMs / 1000) + " s or more";
		}
		return "; it had handled " + std::to_string(handled) + (handled == 1 ? " input event" : " input events");
	case LostHost::HandledNothing:
		return "; it had not handled any input since it started";
	case LostHost::NotStarted:
		return "; it had not finished starting";
	}
	return "";
}

}  // namespace

void lost_before_show(const char* instance, pid_t pid, const HostLoss& why, const std::optional<HostEnd>& end) {
	line(instance, lost_the_host(pid, why) + (end ? "; it " + describe(*end) : std::string()));
}

void outage(const char* instance, const Outage& outage, const Retry& retry) {
	std::string text;
	if (outage.attempt) {
		text = "cannot bring the host back: " + describe(outage.why);
	} else {
		text = lost_the_host(outage.pid, outage.why);
		if (outage.unconfirmed > 0) {
			text += "; up to " + std::to_string(outage.unconfirmed) +
			        " input events sent to it shortly before may not have been handled";
		}
		if (outage.killed_after_grace) {
			text += "; it did not exit, so it was killed";
		}
		if (outage.killed) {
			text += "; killed it";
		} else if (outage.end) {
			text += "; it " + describe(*outage.end);
		}
		text += judged(retry, outage.handled);
	}
	text += std::string(". ") + (retry.reconnect ? "reconnecting" : "restarting it");
	if (retry.pause_ms == 0) {
		text += " now";
	} else {
		char pause[32];
		std::snprintf(pause, sizeof pause, "%.1f", static_cast<double>(retry.pause_ms) / 1000.0);
		text += " in " + std::string(pause) + " s (" + std::to_string(retry.failures) +
		        " failures in a row; the lines above say why)";
	}
	line(instance, text);
	if (!outage.attempt) {
		sequences_gone(instance, outage.sequences);
	}
}

void sequences_gone(const char* instance, const protocol::Tasks& tasks) {
	if (tasks.running.empty() && tasks.others == 0) {
		return;
	}
	std::string names;
	for (size_t i = 0; i < tasks.running.size(); i++) {
		const protocol::TaskCount& task = tasks.running[i];
		names += (i > 0 ? ", " : "") + task.name;
		if (task.count > 1) {
			names += " (" + std::to_string(task.count) + " running)";
		}
	}
	if (tasks.others > 0) {
		const char* joint = tasks.running.empty() ? "" : tasks.running.size() == 1 ? " and " : ", and ";
		names += joint + std::to_string(tasks.others) + (tasks.others == 1 ? " other" : " others");
	}
	line(instance, "these sequences were running when the host was lost and are gone: " + names);
}

void replaying(const char* instance, pid_t pid, const std::string& address) {
	line(instance, (pid > 0 ? "started a new host (pid " + std::to_string(pid) + ")"
	                        : "connected to mm-pyhost at " + address + " again") +
	                   "; giving it the configuration and the last values");
}

void replay_refused(const char* instance, const std::string& option, const std::string& value, const std::string& error) {
	line(instance, "the new host refused '" + option + " = " + value + "': " + error);
}

void back(const char* instance, uint64_t down_ms, size_t channels) {
	line(instance, "the host is back after " + std::to_string(down_ms) + " ms; " + std::to_string(channels) +
	                   " channels and their last values restored");
}

void held_inputs_sent(const char* instance, uint64_t events, size_t channels) {
	line(instance, std::to_string(events) + " input events waited for the host; it got the latest value of each of their " +
	                   std::to_string(channels) + " channels");
}

void cleanup_unfinished(const char* instance, const HostLoss& why) {
	line(instance, "the host did not finish its cleanup: " + describe(why, "the host"));
}

void held_inputs_dropped(const char* instance, uint64_t events, size_t channels) {
	line(instance, std::to_string(events) + " input events on " + std::to_string(channels) +
	                   " channels never reached a host: the show ended while it was away");
}

void host_ended_badly(const char* instance, const HostEnd& end) {
	line(instance, "the host " + describe(end));
}

void no_report(const char* instance, const std::string& why) {
	line(instance, "mm-pyhost list will not see this instance while its host is away: " + why);
}

void core_pinned(const HostPlacement::Pinned& pinned) {
	if (pinned.error) {
		SHIM_LOG("Cannot keep the core and its Python hosts on one CPU (host-cpu = core): %s; the kernel places them",
		         std::strerror(pinned.error));
	} else if (pinned.cpu >= 0) {
		SHIM_LOG("The core and its Python hosts run on CPU %d from now on (host-cpu = core; 'any' leaves it to the kernel)",
		         pinned.cpu);
	}
}

}  // namespace log_lines

}  // namespace mmpy::shim
