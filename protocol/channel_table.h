// The channel table both ends keep for an instance: channel names and their ids (0, 1, 2,
// ... in the order the channels were made; names cross the wire once, events carry ids),
// with each channel's last input and output value. `Extra` holds what only one end needs
// per channel (the core's channel in the shim, the Python handler in the host).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "protocol_limits.h"

namespace mmpy::protocol {

// Whether a channel may join a table: the one check of the name and count limits.
enum class Admission { Admitted, NameTooLong, TableFull };

// The check itself: may `name` be channel number `index` (0-based) of a table?
inline Admission admit_as(std::string_view name, size_t index) {
	if (name.size() > kMaxNameLength) {
		return Admission::NameTooLong;
	}
	return index >= kMaxChannels ? Admission::TableFull : Admission::Admitted;
}

// Why `name` was not admitted, e.g. "an instance has at most 16384 channels; 'x' would be one more".
std::string describe(Admission admission, std::string_view name);

struct ChannelValues {
	std::string name;
	double input = 0.0;   // the last value delivered to the channel
	double output = 0.0;  // the last value output on it
	bool has_input = false;
	bool has_output = false;
};

// The table as the Start frame carries it: (id, name) pairs.
using ChannelList = std::vector<std::pair<uint32_t, std::string>>;

template <typename Extra>
class ChannelTable {
public:
	struct Channel : ChannelValues, Extra {};

	std::optional<uint32_t> find(std::string_view name) const {
		auto found = by_name_.find(std::string(name));
		return found == by_name_.end() ? std::nullopt : std::optional<uint32_t>(found->second);
	}

	// May `name` be looked up with add()? Names already in the table always may.
	Admission admit(std::string_view name) const {
		auto known = find(name);
		return admit_as(name, known ? *known : channels_.size());
	}

	// The id of `name`, which is added if new; admit() it first.
	uint32_t add(std::string_view name) {
		if (auto found = find(name)) {
			return *found;
		}
		auto id = static_cast<uint32_t>(channels_.size());
		channels_.emplace_back();
		channels_.back().name = std::string(name);
		by_name_.emplace(channels_.back().name, id);
		return id;
	}

	// Replaces the table with `list` (each id 0..n-1 once, each name once), keeping the
	// values and extras of channels known by name before.
	bool adopt(const ChannelList& list, std::string& error) {
		std::vector<bool> seen(list.size(), false);
		std::unordered_map<std::string, uint32_t> names;
		for (const auto& [id, name] : list) {
			if (id >= list.size() || seen[id]) {
				error = "channel table ids are not 0.." + std::to_string(list.size() - 1) + " each once";
				return false;
			}
			if (!names.emplace(name, id).second) {
				error = "channel '" + name + "' appears twice in the channel table";
				return false;
			}
			seen[id] = true;
		}
		std::vector<Channel> adopted(list.size());
		for (const auto& [id, name] : list) {
			if (auto before = find(name)) {
				adopted[id] = std::move(channels_[*before]);
			}
			adopted[id].name = name;
		}
		channels_ = std::move(adopted);
		by_name_ = std::move(names);
		return true;
	}

	ChannelList list() const {
		ChannelList table;
		table.reserve(channels_.size());
		for (uint32_t id = 0; id < channels_.size(); id++) {
			table.emplace_back(id, channels_[id].name);
		}
		return table;
	}

	bool contains(uint32_t id) const { return id < channels_.size(); }
	Channel& operator[](uint32_t id) { return channels_[id]; }
	const Channel& operator[](uint32_t id) const { return channels_[id]; }
	size_t size() const { return channels_.size(); }
	auto begin() { return channels_.begin(); }
	auto end() { return channels_.end(); }
	auto begin() const { return channels_.begin(); }
	auto end() const { return channels_.end(); }

private:
	std::vector<Channel> channels_;
	std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace mmpy::protocol
