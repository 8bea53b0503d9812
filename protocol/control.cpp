#include "control.h"

#include <limits>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

#include "channel_table.h"
#include "json_fields.h"
#include "wire.h"

namespace mmpy::protocol {

using nlohmann::json;

namespace {

bool append_json(std::vector<uint8_t>& out, FrameType type, const json& body) {
	// Replace invalid UTF-8 (a channel name in Latin-1, say) rather than throw.
	std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
	if (text.size() > kMaxPayload) {
		return false;
	}
	append_header(out, type, static_cast<uint32_t>(text.size()));
	out.insert(out.end(), text.begin(), text.end());
	return true;
}

uint32_t channel_id(const json& value) {
	uint32_t id;
	if (!whole_number(value, id)) {
		not_whole<uint32_t>("a channel id");
	}
	return id;
}

// One entry of Tasks.running: [name, count].
std::string task_name(const json& value) {
	std::string name = value.get<std::string>();
	if (name.size() > kMaxNameLength) {
		throw std::length_error("a task name longer than " + std::to_string(kMaxNameLength) + " bytes");
	}
	return name;
}

// A name is listed only while a task of that name runs.
uint64_t task_count(const json& value) {
	uint64_t count;
	if (!whole_number(value, count) || count == 0) {
		throw std::out_of_range("a task count must be a whole number from 1 to " +
		                        std::to_string(std::numeric_limits<uint64_t>::max()));
	}
	return count;
}

// A list of channels in a message obeys the channel table's limits.
void admit_listed(const std::string& name, size_t index) {
	Admission admission = admit_as(name, index);
	if (admission != Admission::Admitted) {
		throw std::length_error(describe(admission, name));
	}
}

}  // namespace

bool encode(std::vector<uint8_t>& out, const ShimHello& m) {
	json body = {{"version", m.version}, {"instance", m.instance}, {"directory", m.directory},
	             {"timestamp", m.timestamp}, {"core_pid", m.core_pid}};
	if (m.virtual_clock) {
		body["clock"] = "virtual";
	}
	return append_json(out, FrameType::Hello, body);
}

bool encode(std::vector<uint8_t>& out, const HostHello& m) {
	return append_json(out, FrameType::Hello,
	                   {{"version", m.version}, {"pid", m.pid}, {"python", m.python}});
}

bool encode(std::vector<uint8_t>& out, const Configure& m) {
	return append_json(out, FrameType::Configure, {{"option", m.option}, {"value", m.value}});
}

bool encode(std::vector<uint8_t>& out, const ConfigureResult& m) {
	json body = {{"ok", m.ok}, {"error", m.error}, {"outputs", m.outputs}};
	if (!m.warning.empty()) {
		body["warning"] = m.warning;
	}
	return append_json(out, FrameType::ConfigureResult, body);
}

bool encode(std::vector<uint8_t>& out, const Start& m) {
	return append_json(out, FrameType::Start,
	                   {{"timestamp", m.timestamp}, {"channels", m.channels}, {"inputs", m.inputs},
	                    {"outputs", m.outputs}, {"restart", m.restart}});
}

bool encode(std::vector<uint8_t>& out, const Started& m) {
	json body = {{"ok", m.ok}, {"error", m.error}};
	if (!m.unresolved.empty()) {
		json list = json::array();
		for (const auto& [channel, reason] : m.unresolved) {
			list.push_back(json::array({channel, reason}));
		}
		body["unresolved"] = list;
	}
	return append_json(out, FrameType::Started, body);
}

bool encode(std::vector<uint8_t>& out, const Log& m) {
	return append_json(out, FrameType::Log, {{"level", m.level}, {"text", m.text}});
}

// Binary and fixed size: the shim must not allocate in steady state (control.h).
bool encode(std::vector<uint8_t>& out, const Heartbeat& m) {
	uint8_t payload[kHeartbeatSize];
	store(payload, m.timestamp);
	store(payload + 8, m.handled);
	append_header(out, FrameType::Heartbeat, kHeartbeatSize);
	out.insert(out.end(), payload, payload + kHeartbeatSize);
	return true;
}

bool encode(std::vector<uint8_t>& out, const Error& m) {
	return append_json(out, FrameType::Error, {{"reason", m.reason}});
}

bool encode(std::vector<uint8_t>& out, const Tasks& m) {
	json running = json::array();
	for (const TaskCount& task : m.running) {
		running.push_back(json::array({task.name, task.count}));
	}
	return append_json(out, FrameType::Tasks, {{"running", running}, {"others", m.others}});
}

bool encode(std::vector<uint8_t>& out, const State& m) {
	if (m.snapshot.size() > kMaxPayload) {
		return false;
	}
	append_header(out, FrameType::State, static_cast<uint32_t>(m.snapshot.size()));
	out.insert(out.end(), m.snapshot.begin(), m.snapshot.end());
	return true;
}

bool encode(std::vector<uint8_t>& out, const Advance& m) {
	return append_json(out, FrameType::Advance, {{"to", m.to}});
}

bool encode(std::vector<uint8_t>& out, const Advanced& m) {
	return append_json(out, FrameType::Advanced, {{"now", m.now}});
}

bool encode_empty(std::vector<uint8_t>& out, FrameType type) {
	return append_json(out, type, json::object());
}

bool parse(std::span<const uint8_t> payload, ShimHello& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.version = whole_field<uint32_t>(b, "version");
		m.instance = name_field(b, "instance");
		m.directory = b.at("directory").get<std::string>();
		m.timestamp = whole_field<uint64_t>(b, "timestamp");
		m.core_pid = whole_field<int64_t>(b, "core_pid");
		m.virtual_clock = false;
		if (b.contains("clock")) {
			std::string clock = b.at("clock").get<std::string>();
			if (clock != "virtual") {
				throw std::out_of_range("field 'clock' must be \"virtual\" if present, not \"" + clock.substr(0, 64) + "\"");
			}
			m.virtual_clock = true;
		}
	});
}

bool parse(std::span<const uint8_t> payload, HostHello& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.version = whole_field<uint32_t>(b, "version");
		m.pid = whole_field<int64_t>(b, "pid");
		m.python = b.at("python").get<std::string>();
	});
}

bool parse(std::span<const uint8_t> payload, Configure& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.option = name_field(b, "option");
		m.value = b.at("value").get<std::string>();
	});
}

bool parse(std::span<const uint8_t> payload, ConfigureResult& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.ok = b.at("ok").get<bool>();
		m.error = b.at("error").get<std::string>();
		m.outputs = pairs<std::string, double>(b, "outputs", text, number);
		for (size_t i = 0; i < m.outputs.size(); i++) {
			admit_listed(m.outputs[i].first, i);
		}
		m.warning = b.contains("warning") ? b.at("warning").get<std::string>() : std::string();
	});
}

bool parse(std::span<const uint8_t> payload, Start& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.timestamp = whole_field<uint64_t>(b, "timestamp");
		m.channels = pairs<uint32_t, std::string>(b, "channels", channel_id, text);
		for (size_t i = 0; i < m.channels.size(); i++) {
			admit_listed(m.channels[i].second, i);
		}
		m.inputs = pairs<uint32_t, double>(b, "inputs", channel_id, number);
		m.outputs = pairs<uint32_t, double>(b, "outputs", channel_id, number);
		m.restart = b.at("restart").get<bool>();
	});
}

bool parse(std::span<const uint8_t> payload, Started& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.ok = b.at("ok").get<bool>();
		m.error = b.at("error").get<std::string>();
		m.unresolved.clear();
		if (b.contains("unresolved")) {
			const json& list = b.at("unresolved");
			if (!list.is_array() || list.size() > kMaxChannels + 1) {
				throw std::out_of_range("field 'unresolved' must be a list of at most " +
				                        std::to_string(kMaxChannels + 1) + " [channel, reason] pairs");
			}
			for (const json& pair : list) {
				if (!pair.is_array() || pair.size() != 2) {
					throw std::out_of_range("an entry of 'unresolved' must be [channel, reason]");
				}
				m.unresolved.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
			}
		}
	});
}

bool parse(std::span<const uint8_t> payload, Log& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		m.level = whole_field<int>(b, "level");
		m.text = b.at("text").get<std::string>();
	});
}

bool parse(std::span<const uint8_t> payload, Heartbeat& m, std::string& error) {
	if (payload.size() != kHeartbeatSize) {
		error = "heartbeat payload is " + std::to_string(payload.size()) + " bytes, " +
		        std::to_string(kHeartbeatSize) + " expected";
		return false;
	}
	m.timestamp = load<uint64_t>(payload.data());
	m.handled = load<uint64_t>(payload.data() + 8);
	return true;
}

bool parse(std::span<const uint8_t> payload, Error& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) { m.reason = b.at("reason").get<std::string>(); });
}

bool parse(std::span<const uint8_t> payload, Tasks& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) {
		// Counted before the entries are read: a longer list is refused, not kept.
		const json& list = b.at("running");
		if (list.is_array() && list.size() > kMaxTaskNames) {
			throw std::length_error("field 'running' lists " + std::to_string(list.size()) + " task names, more than " +
			                        std::to_string(kMaxTaskNames));
		}
		m.running.clear();
		for (auto& [name, count] : pairs<std::string, uint64_t>(b, "running", task_name, task_count)) {
			m.running.push_back({std::move(name), count});
		}
		m.others = whole_field<uint64_t>(b, "others");
	});
}

// Any bytes: the frame's length is the snapshot's, already bounded by the decoder.
bool parse(std::span<const uint8_t> payload, State& m, std::string& error) {
	if (payload.empty()) {
		error = "empty state snapshot";
		return false;
	}
	m.snapshot.assign(payload.begin(), payload.end());
	return true;
}

bool parse(std::span<const uint8_t> payload, Advance& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) { m.to = whole_field<uint64_t>(b, "to"); });
}

bool parse(std::span<const uint8_t> payload, Advanced& m, std::string& error) {
	return parse_object(payload, error, [&](const json& b) { m.now = whole_field<uint64_t>(b, "now"); });
}

}  // namespace mmpy::protocol
