#include "handshake.h"

namespace mmpy::protocol {

VersionVerdict judge_shim_version(uint32_t shim_version) {
	return {shim_version == kVersion, shim_version, kVersion};
}

VersionVerdict judge_host_version(uint32_t host_version) {
	return {host_version == kVersion, kVersion, host_version};
}

std::string describe(const VersionVerdict& verdict) {
	if (verdict.compatible) {
		return "protocol version " + std::to_string(verdict.shim);
	}
	return "protocol version mismatch: python.so speaks version " + std::to_string(verdict.shim) +
	       ", mm-pyhost version " + std::to_string(verdict.host) +
	       "; install matching versions of python.so and mm-pyhost";
}

}  // namespace mmpy::protocol
