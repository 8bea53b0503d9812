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

struct Event {
	uint32_t channel;
	double value;
};

// Builds batch frames in place at the end of an output buffer: one frame, or as many as the
// events need (a frame holds at most kMaxBatchEvents; the next one starts by itself, with
// the same type and timestamp). Appending to a buffer that has kept its capacity allocates
// nothing.
class BatchWriter {
public:
	// Starts a batch frame of `type` (Inputs or Outputs) at the end of `out`.
	BatchWriter(std::vector<uint8_t>& out, FrameType type, uint64_t timestamp);

	void add(uint32_t channel, double value);
	// Events in the frame being built (not counting frames already closed).
	uint32_t count() const { return count_; }

	// Writes the final length and count; a batch with no events is removed again.
	void finish();

private:
	void begin();

	std::vector<uint8_t>& out_;
	FrameType type_;
	uint64_t timestamp_;
	size_t start_ = 0;
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
