// Every limit of the shim <-> host contract. Both ends check against these, and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmpy::protocol {

// Frame header: u32 payload length, u16 type, u16 reserved (0).
inline constexpr size_t kHeaderSize = 8;

// Largest payload either side accepts; a peer announcing more is cut off.
inline constexpr uint32_t kMaxPayload = 1u << 20;

// Event batches: a 16-byte header, then 16 bytes per event (events.h).
inline constexpr size_t kBatchHeaderSize = 16;
inline constexpr size_t kEventSize = 16;
// The most events a batch can hold within kMaxPayload.
inline constexpr uint32_t kMaxBatchEvents = (kMaxPayload - kBatchHeaderSize) / kEventSize;

// Longest channel, instance, option or module name either side accepts.
inline constexpr size_t kMaxNameLength = 1024;

// Most channels one instance may have (32 DMX universes' worth): the channel table must
// fit in one frame, and a runaway config or module must not grow either side without end.
inline constexpr size_t kMaxChannels = 16384;

// Most sequence names one Tasks message lists (each at most kMaxNameLength bytes); the host
// counts the rest in `others`. The shim keeps the last list all show long and logs it whole.
inline constexpr size_t kMaxTaskNames = 64;

// Bytes one read takes off a connection (4096 events), on both ends.
inline constexpr size_t kReadChunk = 64 * 1024;

}  // namespace mmpy::protocol
