#include "instance_state.h"

namespace mmpy::host {

InstanceState::~InstanceState() = default;

std::optional<uint32_t> InstanceState::find(const std::string& channel_name) const {
	auto it = by_name_.find(channel_name);
	if (it == by_name_.end()) {
		return std::nullopt;
	}
	return it->second;
}

uint32_t InstanceState::find_or_add(const std::string& channel_name) {
	auto found = find(channel_name);
	if (found) {
		return *found;
	}
	uint32_t id = static_cast<uint32_t>(channels_.size());
	channels_.push_back(Channel{channel_name});
	by_name_.emplace(channel_name, id);
	return id;
}

bool InstanceState::adopt_table(const std::vector<std::pair<uint32_t, std::string>>& table, std::string& error) {
	std::vector<Channel> adopted(table.size());
	std::vector<bool> seen(table.size(), false);
	std::unordered_map<std::string, uint32_t> names;
	for (const auto& [id, channel_name] : table) {
		if (id >= table.size() || seen[id]) {
			error = "channel table ids are not 0.." + std::to_string(table.size() - 1) + " each once";
			return false;
		}
		if (!names.emplace(channel_name, id).second) {
			error = "channel '" + channel_name + "' appears twice in the channel table";
			return false;
		}
		seen[id] = true;
		adopted[id].name = channel_name;
		if (auto old = find(channel_name)) {
			Channel& before = channels_[*old];
			adopted[id].input = before.input;
			adopted[id].output = before.output;
			adopted[id].output_before_start = before.output_before_start;
		}
	}
	release_handlers();
	channels_ = std::move(adopted);
	by_name_ = std::move(names);
	return true;
}

void InstanceState::release_handlers() {
	for (auto& channel : channels_) {
		Py_CLEAR(channel.handler);
	}
}

}  // namespace mmpy::host
