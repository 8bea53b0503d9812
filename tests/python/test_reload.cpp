// Changing code during a show, end to end: live reload on save and on SIGHUP, through the
// test core, the real shim and real hosts; what a reload keeps (values, midimonster.state),
// what a failed one leaves running, and the state a crash restart gets back.
#include <catch2/catch.hpp>
#include <signal.h>

#include <atomic>
#include <thread>

#include "python_test.h"

using namespace mmpy::test;

namespace {

// Instance py1 with module `show` (show.py) and `options`; t.in > py1.show.on_in, and
// py1.out > t.out.
std::string show_config(const std::string& options = "reload = on-save\n") {
	return "[python py1]\nmodule = show\n" + options +
	       "[test t]\n[map]\nt.in > py1.show.on_in\npy1.out > t.out\npy1.other > t.other\n";
}

// show.py in the version that answers an input with `value` * `factor`, counting the
// inputs it saw in midimonster.state["seen"].
std::string version(double factor, const std::string& extra = "") {
	return "import midimonster\nmidimonster.state.setdefault('seen', 0)\n"
	       "def on_in(value):\n"
	       "    midimonster.state['seen'] += 1\n"
	       "    midimonster.output('out', value * " + std::to_string(factor) + ")\n" + extra;
}

// The (only) host of the core's py1.
pid_t host_of(CoreProcess& core) {
	auto hosts = hosts_of(core);
	REQUIRE(hosts.size() == 1);
	return hosts[0];
}

// Saves show.py as an editor would: a new file renamed over the old one.
void save(CoreProcess& core, const std::string& name, const std::string& text) {
	std::string temporary = core.dir().write("." + name + ".swp", text);
	REQUIRE(rename(temporary.c_str(), core.dir().file(name).c_str()) == 0);
}

// Sends an input and returns the answer on t.out.
double answer(CoreProcess& core, double value) {
	core.inject("t.in", value);
	return next_value(core, "t.out");
}

}  // namespace

TEST_CASE("a saved module runs at once, with the values and midimonster.state of the old one", "[python][reload]") {
	CoreProcess core(show_config(), {{"show.py", version(1.0)}});
	REQUIRE(core.wait_started());
	CHECK(answer(core, 0.25) == Approx(0.25));
	CHECK(answer(core, 0.5) == Approx(0.5));
	pid_t host = host_of(core);

	save(core, "show.py", version(0.5, "def seen():\n    return midimonster.state['seen']\n"
	                                   "midimonster.output('other', midimonster.inputvalue('show.on_in'))\n"));
	REQUIRE_LOG(core, "py1: reload (saved): show.py changed; stopping the version of ");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	CHECK(answer(core, 0.5) == Approx(0.25));
	CHECK(host_of(core) == host);  // the same process: nothing restarted

	// The new code sees the old state and the last input value; its import-time output()
	// changed nothing (the show's values stay).
	save(core, "show.py", version(0.5, "def on_other(value):\n    pass\n"
	                                   "midimonster.output('other', midimonster.state['seen'] / 10)\n"
	                                   "print('seen', midimonster.state['seen'], 'last', midimonster.inputvalue('show.on_in'))\n"));
	REQUIRE_LOG(core, "py1: seen 3 last 0.5");
	REQUIRE_LOG(core, "py1: reloaded: now running the version of ");
	REQUIRE(core.sync());
	CHECK(core.events().size() == 3);  // the three answers; no t.other
	CHECK(core.stop() == 0);
}
