// Stand-ins for the shim's surroundings in unit tests: a clock the test moves by hand, and a
// host whose life the test scripts (it dies, it will not exit, it cannot be started).
#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "clock.h"
#include "host_reach.h"

namespace mmpy::shim::testing {

struct FakeClock final : Clock {
	uint64_t ms = 1000000;
	uint64_t now() const override { return ms; }
};

// A host reached over a socketpair; the test holds the host's end. Spawned hosts have a pid
// and must be reaped; attached ones (pid 0) are not the shim's to reap.
class FakeHost final : public HostReach {
public:
	explicit FakeHost(bool spawned) : spawned_(spawned) {}
	~FakeHost() override {
		for (int fd : host_ends) {
			close(fd);
		}
	}

	// Scripted by the test.
	bool fails_to_start = false;
	std::vector<uint8_t> first_words;  // what a new host has sent already when it is reached
	std::optional<HostEnd> ends_with;  // what reap() reports once the host has ended
	// Seen by the test.
	int opened = 0;
	int killed = 0;
	std::vector<int> host_ends;  // the host's end of every connection handed out

	int open(std::string& error) override {
		if (fails_to_start) {
			error = "the fake host cannot start";
			return -1;
		}
		int pair[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
			error = "socketpair failed";
			return -1;
		}
		host_ends.push_back(pair[1]);
		if (!first_words.empty() &&
		    write(pair[1], first_words.data(), first_words.size()) != static_cast<ssize_t>(first_words.size())) {
			error = "the fake host could not answer";
			return -1;
		}
		opened++;
		current_ = spawned_ ? 1000 + opened : 0;
		return pair[0];
	}
	pid_t pid() const override { return current_; }
	void let_go(bool kill) override {
		killed += kill ? 1 : 0;
		let_go_ = current_;
		current_ = 0;
	}
	bool reaping() const override { return let_go_ > 0; }
	std::optional<HostEnd> reap() override {
		if (let_go_ == 0 || !ends_with) {
			return std::nullopt;
		}
		let_go_ = 0;
		return ends_with;
	}
	void kill_let_go() override {
		killed++;
		ends_with = HostEnd{HostEnd::Kind::Signalled, 9};
	}
	std::optional<HostEnd> reap_within(int) override { return std::nullopt; }
	std::optional<HostEnd> finish(int) override { return std::nullopt; }
	bool reconnects() const override { return !spawned_; }
	const std::string& address() const override { return address_; }

private:
	bool spawned_;
	pid_t current_ = 0;
	pid_t let_go_ = 0;
	std::string address_ = "/fake/socket";
};

}  // namespace mmpy::shim::testing
