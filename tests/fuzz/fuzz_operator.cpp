// fuzz_operator: the operator's control protocol (protocol/operator.h). The host parses
// requests from whoever reaches its control socket (the console's too); the mm-pyhost
// commands parse the host's replies, the stream lines of monitor and logs, and the shims'
// report files. Byte 0 picks which (% 4: a request, a reply, a stream line, a report), the
// rest is the line.
//
// What the harness checks besides the sanitizers: a refusal has a reason; whatever parses
// encodes to one line within its limit that parses again and encodes to the same bytes.
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "operator.h"

using namespace mmpy::protocol;

namespace {

template <typename Message>
void round_trip(std::string_view line, const char* name) {
	Message first;
	std::string error;
	if (!parse(line, first, error)) {
		FUZZ_CHECK(!error.empty(), "%s: refused without a reason", name);
		return;
	}
	std::string wire;
	if (!encode(wire, first)) {
		FUZZ_CHECK(wire.empty(), "%s: a refused encoding left bytes behind", name);
		return;  // escapes can make a line that parsed grow past the limit
	}
	FUZZ_CHECK(!wire.empty() && wire.back() == '\n' && wire.find('\n') == wire.size() - 1,
	           "%s: the encoding is not one line", name);
	Message second;
	FUZZ_CHECK(parse(std::string_view(wire).substr(0, wire.size() - 1), second, error),
	           "%s: its own encoding does not parse: %s\n  encoded: %s", name, error.c_str(), wire.c_str());
	std::string again;
	FUZZ_CHECK(encode(again, second), "%s: the re-parsed message does not encode", name);
	FUZZ_CHECK(again == wire, "%s: encoding is not stable\n  first:  %s  second: %s", name, wire.c_str(), again.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	if (size == 0) {
		return 0;
	}
	std::string_view line(reinterpret_cast<const char*>(data + 1), size - 1);
	switch (data[0] % 4) {
	case 0: round_trip<OperatorRequest>(line, "OperatorRequest"); break;
	case 1: round_trip<OperatorReply>(line, "OperatorReply"); break;
	case 2: round_trip<StreamLine>(line, "StreamLine"); break;
	default: round_trip<ShimReport>(line, "ShimReport"); break;
	}
	return 0;
}
