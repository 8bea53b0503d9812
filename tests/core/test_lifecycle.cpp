// Specification of mmcore's start-up, shutdown and command line.
#include <csignal>

#include "core_test_util.h"

using namespace core_test;

TEST_CASE("SIGINT and SIGTERM stop the core in order and it exits 0", "[core][lifecycle]") {
	int sig = GENERATE(SIGINT, SIGTERM);
	CoreProcess core("[test t]\n[echo e]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.process().signal(sig);
	auto status = core.process().wait_exit();
	INFO(core.transcript());
	CHECK(status == 0);
	CHECK(core.wait_log("echo\tshutdown 1 instances", Duration(0)));
	CHECK(stdout_index(core, "stopped") > stdout_index(core, "started"));
}

TEST_CASE("quit stops the core like SIGINT", "[core][lifecycle]") {
	CoreProcess core("[test t]\n[echo e]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	CHECK(core.stop() == 0);
	INFO(core.transcript());
	CHECK(core.wait_log("echo\tshutdown 1 instances", Duration(0)));
	CHECK(stdout_index(core, "stopped") >= 0);
}

TEST_CASE("end of stdin does not stop the core", "[core][lifecycle]") {
	CoreProcess core("[test t]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	core.process().close_stdin();
	CHECK_FALSE(core.process().wait_exit(Duration(300)));
	CHECK(core.process().running());
	core.process().signal(SIGINT);
	INFO(core.transcript());
	CHECK(core.process().wait_exit() == 0);
}

TEST_CASE("a configuration error still runs every backend's shutdown", "[core][lifecycle]") {
	CoreProcess core("[echo e]\n[test t]\nnot valid\n", {}, test_plugins());
	auto status = core.process().wait_exit();
	INFO(core.transcript());
	CHECK(status == 1);
	CHECK(core.wait_log("echo\tshutdown 1 instances", Duration(0)));
	CHECK(stdout_index(core, "stopped") >= 0);
}

TEST_CASE("the core runs without any test instance and still obeys its commands", "[core][lifecycle]") {
	CoreProcess core("[echo e]\n", {}, test_plugins());
	REQUIRE(core.wait_started());
	CHECK(core.sync());
	CHECK(core.stop() == 0);
}

TEST_CASE("-h prints the usage", "[core][lifecycle]") {
	ChildProcess core({mmcore_path(), "-h"});
	INFO(core.transcript());
	CHECK(core.wait_stderr_anywhere(contains("Usage:")));
	CHECK(core.wait_exit() == 1);
}

TEST_CASE("the default configuration is monster.cfg in the working directory", "[core][lifecycle]") {
	TempDir dir;
	dir.write("monster.cfg", "[test a]\n[test b]\n[map]\na.x > b.y\n");
	ChildProcess core({mmcore_path(), "-p", test_plugin_dir()}, SpawnOptions{dir.path(), {}});
	REQUIRE(core.wait_stdout(contains("started")));
	core.send_line("inject a.x 1");
	INFO(core.transcript());
	CHECK(core.wait_stdout(contains("event b.y 1.000000")));
	core.send_line("quit");
	CHECK(core.wait_exit() == 0);
}

TEST_CASE("debug messages of plugins appear only with -v", "[core][lifecycle]") {
	// log_printf(1, ...) is debug level; mmcore's own debug lines come from routing.
	auto verbose = GENERATE(false, true);
	CoreOptions options = test_plugins();
	if (verbose) {
		options.extra_args.push_back("-v");
	}
	CoreProcess core("[test t]\n", {}, options);
	REQUIRE(core.wait_started());
	CHECK(core.stop() == 0);
	INFO(core.transcript());
	CHECK((stderr_index(core, "debug/") >= 0) == verbose);
}
