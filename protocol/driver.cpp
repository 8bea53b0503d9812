#include "driver.h"

#include <cmath>

#include "channel_table.h"
#include "json_fields.h"

namespace mmpy::protocol {

namespace {

std::vector<std::string> names(const json& body, const char* key) {
	std::vector<std::string> list;
	if (!body.contains(key)) {
		return list;
	}
	const json& items = body.at(key);
	if (!items.is_array() || items.size() > kMaxChannels) {
		throw std::out_of_range(std::string("field '") + key + "' must be a list of at most " +
		                        std::to_string(kMaxChannels) + " names");
	}
	for (size_t i = 0; i < items.size(); i++) {
		std::string name = items[i].get<std::string>();
		Admission admission = admit_as(name, i);
		if (admission != Admission::Admitted) {
			throw std::length_error(describe(admission, name));
		}
		list.push_back(std::move(name));
	}
	return list;
}

std::string option_text(const json& value) {
	std::string text = value.get<std::string>();
	if (text.size() > kMaxNameLength) {
		throw std::length_error("an option line longer than " + std::to_string(kMaxNameLength) + " bytes");
	}
	return text;
}

std::string channel_name(const json& value) {
	std::string name = value.get<std::string>();
	if (name.size() > kMaxNameLength) {
		throw std::length_error("a channel name longer than " + std::to_string(kMaxNameLength) + " bytes");
	}
	return name;
}

// The core's values are normalized: 0 to 1.
double channel_value(const json& value) {
	double number = value.get<double>();
	if (!std::isfinite(number) || number < 0 || number > 1) {
		throw std::out_of_range("a channel value must be a number from 0 to 1, not " + value.dump());
	}
	return number;
}

void read_start(const json& b, DriverRequest& m) {
	m.instance = name_field(b, "instance");
	if (m.instance.empty()) {
		throw std::out_of_range("field 'instance' must name the instance");
	}
	if (b.contains("config")) {
		m.config = b.at("config").get<std::string>();
		if (b.contains("options") || b.contains("channels")) {
			throw std::out_of_range("a start from a configuration file takes no 'options' or 'channels'");
		}
		return;
	}
	m.directory = b.contains("directory") ? b.at("directory").get<std::string>() : std::string();
	m.options = pairs<std::string, std::string>(b, "options", option_text, option_text);
	m.channels = names(b, "channels");
}

}  // namespace

bool parse(std::string_view line, DriverRequest& m, std::string& error) {
	if (line.size() > kMaxDriverRequest) {
		error = "a request longer than " + std::to_string(kMaxDriverRequest) + " bytes";
		return false;
	}
	return parse_object(line, error, [&](const json& b) {
		m = DriverRequest{};
		std::string op = b.at("op").get<std::string>();
		if (op == "start") {
			m.op = DriverRequest::Op::Start;
			read_start(b, m);
		} else if (op == "input") {
			m.op = DriverRequest::Op::Input;
			const json& events = b.at("events");
			if (!events.is_array() || events.empty() || events.size() > kMaxBatchEvents) {
				throw std::out_of_range("field 'events' must be a list of 1 to " + std::to_string(kMaxBatchEvents) +
				                        " [channel, value] pairs");
			}
			m.events = pairs<std::string, double>(b, "events", channel_name, channel_value);
		} else if (op == "advance") {
			m.op = DriverRequest::Op::Advance;
			m.ms = whole_field<uint64_t>(b, "ms");
			if (m.ms > kMaxAdvanceMs) {
				throw std::out_of_range("field 'ms' must be at most " + std::to_string(kMaxAdvanceMs));
			}
		} else if (op == "stop") {
			m.op = DriverRequest::Op::Stop;
		} else {
			throw std::out_of_range("unknown op '" + op.substr(0, 64) + "' (known: start, input, advance, stop)");
		}
	});
}

std::string encode(const DriverRequest& m) {
	json body;
	switch (m.op) {
	case DriverRequest::Op::Start:
		body = {{"op", "start"}, {"instance", m.instance}};
		if (!m.config.empty()) {
			body["config"] = m.config;
		} else {
			body["directory"] = m.directory;
			body["options"] = m.options;
			body["channels"] = m.channels;
		}
		break;
	case DriverRequest::Op::Input:
		body = {{"op", "input"}, {"events", m.events}};
		break;
	case DriverRequest::Op::Advance:
		body = {{"op", "advance"}, {"ms", m.ms}};
		break;
	case DriverRequest::Op::Stop:
		body = {{"op", "stop"}};
		break;
	}
	return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encode(const DriverReply& m) {
	json outputs = json::array();
	for (const DriverOutput& output : m.outputs) {
		outputs.push_back(json::array({output.time_ms, output.channel, output.value}));
	}
	json body = {{"ok", m.ok}, {"error", m.error}, {"now", m.now_ms}, {"outputs", outputs}, {"log", m.log}};
	if (m.started) {
		body["python"] = m.python;
		body["host_pid"] = m.host_pid;
		body["channels"] = m.channels;
		body["problems"] = m.problems;
	}
	return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace mmpy::protocol
