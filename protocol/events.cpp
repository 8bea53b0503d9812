#include "events.h"

#include <cstring>

namespace mmpy::protocol {

BatchWriter::BatchWriter(std::vector<uint8_t>& out, FrameType type, uint64_t timestamp)
    : out_(out), type_(type), timestamp_(timestamp) {
	begin();
}

void BatchWriter::begin() {
	start_ = out_.size();
	count_ = 0;
	append_header(out_, type_, 0);
	uint8_t batch_header[kBatchHeaderSize] = {};
	std::memcpy(batch_header, &timestamp_, 8);
	out_.insert(out_.end(), batch_header, batch_header + kBatchHeaderSize);
}

void BatchWriter::add(uint32_t channel, double value) {
	if (count_ == kMaxBatchEvents) {
		finish();
		begin();
	}
	uint8_t event[kEventSize] = {};
	std::memcpy(event, &channel, 4);
	std::memcpy(event + 8, &value, 8);
	out_.insert(out_.end(), event, event + kEventSize);
	count_++;
}

void BatchWriter::finish() {
	if (count_ == 0) {
		out_.resize(start_);
		return;
	}
	uint32_t length = static_cast<uint32_t>(out_.size() - start_ - kHeaderSize);
	std::memcpy(out_.data() + start_, &length, 4);
	std::memcpy(out_.data() + start_ + kHeaderSize + 8, &count_, 4);
}

bool BatchView::parse(std::span<const uint8_t> payload, BatchView& view, std::string& error) {
	if (payload.size() < kBatchHeaderSize) {
		error = "event batch shorter than its header";
		return false;
	}
	uint32_t count, reserved;
	std::memcpy(&view.timestamp_, payload.data(), 8);
	std::memcpy(&count, payload.data() + 8, 4);
	std::memcpy(&reserved, payload.data() + 12, 4);
	if (reserved != 0) {
		error = "event batch reserved field set";
		return false;
	}
	if (count > kMaxBatchEvents || payload.size() != kBatchHeaderSize + size_t{count} * kEventSize) {
		error = "event batch of " + std::to_string(payload.size()) + " bytes does not hold " +
		        std::to_string(count) + " events";
		return false;
	}
	for (uint32_t i = 0; i < count; i++) {
		std::memcpy(&reserved, payload.data() + kBatchHeaderSize + size_t{i} * kEventSize + 4, 4);
		if (reserved != 0) {
			error = "event " + std::to_string(i) + " of the batch has its reserved field set";
			return false;
		}
	}
	view.count_ = count;
	view.events_ = payload.data() + kBatchHeaderSize;
	return true;
}

Event BatchView::operator[](uint32_t index) const {
	Event event;
	const uint8_t* p = events_ + size_t{index} * kEventSize;
	std::memcpy(&event.channel, p, 4);
	std::memcpy(&event.value, p + 8, 8);
	return event;
}

}  // namespace mmpy::protocol
