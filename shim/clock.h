// The core's millisecond clock as the shim's parts read it: mm_timestamp() in a core, a clock
// the test moves by hand in unit tests.
#pragma once

#include <cstdint>

namespace mmpy::shim {

class Clock {
public:
	virtual ~Clock() = default;
	virtual uint64_t now() const = 0;
};

}  // namespace mmpy::shim
