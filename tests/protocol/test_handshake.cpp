// The version verdict and the host's command line: one definition each, read by both ends.
#include <catch2/catch.hpp>

#include "handshake.h"
#include "host_command.h"

using namespace mmpy::protocol;

TEST_CASE("both ends judge a version pair the same way, in the same words", "[protocol][handshake]") {
	CHECK(judge_shim_version(kVersion).compatible);
	CHECK(judge_host_version(kVersion).compatible);
	VersionVerdict on_host = judge_shim_version(kVersion + 1);
	VersionVerdict in_shim = judge_host_version(kVersion - 1);
	CHECK_FALSE(on_host.compatible);
	CHECK_FALSE(in_shim.compatible);
	CHECK(describe(on_host) == "protocol version mismatch: python.so speaks version " + std::to_string(kVersion + 1) +
	                               ", mm-pyhost version " + std::to_string(kVersion) +
	                               "; install matching versions of python.so and mm-pyhost");
	CHECK(describe(in_shim).find("python.so speaks version " + std::to_string(kVersion) + ", mm-pyhost version " +
	                             std::to_string(kVersion - 1)) != std::string::npos);
}

namespace {
HostCommand parse(const std::vector<std::string>& words) {
	std::vector<const char*> argv;
	for (const std::string& word : words) {
		argv.push_back(word.c_str());
	}
	return parse_host_command(static_cast<int>(argv.size()), argv.data());
}
}  // namespace

TEST_CASE("the host reads back the command line the shim and the listener build", "[protocol][command]") {
	HostCommand spawned = parse(host_command("/usr/bin/mm-pyhost"));
	CHECK(spawned.mode == HostCommand::Mode::Serve);
	CHECK(spawned.fd == kHostFd);
	CHECK_FALSE(spawned.exit_with_parent);
	HostCommand child = parse(host_command("mm-pyhost", 4242));
	CHECK(child.mode == HostCommand::Mode::Serve);
	CHECK(child.exit_with_parent == 4242);
}

TEST_CASE("a host command line that is not one is Invalid", "[protocol][command]") {
	CHECK(parse({"mm-pyhost"}).mode == HostCommand::Mode::Invalid);
	CHECK(parse({"mm-pyhost", "--fd", "x"}).mode == HostCommand::Mode::Invalid);
	CHECK(parse({"mm-pyhost", "--fd", "x"}).error == "--fd needs a descriptor number, not 'x'");
	CHECK(parse({"mm-pyhost", "--fd", "3", "--exit-with-parent", "0"}).mode == HostCommand::Mode::Invalid);
	CHECK(parse({"mm-pyhost", "--fd", "3", "--other", "5"}).mode == HostCommand::Mode::Invalid);
	CHECK(parse({"mm-pyhost", "--listen"}).mode == HostCommand::Mode::Listen);
	CHECK(parse({"mm-pyhost", "--listen", "/run/x"}).listen_path == "/run/x");
	CHECK(parse({"mm-pyhost", "--version"}).mode == HostCommand::Mode::Version);
}
