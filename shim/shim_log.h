// Log lines through the core, as every MIDIMonster backend does: "python<TAB>message".
#pragma once

#include "midimonster.h"

#define SHIM_LOG(format, ...) log_printf(0, const_cast<char*>("python"), const_cast<char*>(format "\n"), ##__VA_ARGS__)
