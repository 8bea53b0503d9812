// Specification of plugin loading and of the plugin ABI as seen by a dlopen()ed backend.
#include <filesystem>

#include "core_test_util.h"

using namespace core_test;

namespace {

const char* echo_loop_config =
    "[test t]\n"
    "[echo e]\n"
    "mode = %MODE%\n"
    "gain = 2\n"
    "[map]\n"
    "t.a > e.x\n"
    "e.x > t.b\n";

// The echo round trip config with `mode` filled in.
std::string echo_config(const std::string& mode) {
	std::string text = echo_loop_config;
	text.replace(text.find("%MODE%"), 6, mode);
	return text;
}

}  // namespace

TEST_CASE("a plugin's backend handles events and pushes new ones back into the core", "[core][plugins]") {
	CoreProcess core(echo_config("direct"), {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("t.a", 0.25);
	auto e = core.wait_event("t.b");
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->value == Approx(0.5));
	CHECK(core.stop() == 0);
}

TEST_CASE("events a plugin reads from a managed fd reach their targets", "[core][plugins]") {
	CoreProcess core(echo_config("pipe"), {}, test_plugins());
	REQUIRE(core.wait_started());
	core.inject("t.a", 0.125);
	auto e = core.wait_event("t.b");
	INFO(core.transcript());
	REQUIRE(e);
	CHECK(e->value == Approx(0.25));
	CHECK_FALSE(core.wait_log("foreign impl", Duration(0)));
	CHECK(core.stop() == 0);
}

TEST_CASE("channel flags tell a backend which side of a mapping its channel is on", "[core][plugins]") {
	CoreProcess core("[test t]\n[echo e]\n[map]\nt.a > e.target\ne.source > t.b\ne.both <> t.c\n", {},
	                 test_plugins());
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	CHECK(core.wait_log("channel e.target flags=2"));
	CHECK(core.wait_log("channel e.source flags=1"));
	CHECK(core.wait_log("channel e.both flags=1"));
	CHECK(core.wait_log("channel e.both flags=2"));
}

TEST_CASE("an instance's name is set only after create(), as in MIDIMonster", "[core][plugins]") {
	CoreProcess core("[echo e]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	CHECK(core.wait_log("echo\tcreate name=(null)"));
	CHECK(core.wait_log("Created echo instance e"));
}

TEST_CASE("start() gets the backend's instances and a running clock", "[core][plugins]") {
	CoreProcess core("[echo e1]\n[echo e2]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	CHECK(core.wait_log("echo\tstart 2 instances, timestamp nonzero=1"));
}

TEST_CASE("start() is not called for a backend without instances, shutdown() is", "[core][plugins]") {
	CoreProcess core("[test t]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	CHECK(core.stop() == 0);
	INFO(core.transcript());
	CHECK(stderr_index(core, "echo\tstart") == -1);
	CHECK(core.wait_log("echo\tshutdown 0 instances", Duration(0)));
}

TEST_CASE("channel_free() runs for channels with impl before shutdown()", "[core][plugins]") {
	CoreProcess core(echo_config("direct"), {}, test_plugins());
	REQUIRE(core.wait_started());
	CHECK(core.stop() == 0);
	INFO(core.transcript());
	CHECK(core.wait_log("echo\tshutdown 1 instances after 1 channel_free calls", Duration(0)));
}

TEST_CASE("files that are not loadable plugins are skipped", "[core][plugins]") {
	TempDir plugins;
	namespace fs = std::filesystem;
	fs::copy_file(test_plugin_dir() + "/echo.so", plugins.file("echo.so"));
	fs::copy_file(test_plugin_dir() + "/noinit.so", plugins.file("noinit.so"));
	plugins.write("broken.so", "not an ELF file\n");
	plugins.write("notes.txt", "ignored, wrong extension\n");
	fs::create_directory(plugins.file("folder.so"));

	CoreOptions options = test_plugins();
	options.plugin_dir = plugins.path();
	CoreProcess core(echo_config("direct"), {}, options);
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	CHECK(core.wait_log("Failed to load plugin " + plugins.path() + "/broken.so"));
	CHECK(stderr_index(core, "notes.txt") == -1);
	CHECK(stderr_index(core, "folder.so") == -1);
	core.inject("t.a", 0.25);
	CHECK(core.wait_event("t.b"));
}

TEST_CASE("a plugin whose init() fails aborts start-up", "[core][plugins]") {
	CoreOptions options = test_plugins();
	options.env["ECHO_FAIL_INIT"] = "1";
	CoreProcess core("[test t]\n", {}, options);
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 1);
	CHECK(core.wait_log("failed to initialize"));
	CHECK(stdout_index(core, "started") == -1);
}

TEST_CASE("a second backend with an existing name cannot register", "[core][plugins]") {
	CoreOptions options = test_plugins();
	options.env["ECHO_REGISTER_AS"] = "test";
	CoreProcess core("[test t]\n", {}, options);
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 1);
	CHECK(core.wait_log("failed to register backend test"));
}

TEST_CASE("a missing plugin folder aborts start-up", "[core][plugins]") {
	CoreOptions options = test_plugins();
	options.plugin_dir = "/nonexistent/plugins";
	CoreProcess core("[test t]\n", {}, options);
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 1);
	CHECK(core.wait_log("Failed to open plugin search path /nonexistent/plugins"));
}

TEST_CASE("the core exports its API to plugins", "[core][plugins]") {
	// echo.so resolves mm_* and log_printf against the executable at dlopen(RTLD_NOW) time;
	// a successful round trip in pipe mode uses all of them.
	CoreProcess core(echo_config("pipe"), {}, test_plugins());
	REQUIRE(core.wait_started());
	INFO(core.transcript());
	CHECK(stderr_index(core, "undefined symbol") == -1);
	CHECK(core.wait_log("Registered backend echo"));
}
