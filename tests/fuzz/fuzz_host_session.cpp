// fuzz_host_session: the host's protocol state machine (host/session.cpp) fed arbitrary
// frame sequences, through its real Connection: each input is written to one end of a
// socketpair (then shut down), the Session serves the other end on a libuv loop until it
// finishes, exactly as mm-pyhost --fd 3 would. Frames come in any order, before and after
// the handshake; Configure lines import modules, Start frames name handlers, Inputs call them.
//
// What the harness checks besides the sanitizers: everything the host sends back is a
// well-formed frame a host may send (its first frame Hello or Error, outputs only after
// Started, values within 0..1); the session always finishes; it leaves no libuv handle,
// descriptor, thread or Python exception behind.
//
// One interpreter serves every input (PythonRuntime leaves an interpreter it did not start
// running, see python_runtime.h). Between inputs the harness restores sys.path,
// sys.meta_path, sys.modules and friends, so that inputs do not depend on each other and
// nothing grows. Python is sandboxed, since inputs choose what is imported and called:
//   - only a whitelist of modules can be imported (a finder first on sys.meta_path, and an
//     audit hook for the import statement): math and the fixture modules of tests/fuzz/fixture,
//     copied into a private temporary folder that is also the session's working folder;
//   - code can only be loaded from that folder (an open-code hook);
//   - an audit hook refuses processes, signals to others, files opened for writing, file
//     system changes, sockets, ctypes, sleeping, reading stdin, trace hooks (the full list
//     is kDenied below); stdin is /dev/null in any case.
// Inputs whose Advance frames move a virtual clock more than a minute are skipped (each
// interval tick on the way would run). Handlers are called with one float argument, which
// keeps most of the standard library out of reach; the audit hook covers the rest.
#include <Python.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "control.h"
#include "events.h"
#include "frame.h"
#include "fuzz_util.h"
#include "midimonster_module.h"
#include "session.h"

namespace protocol = mmpy::protocol;
using protocol::FrameType;

namespace {

// The modules an input may import (and everything below them).
const char* const kAllowedModules[] = {"math", "mmpy_fuzz_fixture", "mmpy_fuzz_raises", "mmpy_fuzz_syntax"};

// Audit events refused once the sandbox is armed: prefixes of event names.
const char* const kDenied[] = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg",
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.chflags", "os.link",
    "os.symlink", "os.truncate", "os.utime", "os.putenv", "os.unsetenv", "os.chdir", "os.setxattr",
    "os.removexattr", "subprocess.", "pty.", "webbrowser.", "shutil.", "socket.", "ctypes.", "sys.settrace",
    "sys.setprofile", "sys.addaudithook", "setopencodehook", "builtins.input", "time.sleep",
    "signal.pthread_kill", "tempfile.", "resource.", "sqlite3.", "urllib.", "http.", "ftplib.", "smtplib.",
    "telnetlib.", "nntplib.", "poplib.", "imaplib.", "mmap.", "syslog.", "fcntl.",
};

bool armed = false;           // the sandbox applies (not while the harness sets Python up)
std::string sandbox;          // private temporary folder: fixture copies, the sessions' cwd
std::string original_cwd;
PyObject* reset_python = nullptr;  // restores sys.path & co. between inputs

bool allowed_module(PyObject* name) {
	const char* text = name && PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : nullptr;
	if (!text) {
		PyErr_Clear();
		return false;
	}
	std::string_view top(text);
	top = top.substr(0, top.find('.'));
	for (const char* allowed : kAllowedModules) {
		if (top == allowed) {
			return true;
		}
	}
	return false;
}

// open(), os.open(), io.open(): refused when the file would be written, created or truncated.
bool opens_for_writing(PyObject* args) {
	PyObject* mode = PyTuple_Size(args) > 1 ? PyTuple_GetItem(args, 1) : nullptr;
	PyObject* flags = PyTuple_Size(args) > 2 ? PyTuple_GetItem(args, 2) : nullptr;
	if (mode && PyUnicode_Check(mode)) {
		const char* text = PyUnicode_AsUTF8(mode);
		return !text || std::strpbrk(text, "wax+") != nullptr;
	}
	if (flags && PyLong_Check(flags)) {
		long value = PyLong_AsLong(flags);
		return (value & O_ACCMODE) != O_RDONLY || (value & (O_CREAT | O_TRUNC | O_APPEND)) != 0;
	}
	return true;
}

// The audit hook: a C hook cannot be removed or bypassed by Python code.
int audit(const char* event, PyObject* args, void*) {
	if (!armed) {
		return 0;
	}
	std::string_view name(event);
	if (name == "import") {
		PyObject* module = PyTuple_Size(args) > 0 ? PyTuple_GetItem(args, 0) : nullptr;
		if (!allowed_module(module)) {
			PyErr_Format(PyExc_ModuleNotFoundError, "the fuzz harness allows no module %R", module ? module : Py_None);
			return -1;
		}
		return 0;
	}
	if (name == "open") {
		if (opens_for_writing(args)) {
			PyErr_SetString(PyExc_PermissionError, "the fuzz harness opens no file for writing");
			return -1;
		}
		return 0;
	}
	// asyncio's loop makes its self-pipe with socket.socketpair(); no other socket is allowed.
	if (name == "socket.__new__") {
		return 0;
	}
	for (const char* denied : kDenied) {
		if (name.rfind(denied, 0) == 0) {
			PyErr_Format(PyExc_PermissionError, "the fuzz harness forbids %s", event);
			return -1;
		}
	}
	return 0;
}

// Module source is read through this hook: only the sandbox's files can become code.
PyObject* open_code(PyObject* path, void*) {
	if (armed) {
		const char* text = PyUnicode_AsUTF8(path);
		if (!text) {
			return nullptr;
		}
		std::string file(text);
		if (file.rfind(sandbox + "/", 0) != 0 || file.find("/..") != std::string::npos) {
			PyErr_Format(PyExc_PermissionError, "the fuzz harness loads no code from %R", path);
			return nullptr;
		}
	}
	PyObject* io = PyImport_ImportModule("_io");
	if (!io) {
		return nullptr;
	}
	PyObject* file = PyObject_CallMethod(io, "open", "Os", path, "rb");
	Py_DECREF(io);
	return file;
}

// Python-side setup: imports the host's bootstrap needs (before the whitelist applies),
// the import gate, and reset(), which undoes what an input changed in the global state.
const char* kSetup = R"PY(
import sys, os, gc, io, signal, warnings, importlib, importlib.util, importlib.machinery
import midimonster, linecache, traceback
# What the host's own Python (host/tasks.py, show_code.py, kept_state.py) imports, before
# the import gate closes.
import asyncio, contextvars, inspect, math, numbers, selectors, weakref, importlib.abc, pickle, pickletools

class _FuzzImportGate:
    """First on sys.meta_path: modules outside the whitelist are not found, however
    they are imported (importlib.import_module does not raise the import audit event)."""
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            raise ModuleNotFoundError("the fuzz harness allows no module %r" % name, name=name)
        return None

    @classmethod
    def invalidate_caches(cls):
        pass

sys.dont_write_bytecode = True
sys.meta_path.insert(0, _FuzzImportGate)
sys.path.insert(0, SANDBOX)
_path = list(sys.path)
_meta_path = list(sys.meta_path)
_path_hooks = list(sys.path_hooks)
_modules = set(sys.modules)
_filters = list(warnings.filters)
_gc_callbacks = list(gc.callbacks)

def reset():
    sys.path[:] = _path
    sys.meta_path[:] = _meta_path
    sys.path_hooks[:] = _path_hooks
    for key in [k for k in sys.path_importer_cache if k not in _path]:
        del sys.path_importer_cache[key]
    for name in [n for n in sys.modules if n not in _modules]:
        del sys.modules[name]
    warnings.filters[:] = _filters
    gc.callbacks[:] = _gc_callbacks
)PY";

void copy_fixture() {
	char folder[] = "/tmp/mmpy-fuzz-XXXXXX";
	FUZZ_CHECK(mkdtemp(folder), "mkdtemp: %s", std::strerror(errno));
	sandbox = folder;
	for (const auto& entry : std::filesystem::directory_iterator(MMPY_FUZZ_FIXTURE_DIR)) {
		if (entry.path().extension() == ".py") {
			std::filesystem::copy_file(entry.path(), sandbox / entry.path().filename());
		}
	}
	std::atexit([] {
		std::error_code ignored;
		std::filesystem::remove_all(sandbox, ignored);
	});
}

void start_python() {
	PySys_AddAuditHook(audit, nullptr);
	PyFile_SetOpenCodeHook(open_code, nullptr);
	PyImport_AppendInittab("midimonster", mmpy::host::init_midimonster_module);

	// Every Python object from plain malloc(): AddressSanitizer sees each, and LeakSanitizer
	// can follow pointers through them (pymalloc's arenas would hide both).
	PyPreConfig preconfig;
	PyPreConfig_InitPythonConfig(&preconfig);
	preconfig.allocator = PYMEM_ALLOCATOR_MALLOC;
	preconfig.use_environment = 0;
	PyStatus pre = Py_PreInitialize(&preconfig);
	FUZZ_CHECK(!PyStatus_Exception(pre), "Python failed to pre-initialize: %s", pre.err_msg ? pre.err_msg : "?");

	// As PythonRuntime::start configures it, but blind to the environment and writing no
	// bytecode next to the fixture.
	PyConfig config;
	PyConfig_InitPythonConfig(&config);
	config.install_signal_handlers = 0;
	config.parse_argv = 0;
	config.buffered_stdio = 0;
	config.use_environment = 0;
	config.user_site_directory = 0;
	config.write_bytecode = 0;
	PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, "mm-pyhost");
	if (!PyStatus_Exception(status)) {
		status = Py_InitializeFromConfig(&config);
	}
	PyConfig_Clear(&config);
	FUZZ_CHECK(!PyStatus_Exception(status), "Python failed to start: %s", status.err_msg ? status.err_msg : "?");

	PyObject* globals = PyDict_New();
	PyObject* allowed = PyFrozenSet_New(nullptr);
	for (const char* name : kAllowedModules) {
		PyObject* text = PyUnicode_FromString(name);
		PySet_Add(allowed, text);
		Py_DECREF(text);
	}
	PyObject* folder = PyUnicode_DecodeFSDefault(sandbox.c_str());
	PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
	PyDict_SetItemString(globals, "ALLOWED", allowed);
	PyDict_SetItemString(globals, "SANDBOX", folder);
	Py_DECREF(allowed);
	Py_DECREF(folder);
	PyObject* result = PyRun_String(kSetup, Py_file_input, globals, globals);
	if (!result) {
		PyErr_Print();
	}
	FUZZ_CHECK(result, "the harness's Python setup failed");
	Py_DECREF(result);
	reset_python = PyDict_GetItemString(globals, "reset");
	Py_INCREF(reset_python);
	Py_DECREF(globals);
}

// --- the shim's end of the socketpair --------------------------------------------------

// Writes the input, then shuts down its sending side; reads and checks everything the
// host sends, so the host never blocks on a full socket.
struct Peer {
	uv_poll_t poll{};
	int fd = -1;
	std::span<const uint8_t> input;
	size_t written = 0;
	bool writing = true;
	bool reading = true;
	int watched = 0;
	protocol::FrameDecoder decoder;
	size_t frames = 0;
	bool started = false;  // the host said Started
	bool bye = false;

	void check(const protocol::Frame& frame) {
		std::string error;
		auto type = static_cast<uint16_t>(frame.type);
		if (frames++ == 0) {
			FUZZ_CHECK(frame.type == FrameType::Hello || frame.type == FrameType::Error,
			           "the host's first frame is %s, not hello or error", protocol::frame_type_name(type));
		}
		switch (frame.type) {
		case FrameType::Hello: {
			protocol::HostHello hello;
			FUZZ_CHECK(protocol::parse(frame.payload, hello, error), "host hello: %s", error.c_str());
			FUZZ_CHECK(frames == 1, "a second hello from the host");
			break;
		}
		case FrameType::ConfigureResult: {
			protocol::ConfigureResult result;
			FUZZ_CHECK(protocol::parse(frame.payload, result, error), "configure-result: %s", error.c_str());
			break;
		}
		case FrameType::Started: {
			protocol::Started message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "started: %s", error.c_str());
			FUZZ_CHECK(!started, "a second started from the host");
			started = true;
			break;
		}
		case FrameType::Log: {
			protocol::Log line;
			FUZZ_CHECK(protocol::parse(frame.payload, line, error), "log: %s", error.c_str());
			break;
		}
		case FrameType::Heartbeat: {
			protocol::Heartbeat beat;
			FUZZ_CHECK(protocol::parse(frame.payload, beat, error), "heartbeat: %s", error.c_str());
			break;
		}
		case FrameType::Error: {
			protocol::Error message;
			FUZZ_CHECK(protocol::parse(frame.payload, message, error), "error: %s", error.c_str());
			break;
		}
		case FrameType::Tasks: {
			protocol::Tasks tasks;
			FUZZ_CHECK(protocol::parse(frame.payload, tasks, error), "tasks: %s", error.c_str());
			break;
		}
		case FrameType::State: {
			protocol::State state;
			FUZZ_CHECK(protocol::parse(frame.payload, state, error), "state: %s", error.c_str());
			break;
		}
		case FrameType::Advanced: {
			protocol::Advanced advanced;
			FUZZ_CHECK(protocol::parse(frame.payload, advanced, error), "advanced: %s", error.c_str());
			FUZZ_CHECK(started, "advanced before started");
			break;
		}
		case FrameType::Bye:
			FUZZ_CHECK(!bye, "a second bye from the host");
			bye = true;
			break;
		case FrameType::Outputs: {
			protocol::BatchView batch;
			FUZZ_CHECK(protocol::BatchView::parse(frame.payload, batch, error), "outputs: %s", error.c_str());
			FUZZ_CHECK(batch.size() > 0, "an empty output batch");
			FUZZ_CHECK(started, "outputs before started");
			for (uint32_t i = 0; i < batch.size(); i++) {
				double value = batch[i].value;
				FUZZ_CHECK(std::isfinite(value) && value >= 0.0 && value <= 1.0, "output value %g", value);
			}
			break;
		}
		default:
			FUZZ_CHECK(false, "the host sent a %s frame, which only a shim sends", protocol::frame_type_name(type));
		}
	}

	void write_some() {
		while (written < input.size()) {
			size_t chunk = std::min<size_t>(input.size() - written, 64 * 1024);
			ssize_t n = send(fd, input.data() + written, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0) {
				written += static_cast<size_t>(n);
				continue;
			}
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				return;
			}
			writing = false;  // the host closed its end: the rest is never read
			return;
		}
		shutdown(fd, SHUT_WR);
		writing = false;
	}

	void read_all() {
		for (;;) {
			auto space = decoder.prepare(64 * 1024);
			ssize_t n = recv(fd, space.data(), space.size(), MSG_DONTWAIT);
			if (n > 0) {
				decoder.commit(static_cast<size_t>(n));
				continue;
			}
			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n != 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				break;
			}
			reading = false;
			break;
		}
		protocol::Frame frame{};
		for (;;) {
			auto status = decoder.next(frame);
			FUZZ_CHECK(status != protocol::FrameDecoder::Status::Invalid, "the host sent a malformed frame: %s",
			           decoder.error().c_str());
			if (status == protocol::FrameDecoder::Status::NeedMore) {
				break;
			}
			check(frame);
		}
	}

	void watch() {
		int events = (writing ? UV_WRITABLE : 0) | (reading ? UV_READABLE : 0);
		if (events == watched) {
			return;
		}
		watched = events;
		if (events == 0) {
			uv_poll_stop(&poll);
		} else {
			uv_poll_start(&poll, events, [](uv_poll_t* handle, int status, int ready) {
				auto* self = static_cast<Peer*>(handle->data);
				if (status < 0) {
					self->writing = self->reading = false;
				} else {
					if (ready & UV_WRITABLE) {
						self->write_some();
					}
					if (ready & UV_READABLE) {
						self->read_all();
					}
				}
				self->watch();
			});
		}
	}
};

// What each open descriptor is, for the message when some leaked.
std::string describe_descriptors() {
	std::string text;
	for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
		std::error_code error;
		text += "\n    " + entry.path().filename().string() + " -> " +
		        std::filesystem::read_symlink(entry.path(), error).string();
	}
	return text;
}

size_t count_entries(const char* folder) {
	DIR* dir = opendir(folder);
	FUZZ_CHECK(dir, "cannot list %s", folder);
	size_t n = 0;
	while (readdir(dir)) {
		n++;
	}
	closedir(dir);
	return n;
}

// A joined thread can stay listed in /proc/self/task for a moment after pthread_join
// returns; one that was never joined stays.
bool threads_settle_to(size_t expected) {
	for (int attempt = 0; attempt < 100; attempt++) {
		if (count_entries("/proc/self/task") <= expected) {
			return true;
		}
		usleep(1000);
	}
	return false;
}

}  // namespace

// One session over `data`, then the checks that it left nothing behind.
void run_session(const uint8_t* data, size_t size);

// A whole conversation, run once before fuzzing so that what libuv and Python set up once
// per process (libuv's signal pipe, Python's lazy imports) is not taken for a leak.
void warm_up() {
	std::vector<uint8_t> input;
	protocol::ShimHello hello;
	hello.instance = "warm-up";
	protocol::encode(input, hello);
	protocol::encode(input, protocol::Configure{"module", "mmpy_fuzz_fixture"});
	protocol::encode(input, protocol::Configure{"module", "math"});
	protocol::encode(input, protocol::Configure{"handler-timeout", "1"});
	protocol::Start start;
	start.channels = {{0, "mmpy_fuzz_fixture.echo"}, {1, "mmpy_fuzz_fixture.talk"}, {2, "mmpy_fuzz_fixture.fail"},
	                  {3, "mmpy_fuzz_fixture.work"}};
	protocol::encode(input, start);
	protocol::BatchWriter batch(input, FrameType::Inputs, 1);
	for (uint32_t id = 0; id < 4; id++) {
		batch.add(id, 0.5);
	}
	batch.finish();
	protocol::encode(input, protocol::Heartbeat{2, 0});
	protocol::encode_empty(input, FrameType::Shutdown);
	run_session(input.data(), input.size());
}

// libFuzzer's leak check after every input that allocated more than it freed: with Python
// that is nearly every input, and each check scans the whole heap (20x slower). Leaks are
// still reported when the process exits. An explicit -detect_leaks=... wins.
void without_per_input_leak_checks(int* argc, char*** argv) {
	static std::vector<char*> args;
	args.assign(*argv, *argv + *argc);
	for (char* arg : args) {
		if (std::strncmp(arg, "-detect_leaks=", 14) == 0) {
			return;
		}
	}
	static char flag[] = "-detect_leaks=0";
	args.insert(args.begin() + 1, flag);
	args.push_back(nullptr);
	*argc = static_cast<int>(args.size()) - 1;
	*argv = args.data();
}

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
	without_per_input_leak_checks(argc, argv);
	// Nothing an input runs may wait for a terminal.
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	FUZZ_CHECK(null >= 0 && dup2(null, 0) == 0, "cannot put /dev/null on stdin");
	close(null);
	char cwd[PATH_MAX];
	FUZZ_CHECK(getcwd(cwd, sizeof cwd), "getcwd: %s", std::strerror(errno));
	original_cwd = cwd;
	copy_fixture();
	start_python();
	armed = true;
	warm_up();
	return 0;
}

// An Advance of the virtual clock runs every interval tick on the way: one far into the
// future would run for hours, as it would in a test. Such inputs are skipped, not run.
bool advances_far(const uint8_t* data, size_t size) {
	protocol::FrameDecoder decoder;
	decoder.feed({data, size});
	protocol::Frame frame{};
	uint64_t start = 0;
	while (decoder.next(frame) == protocol::FrameDecoder::Status::Ready) {
		protocol::ShimHello hello;
		protocol::Advance advance;
		std::string error;
		if (frame.type == FrameType::Hello && protocol::parse(frame.payload, hello, error)) {
			start = hello.timestamp;
		} else if (frame.type == FrameType::Advance && protocol::parse(frame.payload, advance, error) &&
		           advance.to > start && advance.to - start > 60000) {
			return true;
		}
	}
	return false;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
	if (advances_far(data, size)) {
		return -1;  // not added to the corpus
	}
	// Counted around each input: libFuzzer itself opens descriptors (its symbolizer's pipes)
	// and starts threads between inputs.
	size_t fds_before = count_entries("/proc/self/fd");
	size_t threads_before = count_entries("/proc/self/task");
	run_session(data, size);
	FUZZ_CHECK(count_entries("/proc/self/fd") == fds_before, "descriptors leaked: %zu before the input, %zu after:%s",
	           fds_before, count_entries("/proc/self/fd"), describe_descriptors().c_str());
	FUZZ_CHECK(threads_settle_to(threads_before), "threads left: %zu before the input, %zu after", threads_before,
	           count_entries("/proc/self/task"));
	return 0;
}

void run_session(const uint8_t* data, size_t size) {
	// The instance's configuration folder, as the core's would be.
	FUZZ_CHECK(chdir(sandbox.c_str()) == 0, "chdir %s: %s", sandbox.c_str(), std::strerror(errno));

	int pair[2];
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0, "socketpair: %s", std::strerror(errno));
	uv_loop_t loop;
	FUZZ_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
	Peer peer;
	peer.fd = pair[0];
	peer.input = {data, size};
	{
		mmpy::host::Session session(&loop);
		std::string error;
		FUZZ_CHECK(session.open(pair[1], error), "Session::open: %s", error.c_str());

		FUZZ_CHECK(uv_poll_init(&loop, &peer.poll, peer.fd) == 0, "uv_poll_init");
		peer.poll.data = &peer;
		if (peer.input.empty()) {
			peer.write_some();  // just the end of the stream
		}
		peer.watch();

		// The host's loop, as main.cpp runs it: serves until the session is over.
		session.run();
		FUZZ_CHECK(session.finished(), "the loop ran dry but the session is not finished");
		FUZZ_CHECK(!session.instance().has_cleanup_handler(), "the cleanup handler outlived its session");
		uv_close(reinterpret_cast<uv_handle_t*>(&peer.poll), nullptr);
		// A finished session has closed all its handles. main.cpp closes whatever is left
		// and runs the loop out while the Session still exists, then destroys it: a handle
		// left open here would be closed twice there.
		uv_walk(&loop, [](uv_handle_t* handle, void*) {
			FUZZ_CHECK(uv_is_closing(handle), "a libuv handle of type %s outlived its session",
			           uv_handle_type_name(uv_handle_get_type(handle)));
		}, nullptr);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	// The Session's destructor may close handles, never open them.
	uv_walk(&loop, [](uv_handle_t* handle, void*) {
		FUZZ_CHECK(uv_is_closing(handle), "a libuv handle of type %s was opened by the session's destructor",
		           uv_handle_type_name(uv_handle_get_type(handle)));
	}, nullptr);
	uv_run(&loop, UV_RUN_DEFAULT);
	FUZZ_CHECK(uv_loop_close(&loop) == 0, "the loop still has handles");
	close(pair[0]);

	FUZZ_CHECK(!PyErr_Occurred(), "a Python exception escaped the session");
	FUZZ_CHECK(mmpy::host::midimonster_module_instance() == nullptr,
	           "the midimonster module still acts on the instance of a finished session");
	armed = false;
	PyObject* result = PyObject_CallNoArgs(reset_python);
	if (!result) {
		PyErr_Print();
	}
	FUZZ_CHECK(result, "resetting Python failed");
	Py_DECREF(result);
	armed = true;
	FUZZ_CHECK(chdir(original_cwd.c_str()) == 0, "chdir %s: %s", original_cwd.c_str(), std::strerror(errno));
}
