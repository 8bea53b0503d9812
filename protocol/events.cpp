#include "events.h"

#include "wire.h"

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
	store(batch_header, timestamp_);
	out_.insert(out_.end(), batch_header, batch_header + kBatchHeaderSize);
}

void BatchWriter::add(uint32_t channel, double value) {
	if (count_ == kMaxBatchEvents) {
		finish();
		begin();
	}
	uint8_t event[kEventSize] = {};
	store(event, channel);
	store(event + 8, value);
	out_.insert(out_.end(), event, event + kEventSize);
	count_++;
}

void BatchWriter::finish() {
	if (count_ == 0) {
		out_.resize(start_);
		return;
	}
	uint32_t length = static_cast<uint32_t>(out_.size() - start_ - kHeaderSize);
	store(out_.data() + start_, length);
	store(out_.data() + start_ + kHeaderSize + 8, count_);
}

bool BatchView::parse(std::span<const uint8_t> payload, BatchView& view, std::string& error) {
	if (payload.size() < kBatchHeaderSize) {
		error = "event batch shorter than its header";
		return false;
	}
	view.timestamp_ = load<uint64_t>(payload.data());
	uint32_t count = load<uint32_t>(payload.data() + 8);
	if (load<uint32_t>(payload.data() + 12) != 0) {
		error = "event batch reserved field set";
		return false;
	}
	if (count > kMaxBatchEvents || payload.size() != kBatchHeaderSize + size_t{count} * kEventSize) {
		error = "event batch of " + std::to_string(payload.size()) + " bytes does not hold " +
		        std::to_string(count) + " events";
		return false;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (load<uint32_t>(payload.data() + kBatchHeaderSize + size_t{i} * kEventSize + 4) != 0) {
			error = "event " + std::to_string(i) + " of the batch has its reserved field set";
			return false;
		}
	}
	view.count_ = count;
	view.events_ = payload.data() + kBatchHeaderSize;
	return true;
}

Event BatchView::operator[](uint32_t index) const {
	const uint8_t* p = events_ + size_t{index} * kEventSize;
	return {load<uint32_t>(p), load<double>(p + 8)};
}

}  // namespace mmpy::protocol
