// The attach-mode listener as a show runs it: started by systemd's socket activation, its
// socket private to its user, and its instance hosts ending with it however it ends.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "control.h"
#include "../python/python_test.h"

using namespace mmpy::test;

namespace {

// The environment of a running process, NUL-separated as the kernel keeps it.
std::string environment_of(pid_t pid) {
	std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// Permission bits and owner of a path (lstat: a link is not followed).
struct stat stat_of(const std::string& path) {
	struct stat info{};
	REQUIRE(lstat(path.c_str(), &info) == 0);
	return info;
}

// What systemd's socket unit does: bind and listen. Not close-on-exec, so the listener's
// start-up wrapper inherits it.
int listening_socket(const std::string& path) {
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	REQUIRE(fd >= 0);
	sockaddr_un address{};
	address.sun_family = AF_UNIX;
	REQUIRE(path.size() < sizeof(address.sun_path));
	std::strcpy(address.sun_path, path.c_str());
	REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
	REQUIRE(listen(fd, 16) == 0);
	return fd;
}

// Starts `mm-pyhost --listen` as systemd would: descriptor `fd` becomes 3, LISTEN_FDS
// counts it and LISTEN_PID is the pid of the process that runs mm-pyhost (bash's own, as
// `exec` keeps it). `fds` is the LISTEN_FDS value to announce.
std::unique_ptr<ChildProcess> start_activated(int fd, const std::string& fds = "1") {
	std::string move = fd == 3 ? "" : " 3<&" + std::to_string(fd) + " " + std::to_string(fd) + "<&-";
	std::string script = "export LISTEN_FDS=" + fds + " LISTEN_PID=$$ LISTEN_FDNAMES=mm-pyhost.socket; "
	                     "exec \"$0\" --listen" + move;
	return std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/bash", "-c", script, host_path()});
}

// Asserts a listener line containing `text` arrives, showing the listener's output if not.
#define REQUIRE_LISTENER_LOG(listener, text)                                  \
	do {                                                                      \
		auto found_line = (listener).wait_stderr_anywhere(contains(text));    \
		INFO("waiting for listener line: " << (text) << "\n" << (listener).transcript()); \
		REQUIRE(found_line);                                                  \
	} while (0)

const char* kModule = R"(
import os
import midimonster
def handler(value):
    midimonster.output("out", value)
def save():
    open("cleanup-%d.txt" % os.getpid(), "w").write("yes")
midimonster.cleanup_handler(save)
)";

// Two instances: two connections, two instance hosts.
std::string show_config(const std::string& socket_path) {
	return "[backend python]\nsocket = " + socket_path + R"(
[python py1]
module = tidy
[python py2]
module = tidy
[test t]
[map]
t.in > py1.tidy.handler
py1.out > t.out
t.in2 > py2.tidy.handler
py2.out > t.out2
)";
}

// A show through the listener at `socket_path`: started, and a value through each instance.
std::unique_ptr<CoreProcess> start_show(const std::string& socket_path) {
	auto core = std::make_unique<CoreProcess>(show_config(socket_path), std::map<std::string, std::string>{{"tidy.py", kModule}});
	bool started = core->wait_started();
	INFO(core->transcript());
	REQUIRE(started);
	core->inject("t.in", 0.25);
	CHECK(next_value(*core, "t.out") == Approx(0.25));
	core->inject("t.in2", 0.75);
	CHECK(next_value(*core, "t.out2") == Approx(0.75));
	return core;
}

// How many instance hosts ran their cleanup handler (each writes cleanup-PID.txt).
size_t cleanups_run(CoreProcess& core) {
	size_t count = 0;
	for (const auto& entry : std::filesystem::directory_iterator(core.dir().path())) {
		count += entry.path().filename().string().starts_with("cleanup-");
	}
	return count;
}

// What another user's process sees after connecting and saying hello, run in a child that
// drops to uid/gid 65534 first. Exit status: 0 closed without a word, 1 the listener
// answered, 2 connect failed, 3 nothing happened in time, 4 could not change user.
int connect_as_nobody(const std::string& path) {
	std::vector<uint8_t> hello;
	mmpy::protocol::ShimHello message;
	message.instance = "intruder";
	message.directory = "/";
	REQUIRE(mmpy::protocol::encode(hello, message));
	pid_t child = fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0) {
			_exit(4);
		}
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		sockaddr_un address{};
		address.sun_family = AF_UNIX;
		std::strcpy(address.sun_path, path.c_str());
		if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
			_exit(2);
		}
		if (send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET) {
			_exit(2);
		}
		pollfd ready{fd, POLLIN, 0};
		if (poll(&ready, 1, 10000) != 1) {
			_exit(3);
		}
		char byte;
		ssize_t n = read(fd, &byte, 1);
		_exit(n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 1);
	}
	int status = 0;
	REQUIRE(waitpid(child, &status, 0) == child);
	REQUIRE(WIFEXITED(status));
	return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("socket activation: the listener serves the socket systemd passes", "[listener][systemd]") {
	TempDir run;
	std::string socket_path = run.file("activated.sock");
	int fd = listening_socket(socket_path);
	auto listener = start_activated(fd);
	close(fd);  // the listener holds it now, as systemd holds its own copy
	REQUIRE_LISTENER_LOG(*listener, "listening on " + socket_path + " (socket from systemd)");

	{
		auto core = start_show(socket_path);
		auto hosts = host_pids_below(listener->pid());
		REQUIRE(hosts.size() == 2);
		for (pid_t host : hosts) {
			// The variables were for the listener alone: an instance host must not take them.
			INFO("environment of instance host " << host);
			CHECK(environment_of(host).find("LISTEN_") == std::string::npos);
		}
		CHECK(core->stop() == 0);
		CHECK(cleanups_run(*core) == 2);
	}
	listener->signal(SIGTERM);
	CHECK(listener->wait_exit() == 0);
	// systemd owns the socket file: it stays for the next listener.
	CHECK(S_ISSOCK(stat_of(socket_path).st_mode));
}

TEST_CASE("socket activation meant for another process is ignored", "[listener][systemd]") {
	TempDir run;
	std::string socket_path = run.file("own.sock");
	SpawnOptions options;
	options.env = {{"LISTEN_PID", "1"}, {"LISTEN_FDS", "1"}};
	ChildProcess listener({host_path(), "--listen", socket_path}, options);
	REQUIRE_LISTENER_LOG(listener, "listening on " + socket_path + "; ");
	CHECK(listener.wait_stderr_anywhere(contains("ignoring LISTEN_FDS=1: it was passed to process 1")));
	listener.signal(SIGTERM);
	CHECK(listener.wait_exit() == 0);
}

TEST_CASE("socket activation that cannot be served is refused with the reason", "[listener][systemd]") {
	TempDir run;
	SECTION("more than one socket") {
		int fd = listening_socket(run.file("one.sock"));
		auto listener = start_activated(fd, "2");
		close(fd);
		CHECK(listener->wait_exit() == 1);
		REQUIRE_LISTENER_LOG(*listener, "systemd passed LISTEN_FDS=2; mm-pyhost serves exactly one socket");
	}
	SECTION("descriptor 3 is not a listening socket") {
		int fd = open("/dev/null", O_RDONLY);
		REQUIRE(fd >= 0);
		auto listener = start_activated(fd);
		close(fd);
		CHECK(listener->wait_exit() == 1);
		REQUIRE_LISTENER_LOG(*listener, "descriptor 3 from systemd is not a listening Unix stream socket");
	}
}

TEST_CASE("stopping the listener with SIGTERM ends its instance hosts", "[listener][attach]") {
	TempDir run;
	std::string socket_path = run.file("mm-pyhost.sock");
	ChildProcess listener({host_path(), "--listen", socket_path});
	REQUIRE_LISTENER_LOG(listener, "listening on " + socket_path);
	auto core = start_show(socket_path);
	auto hosts = host_pids_below(listener.pid());
	REQUIRE(hosts.size() == 2);

	listener.signal(SIGTERM);
	CHECK(listener.wait_exit() == 0);
	for (pid_t host : hosts) {
		CHECK(gone_within(host, Duration(10000)));
	}
	CHECK(cleanups_run(*core) == 2);
	// A socket the listener made itself goes with it.
	struct stat info;
	CHECK(lstat(socket_path.c_str(), &info) != 0);
	core->stop();
}

TEST_CASE("a listener killed outright still ends its instance hosts", "[listener][attach]") {
	TempDir run;
	std::string socket_path = run.file("mm-pyhost.sock");
	auto listener = std::make_unique<ChildProcess>(std::vector<std::string>{host_path(), "--listen", socket_path});
	REQUIRE_LISTENER_LOG(*listener, "listening on " + socket_path);
	auto core = start_show(socket_path);
	auto hosts = host_pids_below(listener->pid());
	REQUIRE(hosts.size() == 2);

	listener->signal(SIGKILL);
	listener->wait_exit();
	for (pid_t host : hosts) {
		CHECK(gone_within(host, Duration(10000)));
	}
	CHECK(cleanups_run(*core) == 2);
	core->stop();

	// The next listener takes over the socket file the killed one left.
	ChildProcess next({host_path(), "--listen", socket_path});
	REQUIRE_LISTENER_LOG(next, "listening on " + socket_path);
	next.signal(SIGTERM);
	CHECK(next.wait_exit() == 0);
}

TEST_CASE("an instance host whose listener has already gone does not serve", "[listener][attach]") {
	// The listener's pid no longer being our parent means it died before the instance host
	// could ask to be stopped with it.
	ChildProcess host({host_path(), "--fd", "3", "--exit-with-parent", "1"});
	CHECK(host.wait_exit() == 1);
	CHECK(host.wait_stderr_anywhere(contains("the listener (pid 1) has already gone")));
}

TEST_CASE("a listener given no path listens in a private folder under XDG_RUNTIME_DIR", "[listener][security]") {
	TempDir run;
	std::string folder = run.file("mm-pyhost");
	std::string socket_path = folder + "/socket";
	SpawnOptions options;
	options.env = {{"XDG_RUNTIME_DIR", run.path()}};
	ChildProcess listener({host_path(), "--listen"}, options);
	REQUIRE_LISTENER_LOG(listener, "listening on " + socket_path + "; cores reach it with 'socket = " + socket_path + "'");

	struct stat folder_info = stat_of(folder);
	CHECK(S_ISDIR(folder_info.st_mode));
	CHECK((folder_info.st_mode & 07777) == 0700);
	CHECK(folder_info.st_uid == geteuid());
	struct stat socket_info = stat_of(socket_path);
	CHECK(S_ISSOCK(socket_info.st_mode));
	CHECK((socket_info.st_mode & 07777) == 0600);

	{
		auto core = start_show(socket_path);
		CHECK(core->stop() == 0);
	}
	listener.signal(SIGTERM);
	CHECK(listener.wait_exit() == 0);
}

TEST_CASE("an existing socket folder that is not private is refused", "[listener][security]") {
	TempDir run;
	std::string folder = run.file("mm-pyhost");
	SpawnOptions options;
	options.env = {{"XDG_RUNTIME_DIR", run.path()}};
	std::string expected;
	SECTION("open to other users") {
		REQUIRE(mkdir(folder.c_str(), 0700) == 0);
		REQUIRE(chmod(folder.c_str(), 0755) == 0);
		expected = "refusing to listen in " + folder + ": its mode is 0755";
	}
	SECTION("a link to a folder") {
		REQUIRE(mkdir(run.file("elsewhere").c_str(), 0700) == 0);
		REQUIRE(symlink(run.file("elsewhere").c_str(), folder.c_str()) == 0);
		expected = "refusing to listen in " + folder + ": it is not a folder";
	}
	SECTION("owned by another user") {
		if (geteuid() != 0) {
			WARN("skipped: giving the folder to another user needs root");
			return;
		}
		REQUIRE(mkdir(folder.c_str(), 0700) == 0);
		REQUIRE(chown(folder.c_str(), 65534, 65534) == 0);
		expected = "refusing to listen in " + folder + ": it belongs to uid 65534";
	}
	ChildProcess listener({host_path(), "--listen"}, options);
	CHECK(listener.wait_exit() == 1);
	REQUIRE_LISTENER_LOG(listener, expected);
	struct stat info;
	CHECK(lstat((folder + "/socket").c_str(), &info) != 0);
}

TEST_CASE("a connection from another user is refused before any host starts", "[listener][security]") {
	if (geteuid() != 0) {
		WARN("skipped: connecting as another user needs root");
		return;
	}
	TempDir run;
	std::string socket_path = run.file("mm-pyhost.sock");
	ChildProcess listener({host_path(), "--listen", socket_path});
	REQUIRE_LISTENER_LOG(listener, "listening on " + socket_path);
	// Open the file modes wide, as a careless SocketMode= or chmod would: the uid check
	// alone must keep the other user out.
	REQUIRE(chmod(run.path().c_str(), 0755) == 0);
	REQUIRE(chmod(socket_path.c_str(), 0666) == 0);

	CHECK(connect_as_nobody(socket_path) == 0);
	REQUIRE_LISTENER_LOG(listener, "refused a connection from uid 65534 (pid ");
	CHECK(host_pids_below(listener.pid()).empty());
	CHECK(!listener.wait_stderr_anywhere(contains("core connected"), Duration(0)));

	// The listener's own user is still served.
	{
		auto core = start_show(socket_path);
		CHECK(core->stop() == 0);
	}
	listener.signal(SIGTERM);
	CHECK(listener.wait_exit() == 0);
}
