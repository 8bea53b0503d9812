// mmpy_fuzz_seeds OUTDIR: writes the seed corpora of the fuzz targets, OUTDIR/<target>/<name>,
// built with the protocol's own encoders, so every seed is a valid frame or conversation of
// the current protocol version. tests/fuzz/corpus holds the committed copy; after a protocol
// change run `tools/fuzz.sh --write-seeds` (the fuzz-seeds-current test says when).
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "control.h"
#include "driver.h"
#include "events.h"
#include "frame.h"
#include "host_command.h"
#include "operator.h"

using namespace mmpy::protocol;
using Bytes = std::vector<uint8_t>;

namespace {

std::string out_dir;

void write_seed(const std::string& target, const std::string& name, const Bytes& bytes) {
	std::string folder = out_dir + "/" + target;
	mkdir(out_dir.c_str(), 0755);
	mkdir(folder.c_str(), 0755);
	std::string path = folder + "/" + name;
	FILE* file = std::fopen(path.c_str(), "wb");
	if (!file || std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size() || std::fclose(file) != 0) {
		std::perror(path.c_str());
		std::exit(1);
	}
}

// midimonster.state = {"count": 3, "name": "cue 4"} as host/kept_state.py pickles it.
const Bytes kStateSnapshot = {
    0x80, 0x05, 0x95, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7d, 0x94, 0x28, 0x8c, 0x05,
    0x63, 0x6f, 0x75, 0x6e, 0x74, 0x94, 0x43, 0x05, 0x80, 0x05, 0x4b, 0x03, 0x2e, 0x94, 0x8c, 0x04,
    0x6e, 0x61, 0x6d, 0x65, 0x94, 0x43, 0x14, 0x80, 0x05, 0x95, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x8c, 0x05, 0x63, 0x75, 0x65, 0x20, 0x34, 0x94, 0x2e, 0x94, 0x75, 0x2e};

Bytes cat(std::initializer_list<Bytes> parts) {
	Bytes all;
	for (const Bytes& part : parts) {
		all.insert(all.end(), part.begin(), part.end());
	}
	return all;
}

template <typename Message>
Bytes frame(const Message& message) {
	Bytes bytes;
	encode(bytes, message);
	return bytes;
}

Bytes empty(FrameType type) {
	Bytes bytes;
	encode_empty(bytes, type);
	return bytes;
}

Bytes batch(FrameType type, uint64_t timestamp, std::initializer_list<Event> events) {
	Bytes bytes;
	BatchWriter writer(bytes, type, timestamp);
	for (const Event& event : events) {
		writer.add(event.channel, event.value);
	}
	writer.finish();
	return bytes;
}

Bytes payload_of(const Bytes& framed) {
	return Bytes(framed.begin() + kHeaderSize, framed.end());
}

// A shim's hello as the host sees it: no folder, so the session stays in the harness's.
ShimHello shim_hello() {
	ShimHello hello;
	hello.instance = "fuzz";
	hello.directory = "";
	hello.timestamp = 5000;
	return hello;
}

Start start_of(std::vector<std::string> names, bool restart = false) {
	Start start;
	start.timestamp = 6000;
	for (uint32_t id = 0; id < names.size(); id++) {
		start.channels.emplace_back(id, names[id]);
	}
	start.restart = restart;
	if (restart) {
		start.inputs = {{0, 0.5}};
		start.outputs = {{0, 0.25}};
	}
	return start;
}

void frame_decoder_seeds() {
	const std::string t = "fuzz_frame_decoder";
	Bytes split(8, 0);  // 8 bytes of split-point seed, then the stream
	Bytes split2 = {1, 2, 3, 4, 5, 6, 7, 8};
	write_seed(t, "shim-conversation",
	           cat({split, frame(shim_hello()), frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                frame(start_of({"mmpy_fuzz_fixture.echo", "plain"})),
	                batch(FrameType::Inputs, 7000, {{0, 0.5}, {1, 1.0}}), frame(Heartbeat{8000, 0}),
	                empty(FrameType::Shutdown)}));
	HostHello host_hello;
	host_hello.pid = 1234;
	host_hello.python = "3.11.2";
	ConfigureResult result;
	result.outputs = {{"initial", 0.25}};
	write_seed(t, "host-conversation",
	           cat({split2, frame(host_hello), frame(Log{0, "a line"}), frame(result), frame(Started{}),
	                batch(FrameType::Outputs, 7000, {{0, 0.25}}), frame(Heartbeat{8000, 2}), empty(FrameType::Bye)}));
	Bytes many;
	{
		BatchWriter writer(many, FrameType::Inputs, 1);
		for (uint32_t i = 0; i < 300; i++) {
			writer.add(i % 7, i / 300.0);
		}
		writer.finish();
	}
	write_seed(t, "large-batch", cat({split2, many, frame(Error{"bye now"})}));
	write_seed(t, "empty-frames", cat({split, empty(FrameType::Shutdown), empty(FrameType::Bye)}));
}

void control_seeds() {
	const std::string t = "fuzz_control";
	auto seed = [&](uint8_t selector, const std::string& name, const Bytes& framed) {
		Bytes bytes{selector};
		Bytes body = payload_of(framed);
		bytes.insert(bytes.end(), body.begin(), body.end());
		write_seed(t, name, bytes);
	};
	seed(0, "shim-hello", frame(shim_hello()));
	HostHello host_hello;
	host_hello.pid = 4242;
	host_hello.python = "3.11.2";
	seed(1, "host-hello", frame(host_hello));
	seed(2, "configure", frame(Configure{"module", "mmpy_fuzz_fixture"}));
	ConfigureResult result;
	result.ok = false;
	result.error = "failed to import";
	result.outputs = {{"a", 0.5}, {"b", 1.0}};
	seed(3, "configure-result", frame(result));
	ConfigureResult warned;
	warned.warning = "failed to import module 'show': SyntaxError: invalid syntax (show.py, line 1)";
	seed(3, "configure-result-warning", frame(warned));
	seed(4, "start", frame(start_of({"m.a", "m.b", "plain"}, true)));
	seed(5, "started", frame(Started{false, "no", {}}));
	seed(5, "started-unresolved", frame(Started{true, "", {{"show.nope", "module 'show' has no function 'nope'"}}}));
	seed(6, "log", frame(Log{1, "debug line \xc3\xa9"}));
	seed(7, "heartbeat", frame(Heartbeat{123456789, 42}));
	seed(8, "error", frame(Error{"protocol violation: test"}));
	seed(9, "empty", empty(FrameType::Shutdown));
	seed(10, "tasks", frame(Tasks{{{"show.chase", 1}, {"show.cue_list", 2}}, 3}));
	seed(11, "state", frame(State{kStateSnapshot}));
	seed(12, "advance", frame(Advance{1500}));
	seed(13, "advanced", frame(Advanced{1500}));
	ShimHello virtual_hello = shim_hello();
	virtual_hello.virtual_clock = true;
	seed(0, "shim-hello-virtual", frame(virtual_hello));
}

void host_session_seeds() {
	const std::string t = "fuzz_host_session";
	Bytes hello = frame(shim_hello());
	write_seed(t, "hello-only", hello);
	write_seed(t, "fixture-show",
	           cat({hello, frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                frame(start_of({"mmpy_fuzz_fixture.echo", "mmpy_fuzz_fixture.values", "mmpy_fuzz_fixture.talk",
	                                "mmpy_fuzz_fixture.fail", "mmpy_fuzz_fixture.leave", "mmpy_fuzz_fixture.bad_output",
	                                "initial"})),
	                batch(FrameType::Inputs, 7000, {{0, 0.5}, {1, 0.25}, {2, 1.0}, {3, 0.0}, {4, 0.5}, {5, 0.75}}),
	                frame(Heartbeat{8000, 0}), batch(FrameType::Inputs, 9000, {{6, 0.5}}),
	                empty(FrameType::Shutdown)}));
	write_seed(t, "default-handler-timeout",
	           cat({hello, frame(Configure{"module", "math"}), frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                frame(Configure{"default-handler", "mmpy_fuzz_fixture.work"}),
	                frame(Configure{"handler-timeout", "1"}),
	                frame(start_of({"plain", "math.sin", "mmpy_fuzz_fixture.stop_ticking"})),
	                batch(FrameType::Inputs, 7000, {{0, 0.5}, {1, 0.5}, {2, 0.5}, {0, 0.25}}),
	                empty(FrameType::Shutdown)}));
	write_seed(t, "import-errors",
	           cat({hello, frame(Configure{"module", "mmpy_fuzz_raises"}), frame(Configure{"module", "mmpy_fuzz_syntax"}),
	                frame(Configure{"module", "mmpy_fuzz_fixture.py"}), frame(Configure{"module", "not_allowed"}),
	                frame(Configure{"module", ""}), frame(Configure{"handler-timeout", "x"}),
	                frame(Configure{"unknown", "1"}), frame(start_of({"mmpy_fuzz_raises.f", "nosuch.f"}))}));
	write_seed(t, "restart", cat({hello, frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                              frame(start_of({"mmpy_fuzz_fixture.echo"}, true)),
	                              batch(FrameType::Inputs, 7000, {{0, 0.5}})}));
	write_seed(t, "restart-with-state",
	           cat({hello, frame(State{kStateSnapshot}), frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                frame(Configure{"reload", "on-save"}), frame(start_of({"mmpy_fuzz_fixture.echo"}, true)),
	                batch(FrameType::Inputs, 7000, {{0, 0.5}}), empty(FrameType::Shutdown)}));
	write_seed(t, "shim-error", cat({hello, frame(Error{"the core is going away"})}));
	ShimHello old = shim_hello();
	old.version = 0;
	write_seed(t, "version-mismatch", frame(old));
	write_seed(t, "events-before-start", cat({hello, batch(FrameType::Inputs, 7000, {{0, 0.5}})}));
	ShimHello virtual_hello = shim_hello();
	virtual_hello.virtual_clock = true;
	write_seed(t, "virtual-clock",
	           cat({frame(virtual_hello), frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                frame(start_of({"mmpy_fuzz_fixture.echo", "mmpy_fuzz_fixture.talk"})),
	                batch(FrameType::Inputs, 5000, {{0, 0.5}, {1, 1.0}}), frame(Advance{5250}), frame(Advance{5250}),
	                frame(Advance{6000}), empty(FrameType::Shutdown)}));
	write_seed(t, "advance-refused", cat({hello, frame(Advance{6000})}));
	write_seed(t, "lost-mid-show", cat({hello, frame(Configure{"module", "mmpy_fuzz_fixture"}),
	                                    frame(start_of({"mmpy_fuzz_fixture.values", "x"})),
	                                    batch(FrameType::Inputs, 7000, {{0, 0.5}, {1, 0.5}})}));
}

// Operator lines: byte 0 is 0 for a request, 1 for a reply, 2 for a stream line, 3 for a
// shim's report; then the line without '\n'.
void operator_seeds() {
	const std::string t = "fuzz_operator";
	auto seed = [&](const std::string& name, uint8_t kind, std::string line) {
		line.pop_back();
		Bytes bytes{kind};
		bytes.insert(bytes.end(), line.begin(), line.end());
		write_seed(t, name, bytes);
	};
	std::string line;
	encode(line, OperatorRequest{"status", {}});
	seed("request-status", 0, std::exchange(line, {}));
	encode(line, OperatorRequest{"values", {"show.*"}});
	seed("request-values", 0, std::exchange(line, {}));
	encode(line, OperatorRequest{"inject", {"show.go", "0.5"}});
	seed("request-inject", 0, std::exchange(line, {}));
	encode(line, OperatorRequest{"run", {"for i in range(3):\n    print(i)\n"}});
	seed("request-console-run", 0, std::exchange(line, {}));
	OperatorReply status;
	status.status = InstanceStatus{"py1", 1234, 1240, "spawn", "up", 62000, "3.11.2", {"show", "lib/x.py"},
	                               "14:05:10", 12345, 12, 40, 300, 3, 2, 1, {{"show.chase", 2}}, 24576,
	                               "the handler of channel show.go: ValueError: no", 1700000000000};
	encode(line, status);
	seed("reply-status", 1, std::exchange(line, {}));
	OperatorReply values;
	values.values = std::vector<ChannelReport>{{"show.go", 0.5, 1000, 0.0, 0}, {"out", 0.0, 0, 0.25, 1001}};
	values.now_ms = 2000;
	encode(line, values);
	seed("reply-values", 1, std::exchange(line, {}));
	OperatorReply refused;
	refused.ok = false;
	refused.error = "no channel show.nope in py1";
	encode(line, refused);
	seed("reply-error", 1, std::exchange(line, {}));
	OperatorReply completions;
	completions.matches = std::vector<std::string>{"midimonster.output(", "midimonster.outputvalue("};
	encode(line, completions);
	seed("reply-completions", 1, std::exchange(line, {}));
	OperatorReply more;
	more.more = true;
	more.message = "0\n1\n";
	encode(line, more);
	seed("reply-console-more", 1, std::exchange(line, {}));
	StreamLine input;
	input.kind = "in";
	input.time_ms = 1700000000123;
	input.channel = "show.go";
	input.value = 0.5;
	encode(line, input);
	seed("stream-input", 2, std::exchange(line, {}));
	StreamLine log;
	log.kind = "log";
	log.time_ms = 1700000000456;
	log.text = "cue 4 \xc3\xa9";
	log.dropped = 12;
	encode(line, log);
	seed("stream-log", 2, std::exchange(line, {}));
	ShimReport down{"py1", 1234, "down", 1700000000000, 3, "the host closed the connection", 1700000000000,
	                1700000002000, 40};
	encode(line, down);
	seed("report-down", 3, std::exchange(line, {}));
}

// Command lines: the arguments joined with NUL bytes, as the harness splits them again.
void host_command_seeds() {
	const std::string t = "fuzz_host_command";
	auto seed = [&](const std::string& name, const std::vector<std::string>& argv) {
		Bytes bytes;
		for (size_t i = 0; i < argv.size(); i++) {
			if (i > 0) {
				bytes.push_back(0);
			}
			bytes.insert(bytes.end(), argv[i].begin(), argv[i].end());
		}
		write_seed(t, name, bytes);
	};
	seed("spawned", host_command("/usr/lib/midimonster/mm-pyhost"));
	seed("spawned-exit-with-parent", host_command("mm-pyhost", 4242));
	seed("listen-default", {"mm-pyhost", "--listen"});
	seed("listen-path", {"mm-pyhost", "--listen", "/run/user/1000/mm-pyhost/socket"});
	seed("version", {"mm-pyhost", "--version"});
	seed("help", {"mm-pyhost", "-h"});
	seed("fd-not-a-number", {"mm-pyhost", "--fd", "3x"});
}

// Shim seeds: situation byte, channel-count byte, 8 schedule bytes, the host's stream.
Bytes shim_input(uint8_t situation, uint8_t channels, uint8_t schedule, const Bytes& stream) {
	Bytes bytes{situation, channels};
	for (int i = 0; i < 8; i++) {
		bytes.push_back(static_cast<uint8_t>(schedule + i * 37));
	}
	bytes.insert(bytes.end(), stream.begin(), stream.end());
	return bytes;
}

void shim_decoder_seeds() {
	const std::string t = "fuzz_shim_decoder";
	HostHello host_hello;
	host_hello.pid = 99;
	host_hello.python = "3.11.2";
	Bytes outputs = batch(FrameType::Outputs, 7000, {{0, 0.5}, {3, 1.0}, {1, 0.0}});
	write_seed(t, "show", shim_input(0, 4, 1, cat({outputs, frame(Log{0, "hello from python"}), frame(Heartbeat{7100, 3}),
	                                               batch(FrameType::Outputs, 7200, {{2, 0.25}}), frame(Log{1, "debug"})})));
	write_seed(t, "show-error", shim_input(0, 2, 2, cat({outputs, frame(Error{"mm-pyhost stopped: SIGTERM"})})));
	ConfigureResult ok;
	ConfigureResult refused;
	refused.ok = false;
	refused.error = "no such module";
	write_seed(t, "replay", shim_input(1 | (2 << 2), 3, 3,
	                                   cat({frame(host_hello), frame(Log{0, "importing"}), frame(ok), frame(refused),
	                                        frame(Started{}), frame(Heartbeat{7000, 0}), outputs})));
	write_seed(t, "replay-no-lines", shim_input(1, 1, 4, cat({frame(host_hello), frame(Started{}),
	                                                          batch(FrameType::Outputs, 1, {{0, 1.0}})})));
	ConfigureResult with_outputs;
	with_outputs.outputs = {{"initial", 0.25}, {"other", 1.0}};
	write_seed(t, "configure-start", shim_input(2, 2, 5, cat({frame(Log{0, "configuring"}), frame(with_outputs),
	                                                          frame(Heartbeat{1, 0}), frame(Started{}),
	                                                          batch(FrameType::Outputs, 2, {{0, 0.25}, {2, 0.5}})})));
	write_seed(t, "state", shim_input(0, 2, 7, cat({frame(State{kStateSnapshot}), outputs, frame(State{{0x80}})})));
	write_seed(t, "shutdown", shim_input(3, 2, 6, cat({outputs, frame(Log{0, "cleaning up"}), empty(FrameType::Bye)})));
}

}  // namespace

void driver_seeds() {
	const std::string t = "fuzz_driver";
	auto seed = [&](const std::string& name, uint8_t kind, const std::string& line) {
		Bytes bytes{kind};
		bytes.insert(bytes.end(), line.begin(), line.end());
		write_seed(t, name, bytes);
	};
	DriverRequest start;
	start.op = DriverRequest::Op::Start;
	start.instance = "py1";
	start.directory = "/show";
	start.options = {{"module", "example"}, {"fade-rate", "40"}};
	start.channels = {"example.in1", "out1"};
	seed("start-lines", 0, encode(start));
	DriverRequest from_config;
	from_config.op = DriverRequest::Op::Start;
	from_config.instance = "py1";
	from_config.config = "/show/show.cfg";
	seed("start-config", 0, encode(from_config));
	DriverRequest input;
	input.op = DriverRequest::Op::Input;
	input.events = {{"example.in1", 0.25}, {"out1", 1}};
	seed("input", 0, encode(input));
	DriverRequest advance;
	advance.op = DriverRequest::Op::Advance;
	advance.ms = 1000;
	seed("advance", 0, encode(advance));
	seed("stop", 0, encode(DriverRequest{}));
	seed("reply", 1, "Traceback (most recent call last):");
}

int main(int argc, char** argv) {
	if (argc != 2) {
		std::fprintf(stderr, "usage: mmpy_fuzz_seeds OUTDIR\n");
		return 2;
	}
	out_dir = argv[1];
	frame_decoder_seeds();
	control_seeds();
	host_command_seeds();
	operator_seeds();
	host_session_seeds();
	shim_decoder_seeds();
	driver_seeds();
	return 0;
}
