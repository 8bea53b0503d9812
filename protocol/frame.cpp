#include "frame.h"

#include <cstring>

#include "wire.h"

namespace mmpy::protocol {

const char* frame_type_name(uint16_t type) {
	switch (static_cast<FrameType>(type)) {
	case FrameType::Hello: return "hello";
	case FrameType::Configure: return "configure";
	case FrameType::ConfigureResult: return "configure-result";
	case FrameType::Start: return "start";
	case FrameType::Started: return "started";
	case FrameType::Log: return "log";
	case FrameType::Heartbeat: return "heartbeat";
	case FrameType::Shutdown: return "shutdown";
	case FrameType::Bye: return "bye";
	case FrameType::Error: return "error";
	case FrameType::Tasks: return "tasks";
	case FrameType::State: return "state";
	case FrameType::Advance: return "advance";
	case FrameType::Advanced: return "advanced";
	case FrameType::Inputs: return "inputs";
	case FrameType::Outputs: return "outputs";
	}
	return "unknown";
}

bool frame_type_known(uint16_t type) {
	return std::strcmp(frame_type_name(type), "unknown") != 0;
}

std::span<uint8_t> FrameDecoder::prepare(size_t want) {
	compact();
	if (buffer_.size() - end_ < want) {
		buffer_.resize(end_ + want);
	}
	return {buffer_.data() + end_, buffer_.size() - end_};
}

void FrameDecoder::commit(size_t written) {
	end_ += written;
}

void FrameDecoder::feed(std::span<const uint8_t> bytes) {
	if (bytes.empty()) {
		return;  // memcpy from an empty vector's null data() is undefined
	}
	auto space = prepare(bytes.size());
	std::memcpy(space.data(), bytes.data(), bytes.size());
	commit(bytes.size());
}

FrameDecoder::Status FrameDecoder::next(Frame& frame) {
	if (!error_.empty()) {
		return Status::Invalid;
	}
	if (end_ - begin_ < kHeaderSize) {
		return Status::NeedMore;
	}
	const uint8_t* header = buffer_.data() + begin_;
	uint32_t length = load<uint32_t>(header);
	uint16_t type = load<uint16_t>(header + 4);
	uint16_t reserved = load<uint16_t>(header + 6);
	if (length > kMaxPayload) {
		error_ = "frame of " + std::to_string(length) + " bytes exceeds the limit of " +
		         std::to_string(kMaxPayload);
		return Status::Invalid;
	}
	if (!frame_type_known(type)) {
		error_ = "unknown frame type " + std::to_string(type);
		return Status::Invalid;
	}
	if (reserved != 0) {
		error_ = "reserved header bits set";
		return Status::Invalid;
	}
	if (end_ - begin_ < kHeaderSize + length) {
		return Status::NeedMore;
	}
	frame.type = static_cast<FrameType>(type);
	frame.payload = {header + kHeaderSize, length};
	begin_ += kHeaderSize + length;
	return Status::Ready;
}

// Moves unread bytes to the front so the buffer does not grow with the stream's length.
void FrameDecoder::compact() {
	if (begin_ == 0) {
		return;
	}
	if (begin_ != end_) {
		std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
	}
	end_ -= begin_;
	begin_ = 0;
}

void append_header(std::vector<uint8_t>& out, FrameType type, uint32_t length) {
	uint8_t header[kHeaderSize] = {};
	store(header, length);
	store(header + 4, static_cast<uint16_t>(type));
	out.insert(out.end(), header, header + kHeaderSize);
}

}  // namespace mmpy::protocol
