// The test harness's line protocol (protocol/driver.h): requests parse into what the driver
// needs or are refused naming what is wrong; replies are one JSON line.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "driver.h"

using namespace mmpy::protocol;

TEST_CASE("driver requests round-trip", "[protocol][driver]") {
	DriverRequest start;
	start.op = DriverRequest::Op::Start;
	start.instance = "py1";
	start.directory = "/show";
	start.options = {{"module", "example"}};
	start.channels = {"example.in1", "out1"};
	DriverRequest back;
	std::string error;
	REQUIRE(parse(encode(start), back, error));
	CHECK(back.op == DriverRequest::Op::Start);
	CHECK(back.options == start.options);
	CHECK(back.channels == start.channels);
	CHECK(encode(back) == encode(start));

	REQUIRE(parse(R"({"op":"input","events":[["a",0],["b",1],["c",0.5]]})", back, error));
	CHECK(back.events == std::vector<std::pair<std::string, double>>{{"a", 0}, {"b", 1}, {"c", 0.5}});
	REQUIRE(parse(R"({"op":"advance","ms":250})", back, error));
	CHECK(back.ms == 250);
	REQUIRE(parse(R"({"op":"stop"})", back, error));
	CHECK(back.op == DriverRequest::Op::Stop);
}

TEST_CASE("driver requests that break the contract are refused, saying why", "[protocol][driver]") {
	DriverRequest request;
	std::string error;
	auto refused = [&](const std::string& line) {
		error.clear();
		return !parse(line, request, error) && !error.empty();
	};
	CHECK(refused(R"({"op":"jump"})"));
	CHECK(error.find("unknown op 'jump' (known: start, input, advance, stop)") != std::string::npos);
	CHECK(refused(R"({"op":"input","events":[["a",1.5]]})"));
	CHECK(error.find("a channel value must be a number from 0 to 1, not 1.5") != std::string::npos);
	CHECK(refused(R"({"op":"input","events":[]})"));
	CHECK(refused(R"({"op":"advance","ms":-1})"));
	CHECK(refused(R"({"op":"advance","ms":2.5})"));
	CHECK(refused(R"({"op":"advance","ms":1000000000001})"));
	CHECK(refused(R"({"op":"start","instance":""})"));
	CHECK(refused(R"({"op":"start","instance":"py1","config":"a.cfg","options":[]})"));
	CHECK(refused("not json"));
}

TEST_CASE("a driver reply is one line of JSON, whatever its text", "[protocol][driver]") {
	DriverReply reply;
	reply.ok = false;
	reply.error = "line one\nline two";
	reply.log = {"Traceback (most recent call last):", "  File \"x.py\", line 1"};
	reply.outputs = {{25, "out1", 0.5}};
	std::string line = encode(reply);
	CHECK(line.find('\n') == std::string::npos);
	auto body = nlohmann::json::parse(line);
	CHECK(body["error"] == "line one\nline two");
	CHECK(body["outputs"][0] == nlohmann::json::array({25, "out1", 0.5}));
	CHECK_FALSE(body.contains("python"));
}
