// fuzz_control: every control message parser. The first byte picks the message type, the
// rest is the payload (JSON; 16 binary bytes for Heartbeat). A payload that parses must
// survive the round trip: encoding the parsed message gives a frame the decoder accepts, of
// the right type, that parses back to the same fields and encodes to the same bytes again.
// So a parser may refuse anything, but whatever it accepts is something the encoder can
// say, and the peer understands.
#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "control.h"
#include "frame.h"
#include "fuzz_util.h"

using namespace mmpy::protocol;

namespace {

// The fields of each message, for comparison (the structs have no operator==).
auto fields(const ShimHello& m) {
	return std::tie(m.version, m.instance, m.directory, m.timestamp, m.core_pid, m.virtual_clock);
}
auto fields(const HostHello& m) { return std::tie(m.version, m.pid, m.python); }
auto fields(const Configure& m) { return std::tie(m.option, m.value); }
auto fields(const ConfigureResult& m) { return std::tie(m.ok, m.error, m.outputs); }
auto fields(const Start& m) { return std::tie(m.timestamp, m.channels, m.inputs, m.outputs, m.restart); }
auto fields(const Started& m) { return std::tie(m.ok, m.error); }
auto fields(const Log& m) { return std::tie(m.level, m.text); }
auto fields(const Heartbeat& m) { return std::tie(m.timestamp, m.handled); }
auto fields(const Error& m) { return std::tie(m.reason); }
auto fields(const Tasks& m) { return std::tie(m.running, m.others); }
auto fields(const State& m) { return std::tie(m.snapshot); }
auto fields(const Advance& m) { return std::tie(m.to); }
auto fields(const Advanced& m) { return std::tie(m.now); }

template <typename Message>
void round_trip(std::span<const uint8_t> payload, FrameType type, const char* name) {
	Message first;
	std::string error;
	if (!parse(payload, first, error)) {
		FUZZ_CHECK(!error.empty(), "%s: refused without a reason", name);
		return;
	}
	std::vector<uint8_t> wire;
	if (!encode(wire, first)) {
		// Only a message larger than a frame may be refused; escapes can make it grow.
		FUZZ_CHECK(wire.empty(), "%s: a refused encoding left bytes behind", name);
		FUZZ_CHECK(payload.size() > kMaxPayload / 8, "%s: a %zu-byte message that parsed cannot be encoded", name,
		           payload.size());
		return;
	}
	FrameDecoder decoder;
	decoder.feed(wire);
	Frame frame{};
	FUZZ_CHECK(decoder.next(frame) == FrameDecoder::Status::Ready, "%s: the encoded frame does not decode: %s", name,
	           decoder.error().c_str());
	FUZZ_CHECK(frame.type == type, "%s: encoded as type %u", name, static_cast<unsigned>(frame.type));
	FUZZ_CHECK(kHeaderSize + frame.payload.size() == wire.size(), "%s: the frame's length is off", name);
	FUZZ_CHECK(decoder.buffered() == 0, "%s: bytes after the frame", name);

	Message second;
	FUZZ_CHECK(parse(frame.payload, second, error), "%s: its own encoding does not parse: %s\n  encoded: %.*s", name,
	           error.c_str(), static_cast<int>(frame.payload.size()), reinterpret_cast<const char*>(frame.payload.data()));
	FUZZ_CHECK(fields(first) == fields(second), "%s: fields changed in the round trip\n  encoded: %.*s", name,
	           static_cast<int>(frame.payload.size()), reinterpret_cast<const char*>(frame.payload.data()));
	std::vector<uint8_t> again;
	FUZZ_CHECK(encode(again, second), "%s: the re-parsed message does not encode", name);
	FUZZ_CHECK(again == wire, "%s: encoding is not stable", name);
}

// Heartbeat has no spelling variants: exactly the 16-byte payloads parse, and each encodes
// to the very same bytes.
void heartbeat(std::span<const uint8_t> payload) {
	round_trip<Heartbeat>(payload, FrameType::Heartbeat, "Heartbeat");
	Heartbeat message;
	std::string error;
	bool parsed = parse(payload, message, error);
	FUZZ_CHECK(parsed == (payload.size() == kHeartbeatSize), "Heartbeat: a %zu-byte payload was %s", payload.size(),
	           parsed ? "accepted" : "refused");
	if (parsed) {
		std::vector<uint8_t> wire;
		encode(wire, message);
		FUZZ_CHECK(std::equal(payload.begin(), payload.end(), wire.begin() + kHeaderSize, wire.end()),
		           "Heartbeat: encodes to other bytes than it was parsed from");
	}
}

// Whatever Tasks message parses is within the limits the shim counts on when it keeps the
// last one all show and logs it whole.
void tasks(std::span<const uint8_t> payload) {
	round_trip<Tasks>(payload, FrameType::Tasks, "Tasks");
	Tasks message;
	std::string error;
	if (!parse(payload, message, error)) {
		return;
	}
	FUZZ_CHECK(message.running.size() <= kMaxTaskNames, "Tasks: %zu names accepted", message.running.size());
	for (const TaskCount& task : message.running) {
		FUZZ_CHECK(task.name.size() <= kMaxNameLength, "Tasks: a name of %zu bytes accepted", task.name.size());
		FUZZ_CHECK(task.count >= 1, "Tasks: a count of 0 accepted");
	}
}

// Shutdown and Bye carry {}: any object parses as one of them (nothing is read), and the
// encoding is always the same.
void empty_body(FrameType type) {
	std::vector<uint8_t> wire;
	FUZZ_CHECK(encode_empty(wire, type), "empty body does not encode");
	FUZZ_CHECK(wire.size() == kHeaderSize + 2, "empty body of %zu bytes", wire.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	if (size == 0) {
		return 0;
	}
	std::span<const uint8_t> payload(data + 1, size - 1);
	switch (data[0] % 14) {
	case 0: round_trip<ShimHello>(payload, FrameType::Hello, "ShimHello"); break;
	case 1: round_trip<HostHello>(payload, FrameType::Hello, "HostHello"); break;
	case 2: round_trip<Configure>(payload, FrameType::Configure, "Configure"); break;
	case 3: round_trip<ConfigureResult>(payload, FrameType::ConfigureResult, "ConfigureResult"); break;
	case 4: round_trip<Start>(payload, FrameType::Start, "Start"); break;
	case 5: round_trip<Started>(payload, FrameType::Started, "Started"); break;
	case 6: round_trip<Log>(payload, FrameType::Log, "Log"); break;
	case 7: heartbeat(payload); break;
	case 8: round_trip<Error>(payload, FrameType::Error, "Error"); break;
	case 9: empty_body(data[0] & 1 ? FrameType::Shutdown : FrameType::Bye); break;
	case 10: tasks(payload); break;
	case 11: round_trip<State>(payload, FrameType::State, "State"); break;
	case 12: round_trip<Advance>(payload, FrameType::Advance, "Advance"); break;
	default: round_trip<Advanced>(payload, FrameType::Advanced, "Advanced"); break;
	}
	return 0;
}
