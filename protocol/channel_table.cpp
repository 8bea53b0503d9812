#include "channel_table.h"

namespace mmpy::protocol {

std::string describe(Admission admission, std::string_view name) {
	switch (admission) {
	case Admission::Admitted:
		break;
	case Admission::NameTooLong:
		return "channel names are limited to " + std::to_string(kMaxNameLength) + " bytes; '" +
		       std::string(name.substr(0, 40)) + "...' is " + std::to_string(name.size());
	case Admission::TableFull:
		return "an instance has at most " + std::to_string(kMaxChannels) + " channels; '" + std::string(name) +
		       "' would be one more";
	}
	return "admitted";
}

}  // namespace mmpy::protocol
