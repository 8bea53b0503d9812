// The documentation's example module, unchanged, with a local TCP server for its socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "port_lock.h"
#include "python_test.h"

using namespace mmpy::test;

namespace {

std::string example_module() {
	std::ifstream in(std::string(MMPY_SOURCE_DIR) + "/examples/demo/example.py");
	std::stringstream text;
	text << in.rdbuf();
	return text.str();
}

// A listening TCP socket on 127.0.0.1:port, closed at the end of the test.
struct TcpServer {
	int fd = -1;
	explicit TcpServer(uint16_t port) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		int on = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		sockaddr_in address{};
		address.sin_family = AF_INET;
		address.sin_port = htons(port);
		address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 || listen(fd, 1) != 0) {
			close(fd);
			fd = -1;
		}
	}
	~TcpServer() {
		if (fd >= 0) {
			close(fd);
		}
	}
};

}  // namespace

TEST_CASE("the documentation's example module runs unchanged", "[python][example]") {
	std::string module = example_module();
	REQUIRE(module.find("s.connect((\"localhost\", 8990))") != std::string::npos);
	PortLock turn(8990);
	TcpServer server(8990);
	REQUIRE(server.fd >= 0);

	CoreProcess core(R"(
[python py1]
module = example
[test t]
[map]
t.fader > py1.example.in1
py1.out1 > t.led
)",
	                 {{"example.py", module}});
	REQUIRE(core.wait_started());
	int client = accept(server.fd, nullptr, nullptr);
	REQUIRE(client >= 0);

	SECTION("its channel handler inverts the fader") {
		core.inject("t.fader", 0.2);
		CHECK(next_value(core, "t.led") == Approx(0.8));
	}
	SECTION("its interval prints the core's timestamp every second") {
		auto first = core.process().wait_stderr(matches("^python\tpy1: [0-9]+$"), Duration(5000));
		auto second = core.process().wait_stderr(matches("^python\tpy1: [0-9]+$"), Duration(5000));
		INFO(core.transcript());
		REQUIRE(first);
		REQUIRE(second);
		auto ms = [](const std::string& line) { return std::stoull(line.substr(line.rfind(' ') + 1)); };
		CHECK(ms(*second) > ms(*first));
	}
	SECTION("its socket handler is called with what the server sends, and unmanages on close") {
		const char text[] = "GO cue 7";
		REQUIRE(send(client, text, sizeof(text) - 1, 0) == sizeof(text) - 1);
		REQUIRE_LOG(core, "py1: Received 8 bytes from socket: b'GO cue 7'");
		close(client);
		client = -1;
		REQUIRE_LOG(core, "py1: Received 0 bytes from socket: b''");
		core.inject("t.fader", 1.0);
		CHECK(next_value(core, "t.led") == Approx(0.0));
	}
	if (client >= 0) {
		close(client);
	}
	CHECK(core.stop() == 0);
}
