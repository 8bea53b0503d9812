// The conversation alone: the replay a new host gets, and its answers in and out of order.
#include <catch2/catch.hpp>

#include "control.h"
#include "conversation.h"

using namespace mmpy::shim;
using mmpy::protocol::FrameType;

namespace {

// Frames as a host sends them, each decoded back into a Frame for answer().
struct HostFrames {
	std::vector<std::vector<uint8_t>> frames;

	template <typename Message>
	mmpy::protocol::Frame add(const Message& message) {
		frames.emplace_back();
		mmpy::protocol::encode(frames.back(), message);
		const std::vector<uint8_t>& bytes = frames.back();
		return {static_cast<FrameType>(bytes[4]), {bytes.data() + mmpy::protocol::kHeaderSize,
		                                           bytes.size() - mmpy::protocol::kHeaderSize}};
	}
};

Conversation with_two_lines() {
	Conversation conversation("/show");
	conversation.accepted({"module", "cues"});
	conversation.accepted({"default-handler", "cues.other"});
	return conversation;
}

std::vector<FrameType> types_of(const std::vector<uint8_t>& bytes) {
	mmpy::protocol::FrameDecoder decoder;
	decoder.feed(bytes);
	std::vector<FrameType> types;
	mmpy::protocol::Frame frame;
	while (decoder.next(frame) == mmpy::protocol::FrameDecoder::Status::Ready) {
		types.push_back(frame.type);
	}
	return types;
}

mmpy::protocol::ConfigureResult refused(const char* why) {
	mmpy::protocol::ConfigureResult result;
	result.ok = false;
	result.error = why;
	return result;
}

}  // namespace

TEST_CASE("a replay is the hello, every accepted option line and the start, in one write", "[shim][conversation]") {
	Conversation conversation = with_two_lines();
	std::vector<uint8_t> out;
	REQUIRE(conversation.replay(out, "py1", 5, mmpy::protocol::State{}, mmpy::protocol::Start{}));
	CHECK(types_of(out) == std::vector<FrameType>{FrameType::Hello, FrameType::Configure, FrameType::Configure,
	                                              FrameType::Start});
}

TEST_CASE("a replay gives the state the lost host kept right after the hello", "[shim][conversation]") {
	Conversation conversation = with_two_lines();
	std::vector<uint8_t> out;
	REQUIRE(conversation.replay(out, "py1", 5, mmpy::protocol::State{{1, 2, 3}}, mmpy::protocol::Start{}));
	CHECK(types_of(out) == std::vector<FrameType>{FrameType::Hello, FrameType::State, FrameType::Configure,
	                                              FrameType::Configure, FrameType::Start});
}

TEST_CASE("a replay answered in order refuses nothing and ends with Started", "[shim][conversation]") {
	Conversation conversation = with_two_lines();
	std::vector<uint8_t> out;
	conversation.replay(out, "py1", 5, mmpy::protocol::State{}, mmpy::protocol::Start{});
	HostFrames host;
	using Kind = Conversation::Answer::Kind;
	CHECK(conversation.answer(host.add(mmpy::protocol::HostHello{})).kind == Kind::Expected);
	CHECK(conversation.answer(host.add(mmpy::protocol::ConfigureResult{})).kind == Kind::Expected);
	Conversation::Answer second = conversation.answer(host.add(refused("no such function")));
	CHECK(second.kind == Kind::Refused);
	REQUIRE(second.line);
	CHECK(second.line->option == "default-handler");
	CHECK(second.error == "no such function");
	CHECK(conversation.answer(host.add(mmpy::protocol::Started{})).kind == Kind::Started);
}

TEST_CASE("a replay answered out of order is a violation", "[shim][conversation]") {
	using Kind = Conversation::Answer::Kind;
	HostFrames host;
	std::vector<uint8_t> out;

	SECTION("Started before the option lines were answered") {
		Conversation conversation = with_two_lines();
		conversation.replay(out, "py1", 5, mmpy::protocol::State{}, mmpy::protocol::Start{});
		CHECK(conversation.answer(host.add(mmpy::protocol::HostHello{})).kind == Kind::Expected);
		CHECK(conversation.answer(host.add(mmpy::protocol::ConfigureResult{})).kind == Kind::Expected);
		Conversation::Answer early = conversation.answer(host.add(mmpy::protocol::Started{}));
		CHECK(early.kind == Kind::Violation);
		CHECK(early.loss.kind == HostLoss::Kind::Misbehaved);
	}
	SECTION("an option result before the hello") {
		Conversation conversation = with_two_lines();
		conversation.replay(out, "py1", 5, mmpy::protocol::State{}, mmpy::protocol::Start{});
		CHECK(conversation.answer(host.add(mmpy::protocol::ConfigureResult{})).kind == Kind::Violation);
	}
	SECTION("more option results than lines") {
		Conversation conversation("/show");
		conversation.replay(out, "py1", 5, mmpy::protocol::State{}, mmpy::protocol::Start{});
		CHECK(conversation.answer(host.add(mmpy::protocol::HostHello{})).kind == Kind::Expected);
		CHECK(conversation.answer(host.add(mmpy::protocol::ConfigureResult{})).kind == Kind::Violation);
	}
}

TEST_CASE("a host of another protocol version is refused at its hello", "[shim][conversation]") {
	Conversation conversation("/show");
	HostFrames host;
	mmpy::protocol::HostHello other;
	other.version = mmpy::protocol::kVersion + 1;
	mmpy::protocol::HostHello reply;
	std::optional<HostLoss> loss = conversation.check_hello(host.add(other).payload, reply);
	REQUIRE(loss);
	CHECK(loss->kind == HostLoss::Kind::Misbehaved);
	CHECK(loss->detail == mmpy::protocol::describe(mmpy::protocol::judge_host_version(other.version)));
	CHECK_FALSE(conversation.check_hello(host.add(mmpy::protocol::HostHello{}).payload, reply));
}
