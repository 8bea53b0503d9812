// The channel table both ends keep: ids in order, the one limit check, and adopting the
// shim's table on the host.
#include <catch2/catch.hpp>

#include "channel_table.h"

using namespace mmpy::protocol;

namespace {
struct Extra {
	int marker = 0;
};
}  // namespace

TEST_CASE("channels get ids in the order they were added, once per name", "[protocol][table]") {
	ChannelTable<Extra> table;
	CHECK(table.add("a.in") == 0);
	CHECK(table.add("b.in") == 1);
	CHECK(table.add("a.in") == 0);
	CHECK(table.size() == 2);
	CHECK(table.find("b.in") == 1u);
	CHECK_FALSE(table.find("c.in"));
	CHECK(table.list() == ChannelList{{0, "a.in"}, {1, "b.in"}});
}

TEST_CASE("a name over the length limit is not admitted", "[protocol][table]") {
	ChannelTable<Extra> table;
	CHECK(table.admit(std::string(kMaxNameLength, 'x')) == Admission::Admitted);
	CHECK(table.admit(std::string(kMaxNameLength + 1, 'x')) == Admission::NameTooLong);
}

TEST_CASE("a full table admits only the names it has", "[protocol][table]") {
	ChannelTable<Extra> table;
	for (size_t i = 0; i < kMaxChannels; i++) {
		table.add("c" + std::to_string(i));
	}
	CHECK(table.admit("c0") == Admission::Admitted);
	CHECK(table.admit("c" + std::to_string(kMaxChannels)) == Admission::TableFull);
	CHECK(describe(Admission::TableFull, "c16384") == "an instance has at most 16384 channels; 'c16384' would be one more");
}

TEST_CASE("adopting a table keeps the values and extras of channels known by name", "[protocol][table]") {
	ChannelTable<Extra> table;
	uint32_t early = table.add("early.out");
	table[early].output = 0.25;
	table[early].marker = 7;
	std::string error;
	REQUIRE(table.adopt({{0, "x.in"}, {1, "early.out"}}, error));
	REQUIRE(table.find("early.out") == 1u);
	CHECK(table[1].output == 0.25);
	CHECK(table[1].marker == 7);
	CHECK(table[0].output == 0.0);
	CHECK(table[0].marker == 0);
}

TEST_CASE("a table with ids out of range, twice, or with a name twice is refused unchanged", "[protocol][table]") {
	ChannelTable<Extra> table;
	table.add("kept");
	std::string error;
	CHECK_FALSE(table.adopt({{0, "a"}, {2, "b"}}, error));
	CHECK_FALSE(table.adopt({{0, "a"}, {0, "b"}}, error));
	CHECK_FALSE(table.adopt({{0, "a"}, {1, "a"}}, error));
	CHECK(table.size() == 1);
	CHECK(table.find("kept") == 0u);
}
