// fuzz_frame_decoder: the FrameDecoder both ends read the socket with, fed the input in
// pieces of random size (the first 8 bytes seed the split points; the rest is the stream),
// through feed() and through prepare()/commit() as the read loops do. Every frame it returns
// is compared with a one-pass reference decoding of the whole stream, so a frame that is
// split, merged, shifted, longer than kMaxPayload or returned after an error is caught, and
// Invalid must be sticky with a reason.
#include <cstring>
#include <string>
#include <vector>

#include "frame.h"
#include "fuzz_util.h"

using namespace mmpy::protocol;

namespace {

struct Expected {
	FrameType type;
	size_t offset;  // of the payload in the stream
	size_t length;
};

uint32_t load_u32(const uint8_t* p) {
	uint32_t v;
	std::memcpy(&v, p, 4);
	return v;
}

uint16_t load_u16(const uint8_t* p) {
	uint16_t v;
	std::memcpy(&v, p, 2);
	return v;
}

// The format as docs/protocol.md states it, decoded in one pass: the frames, and whether
// the stream turns invalid after them (a header is judged as soon as it is complete).
bool reference(std::span<const uint8_t> stream, std::vector<Expected>& frames) {
	size_t at = 0;
	while (stream.size() - at >= kHeaderSize) {
		uint32_t length = load_u32(stream.data() + at);
		uint16_t type = load_u16(stream.data() + at + 4);
		uint16_t reserved = load_u16(stream.data() + at + 6);
		if (length > kMaxPayload || !frame_type_known(type) || reserved != 0) {
			return true;
		}
		if (stream.size() - at - kHeaderSize < length) {
			return false;
		}
		frames.push_back({static_cast<FrameType>(type), at + kHeaderSize, length});
		at += kHeaderSize + length;
	}
	return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	std::span<const uint8_t> stream(data, size);
	mmpy::fuzz::Choices choose = mmpy::fuzz::Choices::take_seed(stream);

	std::vector<Expected> expected;
	bool expect_invalid = reference(stream, expected);

	FrameDecoder decoder;
	size_t fed = 0;
	size_t consumed = 0;  // bytes of the frames returned so far
	size_t returned = 0;
	bool invalid = false;
	std::string first_error;

	// Takes frames off the decoder; sometimes leaves some in it, as a reader that stops early.
	auto drain = [&](bool all) {
		for (;;) {
			if (!all && choose.below(4) == 0) {
				return;
			}
			Frame frame{};
			FrameDecoder::Status status = decoder.next(frame);
			if (status == FrameDecoder::Status::NeedMore) {
				FUZZ_CHECK(!invalid, "NeedMore after Invalid: Invalid must be sticky");
				FUZZ_CHECK(decoder.buffered() == fed - consumed, "buffered %zu, expected %zu", decoder.buffered(),
				           fed - consumed);
				return;
			}
			if (status == FrameDecoder::Status::Invalid) {
				FUZZ_CHECK(!decoder.error().empty(), "Invalid without a reason");
				if (invalid) {
					FUZZ_CHECK(decoder.error() == first_error, "the reason changed after Invalid");
				} else {
					FUZZ_CHECK(expect_invalid && returned == expected.size(),
					           "Invalid after %zu frames; the reference expects %zu frames%s", returned,
					           expected.size(), expect_invalid ? " then Invalid" : "");
					invalid = true;
					first_error = decoder.error();
				}
				return;
			}
			FUZZ_CHECK(!invalid, "a frame after Invalid: Invalid must be sticky");
			FUZZ_CHECK(returned < expected.size(), "frame %zu, but the reference has only %zu", returned,
			           expected.size());
			const Expected& want = expected[returned];
			FUZZ_CHECK(frame.payload.size() <= kMaxPayload, "payload of %zu bytes", frame.payload.size());
			FUZZ_CHECK(frame_type_known(static_cast<uint16_t>(frame.type)), "unknown type %u returned",
			           static_cast<unsigned>(frame.type));
			FUZZ_CHECK(frame.type == want.type && frame.payload.size() == want.length,
			           "frame %zu: type %u length %zu, expected type %u length %zu", returned,
			           static_cast<unsigned>(frame.type), frame.payload.size(), static_cast<unsigned>(want.type),
			           want.length);
			FUZZ_CHECK(want.length == 0 || std::memcmp(frame.payload.data(), stream.data() + want.offset, want.length) == 0,
			           "frame %zu: payload bytes differ", returned);
			returned++;
			consumed += kHeaderSize + frame.payload.size();
		}
	};

	while (fed < stream.size()) {
		size_t n = choose.piece(stream.size() - fed);
		if (choose.below(2) == 0) {
			decoder.feed(stream.subspan(fed, n));
		} else {
			// The read loops' way: ask for room (maybe more than is coming), fill part of it.
			auto space = decoder.prepare(n + choose.below(32));
			FUZZ_CHECK(space.size() >= n, "prepare gave %zu bytes, asked for at least %zu", space.size(), n);
			std::memcpy(space.data(), stream.data() + fed, n);
			decoder.commit(n);
		}
		fed += n;
		if (choose.below(8) == 0) {
			decoder.feed({});  // nothing arrived: a no-op
		}
		drain(false);
	}
	drain(true);
	drain(true);  // asking again changes nothing

	FUZZ_CHECK(returned == expected.size(), "%zu frames returned, the reference has %zu", returned, expected.size());
	FUZZ_CHECK(invalid == expect_invalid, "decoder %s, reference %s", invalid ? "invalid" : "valid",
	           expect_invalid ? "invalid" : "valid");
	return 0;
}
