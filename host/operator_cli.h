// mm-pyhost's operator commands: list, status, values, inject, reload (operator_cli.cpp).
#pragma once

namespace mmpy::host {

// True if `word` (argv[1]) names one of them.
bool is_operator_command(const char* word);

// Runs the command of argv[1]; the process's exit status.
int run_operator_command(int argc, char** argv);

}  // namespace mmpy::host
