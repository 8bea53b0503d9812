// Reading JSON fields strictly, for the parsers of control.cpp and operator.cpp: a field of
// the wrong kind or out of range becomes an error message, never an exception in the
// caller's loop nor a cast with undefined behaviour.
#pragma once

#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "protocol_limits.h"

namespace mmpy::protocol {

using nlohmann::json;

// Parses a JSON object and hands it to `read`, which may throw json errors; any error
// becomes a message instead of an exception escaping into the caller's loop.
template <typename Bytes, typename Read>
bool parse_object(const Bytes& payload, std::string& error, Read read) {
	json body = json::parse(payload.begin(), payload.end(), nullptr, false);
	if (body.is_discarded() || !body.is_object()) {
		error = "control message is not a JSON object";
		return false;
	}
	try {
		read(body);
	} catch (const json::exception& e) {
		error = std::string("malformed control message: ") + e.what();
		return false;
	} catch (const std::length_error& e) {
		error = e.what();
		return false;
	} catch (const std::out_of_range& e) {
		error = std::string("malformed control message: ") + e.what();
		return false;
	}
	return true;
}

// An integer field: a JSON integer within the type's range, nothing else. nlohmann's
// get<uint32_t>() would also take 1.5 (as 1) and 1e300, whose conversion is undefined
// behaviour (found by fuzz_control); a too large integer arrives as a float too.
template <typename Int>
bool whole_number(const json& value, Int& out) {
	if (value.is_number_unsigned()) {
		auto v = value.get<uint64_t>();
		out = static_cast<Int>(v);
		return std::in_range<Int>(v);
	}
	if (value.is_number_integer()) {
		auto v = value.get<int64_t>();
		out = static_cast<Int>(v);
		return std::in_range<Int>(v);
	}
	return false;
}

template <typename Int>
[[noreturn]] void not_whole(const std::string& what) {
	throw std::out_of_range(what + " must be a whole number from " + std::to_string(std::numeric_limits<Int>::min()) +
	                        " to " + std::to_string(std::numeric_limits<Int>::max()));
}

template <typename Int>
Int whole_field(const json& body, const char* key) {
	Int value;
	if (!whole_number(body.at(key), value)) {
		not_whole<Int>(std::string("field '") + key + "'");
	}
	return value;
}

// A list of [a, b] pairs, each read by `first` and `second`, e.g. [[0, "mod.fn"], [1, "x"]].
template <typename A, typename B, typename ReadA, typename ReadB>
std::vector<std::pair<A, B>> pairs(const json& body, const char* key, ReadA first, ReadB second) {
	const json& list = body.at(key);
	if (!list.is_array()) {
		throw std::out_of_range(std::string("field '") + key + "' must be a list");
	}
	std::vector<std::pair<A, B>> result;
	result.reserve(list.size());
	for (const json& item : list) {
		if (!item.is_array() || item.size() != 2) {
			throw std::out_of_range(std::string("field '") + key + "' must hold pairs [a, b]");
		}
		result.emplace_back(first(item[0]), second(item[1]));
	}
	return result;
}

// JSON numbers are always finite (nlohmann refuses 1e400); integers are taken as well.
inline double number(const json& value) {
	return value.get<double>();
}

inline std::string text(const json& value) {
	return value.get<std::string>();
}

inline std::string name_field(const json& body, const char* key) {
	std::string value = body.at(key).get<std::string>();
	if (value.size() > kMaxNameLength) {
		throw std::length_error(std::string("field '") + key + "' longer than " +
		                        std::to_string(kMaxNameLength) + " bytes");
	}
	return value;
}


}  // namespace mmpy::protocol
