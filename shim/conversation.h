// What the shim says to a host and what it expects back: the hello, the option lines the
// host accepted (given again to every new host), and the replay that brings a new host to
// where the lost one was: hello, every accepted line and the Start with the channel table
// and its values, written at once and answered while the show goes on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "control.h"
#include "outcomes.h"

namespace mmpy::shim {

class Conversation {
public:
	// `directory`: the configuration's folder, first on the host's sys.path.
	explicit Conversation(std::string directory) : directory_(std::move(directory)) {}

	// The first frame any new host gets. The core names an instance only after creating it,
	// so the name comes with each hello.
	void hello(std::vector<uint8_t>& out, const std::string& instance, uint64_t now) const;
	protocol::ShimHello hello_message(const std::string& instance, uint64_t now) const;

	// The host's answer to the hello; a loss if it does not parse or speaks another version.
	std::optional<HostLoss> check_hello(std::span<const uint8_t> payload, protocol::HostHello& reply) const;

	// The host accepted this option line: every new host gets it again.
	void accepted(protocol::Configure line) { configuration_.push_back(std::move(line)); }
	size_t accepted_lines() const { return configuration_.size(); }

	// Writes the whole replay to `out`: the hello, the state the lost host kept (if any), the
	// accepted lines and `start`; false if `start` does not fit one frame.
	bool replay(std::vector<uint8_t>& out, const std::string& instance, uint64_t now, const protocol::State& state,
	            const protocol::Start& start);

	// A new host's answer to the replay: its hello, one result per option line, then Started,
	// in that order.
	struct Answer {
		enum class Kind {
			Expected,  // on the way
			Refused,   // the new host refused `line`: `error` says why (the show goes on)
			Started,   // the replay is complete
			Violation, // out of order or malformed: `loss`
		};
		Kind kind = Kind::Expected;
		const protocol::Configure* line = nullptr;
		std::string error;
		HostLoss loss;
	};
	Answer answer(const protocol::Frame& frame);

private:
	static Answer violation(std::string detail);

	std::string directory_;
	std::vector<protocol::Configure> configuration_;
	bool hello_answered_ = false;
	size_t results_due_ = 0;
};

}  // namespace mmpy::shim
