// The single Catch2 main of mmpy_tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
