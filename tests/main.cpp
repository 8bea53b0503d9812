// The single Catch2 main of mmpy_tests. The tests run in a runtime folder of their own, so
// that the reports and control sockets of their instances never mix with a show that runs on
// this machine (a test that needs another one sets XDG_RUNTIME_DIR for its processes).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <stdlib.h>

#include <filesystem>
#include <string>

int main(int argc, char* argv[]) {
	std::string folder = std::filesystem::temp_directory_path() / "mmpy-tests-runtime-XXXXXX";
	if (!mkdtemp(folder.data())) {
		return 2;
	}
	setenv("XDG_RUNTIME_DIR", folder.c_str(), 1);
	int failed = Catch::Session().run(argc, argv);
	std::filesystem::remove_all(folder);
	return failed;
}
