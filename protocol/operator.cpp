#include "operator.h"

#include <csignal>

#include "json_fields.h"

namespace mmpy::protocol {

namespace {

bool append_line(std::string& out, const json& body, size_t limit) {
	std::string text = body.dump(-1, ' ', false, json::error_handler_t::replace);
	if (text.size() + 1 > limit) {
		return false;
	}
	out += text;
	out += '\n';
	return true;
}

std::vector<std::string> strings(const json& body, const char* key, size_t most) {
	const json& list = body.at(key);
	if (!list.is_array() || list.size() > most) {
		throw std::out_of_range(std::string("field '") + key + "' must be a list of at most " + std::to_string(most) +
		                        " strings");
	}
	std::vector<std::string> result;
	for (const json& item : list) {
		result.push_back(item.get<std::string>());
	}
	return result;
}

json status_json(const InstanceStatus& s) {
	json tasks = json::array();
	for (const TaskCount& task : s.tasks) {
		tasks.push_back(json::array({task.name, task.count}));
	}
	return {{"instance", s.instance},   {"core_pid", s.core_pid},     {"host_pid", s.host_pid},
	        {"mode", s.mode},           {"state", s.state},           {"uptime_ms", s.uptime_ms},
	        {"python", s.python},       {"modules", s.modules},       {"version_loaded", s.version_loaded},
	        {"events", s.events},       {"intervals", s.intervals},   {"sockets", s.sockets},
	        {"handler_p50_us", s.handler_p50_us}, {"handler_p99_us", s.handler_p99_us},
	        {"handler_max_us", s.handler_max_us}, {"inputs_waiting", s.inputs_waiting},
	        {"tasks", tasks},           {"rss_kb", s.rss_kb},         {"last_error", s.last_error},
	        {"last_error_ms", s.last_error_ms}};
}

InstanceStatus status_of(const json& b) {
	InstanceStatus s;
	s.instance = name_field(b, "instance");
	s.core_pid = whole_field<int64_t>(b, "core_pid");
	s.host_pid = whole_field<int64_t>(b, "host_pid");
	s.mode = name_field(b, "mode");
	s.state = name_field(b, "state");
	s.uptime_ms = whole_field<uint64_t>(b, "uptime_ms");
	s.python = name_field(b, "python");
	s.modules = strings(b, "modules", kMaxChannels);
	s.version_loaded = name_field(b, "version_loaded");
	s.events = whole_field<uint64_t>(b, "events");
	s.handler_p50_us = whole_field<uint64_t>(b, "handler_p50_us");
	s.handler_p99_us = whole_field<uint64_t>(b, "handler_p99_us");
	s.handler_max_us = whole_field<uint64_t>(b, "handler_max_us");
	s.inputs_waiting = whole_field<uint64_t>(b, "inputs_waiting");
	s.intervals = whole_field<uint64_t>(b, "intervals");
	s.sockets = whole_field<uint64_t>(b, "sockets");
	for (auto& [name, count] : pairs<std::string, uint64_t>(b, "tasks", text, [](const json& v) {
		     uint64_t n;
		     if (!whole_number(v, n)) {
			     not_whole<uint64_t>("a task count");
		     }
		     return n;
	     })) {
		s.tasks.push_back({std::move(name), count});
	}
	s.rss_kb = whole_field<uint64_t>(b, "rss_kb");
	s.last_error = b.at("last_error").get<std::string>();
	s.last_error_ms = whole_field<uint64_t>(b, "last_error_ms");
	return s;
}

}  // namespace

int console_interrupt_signal() {
	return SIGRTMIN + 3;
}

std::string control_socket_name(int64_t core_pid, const std::string& instance) {
	return std::to_string(core_pid) + "." + instance;
}

bool encode(std::string& out, const ShimReport& m) {
	return append_line(out,
	                   {{"instance", m.instance}, {"core_pid", m.core_pid}, {"state", m.state}, {"since_ms", m.since_ms},
	                    {"restarts", m.restarts}, {"last_loss", m.last_loss}, {"last_loss_ms", m.last_loss_ms},
	                    {"next_attempt_ms", m.next_attempt_ms}, {"inputs_waiting", m.inputs_waiting}},
	                   kMaxShimReport);
}

bool parse(std::string_view line, ShimReport& m, std::string& error) {
	if (line.size() > kMaxShimReport) {
		error = "a report longer than " + std::to_string(kMaxShimReport) + " bytes";
		return false;
	}
	return parse_object(line, error, [&](const json& b) {
		m = ShimReport{};
		m.instance = name_field(b, "instance");
		m.core_pid = whole_field<int64_t>(b, "core_pid");
		m.state = name_field(b, "state");
		if (m.state != "up" && m.state != "restarting" && m.state != "down") {
			throw std::out_of_range("field 'state' must be up, restarting or down");
		}
		m.since_ms = whole_field<uint64_t>(b, "since_ms");
		m.restarts = whole_field<uint64_t>(b, "restarts");
		m.last_loss = b.at("last_loss").get<std::string>();
		m.last_loss_ms = whole_field<uint64_t>(b, "last_loss_ms");
		m.next_attempt_ms = whole_field<uint64_t>(b, "next_attempt_ms");
		m.inputs_waiting = whole_field<uint64_t>(b, "inputs_waiting");
	});
}

bool encode(std::string& out, const OperatorRequest& m) {
	return append_line(out, {{"command", m.command}, {"args", m.args}}, kMaxOperatorRequest);
}

bool encode(std::string& out, const OperatorReply& m) {
	json body = {{"ok", m.ok}};
	if (!m.ok) {
		body["error"] = m.error;
	}
	if (!m.message.empty()) {
		body["message"] = m.message;
	}
	if (m.status) {
		body["status"] = status_json(*m.status);
	}
	if (m.values) {
		json rows = json::array();
		for (const ChannelReport& v : *m.values) {
			rows.push_back(json::array({v.name, v.input, v.input_ms, v.output, v.output_ms}));
		}
		body["values"] = rows;
		body["now_ms"] = m.now_ms;
	}
	if (m.more) {
		body["more"] = true;
	}
	if (m.matches) {
		body["matches"] = *m.matches;
	}
	return append_line(out, body, kMaxOperatorReply);
}

bool parse(std::string_view line, OperatorRequest& m, std::string& error) {
	if (line.size() > kMaxOperatorRequest) {
		error = "a request longer than " + std::to_string(kMaxOperatorRequest) + " bytes";
		return false;
	}
	return parse_object(line, error, [&](const json& b) {
		m.command = name_field(b, "command");
		m.args = strings(b, "args", 8);
	});
}

bool parse(std::string_view line, OperatorReply& m, std::string& error) {
	if (line.size() > kMaxOperatorReply) {
		error = "a reply longer than " + std::to_string(kMaxOperatorReply) + " bytes";
		return false;
	}
	return parse_object(line, error, [&](const json& b) {
		m = OperatorReply{};
		m.ok = b.at("ok").get<bool>();
		if (!m.ok) {
			m.error = b.at("error").get<std::string>();
		}
		if (b.contains("message")) {
			m.message = b.at("message").get<std::string>();
		}
		if (b.contains("status")) {
			const json& status = b.at("status");
			if (!status.is_object()) {
				throw std::out_of_range("field 'status' must be an object");
			}
			m.status = status_of(status);
		}
		if (b.contains("values")) {
			const json& rows = b.at("values");
			if (!rows.is_array() || rows.size() > kMaxChannels) {
				throw std::out_of_range("field 'values' must be a list of at most " + std::to_string(kMaxChannels) +
				                        " rows");
			}
			m.values.emplace();
			for (const json& row : rows) {
				if (!row.is_array() || row.size() != 5) {
					throw std::out_of_range("a row of 'values' must be [name, input, input_ms, output, output_ms]");
				}
				ChannelReport v;
				v.name = row[0].get<std::string>();
				v.input = number(row[1]);
				if (!whole_number(row[2], v.input_ms) || !whole_number(row[4], v.output_ms)) {
					not_whole<uint64_t>("a time in 'values'");
				}
				v.output = number(row[3]);
				m.values->push_back(std::move(v));
			}
			m.now_ms = whole_field<uint64_t>(b, "now_ms");
		}
		if (b.contains("more")) {
			m.more = b.at("more").get<bool>();
		}
		if (b.contains("matches")) {
			m.matches = strings(b, "matches", kMaxCompletions);
		}
	});
}

bool encode(std::string& out, const StreamLine& m) {
	json body = json::object();
	if (!m.kind.empty()) {
		body["kind"] = m.kind;
		body["time_ms"] = m.time_ms;
	}
	if (m.kind == "in" || m.kind == "out") {
		body["channel"] = m.channel;
		body["value"] = m.value;
	} else if (m.kind == "log") {
		body["text"] = m.text;
	}
	if (m.dropped) {
		body["dropped"] = m.dropped;
	}
	return append_line(out, body, kMaxOperatorRequest);
}

bool parse(std::string_view line, StreamLine& m, std::string& error) {
	if (line.size() > kMaxOperatorRequest) {
		error = "a stream line longer than " + std::to_string(kMaxOperatorRequest) + " bytes";
		return false;
	}
	return parse_object(line, error, [&](const json& b) {
		m = StreamLine{};
		if (b.contains("kind")) {
			m.kind = name_field(b, "kind");
			if (m.kind != "in" && m.kind != "out" && m.kind != "log") {
				throw std::out_of_range("field 'kind' must be in, out or log");
			}
			m.time_ms = whole_field<uint64_t>(b, "time_ms");
			if (m.kind == "log") {
				m.text = b.at("text").get<std::string>();
			} else {
				m.channel = name_field(b, "channel");
				m.value = number(b.at("value"));
			}
		}
		if (b.contains("dropped")) {
			m.dropped = whole_field<uint64_t>(b, "dropped");
		}
		if (m.kind.empty() && m.dropped == 0) {
			throw std::out_of_range("a stream line needs 'kind' or 'dropped'");
		}
	});
}

}  // namespace mmpy::protocol
