// Glob parsing and resolution, following the semantics of the real core's config.c.
#include "globs.h"

#include <cctype>

namespace {

// One {...} expression: where it sits in the spec and the values it stands for.
struct Glob {
	size_t open;   // offset of '{'
	size_t close;  // offset of '}'
	std::vector<std::string> values;
};

// Parses "A..B" (decimal, either direction); empty result on bad syntax.
std::vector<std::string> parse_range(const std::string& body) {
	size_t dots = body.find("..");
	std::string a = body.substr(0, dots), b = body.substr(dots + 2);
	auto digits = [](const std::string& s) {
		if (s.empty()) {
			return false;
		}
		for (char c : s) {
			if (!std::isdigit(static_cast<unsigned char>(c))) {
				return false;
			}
		}
		return true;
	};
	if (!digits(a) || !digits(b)) {
		return {};
	}
	unsigned long long from = std::stoull(a), to = std::stoull(b);
	std::vector<std::string> out;
	if (from <= to) {
		for (unsigned long long v = from; v <= to; v++) {
			out.push_back(std::to_string(v));
		}
	} else {
		for (unsigned long long v = from; v >= to && v <= from; v--) {
			out.push_back(std::to_string(v));
			if (v == 0) {
				break;
			}
		}
	}
	return out;
}

// Splits "a,b,c" at commas (empty members allowed, as in the real core).
std::vector<std::string> parse_list(const std::string& body) {
	std::vector<std::string> out;
	size_t start = 0;
	for (size_t pos = body.find(','); pos != std::string::npos; pos = body.find(',', start)) {
		out.push_back(body.substr(start, pos - start));
		start = pos + 1;
	}
	out.push_back(body.substr(start));
	return out;
}

// Decides range vs list by the first ".." (with something after it) or ',' in the body.
bool parse_glob(const std::string& body, Glob& g, std::string& error) {
	for (size_t u = 0; u < body.size(); u++) {
		if (body.size() - u > 2 && body.compare(u, 2, "..") == 0) {
			g.values = parse_range(body);
			if (g.values.empty()) {
				error = "Failed to parse range {" + body + "}";
				return false;
			}
			return true;
		}
		if (body[u] == ',') {
			g.values = parse_list(body);
			return true;
		}
	}
	error = "Failed to detect glob type for {" + body + "}";
	return false;
}

}  // namespace

namespace mmcore {

// Scan for {...}, then enumerate the cartesian product with the rightmost glob fastest.
std::optional<std::vector<std::string>> glob_expand(const std::string& spec, std::string& error) {
	std::vector<Glob> globs;
	for (size_t open = spec.find('{'); open != std::string::npos; open = spec.find('{', open + 1)) {
		size_t close = spec.find('}', open);
		if (close == std::string::npos) {
			error = "Unterminated glob in channel spec " + spec;
			return std::nullopt;
		}
		Glob g{open, close, {}};
		if (!parse_glob(spec.substr(open + 1, close - open - 1), g, error)) {
			return std::nullopt;
		}
		globs.push_back(std::move(g));
		open = close;
	}
	if (globs.empty()) {
		return std::vector<std::string>{spec};
	}

	size_t total = 1;
	for (const auto& g : globs) {
		total *= g.values.size();
	}
	std::vector<std::string> out;
	out.reserve(total);
	for (size_t n = 0; n < total; n++) {
		std::vector<size_t> pick(globs.size());
		size_t rest = n;
		for (size_t k = globs.size(); k > 0; k--) {
			pick[k - 1] = rest % globs[k - 1].values.size();
			rest /= globs[k - 1].values.size();
		}
		std::string name;
		size_t at = 0;
		for (size_t k = 0; k < globs.size(); k++) {
			name += spec.substr(at, globs[k].open - at);
			name += globs[k].values[pick[k]];
			at = globs[k].close + 1;
		}
		name += spec.substr(at);
		out.push_back(std::move(name));
	}
	return out;
}

}  // namespace mmcore
