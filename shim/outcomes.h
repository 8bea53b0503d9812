// What happened to a host, as values. Prose is made from these only where a line is logged
// (log_lines.h).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "control.h"

namespace mmpy::shim {

// How a host process ended.
struct HostEnd {
	enum class Kind {
		Exited,          // `code` is its exit status
		Signalled,       // `code` is the signal
		KilledAfterWait, // it did not exit within `waited_ms`, so the shim killed it
		Gone,            // someone else reaped it already
	};
	Kind kind = Kind::Gone;
	int code = 0;
	int waited_ms = 0;

	bool clean() const { return kind == Kind::Exited && code == 0; }
};

// Makes a HostEnd from a waitpid() status.
HostEnd host_end_from_status(int status);

// Why the shim lost, or could not reach, its host.
struct HostLoss {
	enum class Kind {
		Closed,        // end of stream
		ReadFailed,    // `error` is the errno
		WriteFailed,   // `error` is the errno
		PollFailed,    // `error` is the errno
		Malformed,     // the byte stream broke the framing: `detail`
		Misbehaved,    // a frame it may not send, or one that does not parse: `detail`
		Stopped,       // it sent an Error frame: `detail` is its reason
		Silent,        // nothing at all for `ms`
		NoAnswer,      // configuration: no answer within `ms`
		StartOverdue,  // a new host did not finish starting within `ms`
		Unreachable,   // no host could be started or connected: `detail`
		CannotWatch,   // the core refused to watch the socket
		TableTooLarge, // the channel table with its values does not fit one frame
	};
	Kind kind = Kind::Closed;
	int error = 0;
	uint64_t ms = 0;
	std::string detail;

	HostLoss() = default;
	explicit HostLoss(Kind k, int errno_value = 0, uint64_t after_ms = 0) : kind(k), error(errno_value), ms(after_ms) {}
	HostLoss(Kind k, std::string what) : kind(k), detail(std::move(what)) {}
};

// Prose for the log (log_lines.h) and for messages the plugin logs. `subject` names the host
// in the sentence: "it" after "lost the host: ", "the host" standing alone.
std::string describe(const HostEnd& end);
std::string describe(const HostLoss& loss, const char* subject = "it");

// How the restart policy judged a lost host.
enum class LostHost {
	RanTheShow,      // it was up and had handled inputs (or stayed up long): back at once
	HandledNothing,  // it was up but lost before it had handled any input
	NotStarted,      // it was lost before it was up, or could not be started or reached
};

// What the shim's pause before the next attempt is, and why.
struct Retry {
	uint64_t pause_ms = 0;
	unsigned failures = 0;  // in a row, counting this one; 0 after a host that ran the show
	bool reconnect = false; // attach mode: connect again rather than start a host
	LostHost judged = LostHost::NotStarted;
};

// One outage of the host during the show, as its log line tells it.
struct Outage {
	HostLoss why;
	bool attempt = false;           // an attempt to bring the host back failed (why says how)
	pid_t pid = 0;                  // the lost host's process, 0 when it is not ours
	uint64_t unconfirmed = 0;       // inputs sent shortly before that it may not have handled
	uint64_t handled = 0;           // inputs it confirmed handling (its heartbeats)
	bool killed = false;            // the shim killed it, so how it ended says nothing new
	bool killed_after_grace = false;// it did not exit after the loss, so it was killed
	std::optional<HostEnd> end;     // how the process ended, once reaped
	protocol::Tasks sequences;      // what the host last said runs: gone with it
};

}  // namespace mmpy::shim
