// The options of an instance's section (`module`, `default-handler`, `handler-timeout`,
// `overlap`, `fade-rate`, `reload`), as the shim forwards them one line at a time while the
// core reads its configuration.
#pragma once

#include "control.h"
#include "instance.h"
#include "show_code.h"
#include "sinks.h"
#include "watchdog.h"

namespace mmpy::host {

class InstanceOptions {
public:
	// fade() steps faster than a millisecond apart would only queue up.
	static constexpr uint64_t kMaxFadeRate = 1000;

	InstanceOptions(ShowCode& code, Instance& instance, Watchdog& watchdog, LogSink& log)
	    : code_(code), instance_(instance), watchdog_(watchdog), log_(log) {}

	// Applies one option line; the result says whether the core may go on, and why not.
	protocol::ConfigureResult apply(const protocol::Configure& option);

private:
	void import_module(const std::string& value, protocol::ConfigureResult& result);
	void set_default_handler(const std::string& value);
	void set_handler_timeout(const std::string& value, protocol::ConfigureResult& result);
	void set_overlap(const std::string& value, protocol::ConfigureResult& result);
	void set_fade_rate(const std::string& value, protocol::ConfigureResult& result);
	void set_reload(const std::string& value, protocol::ConfigureResult& result);

	ShowCode& code_;
	Instance& instance_;
	Watchdog& watchdog_;
	LogSink& log_;
};

}  // namespace mmpy::host
