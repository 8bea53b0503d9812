// How long channel handlers take, for `mm-pyhost status`: a histogram with eight buckets per
// power of two from 1 µs, so a percentile is within 13 % of the truth (max: exact); no
// allocation, a few nanoseconds per handler call. Beyond about 9 minutes, the last bucket.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace mmpy::host {

class HandlerTimes {
public:
	void add(uint64_t ns) {
		uint64_t us = ns / 1000;
		counts_[bucket(us)]++;
		total_++;
		max_us_ = us > max_us_ ? us : max_us_;
	}

	// The time (µs) below which `percent` of the calls ended: the bucket's upper bound.
	uint64_t percentile(double percent) const {
		if (total_ == 0) {
			return 0;
		}
		uint64_t wanted = static_cast<uint64_t>(static_cast<double>(total_) * percent / 100.0 + 0.5);
		uint64_t seen = 0;
		for (size_t i = 0; i < kBuckets; i++) {
			seen += counts_[i];
			if (seen >= wanted && seen > 0) {
				uint64_t upper = upper_bound(i);
				return upper < max_us_ ? upper : max_us_;
			}
		}
		return max_us_;
	}
	uint64_t max_us() const { return max_us_; }
	uint64_t calls() const { return total_; }

private:
	static constexpr size_t kSteps = 8;  // buckets per power of two
	static constexpr size_t kBuckets = 27 * kSteps;

	static size_t bucket(uint64_t us) {
		if (us < kSteps) {
			return us;
		}
		size_t power = static_cast<size_t>(std::bit_width(us)) - 1;  // us in [2^power, 2^(power+1))
		size_t step = static_cast<size_t>((us >> (power - 3)) & (kSteps - 1));
		size_t index = (power - 2) * kSteps + step;
		return index < kBuckets ? index : kBuckets - 1;
	}
	static uint64_t upper_bound(size_t index) {
		if (index < kSteps) {
			return index;
		}
		size_t power = index / kSteps + 2;
		uint64_t step = index % kSteps;
		return ((kSteps + step + 1) << (power - 3)) - 1;
	}

	std::array<uint64_t, kBuckets> counts_{};
	uint64_t total_ = 0;
	uint64_t max_us_ = 0;
};

}  // namespace mmpy::host
