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
			held_flag_.resize(id + 1, false);
		}
		if (!held_flag_[id]) {
			held_flag_[id] = true;
			held_.push_back(id);
		}
	}

	// Room for `channels` channels, so that holding allocates nothing during the show.
	void reserve(size_t channels) {
		held_.reserve(channels);
		held_flag_.resize(std::max(held_flag_.size(), channels), false);
	}

	bool empty() const { return held_.empty(); }
	bool holds(uint32_t id) const { return id < held_flag_.size() && held_flag_[id]; }
	size_t channels() const { return held_.size(); }
	uint64_t events() const { return events_; }

	// Hands every held channel to `send` once, in the order they were first held, and forgets
	// them all.
	template <typename Send>
	void release(Send send) {
		for (uint32_t id : held_) {
			held_flag_[id] = false;
			send(id);
		}
		held_.clear();
		events_ = 0;
	}

private:
	std::vector<uint32_t> held_;
	std::vector<bool> held_flag_;
	uint64_t events_ = 0;
};

}  // namespace mmpy::shim
