// Control messages: small JSON objects, one per frame, exchanged outside the hot path;
// only Heartbeat is binary (see below). Each message has a struct, an encoder and a parser
// that never trusts its input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frame.h"
#include "handshake.h"

namespace mmpy::protocol {

// Hello from the shim: which instance this connection serves and where it lives.
struct ShimHello {
	uint32_t version = kVersion;
	std::string instance;   // the [python NAME] section name
	std::string directory;  // the config file's folder, first on sys.path
	uint64_t timestamp = 0; // the core's clock (ms)
	int64_t core_pid = 0;   // the MIDIMonster process, for the operator's tools
	// The test harness's clock (mm_pyhost.testing): time stands still but for Advance frames,
	// which `timestamp` starts. A core never sets it; the field is left out then.
	bool virtual_clock = false;
};

// Hello from the host: the agreed version and who answered.
struct HostHello {
	uint32_t version = kVersion;
	int64_t pid = 0;
	std::string python;  // sys.version of the host's interpreter
};

// One `option = value` line of the instance section.
struct Configure {
	std::string option;
	std::string value;
};

// The host's answer to Configure. `outputs` lists the channels that output() touched
// while the option ran (module top-level code), with their values.
// `warning`: the line was taken but did not work (a `module =` that failed to import: the
// show starts without it, as with the in-process backend). Only `mm-pyhost check` reads it;
// the host has logged it.
struct ConfigureResult {
	bool ok = true;
	std::string error;
	std::vector<std::pair<std::string, double>> outputs;
	std::string warning;
};

// The show starts: every channel of the instance with its id, and the values the shim
// remembers (non-empty after the host was restarted during a show).
struct Start {
	uint64_t timestamp = 0;
	std::vector<std::pair<uint32_t, std::string>> channels;
	std::vector<std::pair<uint32_t, double>> inputs;
	std::vector<std::pair<uint32_t, double>> outputs;
	bool restart = false;
};

// `unresolved`: the mapped channels without a handler (their events are ignored), each with
// why: [channel, reason]; "" as the channel for the default-handler. Only `mm-pyhost check`
// reads it; the shim leaves it to the host's log lines.
struct Started {
	bool ok = true;
	std::string error;
	std::vector<std::pair<std::string, std::string>> unresolved;
};

struct Log {
	int level = 0;  // 0: normal, 1: debug (the core's levels)
	std::string text;
};

// Shim -> host: the core's clock, once a second; `handled` is then the count of input events
// the shim holds back for the host (it is behind, or was away; `mm-pyhost status` says
// "inputs waiting"). Host -> shim: "alive", sent by the host's watchdog thread every few
// hundred ms while no handler is stuck, and once right after its first inputs were handled;
// `handled` counts the input events the host has handled so far (never less than in its
// previous heartbeat), so the shim can tell how many died with it and whether it ran the
// show (RestartPolicy). Not JSON but 16 bytes, u64 timestamp then u64 handled: the shim
// sends and reads these all show long, and must not allocate in steady state.
struct Heartbeat {
	uint64_t timestamp = 0;
	uint64_t handled = 0;
};
inline constexpr size_t kHeartbeatSize = 16;

struct Error {
	std::string reason;
};

// Host -> shim: the sequences (asyncio tasks: async handlers, midimonster.thread() tasks,
// fades) running in the host, sent whole whenever the set changes. Only the shim outlives a
// crashed host, so it keeps the last set to tell the operator which sequences died with it.
// Each name once, with how many tasks of that name run; at most kMaxTaskNames names, the
// rest counted in `others`. Nothing runs when both are empty.
struct TaskCount {
	std::string name;  // at most kMaxNameLength bytes
	uint64_t count = 1;  // at least 1

	bool operator==(const TaskCount&) const = default;
};
struct Tasks {
	std::vector<TaskCount> running;
	uint64_t others = 0;  // tasks whose names did not fit in `running`
};

// Both ways: midimonster.state as the host pickled it, a snapshot at most a second old.
// Host -> shim whenever it changed; shim -> host right after the hello to a host that
// replaces a lost one, so that the state survives the crash. The shim keeps the bytes and
// never looks inside (they are the host's own pickle, trusted as the host is); at most
// kMaxPayload bytes.
struct State {
	std::vector<uint8_t> snapshot;
};

// Virtual clock only (ShimHello::virtual_clock): the show's clock moves to `to` (ms, not
// before the current time), stopping at every interval tick and asyncio timer due on the
// way; then the host answers Advanced. An Advance to the current time runs what is ready.
struct Advance {
	uint64_t to = 0;
};
struct Advanced {
	uint64_t now = 0;
};

// Appends a whole frame; false (and nothing appended) if it would exceed kMaxPayload.
bool encode(std::vector<uint8_t>& out, const ShimHello& m);
bool encode(std::vector<uint8_t>& out, const HostHello& m);
bool encode(std::vector<uint8_t>& out, const Configure& m);
bool encode(std::vector<uint8_t>& out, const ConfigureResult& m);
bool encode(std::vector<uint8_t>& out, const Start& m);
bool encode(std::vector<uint8_t>& out, const Started& m);
bool encode(std::vector<uint8_t>& out, const Log& m);
bool encode(std::vector<uint8_t>& out, const Heartbeat& m);
bool encode(std::vector<uint8_t>& out, const Error& m);
bool encode(std::vector<uint8_t>& out, const Tasks& m);
bool encode(std::vector<uint8_t>& out, const State& m);
bool encode(std::vector<uint8_t>& out, const Advance& m);
bool encode(std::vector<uint8_t>& out, const Advanced& m);
// Frames whose body is the empty object {}: Shutdown and Bye.
bool encode_empty(std::vector<uint8_t>& out, FrameType type);

// Parse a payload; on failure return false and say why in `error`.
bool parse(std::span<const uint8_t> payload, ShimHello& m, std::string& error);
bool parse(std::span<const uint8_t> payload, HostHello& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Configure& m, std::string& error);
bool parse(std::span<const uint8_t> payload, ConfigureResult& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Start& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Started& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Log& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Heartbeat& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Error& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Tasks& m, std::string& error);
bool parse(std::span<const uint8_t> payload, State& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Advance& m, std::string& error);
bool parse(std::span<const uint8_t> payload, Advanced& m, std::string& error);

}  // namespace mmpy::protocol
