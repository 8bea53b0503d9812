#include "instance_options.h"

#include <cctype>
#include <charconv>

namespace mmpy::host {

namespace {

const char* const kOptions[] = {"module", "default-handler", "handler-timeout"};

// Option names are matched exactly, as MIDIMonster's own backends do; a near miss is named.
std::string unknown_option(const std::string& option) {
	std::string error = "unknown instance option '" + option + "' (known: module, default-handler, handler-timeout)";
	std::string folded = option;
	for (char& c : folded) {
		c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
	}
	for (const char* known : kOptions) {
		if (folded == known) {
			error += "; option names are exact (lower case, with '-'): did you mean '" + std::string(known) + "'?";
		}
	}
	return error;
}

}  // namespace

protocol::ConfigureResult InstanceOptions::apply(const protocol::Configure& option) {
	protocol::ConfigureResult result;
	if (option.option == "module") {
		import_module(option.value, result);
	} else if (option.option == "default-handler") {
		set_default_handler(option.value);
	} else if (option.option == "handler-timeout") {
		set_handler_timeout(option.value, result);
	} else {
		result.ok = false;
		result.error = unknown_option(option.option);
	}
	return result;
}

void InstanceOptions::import_module(const std::string& value, protocol::ConfigureResult& result) {
	std::string error;
	if (value.empty()) {
		result.ok = false;
		result.error = "option 'module' needs a module name or a path to a .py file";
	} else if (!python_.import_module(value, error)) {
		// Like the in-process backend: the show starts without this module, other
		// instances are unaffected, and the log says exactly what failed.
		log_.log(0, error);
	}
}

void InstanceOptions::set_default_handler(const std::string& value) {
	instance_.set_default_handler(value);
	if (value.empty()) {
		// As in the in-process backend this is not fatal; but say it, since it looks like a slip.
		log_.log(0, "option 'default-handler' is empty: channels without a module name get no handler");
	}
}

// `handler-timeout = MS`: a whole number of milliseconds, 0 switches interruption off.
void InstanceOptions::set_handler_timeout(const std::string& value, protocol::ConfigureResult& result) {
	uint64_t ms = 0;
	const char* end = value.data() + value.size();
	auto [stop, status] = std::from_chars(value.data(), end, ms);
	if (status != std::errc() || stop != end) {  // also refuses '', '-5', '+5', '1.5', overflow
		result.ok = false;
		result.error = "option 'handler-timeout' needs a whole number of milliseconds (0 switches it off), not '" +
		               value + "'";
		return;
	}
	watchdog_.set_timeout_ms(ms);
}

}  // namespace mmpy::host
