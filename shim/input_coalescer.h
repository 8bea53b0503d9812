// Inputs the host has not got yet, while it is slow or away: one entry per channel, whose
// value is the channel's latest input, so memory stays bounded by the channel count however
// long the outage and however many events arrive.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace mmpy::shim {

class InputCoalescer {
public:
	// Channel `id` has an input the host has not got.
	void hold(uint32_t id) {
		events_++;
		if (id >= held_flag_.size()) {
			held_flag_.resize(id + 1, 0);
		}
		if (!held_flag_[id]) {
			held_flag_[id] = 1;
			held_.push_back(id);
		}
	}

	// Room for `channels` channels, so that holding allocates nothing during the show.
	void reserve(size_t channels) {
		held_.reserve(channels);
		held_flag_.resize(std::max(held_flag_.size(), channels), 0);
	}

	bool empty() const { return held_.empty(); }
	bool holds(uint32_t id) const { return id < held_flag_.size() && held_flag_[id] != 0; }
	size_t channels() const { return held_.size(); }
	uint64_t events() const { return events_; }

	// Hands every held channel to `send` once, in the order they were first held, and forgets
	// them all.
	template <typename Send>
	void release(Send send) {
		for (uint32_t id : held_) {
			held_flag_[id] = 0;
			send(id);
		}
		held_.clear();
		events_ = 0;
	}

private:
	std::vector<uint32_t> held_;
	std::vector<uint8_t> held_flag_;  // not vector<bool>: this runs per input event
	uint64_t events_ = 0;
};

}  // namespace mmpy::shim
