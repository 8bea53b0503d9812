#include "conversation.h"

#include <unistd.h>

#include "handshake.h"

namespace mmpy::shim {

using protocol::FrameType;

void Conversation::hello(std::vector<uint8_t>& out, const std::string& instance, uint64_t now) const {
	protocol::encode(out, hello_message(instance, now));
}

protocol::ShimHello Conversation::hello_message(const std::string& instance, uint64_t now) const {
	protocol::ShimHello hello;
	hello.instance = instance;
	hello.directory = directory_;
	hello.core_pid = getpid();
	hello.timestamp = now;
	return hello;
}

std::optional<HostLoss> Conversation::check_hello(std::span<const uint8_t> payload, protocol::HostHello& reply) const {
	std::string error;
	if (!protocol::parse(payload, reply, error)) {
		return HostLoss{HostLoss::Kind::Misbehaved, "malformed hello: " + error};
	}
	protocol::VersionVerdict verdict = protocol::judge_host_version(reply.version);
	if (!verdict.compatible) {
		return HostLoss{HostLoss::Kind::Misbehaved, protocol::describe(verdict)};
	}
	return std::nullopt;
}

bool Conversation::replay(std::vector<uint8_t>& out, const std::string& instance, uint64_t now,
                          const protocol::State& state, const protocol::Start& start) {
	hello(out, instance, now);
	if (!state.snapshot.empty()) {
		protocol::encode(out, state);
	}
	for (const protocol::Configure& line : configuration_) {
		protocol::encode(out, line);
	}
	hello_answered_ = false;
	results_due_ = configuration_.size();
	return protocol::encode(out, start);
}

Conversation::Answer Conversation::violation(std::string detail) {
	Answer answer;
	answer.kind = Answer::Kind::Violation;
	answer.loss = HostLoss{HostLoss::Kind::Misbehaved, std::move(detail)};
	return answer;
}

Conversation::Answer Conversation::answer(const protocol::Frame& frame) {
	switch (frame.type) {
	case FrameType::Hello: {
		protocol::HostHello reply;
		if (auto loss = check_hello(frame.payload, reply)) {
			Answer answer;
			answer.kind = Answer::Kind::Violation;
			answer.loss = *loss;
			return answer;
		}
		hello_answered_ = true;
		return {};
	}
	case FrameType::ConfigureResult: {
		protocol::ConfigureResult result;
		std::string error;
		if (!hello_answered_ || results_due_ == 0) {
			return violation("unexpected answer to the configuration");
		}
		if (!protocol::parse(frame.payload, result, error)) {
			return violation("malformed answer to the configuration: " + error);
		}
		Answer answer;
		answer.line = &configuration_[configuration_.size() - results_due_];
		results_due_--;
		if (!result.ok) {
			answer.kind = Answer::Kind::Refused;
			answer.error = result.error;
		}
		return answer;
	}
	case FrameType::Started:
		if (!hello_answered_ || results_due_ != 0) {
			return violation("it started before it was configured");
		}
		return Answer{Answer::Kind::Started, nullptr, {}, {}};
	default:
		return violation(std::string("unexpected ") + protocol::frame_type_name(static_cast<uint16_t>(frame.type)) +
		                 " frame from the host");
	}
}

}  // namespace mmpy::shim
