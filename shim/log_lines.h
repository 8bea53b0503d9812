// Every line the shim writes to the core's log, named in one place and made here from the
// outcome values (outcomes.h). Lines go through the core as every MIDIMonster backend's do:
// "python<TAB>INSTANCE: text".
#pragma once

#include <cstdint>
#include <string>

#include "host_placement.h"
#include "midimonster.h"
#include "outcomes.h"

namespace mmpy::shim {

// Any line of the backend not tied to one instance's story below: the format goes to the
// core's log_printf as it is, which formats it without a length limit.
#define SHIM_LOG(format, ...) \
	log_printf(0, const_cast<char*>("python"), const_cast<char*>(format "\n"), ##__VA_ARGS__)

namespace log_lines {

// A line Python printed (level 1: debug).
void python(const char* instance, int level, const std::string& text);

void host_ready(const char* instance, int64_t pid, const std::string& python);
// Lost before the show ran: no restart follows.
void lost_before_show(const char* instance, pid_t pid, const HostLoss& why, const std::optional<HostEnd>& end);
// The loss line, then sequences_gone() for what the lost host ran.
void outage(const char* instance, const Outage& outage, const Retry& retry);
// The sequences a lost host ran, which died with it; nothing when none ran.
void sequences_gone(const char* instance, const protocol::Tasks& tasks);
void replaying(const char* instance, pid_t pid, const std::string& address);
void replay_refused(const char* instance, const std::string& option, const std::string& value, const std::string& error);
void back(const char* instance, uint64_t down_ms, size_t channels);
void held_inputs_sent(const char* instance, uint64_t events, size_t channels);
void cleanup_unfinished(const char* instance, const HostLoss& why);
void held_inputs_dropped(const char* instance, uint64_t events, size_t channels);
void host_ended_badly(const char* instance, const HostEnd& end);
void no_report(const char* instance, const std::string& why);
// What host-cpu = core did to the core's thread before its first host: nothing to say, or
// the CPU it now shares with its hosts, or why it could not.
void core_pinned(const HostPlacement::Pinned& pinned);

}  // namespace log_lines

}  // namespace mmpy::shim
