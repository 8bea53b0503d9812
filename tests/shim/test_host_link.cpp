// The shim's link alone, over a socketpair: what each way a connection can end comes back as.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include "control.h"
#include "host_link.h"

using namespace mmpy::shim;
using mmpy::protocol::FrameType;

namespace {

struct Linked {
	HostLink link;
	int host = -1;

	Linked() {
		int pair[2];
		REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
		link.adopt(pair[0]);
		host = pair[1];
	}
	~Linked() {
		if (host >= 0) {
			close(host);
		}
	}
	void host_sends(const std::vector<uint8_t>& bytes) {
		REQUIRE(write(host, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
	}
};

HostLink::FrameHandler counting(int& frames) {
	return [&frames](const mmpy::protocol::Frame&) -> std::optional<HostLoss> {
		frames++;
		return std::nullopt;
	};
}

}  // namespace

TEST_CASE("frames the host sent are handed over once each", "[shim][link]") {
	Linked linked;
	std::vector<uint8_t> bytes;
	mmpy::protocol::encode(bytes, mmpy::protocol::Log{0, "one"});
	mmpy::protocol::encode(bytes, mmpy::protocol::Heartbeat{1, 2});
	linked.host_sends(bytes);
	int frames = 0;
	CHECK_FALSE(linked.link.receive(counting(frames)));
	CHECK(frames == 2);
	CHECK_FALSE(linked.link.receive(counting(frames)));
	CHECK(frames == 2);
}

TEST_CASE("a host that closes its end is a loss of kind Closed", "[shim][link]") {
	Linked linked;
	close(linked.host);
	linked.host = -1;
	int frames = 0;
	std::optional<HostLoss> loss = linked.link.receive(counting(frames));
	REQUIRE(loss);
	CHECK(loss->kind == HostLoss::Kind::Closed);
}

TEST_CASE("a frame the host sent before closing counts more than the close", "[shim][link]") {
	Linked linked;
	std::vector<uint8_t> bytes;
	mmpy::protocol::encode(bytes, mmpy::protocol::Error{"mm-pyhost stopped"});
	linked.host_sends(bytes);
	close(linked.host);
	linked.host = -1;
	auto refuse_errors = [](const mmpy::protocol::Frame& frame) -> std::optional<HostLoss> {
		return frame.type == FrameType::Error ? std::optional<HostLoss>(HostLoss{HostLoss::Kind::Stopped, "reason"})
		                                      : std::nullopt;
	};
	std::optional<HostLoss> loss = linked.link.receive(refuse_errors);
	REQUIRE(loss);
	CHECK(loss->kind == HostLoss::Kind::Stopped);
}

TEST_CASE("a header no host sends is a loss of kind Malformed", "[shim][link]") {
	Linked linked;
	linked.host_sends({4, 0, 0, 0, 99, 0, 0, 0, 1, 2, 3, 4});
	int frames = 0;
	std::optional<HostLoss> loss = linked.link.receive(counting(frames));
	REQUIRE(loss);
	CHECK(loss->kind == HostLoss::Kind::Malformed);
	CHECK(frames == 0);
}

TEST_CASE("writing to a host that is gone is a loss of kind WriteFailed", "[shim][link]") {
	Linked linked;
	close(linked.host);
	linked.host = -1;
	mmpy::protocol::encode(linked.link.outbox(), mmpy::protocol::Heartbeat{1, 0});
	std::optional<HostLoss> loss = linked.link.flush();
	REQUIRE(loss);
	CHECK(loss->kind == HostLoss::Kind::WriteFailed);
	CHECK(loss->error == EPIPE);
}

TEST_CASE("an exchange nobody answers ends as NoAnswer, one with a silent host as Silent", "[shim][link]") {
	Linked linked;
	std::vector<uint8_t> payload;
	int frames = 0;
	std::optional<HostLoss> waited = linked.link.exchange(FrameType::Bye, payload, 50, counting(frames));
	REQUIRE(waited);
	CHECK(waited->kind == HostLoss::Kind::NoAnswer);
	CHECK(waited->ms == 50);
	std::optional<HostLoss> quiet = linked.link.exchange(FrameType::Bye, payload, 5000, counting(frames), 50);
	REQUIRE(quiet);
	CHECK(quiet->kind == HostLoss::Kind::Silent);
	CHECK(quiet->ms == 50);
}

TEST_CASE("an exchange hands over the wanted frame and leaves the later ones", "[shim][link]") {
	Linked linked;
	std::vector<uint8_t> bytes;
	mmpy::protocol::encode(bytes, mmpy::protocol::Log{0, "before"});
	mmpy::protocol::encode_empty(bytes, FrameType::Bye);
	mmpy::protocol::encode(bytes, mmpy::protocol::Log{0, "after"});
	linked.host_sends(bytes);
	std::vector<uint8_t> payload;
	int frames = 0;
	CHECK_FALSE(linked.link.exchange(FrameType::Bye, payload, 1000, counting(frames)));
	CHECK(frames == 1);
	CHECK_FALSE(linked.link.dispatch(counting(frames)));
	CHECK(frames == 2);
}
