// Supervision of an instance's host during the show: noticing that it died or hangs,
// reaping it without making the core wait, and bringing a new one up with the same
// configuration, channel table and values while the inputs wait per channel.
#include <signal.h>

#include "events.h"
#include "host_process.h"
#include "shim_instance.h"
#include "shim_log.h"

namespace mmpy::shim {

using protocol::FrameType;

// The host is gone or cannot be trusted any more. Inputs it cannot have received whole
// go to the next host; before the show, losing it just ends the connection.
void ShimInstance::lost(const std::string& why, bool kill_it) {
	if (!link_.connected()) {
		return;
	}
	uint64_t now = mm_timestamp();
	uint64_t resent = 0;
	link_.for_each_unsent_frame([&](const protocol::Frame& frame) {
		protocol::BatchView batch;
		std::string ignored;
		if (frame.type != FrameType::Inputs || !protocol::BatchView::parse(frame.payload, batch, ignored)) {
			return;
		}
		for (uint32_t i = 0; i < batch.size(); i++) {
			hold(batch[i].channel);
			resent++;
		}
	});
	uint64_t delivered = sent_events_ - std::min(sent_events_, resent);
	uint64_t unconfirmed = delivered - std::min(delivered, handled_events_);
	unmanage();
	link_.close();

	std::string what = "lost the host";
	if (pid_ > 0) {
		what += " (pid " + std::to_string(pid_) + ")";
	}
	what += ": " + why;
	if (unconfirmed > 0) {
		what += "; up to " + std::to_string(unconfirmed) + " input events sent to it shortly before may not have been handled";
	}
	bool during_show = state_ == State::Up || state_ == State::Replaying;
	state_ = during_show ? State::Down : state_;
	down_since_ = now;
	if (pid_ > 0) {
		if (kill_it) {
			kill(pid_, SIGKILL);
		}
		dying_pid_ = pid_;
		dying_since_ = now;
		dying_killed_ = kill_it;
		dying_why_ = what;
		pid_ = -1;
		if (during_show) {
			finish_reaping(now);
		} else {
			std::string how = reap_host(dying_pid_, 1000);
			dying_pid_ = -1;
			SHIM_LOG("%s: %s; it %s", name(), what.c_str(), how.c_str());
		}
		return;
	}
	if (during_show) {
		schedule_retry(now, what);
	} else {
		SHIM_LOG("%s: %s", name(), what.c_str());
	}
}

// A lost host is reaped before the next one starts, so two never run the same Python.
// The log line waits for this, so that it can say how the host ended.
void ShimInstance::finish_reaping(uint64_t now) {
	std::string how;
	if (!try_reap(dying_pid_, how)) {
		if (now - dying_since_ >= kReapGraceMs && !dying_killed_) {
			kill(dying_pid_, SIGKILL);
			dying_killed_ = true;
			dying_why_ += "; it did not exit, so it was killed";
		}
		return;
	}
	dying_pid_ = -1;
	schedule_retry(now, dying_killed_ ? dying_why_ + "; killed it" : dying_why_ + "; it " + how);
}

// One log line says what happened and when the next attempt comes.
void ShimInstance::schedule_retry(uint64_t now, const std::string& what_happened) {
	state_ = State::Down;
	uint64_t pause = restart_.next_pause(now);
	retry_at_ = now + pause;
	std::string next = options_.socket.empty() ? "restarting it" : "reconnecting";
	if (pause == 0) {
		next += " now";
	} else {
		char seconds[32];
		snprintf(seconds, sizeof(seconds), "%.1f", pause / 1000.0);
		next += " in " + std::string(seconds) + " s (" + std::to_string(restart_.failures()) +
		        " failures in a row; the lines above say why)";
	}
	SHIM_LOG("%s: %s. %s", name(), what_happened.c_str(), next.c_str());
}

// Starts (or reaches) a new host and gives it, in one go, everything the old one had:
// the hello, every option line, and the channel table with the last values. The answers
// arrive while the show goes on; inputs are held until the host says it started.
void ShimInstance::bring_back(uint64_t now) {
	std::string error;
	int fd = options_.socket.empty() ? spawn_host(locate_host(options_.host), pid_, error)
	                                 : connect_host(options_.socket, error);
	if (fd < 0) {
		schedule_retry(now, "cannot bring the host back: " + error);
		return;
	}
	link_.adopt(fd);
	if (mm_manage_fd(fd, const_cast<char*>("python"), 1, this) != 0) {
		lost("the core cannot watch the new host's socket", true);
		return;
	}
	managed_ = true;
	host_error_.clear();
	protocol::encode(link_.outbox(), hello_message());
	for (const protocol::Configure& line : configuration_) {
		protocol::encode(link_.outbox(), line);
	}
	state_ = State::Replaying;
	if (!protocol::encode(link_.outbox(), start_message(true))) {
		lost("the channel table with its values is larger than one frame may be", true);
		return;
	}
	replay_answers_ = configuration_.size();
	replay_hello_ = false;
	replay_deadline_ = now + kConfigureTimeoutMs;
	heard_at_ = now;
	last_heartbeat_ = now;
	sent_events_ = 0;
	handled_events_ = 0;
	if (pid_ > 0) {
		SHIM_LOG("%s: started a new host (pid %d); giving it the configuration and the last values", name(),
		         static_cast<int>(pid_));
	} else {
		SHIM_LOG("%s: connected to mm-pyhost at %s again; giving it the configuration and the last values", name(),
		         options_.socket.c_str());
	}
	write_or_lose();
}

// The new host's answers to the replay: its hello, one result per option line, Started.
bool ShimInstance::on_replay_answer(const protocol::Frame& frame) {
	std::string error;
	switch (frame.type) {
	case FrameType::Hello: {
		protocol::HostHello reply;
		if (!protocol::parse(frame.payload, reply, error)) {
			host_error_ = "malformed hello: " + error;
			return false;
		}
		if (reply.version != protocol::kVersion) {
			host_error_ = "it speaks protocol version " + std::to_string(reply.version) + ", this python.so " +
			              std::to_string(protocol::kVersion) + "; install matching versions of python.so and mm-pyhost";
			return false;
		}
		replay_hello_ = true;
		return true;
	}
	case FrameType::ConfigureResult: {
		protocol::ConfigureResult result;
		if (!replay_hello_ || replay_answers_ == 0 || !protocol::parse(frame.payload, result, error)) {
			host_error_ = "unexpected answer to the configuration " + error;
			return false;
		}
		const protocol::Configure& line = configuration_[configuration_.size() - replay_answers_];
		replay_answers_--;
		if (!result.ok) {
			SHIM_LOG("%s: the new host refused '%s = %s': %s", name(), line.option.c_str(), line.value.c_str(),
			         result.error.c_str());
		}
		return true;
	}
	case FrameType::Started:
		if (!replay_hello_ || replay_answers_ != 0) {
			host_error_ = "it started before it was configured";
			return false;
		}
		back_up(mm_timestamp());
		return true;
	default:
		return false;
	}
}

void ShimInstance::back_up(uint64_t now) {
	state_ = State::Up;
	restart_.host_up(now);
	heard_at_ = now;
	SHIM_LOG("%s: the host is back after %llu ms; %zu channels and their last values restored", name(),
	         static_cast<unsigned long long>(now - down_since_), channels_.size());
}

// A healthy host says it is alive several times a second, from a thread of its own, even
// while a handler runs long. Silence means it hangs, is stopped, or is stuck in C code.
void ShimInstance::watch_heartbeat(uint64_t now) {
	if (now - heard_at_ < kSilenceMs) {
		return;
	}
	on_readable();  // the core may have been busy elsewhere; read before judging
	if (state_ == State::Up && mm_timestamp() - heard_at_ >= kSilenceMs) {
		lost("it sent nothing for " + std::to_string(kSilenceMs / 1000) +
		         " s (it hangs, was stopped with SIGSTOP, or is stuck in a C call)",
		     true);
	}
}

}  // namespace mmpy::shim
