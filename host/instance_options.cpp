#include "instance_options.h"

#include <cctype>
#include <charconv>
#include <optional>

namespace mmpy::host {

namespace {

const char* const kOptions[] = {"module", "default-handler", "handler-timeout", "overlap", "fade-rate", "reload"};

// Option names are matched exactly, as MIDIMonster's own backends do; a near miss is named.
std::string unknown_option(const std::string& option) {
	std::string error = "unknown instance option '" + option +
	                    "' (known: module, default-handler, handler-timeout, overlap, fade-rate, reload)";
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
	} else if (option.option == "overlap") {
		set_overlap(option.value, result);
	} else if (option.option == "fade-rate") {
		set_fade_rate(option.value, result);
	} else if (option.option == "reload") {
		set_reload(option.value, result);
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
	} else if (!code_.import_module(value, error)) {
		// Like the in-process backend: the show starts without this module, other
		// instances are unaffected, and the log says exactly what failed.
		log_.log(0, error);
		result.warning = error;
	}
}

void InstanceOptions::set_default_handler(const std::string& value) {
	instance_.set_default_handler(value);
	if (value.empty()) {
		// As in the in-process backend this is not fatal; but say it, since it looks like a slip.
		log_.log(0, "option 'default-handler' is empty: channels without a module name get no handler");
	}
}

namespace {
// A whole number, nothing else: refuses '', '-5', '+5', '1.5', overflow.
std::optional<uint64_t> whole_number(const std::string& value) {
	uint64_t number = 0;
	const char* end = value.data() + value.size();
	auto [stop, status] = std::from_chars(value.data(), end, number);
	if (status != std::errc() || stop != end) {
		return std::nullopt;
	}
	return number;
}
}  // namespace

// `handler-timeout = MS`: a whole number of milliseconds, 0 switches interruption off.
void InstanceOptions::set_handler_timeout(const std::string& value, protocol::ConfigureResult& result) {
	auto ms = whole_number(value);
	if (!ms) {
		result.ok = false;
		result.error = "option 'handler-timeout' needs a whole number of milliseconds (0 switches it off), not '" +
		               value + "'";
		return;
	}
	watchdog_.set_timeout_ms(*ms);
}

// `overlap = both | cancel`: an event on a channel whose async handler still runs starts
// another task beside it, or cancels it first.
void InstanceOptions::set_overlap(const std::string& value, protocol::ConfigureResult& result) {
	if (value == "both") {
		instance_.set_overlap(Tasks::Overlap::Both);
	} else if (value == "cancel") {
		instance_.set_overlap(Tasks::Overlap::Cancel);
	} else {
		result.ok = false;
		result.error = "option 'overlap' is 'both' (an event runs its async handler beside the one still running) "
		               "or 'cancel' (it cancels that one first), not '" + value + "'";
	}
}

// `fade-rate = N`: fade() steps per second.
void InstanceOptions::set_fade_rate(const std::string& value, protocol::ConfigureResult& result) {
	auto rate = whole_number(value);
	if (!rate || *rate < 1 || *rate > kMaxFadeRate) {
		result.ok = false;
		result.error = "option 'fade-rate' needs a whole number of steps per second from 1 to " +
		               std::to_string(kMaxFadeRate) + ", not '" + value + "'";
		return;
	}
	instance_.tasks().set_fade_rate(*rate);
}

// `reload = off | on-save`: whether saving one of the show's files reloads the instance.
// SIGHUP reloads in either case.
void InstanceOptions::set_reload(const std::string& value, protocol::ConfigureResult& result) {
	if (value == "off" || value == "on-save") {
		code_.set_reload_on_save(value == "on-save");
	} else {
		result.ok = false;
		result.error = "option 'reload' is 'on-save' (saving one of the show's files reloads it) or 'off' (only "
		               "SIGHUP to the host reloads), not '" + value + "'";
	}
}

}  // namespace mmpy::host
