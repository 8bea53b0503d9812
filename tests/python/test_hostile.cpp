// Malformed or hostile frames, end to end: whoever sends them is cut off with the reason
// named in the log, nothing crashes, no announced length is believed, and the show (or
// the listener) goes on serving everyone else.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "control.h"
#include "events.h"
#include "frame.h"
#include "python_test.h"

using namespace mmpy::test;
namespace protocol = mmpy::protocol;

namespace {

// A stand-in for mm-pyhost: it speaks the protocol (version VERSION) correctly over descriptor 3
// (hello, configuration, start, heartbeats every 250 ms, shutdown), echoes an input on
// the channel "echo" as an output on "out", and answers an input on the channel "bad"
// with the bytes of the expression BAD. The test puts BAD in front of this text.
const char* kFakeHostBody = R"(
import json, os, select, socket, struct, time

def header(length, type, reserved=0):
    return struct.pack("<IHH", length, type, reserved)

def frame(type, payload):
    return header(len(payload), type) + payload

def batch(events, count=None):
    body = struct.pack("<QII", 0, len(events) if count is None else count, 0)
    for channel, value in events:
        body += struct.pack("<IId", channel, 0, value)
    return body

conn = socket.socket(fileno=3)
ids = {}          # channel name -> id, from the start's table
handled = 0
beating = False   # heartbeats begin once the hello is answered, as the real host's do

def send_json(type, body):
    conn.sendall(frame(type, json.dumps(body).encode()))

def on_frame(type, payload):
    global handled, beating
    if type == 1:
        send_json(1, {"version": VERSION, "pid": os.getpid(), "python": "fake"})
        beating = True
    elif type == 2:
        send_json(3, {"ok": True, "error": "", "outputs": []})
    elif type == 4:
        for id, name in json.loads(payload)["channels"]:
            ids[name] = id
        send_json(5, {"ok": True, "error": ""})
    elif type == 8:
        send_json(9, {})
        raise SystemExit(0)
    elif type == 32:
        count, = struct.unpack_from("<I", payload, 8)
        for i in range(count):
            channel, _, value = struct.unpack_from("<IId", payload, 16 + 16 * i)
            handled += 1
            if channel == ids.get("echo"):
                conn.sendall(frame(33, batch([(ids["out"], value)])))
            elif channel == ids.get("bad"):
                conn.sendall(BAD(ids["out"]))
    # heartbeats (7) from the shim carry only the core's clock: no answer

buffer = b""
next_beat = 0.0
while True:
    now = time.monotonic()
    if beating and now >= next_beat:
        conn.sendall(frame(7, struct.pack("<QQ", 0, handled)))
        next_beat = now + 0.25
    readable, _, _ = select.select([conn], [], [], 0.25)
    if not readable:
        continue
    data = conn.recv(65536)
    if not data:
        break
    buffer += data
    while len(buffer) >= 8:
        length, type, _ = struct.unpack_from("<IHH", buffer)
        if len(buffer) < 8 + length:
            break
        payload, buffer = buffer[8:8 + length], buffer[8 + length:]
        on_frame(type, payload)
)";

// One kind of bad frame from a host: the Python expression that builds it (`out` is the
// id of the instance's channel "out") and the reason the core must log.
struct HostileFrame {
	const char* what;
	const char* bytes;
	const char* reason;
};

const HostileFrame kFromHost[] = {
    {"reserved header bits set", "header(2, 6, 1) + b'{}'",
     "malformed frame from the host: reserved header bits set"},
    {"an unknown frame type", "header(2, 77) + b'{}'", "malformed frame from the host: unknown frame type 77"},
    {"a header announcing 2 GiB", "header(1 << 31, 33)",
     "malformed frame from the host: frame of 2147483648 bytes exceeds the limit of 1048576"},
    {"an output batch whose count does not match its length", "frame(33, batch([(out, 0.9), (out, 0.9)], count=5))",
     "malformed output batch: event batch of 48 bytes does not hold 5 events"},
    {"an output batch naming a channel id never assigned", "frame(33, batch([(out, 0.9), (4096, 0.9)]))",
     "output on channel id 4096, which was never assigned"},
    {"a frame only the shim sends", "frame(2, b'{\"option\": \"module\", \"value\": \"x\"}')",
     "unexpected configure frame from the host"},
    {"a heartbeat in JSON instead of 16 binary bytes", "frame(7, b'{\"timestamp\": 0, \"handled\": 0}')",
     "malformed heartbeat: heartbeat payload is 30 bytes, 16 expected"},
};

// Writes the fake host into `dir` as an executable script; returns its path.
std::string write_fake_host(const TempDir& dir, const std::string& bad_expression) {
	std::string path = dir.write("fake-host.py", "#!/usr/bin/env python3\n"
	                                             "VERSION = " + std::to_string(protocol::kVersion) + "\n"
	                                             "def BAD(out):\n"
	                                             "    return " + bad_expression + "\n" + kFakeHostBody);
	REQUIRE(chmod(path.c_str(), 0755) == 0);
	return path;
}

// The pid in the first line of `process` that matches `pattern`, whose group 1 is the pid.
pid_t pid_from_log(ChildProcess& process, const std::string& pattern) {
	auto line = process.wait_stderr_anywhere(matches(pattern));
	INFO("waiting for a line matching " << pattern << "\n" << process.transcript());
	REQUIRE(line);
	std::smatch found;
	REQUIRE(std::regex_search(*line, found, std::regex(pattern)));
	return static_cast<pid_t>(std::stol(found[1].str()));
}

// Everything the peer sends until it closes the connection; false if it is still open
// after `timeout`. A reset counts as closed.
bool read_until_closed(int fd, std::vector<uint8_t>& received, Duration timeout) {
	auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		auto left = std::chrono::duration_cast<Duration>(deadline - std::chrono::steady_clock::now());
		if (left.count() <= 0) {
			return false;
		}
		pollfd ready{fd, POLLIN, 0};
		int rc = poll(&ready, 1, static_cast<int>(left.count()));
		if (rc < 0 && errno == EINTR) {
			continue;
		}
		if (rc <= 0) {
			return false;
		}
		uint8_t chunk[4096];
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n == 0 || (n < 0 && errno == ECONNRESET)) {
			return true;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			return true;
		}
		received.insert(received.end(), chunk, chunk + n);
	}
}

std::vector<uint8_t> header(uint32_t length, uint16_t type, uint16_t reserved = 0) {
	std::vector<uint8_t> bytes(protocol::kHeaderSize);
	std::memcpy(bytes.data(), &length, 4);
	std::memcpy(bytes.data() + 4, &type, 2);
	std::memcpy(bytes.data() + 6, &reserved, 2);
	return bytes;
}

std::vector<uint8_t> frame(uint16_t type, const std::string& payload) {
	std::vector<uint8_t> bytes = header(static_cast<uint32_t>(payload.size()), type);
	bytes.insert(bytes.end(), payload.begin(), payload.end());
	return bytes;
}

// A well-formed Inputs batch with one event.
std::vector<uint8_t> one_input() {
	std::vector<uint8_t> bytes;
	protocol::BatchWriter batch(bytes, protocol::FrameType::Inputs, 0);
	batch.add(0, 0.5);
	batch.finish();
	return bytes;
}

// One kind of garbage a client sends the listener, and the reason the connection ends with.
struct Garbage {
	const char* what;
	std::vector<uint8_t> bytes;
	std::string reason;
};

std::vector<Garbage> listener_garbage() {
	return {
	    {"a header announcing 2 GiB", header(1u << 31, 1), "malformed frame: frame of 2147483648 bytes exceeds the limit of 1048576"},
	    {"a header with an unknown frame type", header(0, 99), "malformed frame: unknown frame type 99"},
	    {"a header with reserved bits set", header(2, 1, 0x8000), "malformed frame: reserved header bits set"},
	    {"a hello that is not JSON", frame(1, "garbage!"), "protocol violation: control message is not a JSON object"},
	    {"inputs before the hello", one_input(), "protocol violation: events before start"},
	    {"a frame only a host sends", frame(9, "{}"), "protocol violation: a frame of type bye, which only a host sends"},
	};
}

const char* kEchoModule = R"(
import midimonster
def handler(value):
    midimonster.output("out", value)
)";

}  // namespace

TEST_CASE("a host that sends a malformed frame is cut off with the reason, and the core goes on",
          "[python][hostile][supervision]") {
	size_t index = GENERATE(range(size_t{0}, std::size(kFromHost)));
	const HostileFrame& hostile = kFromHost[index];
	INFO("the host sends " << hostile.what);

	TempDir tools;
	std::string fake_host = write_fake_host(tools, hostile.bytes);
	CoreProcess core("[backend python]\nhost = " + fake_host + R"(
[python py1]
module = fake
[test t]
[map]
t.echo > py1.echo
py1.out > t.out
t.bad > py1.bad
t.x > t.y
)");
	REQUIRE(core.wait_started());
	pid_t first = pid_from_log(core.process(), "py1: mm-pyhost ([0-9]+) ready \\(Python fake\\)");
	core.inject("t.echo", 0.25);
	CHECK(next_value(core, "t.out") == Approx(0.25));
	long rss_before = core_rss_kb(core);

	core.inject("t.bad", 1);
	REQUIRE_LOG(core, "py1: lost the host (pid " + std::to_string(first) + "): " + hostile.reason);
	REQUIRE_LOG(core, "killed it; it had not handled any input since it started. restarting it now");  // a fake host: no heartbeats
	// Another backend's mapping is routed: the core did not stop.
	core.inject("t.x", 0.5);
	CHECK(next_value(core, "t.y") == Approx(0.5));

	// A new host comes up and works.
	pid_t second = pid_from_log(core.process(), "py1: started a new host \\(pid ([0-9]+)\\)");
	CHECK(second != first);
	REQUIRE_LOG(core, "py1: the host is back after");
	CHECK(gone_within(first, Duration(5000)));
	core.inject("t.echo", 0.75);
	CHECK(next_value(core, "t.out") == Approx(0.75));

	// Nothing of a rejected batch was routed, not even its valid events.
	REQUIRE(core.sync());
	bool rejected_routed = false;
	for (const Event& event : core.events()) {
		rejected_routed |= event.channel == "t.out" && event.value == Approx(0.9);
	}
	INFO(core.transcript());
	CHECK_FALSE(rejected_routed);
	// An announced length is not believed: nothing near it was allocated.
	CHECK(core_rss_kb(core) - rss_before < 64 * 1024);

	CHECK(core.stop() == 0);
	CHECK(gone_within(second, Duration(5000)));
}

TEST_CASE("a client that sends garbage to the listener is cut off with the reason, and the listener serves the next core",
          "[listener][hostile][attach]") {
	TempDir run;
	std::string socket_path = run.file("mm-pyhost.sock");
	ChildProcess listener({host_path(), "--listen", socket_path});
	{
		auto listening = listener.wait_stderr(contains("listening on " + socket_path));
		INFO(listener.transcript());
		REQUIRE(listening);
	}

	for (const Garbage& garbage : listener_garbage()) {
		INFO("the client sends " << garbage.what);
		int fd = connect_unix(socket_path);
		REQUIRE(send(fd, garbage.bytes.data(), garbage.bytes.size(), MSG_NOSIGNAL) ==
		        static_cast<ssize_t>(garbage.bytes.size()));
		std::vector<uint8_t> received;
		bool closed = read_until_closed(fd, received, default_timeout);
		close(fd);
		INFO(listener.transcript());
		CHECK(closed);

		// The last word before the close is an Error frame with the reason.
		protocol::FrameDecoder decoder;
		decoder.feed(received);
		protocol::Frame reply;
		REQUIRE(decoder.next(reply) == protocol::FrameDecoder::Status::Ready);
		CHECK(reply.type == protocol::FrameType::Error);
		protocol::Error error;
		std::string parse_error;
		CHECK(protocol::parse(reply.payload, error, parse_error));
		CHECK(error.reason == garbage.reason);
		CHECK(decoder.next(reply) == protocol::FrameDecoder::Status::NeedMore);
		CHECK(decoder.buffered() == 0);

		// The instance host that served it says why, and ends normally: no crash.
		auto connected = listener.wait_stderr(matches("core connected; instance host [0-9]+ serves it"));
		REQUIRE(connected);
		std::string host = std::regex_replace(*connected, std::regex(".*instance host ([0-9]+) serves it.*"), "$1");
		CHECK(listener.wait_stderr_anywhere([&](const std::string& line) {
			return line.find("mm-pyhost[" + host + "]") != std::string::npos &&
			       line.find(garbage.reason) != std::string::npos;
		}));
		CHECK(listener.wait_stderr_anywhere(contains("instance host " + host + " exited with status 0")));
	}

	// The next core runs a show through the same listener.
	{
		CoreProcess core("[backend python]\nsocket = " + socket_path + R"(
[python py1]
module = echo
[test t]
[map]
t.in > py1.echo.handler
py1.out > t.out
)",
		                 {{"echo.py", kEchoModule}});
		REQUIRE(core.wait_started());
		core.inject("t.in", 0.5);
		CHECK(next_value(core, "t.out") == Approx(0.5));
		CHECK(core.stop() == 0);
	}
	listener.signal(SIGTERM);
	CHECK(listener.wait_exit() == 0);
}
