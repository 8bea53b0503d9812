// mmcore: command line, start-up and shutdown sequence (mirrors midimonster.c / core_*()).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "config.h"
#include "fds.h"
#include "log.h"
#include "loop.h"
#include "plugins.h"
#include "registry.h"
#include "routing.h"
#include "test_backend.h"

namespace {

struct Options {
	std::string plugin_dir = "./backends/";
	std::string config = "monster.cfg";
};

// Help text on stderr (stdout carries the protocol).
void usage(const char* argv0) {
	std::fprintf(stderr,
	             "Usage:\n"
	             "\t%s [<options>] [<configfile>]   (default monster.cfg)\n"
	             "\nOptions:\n"
	             "\t-p <folder>    - plugin folder (default ./backends/)\n"
	             "\t-b <backend>.<option>=<value>  - override a backend option (repeatable)\n"
	             "\t-i <instance>.<option>=<value> - override an instance option (repeatable)\n"
	             "\t-v,--verbose   - show debug messages\n"
	             "\t--version      - show version\n"
	             "\t-h,--help      - show this usage info\n",
	             argv0);
}

// Returns -1 to continue, otherwise the exit status (for -h, --version and errors).
int parse_args(int argc, char** argv, Options& opts) {
	for (int u = 1; u < argc; u++) {
		std::string arg = argv[u];
		bool has_value = u + 1 < argc;
		if (arg == "-h" || arg == "--help") {
			usage(argv[0]);
			return EXIT_FAILURE;
		} else if (arg == "--version") {
			std::fprintf(stderr, "mmcore (MIDIMonster-compatible test core, ABI v0.7)\n");
			return EXIT_FAILURE;
		} else if (arg == "-v" || arg == "--verbose") {
			mmcore::log_set_verbose(true);
		} else if (arg == "-p" || arg == "-b" || arg == "-i") {
			if (!has_value) {
				std::fprintf(stderr, "Missing argument for %s\n", arg.c_str());
				return EXIT_FAILURE;
			}
			std::string value = argv[++u];
			if (arg == "-p") {
				opts.plugin_dir = value;
			} else if (mmcore::config_add_override(arg == "-b", value)) {
				return EXIT_FAILURE;
			}
		} else {
			// Like the real core: anything else is the configuration file (last one wins).
			opts.config = arg;
		}
	}
	return -1;
}

// core_shutdown(): channels and backends, routing, fds, plugins; then "stopped".
void core_shutdown() {
	mmcore::backends_stop();
	mmcore::routing_cleanup();
	mmcore::fds_close_all();
	mmcore::plugins_close();
	mmcore::config_free();
	mmcore::outf("stopped");
}

}  // namespace

// Start-up order of the real core: plugins, config, start, loop, shutdown.
int main(int argc, char** argv) {
	mmcore::output_init();
	Options opts;
	int early = parse_args(argc, argv, opts);
	if (early >= 0) {
		return early;
	}

	mmcore::timestamp_update();
	if (mmcore::testbackend::register_backend() || mmcore::plugins_load(opts.plugin_dir)) {
		mmcore::logf("core", "Failed to initialize a backend");
		core_shutdown();
		return EXIT_FAILURE;
	}

	if (mmcore::config_read(opts.config)) {
		std::fprintf(stderr, "Failed to parse master configuration file %s\n", opts.config.c_str());
		core_shutdown();
		return EXIT_FAILURE;
	}

	if (mmcore::backends_start()) {
		core_shutdown();
		return EXIT_FAILURE;
	}
	mmcore::logf("core/rt", "Routing %zu sources", mmcore::routing_sources());
	mmcore::loop_install_signals();
	mmcore::outf("started");

	int rv = EXIT_SUCCESS;
	while (!mmcore::loop_shutdown_requested()) {
		if (mmcore::loop_iteration()) {
			rv = EXIT_FAILURE;
			break;
		}
	}
	core_shutdown();
	return rv;
}
