// The version agreement: each side says its protocol version in its Hello, and both judge
// the pair with the same verdict and the same words.
#pragma once

#include <cstdint>
#include <string>

namespace mmpy::protocol {

// Bumped whenever a frame layout or a control message changes incompatibly.
inline constexpr uint32_t kVersion = 4;

struct VersionVerdict {
	bool compatible;
	uint32_t shim;  // the version python.so speaks
	uint32_t host;  // the version mm-pyhost speaks
};

// Judged by either end with its own version and the one the peer announced.
VersionVerdict judge_shim_version(uint32_t shim_version);  // on the host
VersionVerdict judge_host_version(uint32_t host_version);  // in the shim

// "protocol version mismatch: python.so speaks version 4, mm-pyhost version 3; install ..."
std::string describe(const VersionVerdict& verdict);

}  // namespace mmpy::protocol
