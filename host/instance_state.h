// What the host knows about its instance: the channel table with last input and output
// values, the handlers resolved for it, and the outputs waiting to leave this loop turn.
#pragma once

#include <Python.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "events.h"

namespace mmpy::host {

struct Channel {
	std::string name;
	double input = 0.0;
	double output = 0.0;
	bool output_before_start = false;  // output() at import time: pushed when the show starts
	PyObject* handler = nullptr;        // owned reference, resolved at start
};

class InstanceState {
public:
	~InstanceState();

	std::string name;
	std::string directory;
	std::string default_handler;  // "module.function", empty if none
	bool started = false;

	// The channel a handler is running for; current() reports it.
	const Channel* current = nullptr;

	// Index of the channel called `name`, if it exists.
	std::optional<uint32_t> find(const std::string& name) const;

	// Before start: the channel called `name`, created if needed (output() at import time).
	uint32_t find_or_add(const std::string& name);

	// At start: replaces the table with the shim's ids, keeping values set before.
	bool adopt_table(const std::vector<std::pair<uint32_t, std::string>>& table, std::string& error);

	Channel& at(uint32_t id) { return channels_[id]; }
	const std::vector<Channel>& channels() const { return channels_; }

	// Outputs made during this loop turn; they leave as one frame.
	std::vector<protocol::Event> pending_outputs;

	// Drops every Python reference (before the interpreter goes away).
	void release_handlers();

private:
	std::vector<Channel> channels_;
	std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace mmpy::host
