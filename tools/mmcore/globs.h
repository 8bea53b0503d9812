// Multi-channel expressions in channel specs: {1..4} ranges and {a,b,c} lists.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace mmcore {

// Expands `spec` into all channel names it denotes, in MIDIMonster's order (rightmost
// expression varies fastest). A spec without braces yields itself. On a malformed
// expression returns nullopt and sets `error`.
std::optional<std::vector<std::string>> glob_expand(const std::string& spec, std::string& error);

}  // namespace mmcore
