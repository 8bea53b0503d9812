// The wire format: what one side encodes the other decodes unchanged, and anything
// truncated, oversized or malformed is refused with a reason instead of trusted.
#include <catch2/catch.hpp>

#include <cstring>
#include <limits>

#include "control.h"
#include "operator.h"
#include "events.h"
#include "frame.h"

using namespace mmpy::protocol;

namespace {

// Decodes exactly one frame from `bytes`, fed in chunks of `chunk` bytes.
FrameDecoder::Status decode_one(const std::vector<uint8_t>& bytes, Frame& frame, FrameDecoder& decoder,
                                size_t chunk = SIZE_MAX) {
	FrameDecoder::Status status = FrameDecoder::Status::NeedMore;
	for (size_t at = 0; at < bytes.size(); at += chunk) {
		size_t n = std::min(chunk, bytes.size() - at);
		decoder.feed({bytes.data() + at, n});
		status = decoder.next(frame);
		if (status != FrameDecoder::Status::NeedMore) {
			return status;
		}
	}
	return status;
}

std::vector<uint8_t> header(uint32_t length, uint16_t type, uint16_t reserved = 0) {
	std::vector<uint8_t> bytes(kHeaderSize);
	std::memcpy(bytes.data(), &length, 4);
	std::memcpy(bytes.data() + 4, &type, 2);
	std::memcpy(bytes.data() + 6, &reserved, 2);
	return bytes;
}

}  // namespace

TEST_CASE("an event batch survives the round trip, byte by byte or at once", "[protocol]") {
	std::vector<uint8_t> wire;
	BatchWriter writer(wire, FrameType::Inputs, 123456789);
	writer.add(0, 0.0);
	writer.add(7, 0.5);
	writer.add(4000000000u, 1.0);
	writer.finish();

	for (size_t chunk : {size_t{1}, size_t{5}, wire.size()}) {
		FrameDecoder decoder;
		Frame frame;
		REQUIRE(decode_one(wire, frame, decoder, chunk) == FrameDecoder::Status::Ready);
		REQUIRE(frame.type == FrameType::Inputs);
		BatchView batch;
		std::string error;
		REQUIRE(BatchView::parse(frame.payload, batch, error));
		REQUIRE(batch.timestamp() == 123456789);
		REQUIRE(batch.size() == 3);
		CHECK(batch[1].channel == 7);
		CHECK(batch[1].value == 0.5);
		CHECK(batch[2].channel == 4000000000u);
		CHECK(batch[2].value == 1.0);
		CHECK(decoder.buffered() == 0);
	}
}

TEST_CASE("an empty batch leaves no frame behind", "[protocol]") {
	std::vector<uint8_t> wire = {1, 2, 3};
	BatchWriter writer(wire, FrameType::Outputs, 1);
	writer.finish();
	CHECK(wire == std::vector<uint8_t>{1, 2, 3});
}

TEST_CASE("a batch with more events than one frame holds continues in a second frame", "[protocol]") {
	std::vector<uint8_t> wire;
	BatchWriter writer(wire, FrameType::Inputs, 7);
	for (uint32_t i = 0; i <= kMaxBatchEvents; i++) {
		writer.add(i, 0.5);
	}
	writer.finish();
	FrameDecoder decoder;
	decoder.feed(wire);
	Frame frame;
	std::string error;
	BatchView batch;
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	REQUIRE(BatchView::parse(frame.payload, batch, error));
	CHECK(batch.size() == kMaxBatchEvents);
	CHECK(batch[kMaxBatchEvents - 1].channel == kMaxBatchEvents - 1);
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Inputs);
	REQUIRE(BatchView::parse(frame.payload, batch, error));
	CHECK(batch.size() == 1);
	CHECK(batch.timestamp() == 7);
	CHECK(batch[0].channel == kMaxBatchEvents);
	CHECK(decoder.next(frame) == FrameDecoder::Status::NeedMore);
}

TEST_CASE("several frames in one read come out one by one, in order", "[protocol]") {
	std::vector<uint8_t> wire;
	encode(wire, Heartbeat{1});
	encode(wire, Log{0, "hello"});
	encode(wire, Heartbeat{3});
	FrameDecoder decoder;
	decoder.feed(wire);
	Frame frame;
	std::string error;
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	Heartbeat first;
	REQUIRE(parse(frame.payload, first, error));
	CHECK(first.timestamp == 1);
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	Log line;
	REQUIRE(parse(frame.payload, line, error));
	CHECK(line.text == "hello");
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Heartbeat);
	CHECK(decoder.next(frame) == FrameDecoder::Status::NeedMore);
}

TEST_CASE("every control message survives the round trip", "[protocol]") {
	std::string error;
	auto roundtrip = [&](auto message, FrameType type) {
		std::vector<uint8_t> wire;
		REQUIRE(encode(wire, message));
		FrameDecoder decoder;
		Frame frame;
		REQUIRE(decode_one(wire, frame, decoder) == FrameDecoder::Status::Ready);
		REQUIRE(frame.type == type);
		decltype(message) back;
		REQUIRE(parse(frame.payload, back, error));
		return back;
	};
	ShimHello hello{kVersion, "py1", "/show", 42};
	auto hello_back = roundtrip(hello, FrameType::Hello);
	CHECK(hello_back.instance == "py1");
	CHECK(hello_back.directory == "/show");
	CHECK(hello_back.timestamp == 42);

	auto alive = roundtrip(Heartbeat{7, 12345}, FrameType::Heartbeat);
	CHECK(alive.timestamp == 7);
	CHECK(alive.handled == 12345);

	CHECK(roundtrip(HostHello{kVersion, 99, "3.11.2"}, FrameType::Hello).pid == 99);
	CHECK(roundtrip(Configure{"module", "handlers"}, FrameType::Configure).value == "handlers");

	ConfigureResult result{false, "unknown option", {{"out1", 0.25}}, ""};
	auto result_back = roundtrip(result, FrameType::ConfigureResult);
	CHECK_FALSE(result_back.ok);
	CHECK(result_back.error == "unknown option");
	CHECK(result_back.outputs == result.outputs);

	Start start;
	start.timestamp = 7;
	start.channels = {{0, "out1"}, {1, "mod.in"}};
	start.inputs = {{1, 0.5}};
	start.restart = true;
	auto start_back = roundtrip(start, FrameType::Start);
	CHECK(start_back.channels == start.channels);
	CHECK(start_back.inputs == start.inputs);
	CHECK(start_back.restart);

	CHECK(roundtrip(Started{false, "x", {}}, FrameType::Started).error == "x");
	Started told = roundtrip(Started{true, "", {{"show.nope", "module 'show' has no function 'nope'"}}}, FrameType::Started);
	REQUIRE(told.unresolved.size() == 1);
	CHECK(told.unresolved[0].first == "show.nope");
	CHECK(roundtrip(Log{1, "debug line"}, FrameType::Log).level == 1);
	CHECK(roundtrip(Error{"bye now"}, FrameType::Error).reason == "bye now");
}

TEST_CASE("a heartbeat is 16 binary bytes, appended without allocating", "[protocol]") {
	std::vector<uint8_t> wire;
	wire.reserve(64);
	const uint8_t* storage = wire.data();
	REQUIRE(encode(wire, Heartbeat{0x0102030405060708, UINT64_MAX - 1}));
	CHECK(wire.data() == storage);
	CHECK(wire.capacity() == 64);
	// Little-endian u64 timestamp, then u64 handled, as in the header of an event batch.
	std::vector<uint8_t> expected = header(kHeartbeatSize, static_cast<uint16_t>(FrameType::Heartbeat));
	for (uint8_t byte : {8, 7, 6, 5, 4, 3, 2, 1, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
		expected.push_back(byte);
	}
	CHECK(wire == expected);

	FrameDecoder decoder;
	Frame frame;
	REQUIRE(decode_one(wire, frame, decoder) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Heartbeat);
	CHECK(frame.payload.size() == 16);
	Heartbeat back;
	std::string error;
	REQUIRE(parse(frame.payload, back, error));
	CHECK(back.timestamp == 0x0102030405060708);
	CHECK(back.handled == UINT64_MAX - 1);
}

TEST_CASE("a heartbeat payload of any other length is refused, JSON included", "[protocol]") {
	Heartbeat beat;
	std::string error;
	std::vector<uint8_t> payload(17, 0);
	CHECK_FALSE(parse(payload, beat, error));
	CHECK(error == "heartbeat payload is 17 bytes, 16 expected");
	payload.resize(15);
	CHECK_FALSE(parse(payload, beat, error));
	CHECK(error == "heartbeat payload is 15 bytes, 16 expected");
	CHECK_FALSE(parse(std::span<const uint8_t>(), beat, error));
	CHECK(error == "heartbeat payload is 0 bytes, 16 expected");
	std::string json = R"({"timestamp": 1, "handled": 2})";
	CHECK_FALSE(parse(std::vector<uint8_t>(json.begin(), json.end()), beat, error));
	CHECK(error == "heartbeat payload is 30 bytes, 16 expected");
}

TEST_CASE("a truncated frame waits for the rest and is never returned half", "[protocol]") {
	std::vector<uint8_t> wire;
	encode(wire, Log{0, "a line of text"});
	FrameDecoder decoder;
	decoder.feed({wire.data(), wire.size() - 1});
	Frame frame;
	CHECK(decoder.next(frame) == FrameDecoder::Status::NeedMore);
	decoder.feed({wire.data() + wire.size() - 1, 1});
	CHECK(decoder.next(frame) == FrameDecoder::Status::Ready);
}

TEST_CASE("a frame announcing more than the maximum payload is refused at once", "[protocol]") {
	FrameDecoder decoder;
	decoder.feed(header(kMaxPayload + 1, static_cast<uint16_t>(FrameType::Inputs)));
	Frame frame;
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Invalid);
	CHECK_THAT(decoder.error(), Catch::Contains("exceeds the limit"));
	// The stream stays refused: nothing after a bad frame is trusted.
	std::vector<uint8_t> good;
	encode(good, Heartbeat{1});
	decoder.feed(good);
	CHECK(decoder.next(frame) == FrameDecoder::Status::Invalid);
}

TEST_CASE("unknown frame types and reserved bits are refused", "[protocol]") {
	Frame frame;
	FrameDecoder unknown;
	unknown.feed(header(0, 999));
	REQUIRE(unknown.next(frame) == FrameDecoder::Status::Invalid);
	CHECK_THAT(unknown.error(), Catch::Contains("unknown frame type 999"));

	FrameDecoder reserved;
	reserved.feed(header(0, static_cast<uint16_t>(FrameType::Bye), 1));
	CHECK(reserved.next(frame) == FrameDecoder::Status::Invalid);
}

TEST_CASE("a batch whose count does not match its length is refused", "[protocol]") {
	std::vector<uint8_t> wire;
	BatchWriter writer(wire, FrameType::Outputs, 0);
	writer.add(1, 0.5);
	writer.finish();
	std::vector<uint8_t> payload(wire.begin() + kHeaderSize, wire.end());
	BatchView view;
	std::string error;

	uint32_t lie = 2;
	std::memcpy(payload.data() + 8, &lie, 4);
	CHECK_FALSE(BatchView::parse(payload, view, error));
	CHECK_THAT(error, Catch::Contains("does not hold 2 events"));

	uint32_t huge = std::numeric_limits<uint32_t>::max();
	std::memcpy(payload.data() + 8, &huge, 4);
	CHECK_FALSE(BatchView::parse(payload, view, error));

	std::vector<uint8_t> short_payload(payload.begin(), payload.begin() + 10);
	CHECK_FALSE(BatchView::parse(short_payload, view, error));
	CHECK_THAT(error, Catch::Contains("shorter than its header"));
}

TEST_CASE("control messages that are not the expected JSON are refused with a reason", "[protocol]") {
	std::string error;
	Configure configure;
	auto bytes = [](const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); };

	CHECK_FALSE(parse(bytes("not json"), configure, error));
	CHECK_THAT(error, Catch::Contains("not a JSON object"));
	CHECK_FALSE(parse(bytes("[1,2]"), configure, error));
	CHECK_FALSE(parse(bytes(R"({"option": 5, "value": "x"})"), configure, error));
	CHECK_THAT(error, Catch::Contains("malformed control message"));
	CHECK_FALSE(parse(bytes(R"({"value": "x"})"), configure, error));

	std::string long_name(kMaxNameLength + 1, 'a');
	CHECK_FALSE(parse(bytes(R"({"option": ")" + long_name + R"(", "value": "x"})"), configure, error));
	CHECK_THAT(error, Catch::Contains("longer than"));

	Start start;
	CHECK_FALSE(parse(bytes(R"({"timestamp": "soon", "channels": [], "inputs": [], "outputs": [], "restart": false})"),
	                  start, error));
}

TEST_CASE("a control message larger than a frame is not encoded", "[protocol]") {
	std::vector<uint8_t> wire;
	CHECK_FALSE(encode(wire, Log{0, std::string(kMaxPayload, 'x')}));
	CHECK(wire.empty());
}

TEST_CASE("feeding the decoder nothing leaves it waiting for more", "[protocol]") {
	FrameDecoder decoder;
	decoder.feed(std::span<const uint8_t>());
	Frame frame;
	CHECK(decoder.next(frame) == FrameDecoder::Status::NeedMore);
}

// Found by fuzz_control (tests/fuzz/regressions/fuzz_control): nlohmann's get<uint64_t>() of
// a float is a cast that is undefined behaviour out of range, and JSON integers beyond 2^64
// arrive as floats. Integer fields take JSON integers within their type's range only.
TEST_CASE("integer fields refuse fractions, floats and values out of range", "[protocol]") {
	std::string error;
	auto bytes = [](const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); };

	ShimHello hello;
	auto hello_at = [&](const std::string& timestamp) {
		return bytes(R"({"version": 1, "instance": "a", "directory": "", "core_pid": 1, "timestamp": )" + timestamp + "}");
	};
	CHECK_FALSE(parse(hello_at("123456799999999999999999999999"), hello, error));
	CHECK_THAT(error, Catch::Contains("field 'timestamp' must be a whole number"));
	CHECK_FALSE(parse(hello_at("1.5"), hello, error));
	CHECK_FALSE(parse(hello_at("-1"), hello, error));
	CHECK_FALSE(parse(hello_at("1e300"), hello, error));
	CHECK_THAT(error, Catch::Contains("field 'timestamp'"));
	REQUIRE(parse(hello_at("18446744073709551615"), hello, error));
	CHECK(hello.timestamp == UINT64_MAX);

	Log line;
	CHECK_FALSE(parse(bytes(R"({"level": 1e10, "text": ""})"), line, error));
	CHECK_FALSE(parse(bytes(R"({"level": 4294967296, "text": ""})"), line, error));
	REQUIRE(parse(bytes(R"({"level": -2, "text": "x"})"), line, error));
	CHECK(line.level == -2);

	CHECK_FALSE(parse(bytes(R"({"version": 4294967296, "instance": "a", "directory": "", "timestamp": 0})"), hello,
	                  error));
	CHECK_FALSE(parse(bytes(R"({"version": 1.0, "instance": "a", "directory": "", "timestamp": 0})"), hello, error));
	HostHello host_hello;
	CHECK_FALSE(parse(bytes(R"({"version": 1, "pid": 9223372036854775808, "python": ""})"), host_hello, error));
	REQUIRE(parse(bytes(R"({"version": 1, "pid": -9223372036854775808, "python": ""})"), host_hello, error));
	CHECK(host_hello.pid == INT64_MIN);

	Start start;
	auto start_with = [&](const std::string& channels, const std::string& inputs) {
		return bytes(R"({"timestamp": 0, "channels": )" + channels + R"(, "inputs": )" + inputs +
		             R"(, "outputs": [], "restart": false})");
	};
	CHECK_FALSE(parse(start_with(R"([[1.5, "a"]])", "[]"), start, error));
	CHECK_THAT(error, Catch::Contains("a channel id must be a whole number"));
	CHECK_FALSE(parse(start_with(R"([[-1, "a"]])", "[]"), start, error));
	CHECK_FALSE(parse(start_with(R"([[0, "a", "extra"]])", "[]"), start, error));
	CHECK_THAT(error, Catch::Contains("pairs"));
	CHECK_FALSE(parse(start_with(R"({"0": "a"})", "[]"), start, error));
	CHECK_FALSE(parse(start_with("[]", R"([[0, "0.5"]])"), start, error));
	REQUIRE(parse(start_with(R"([[0, "a"], [1, "b"]])", "[[1, 1], [0, 0.25]]"), start, error));
	CHECK(start.inputs == std::vector<std::pair<uint32_t, double>>{{1, 1.0}, {0, 0.25}});
}

namespace {

std::vector<uint8_t> bytes_of(const std::string& text) {
	return std::vector<uint8_t>(text.begin(), text.end());
}

// A Tasks message whose `running` is `entries` (JSON text) and `others` is 0.
std::vector<uint8_t> tasks_listing(const std::string& entries) {
	return bytes_of(R"({"running": [)" + entries + R"(], "others": 0})");
}

}  // namespace

TEST_CASE("a tasks message survives the round trip with its names, counts and others", "[protocol][tasks]") {
	Tasks tasks{{{"show.chase", 1}, {"show.cue_list", 2}}, 3};
	std::vector<uint8_t> wire;
	REQUIRE(encode(wire, tasks));
	FrameDecoder decoder;
	Frame frame;
	REQUIRE(decode_one(wire, frame, decoder) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Tasks);
	Tasks back;
	std::string error;
	REQUIRE(parse(frame.payload, back, error));
	CHECK(back.running == tasks.running);
	CHECK(back.others == 3);
}

TEST_CASE("a tasks payload is a list of [name, count] pairs and the count of others", "[protocol][tasks]") {
	std::vector<uint8_t> wire;
	REQUIRE(encode(wire, Tasks{{{"show.chase", 1}, {"show.cue_list", 2}}, 0}));
	std::string payload(wire.begin() + kHeaderSize, wire.end());
	CHECK(payload == R"({"others":0,"running":[["show.chase",1],["show.cue_list",2]]})");
}

TEST_CASE("an empty tasks message says that nothing runs", "[protocol][tasks]") {
	std::vector<uint8_t> wire;
	REQUIRE(encode(wire, Tasks{}));
	CHECK(std::string(wire.begin() + kHeaderSize, wire.end()) == R"({"others":0,"running":[]})");
	Tasks back{{{"left.over", 1}}, 5};
	std::string error;
	REQUIRE(parse(std::span<const uint8_t>(wire).subspan(kHeaderSize), back, error));
	CHECK(back.running.empty());
	CHECK(back.others == 0);
}

TEST_CASE("a tasks message lists at most kMaxTaskNames names", "[protocol][tasks]") {
	auto listing = [](size_t names) {
		std::string entries;
		for (size_t i = 0; i < names; i++) {
			entries += (i > 0 ? "," : "") + std::string(R"([")") + "task" + std::to_string(i) + R"(", 1])";
		}
		return tasks_listing(entries);
	};
	Tasks tasks;
	std::string error;
	REQUIRE(parse(listing(kMaxTaskNames), tasks, error));
	CHECK(tasks.running.size() == kMaxTaskNames);
	CHECK_FALSE(parse(listing(kMaxTaskNames + 1), tasks, error));
	CHECK(error == "field 'running' lists 65 task names, more than 64");
}

TEST_CASE("a task name longer than kMaxNameLength is refused", "[protocol][tasks]") {
	Tasks tasks;
	std::string error;
	REQUIRE(parse(tasks_listing(R"([")" + std::string(kMaxNameLength, 'a') + R"(", 1])"), tasks, error));
	CHECK(tasks.running.at(0).name.size() == kMaxNameLength);
	CHECK_FALSE(parse(tasks_listing(R"([")" + std::string(kMaxNameLength + 1, 'a') + R"(", 1])"), tasks, error));
	CHECK(error == "a task name longer than 1024 bytes");
}

TEST_CASE("tasks messages that are not lists of names and counts are refused with a reason", "[protocol][tasks]") {
	Tasks tasks;
	std::string error;
	CHECK_FALSE(parse(bytes_of(R"({"others": 0})"), tasks, error));
	CHECK_THAT(error, Catch::Contains("malformed control message"));
	CHECK_FALSE(parse(bytes_of(R"({"running": []})"), tasks, error));
	CHECK_FALSE(parse(bytes_of(R"({"running": {"show.chase": 1}, "others": 0})"), tasks, error));
	CHECK(error == "malformed control message: field 'running' must be a list");
	CHECK_FALSE(parse(tasks_listing(R"(["show.chase", 1, 2])"), tasks, error));
	CHECK_THAT(error, Catch::Contains("pairs"));
	CHECK_FALSE(parse(tasks_listing(R"([1, "show.chase"])"), tasks, error));
	CHECK_FALSE(parse(bytes_of(R"({"running": [], "others": -1})"), tasks, error));
	CHECK_THAT(error, Catch::Contains("field 'others' must be a whole number"));
	for (const char* count : {"0", "-1", "1.5", "\"2\"", "1e300", "18446744073709551616"}) {
		CHECK_FALSE(parse(tasks_listing(std::string(R"(["show.chase", )") + count + "]"), tasks, error));
		CHECK_THAT(error, Catch::Contains("a task count must be a whole number from 1"));
	}
}

TEST_CASE("a tasks message larger than a frame is not encoded", "[protocol][tasks]") {
	std::vector<uint8_t> wire;
	CHECK_FALSE(encode(wire, Tasks{{{std::string(kMaxPayload, 'x'), 1}}, 0}));
	CHECK(wire.empty());
}

TEST_CASE("the tasks frame is type 11, known to the decoder", "[protocol][tasks]") {
	CHECK(static_cast<uint16_t>(FrameType::Tasks) == 11);
	CHECK(std::string(frame_type_name(11)) == "tasks");
	CHECK(frame_type_known(11));
	FrameDecoder decoder;
	decoder.feed(header(0, 11));
	Frame frame;
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Tasks);
}

TEST_CASE("the state frame is type 12 and carries its bytes as they are", "[protocol][state]") {
	CHECK(static_cast<uint16_t>(FrameType::State) == 12);
	CHECK(std::string(frame_type_name(12)) == "state");
	CHECK_FALSE(frame_type_known(15));
	std::vector<uint8_t> wire;
	REQUIRE(encode(wire, State{{0x80, 0x05, 0x00, 0x7d}}));
	FrameDecoder decoder;
	decoder.feed(wire);
	Frame frame;
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::State);
	State parsed;
	std::string error;
	REQUIRE(parse(frame.payload, parsed, error));
	CHECK(parsed.snapshot == std::vector<uint8_t>{0x80, 0x05, 0x00, 0x7d});
	CHECK_FALSE(parse(std::span<const uint8_t>(), parsed, error));
	CHECK(error == "empty state snapshot");
	wire.clear();
	CHECK_FALSE(encode(wire, State{std::vector<uint8_t>(kMaxPayload + 1, 0)}));
	CHECK(wire.empty());
}

TEST_CASE("the operator's lines round-trip, and bad ones are refused with a reason", "[protocol][operator]") {
	std::string line;
	REQUIRE(encode(line, OperatorRequest{"inject", {"show.go", "0.5"}}));
	CHECK(line == "{\"args\":[\"show.go\",\"0.5\"],\"command\":\"inject\"}\n");
	OperatorRequest request;
	std::string error;
	REQUIRE(parse(std::string_view(line).substr(0, line.size() - 1), request, error));
	CHECK(request.command == "inject");
	CHECK(request.args == std::vector<std::string>{"show.go", "0.5"});
	CHECK_FALSE(parse("{\"command\": 5, \"args\": []}", request, error));
	CHECK(error.find("malformed control message") == 0);
	CHECK_FALSE(parse("{\"command\": \"x\", \"args\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\"]}", request, error));
	CHECK_FALSE(parse(std::string(kMaxOperatorRequest + 1, ' '), request, error));

	OperatorReply reply;
	reply.values = std::vector<ChannelReport>{{"show.go", 0.5, 10, 0.25, 11}};
	reply.now_ms = 12;
	line.clear();
	REQUIRE(encode(line, reply));
	OperatorReply back;
	REQUIRE(parse(std::string_view(line).substr(0, line.size() - 1), back, error));
	REQUIRE(back.values);
	CHECK(*back.values == *reply.values);
	CHECK(back.now_ms == 12);

	StreamLine dropped;
	CHECK_FALSE(parse("{}", dropped, error));
	CHECK(error == "malformed control message: a stream line needs 'kind' or 'dropped'");
	CHECK_FALSE(parse("{\"kind\":\"sideways\",\"time_ms\":1}", dropped, error));
}


TEST_CASE("the virtual clock: a hello asks for it, Advance and Advanced carry times", "[protocol][virtual-time]") {
	std::string error;
	std::vector<uint8_t> wire;
	ShimHello hello{kVersion, "py1", "/show", 0};
	REQUIRE(encode(wire, hello));
	CHECK(std::string(wire.begin(), wire.end()).find("clock") == std::string::npos);  // a core's hello is unchanged
	ShimHello back;
	REQUIRE(parse(std::span<const uint8_t>(wire).subspan(kHeaderSize), back, error));
	CHECK_FALSE(back.virtual_clock);
	wire.clear();
	hello.virtual_clock = true;
	REQUIRE(encode(wire, hello));
	REQUIRE(parse(std::span<const uint8_t>(wire).subspan(kHeaderSize), back, error));
	CHECK(back.virtual_clock);

	std::string other = R"({"version":4,"instance":"py1","directory":"","timestamp":0,"core_pid":1,"clock":"wall"})";
	CHECK_FALSE(parse(std::span(reinterpret_cast<const uint8_t*>(other.data()), other.size()), back, error));
	CHECK(error.find("field 'clock' must be \"virtual\"") != std::string::npos);

	wire.clear();
	REQUIRE(encode(wire, Advance{1500}));
	REQUIRE(encode(wire, Advanced{1500}));
	FrameDecoder decoder;
	decoder.feed(wire);
	Frame frame{};
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Advance);
	Advance advance;
	REQUIRE(parse(frame.payload, advance, error));
	CHECK(advance.to == 1500);
	REQUIRE(decoder.next(frame) == FrameDecoder::Status::Ready);
	CHECK(frame.type == FrameType::Advanced);
	CHECK(std::string(frame_type_name(13)) == "advance");
	CHECK(std::string(frame_type_name(14)) == "advanced");
}
