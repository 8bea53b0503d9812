// Binary event batches, the hot path: one frame carries every event of one core
// iteration (Inputs) or one host loop turn (Outputs), 16 bytes per event.
//
// Payload: u64 core timestamp (ms), u32 count, u32 reserved (0),
//          then count x { u32 channel id, u32 reserved (0), f64 value }.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "frame.h"

namespace mmpy::protocol {

inline constexpr size_t kBatchHeaderSize = 16;
inline constexpr size_t kEventSize = 16;
// The most events a batch can hold within kMaxPayload.
inline constexpr uint32_t kMaxBatchEvents = (kMaxPayload - kBatchHeaderSize) / kEventSize;

struct Event {
	uint32_t channel;
	double value;
};

// Builds one batch frame in place at the end of an output buffer. Appending to a buffer
// that has kept its capacity allocates nothing.
class BatchWriter {
public:
	// Starts a batch frame of `type` (Inputs or Outputs) at the end of `out`.
	BatchWriter(std::vector<uint8_t>& out, FrameType type, uint64_t timestamp);

	void add(uint32_t channel, double value);
	uint32_t count() const { return count_; }
	bool full() const { return count_ == kMaxBatchEvents; }

	// Writes the final length and count; a batch with no events is removed again.
	void finish();

private:
	std::vector<uint8_t>& out_;
	size_t start_;
	uint32_t count_ = 0;
};

// A validated read-only view of a batch payload.
class BatchView {
public:
	// Checks the payload's layout; on failure `error` says what is wrong.
	static bool parse(std::span<const uint8_t> payload, BatchView& view, std::string& error);

	uint64_t timestamp() const { return timestamp_; }
	uint32_t size() const { return count_; }
	Event operator[](uint32_t index) const;

private:
	const uint8_t* events_ = nullptr;
	uint64_t timestamp_ = 0;
	uint32_t count_ = 0;
};

}  // namespace mmpy::protocol
