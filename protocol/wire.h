// Integers and doubles at any offset of a frame. The wire is little-endian, like every
// machine we target, so a memcpy is the whole conversion; the check below says so once.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

namespace mmpy::protocol {

static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");

template <typename T>
T load(const uint8_t* p) {
	T value;
	std::memcpy(&value, p, sizeof value);
	return value;
}

template <typename T>
void store(uint8_t* p, T value) {
	std::memcpy(p, &value, sizeof value);
}

}  // namespace mmpy::protocol
