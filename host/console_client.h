// `mm-pyhost console INSTANCE`: the operator's end of the console (host/console.h). Line
// editing, history and completion are Python's readline (host/console_client.py); each
// statement goes to the host over the control connection.
#pragma once

#include <string>

#include "operator.h"

namespace mmpy::host {

// Runs the prompt on the connection `fd`, whose reply to `console` was `greeting` (bytes after
// it in `pending`), until Ctrl-D. 0, or 1 if the host went away meanwhile.
int run_console(int fd, std::string pending, const protocol::OperatorReply& greeting);

}  // namespace mmpy::host
