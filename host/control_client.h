// The operator's end of the instance hosts' control sockets (host/control_server.h): finding
// them, and one request and its reply at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator.h"

namespace mmpy::host {

// One instance: its host's control socket, and what its shim last reported (if it did).
struct Endpoint {
	int64_t core_pid = 0;
	std::string instance;
	std::string path;  // the socket, which is not there while no host runs
	std::optional<protocol::ShimReport> report;

	// Removes the socket and the report (their MIDIMonster has ended).
	void forget() const;
};

// Every instance with a control socket or a shim's report, by core pid and instance.
std::vector<Endpoint> endpoints();

// A connection to a host, its request sent; -1 with `error` if the host cannot be reached.
// Replies are awaited 30 s at most (a reload answers once it is done).
int connect_to(const Endpoint& endpoint, const protocol::OperatorRequest& request, std::string& error);

// The whole of `text`, however many writes it takes; false (errno set) if the socket fails.
bool write_all(int fd, std::string_view text);

// Reads one line from `fd` into `line` (without '\n'), keeping what follows in `pending`.
// A signal that interrupts the wait calls `interrupted` (then the wait goes on); without it
// the read fails.
bool read_line(int fd, std::string& pending, std::string& line, const std::function<void()>& interrupted = {});

bool read_reply(int fd, std::string& pending, protocol::OperatorReply& reply, std::string& error,
                const std::function<void()>& interrupted = {});

// Sends `request` and reads the reply; false with `error` if the host cannot be reached.
bool ask(const Endpoint& endpoint, const protocol::OperatorRequest& request, protocol::OperatorReply& reply,
         std::string& error);

// The MIDIMonster of `pid` still runs (perhaps as another user).
bool core_alive(int64_t pid);

}  // namespace mmpy::host
