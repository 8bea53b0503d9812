// Small helpers shared by the fuzz targets: a check that stays on in optimised builds, and
// a deterministic random source seeded from the input, so that split points and schedules
// are part of the input and a crash replays exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>

// assert() is off in RelWithDebInfo; a fuzz target's checks must never be.
#define FUZZ_CHECK(condition, ...)                                                             \
	do {                                                                                       \
		if (!(condition)) {                                                                    \
			std::fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #condition); \
			std::fprintf(stderr, __VA_ARGS__);                                                 \
			std::fprintf(stderr, "\n");                                                        \
			std::abort();                                                                      \
		}                                                                                      \
	} while (0)

namespace mmpy::fuzz {

// splitmix64: tiny, good enough to turn a few input bytes into many choices.
class Choices {
public:
	explicit Choices(uint64_t seed) : state_(seed) {}

	// Seeds from the first `count` bytes of `input` (fewer if it is shorter) and removes them.
	static Choices take_seed(std::span<const uint8_t>& input, size_t count = 8) {
		uint64_t seed = 0;
		size_t n = input.size() < count ? input.size() : count;
		std::memcpy(&seed, input.data(), n < sizeof seed ? n : sizeof seed);
		input = input.subspan(n);
		return Choices(seed);
	}

	uint64_t next() {
		uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}

	// Uniform in 0..bound-1 (bound > 0).
	uint64_t below(uint64_t bound) { return next() % bound; }

	// A piece size: mostly small (splits headers and payloads), sometimes large.
	size_t piece(size_t left) {
		if (left == 0) {
			return 0;
		}
		uint64_t kind = below(8);
		size_t n = kind < 4 ? 1 + below(8) : kind < 7 ? 1 + below(64) : 1 + below(64 * 1024);
		return n < left ? n : left;
	}

private:
	uint64_t state_;
};

}  // namespace mmpy::fuzz
