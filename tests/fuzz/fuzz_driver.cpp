// fuzz_driver: the test harness's line protocol (protocol/driver.h), whose requests
// `mm-pyhost drive` reads from whatever runs it. Byte 0 picks what (% 2: a request line, or a
// reply made of the rest's text), the rest is the line.
//
// What the harness checks besides the sanitizers: a refusal has a reason; a request that
// parses keeps the contract (values 0..1, an instance named, events for an input, an advance
// within its bound) and encodes to one line that parses again and encodes to the same bytes;
// a reply of any text is one line of JSON.
#include <cmath>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "driver.h"
#include "fuzz_util.h"
#include "protocol_limits.h"

using namespace mmpy::protocol;

namespace {

bool one_line(const std::string& text) {
	return !text.empty() && text.find('\n') == std::string::npos;
}

void request(std::string_view line) {
	DriverRequest first;
	std::string error;
	if (!parse(line, first, error)) {
		FUZZ_CHECK(!error.empty(), "a request refused without a reason");
		return;
	}
	switch (first.op) {
	case DriverRequest::Op::Start:
		FUZZ_CHECK(!first.instance.empty(), "a start without an instance");
		break;
	case DriverRequest::Op::Input:
		FUZZ_CHECK(!first.events.empty() && first.events.size() <= kMaxBatchEvents, "an input of %zu events",
		           first.events.size());
		for (const auto& [channel, value] : first.events) {
			FUZZ_CHECK(std::isfinite(value) && value >= 0 && value <= 1, "an input value %g", value);
		}
		break;
	case DriverRequest::Op::Advance:
		FUZZ_CHECK(first.ms <= kMaxAdvanceMs, "an advance of %llu ms", static_cast<unsigned long long>(first.ms));
		break;
	case DriverRequest::Op::Stop:
		break;
	}
	std::string wire = encode(first);
	FUZZ_CHECK(one_line(wire), "the encoding is not one line");
	DriverRequest second;
	if (!parse(wire, second, error)) {
		// Invalid UTF-8 in a name is replaced when encoded; the replacement may make it longer than a name may be.
		FUZZ_CHECK(error.find("longer than") != std::string::npos, "its own encoding does not parse: %s\n  encoded: %s",
		           error.c_str(), wire.c_str());
		return;
	}
	std::string again = encode(second);
	FUZZ_CHECK(again == wire, "encoding is not stable\n  first:  %s\n  second: %s", wire.c_str(), again.c_str());
}

void reply(std::string_view text) {
	DriverReply message;
	message.ok = text.size() % 2 == 0;
	message.error = std::string(text);
	message.log = {std::string(text), "line"};
	message.outputs = {{7, std::string(text), 0.5}};
	message.started = text.size() % 3 == 0;
	message.problems = {std::string(text)};
	std::string wire = encode(message);
	FUZZ_CHECK(one_line(wire), "a reply is not one line");
	FUZZ_CHECK(!nlohmann::json::parse(wire, nullptr, false).is_discarded(), "a reply is not JSON: %s", wire.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	if (size == 0) {
		return 0;
	}
	std::string_view line(reinterpret_cast<const char*>(data) + 1, size - 1);
	if (data[0] % 2 == 0) {
		request(line);
	} else {
		reply(line);
	}
	return 0;
}
