// HandlerTimes: the histogram behind `mm-pyhost status`'s handler time.
#include <catch2/catch.hpp>

#include "handler_times.h"

using mmpy::host::HandlerTimes;

TEST_CASE("handler times: percentiles within a bucket of the truth, the maximum exact", "[host][operator]") {
	HandlerTimes times;
	CHECK(times.percentile(50) == 0);
	for (uint64_t us = 1; us <= 1000; us++) {
		times.add(us * 1000);
	}
	CHECK(times.calls() == 1000);
	CHECK(times.max_us() == 1000);
	CHECK(times.percentile(50) >= 500);
	CHECK(times.percentile(50) <= 500 * 113 / 100);
	CHECK(times.percentile(99) >= 990);
	CHECK(times.percentile(99) <= 1000);
	CHECK(times.percentile(100) == 1000);
}

TEST_CASE("handler times: sub-microsecond calls and very long ones land in the end buckets", "[host][operator]") {
	HandlerTimes times;
	times.add(300);                             // 0 µs
	times.add(3'600'000'000'000ull);            // an hour
	CHECK(times.percentile(50) == 0);
	CHECK(times.max_us() == 3'600'000'000ull);
	CHECK(times.percentile(100) == 536870911);  // the last bucket's bound, below the maximum
}
