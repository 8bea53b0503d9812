// Everything the tests use: TempDir, ChildProcess, CoreProcess, /proc helpers.
#pragma once

#include "child_process.h"
#include "core_process.h"
#include "proc_util.h"
#include "temp_dir.h"
