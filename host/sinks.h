// Where the host's parts send what leaves for the shim, without knowing the Session that
// implements them.
#pragma once

#include <string_view>

namespace mmpy::host {

// Lines for the core's log (Log frames), in order with the outputs made before them.
class LogSink {
public:
	virtual void log(int level, std::string_view text) = 0;

protected:
	~LogSink() = default;
};

// Where an instance's outputs go when one handler has made a full batch of them.
class OutputSink {
public:
	// Sends the outputs made so far and waits while the shim is behind. False with a Python
	// exception set if a signal (handler-timeout) interrupted the wait.
	virtual bool send_outputs() = 0;

protected:
	~OutputSink() = default;
};

// Where the operator's `monitor` sees the show's inputs and outputs (OperatorDesk), set only
// while someone watches.
class EventTap {
public:
	virtual void tap(bool input, std::string_view channel, double value) = 0;

protected:
	~EventTap() = default;
};

}  // namespace mmpy::host
