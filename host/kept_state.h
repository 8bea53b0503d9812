// midimonster.state across a crash (host/kept_state.py): while the show runs, a snapshot is
// taken twice a second and sent to the shim when it changed, so the one the shim holds is
// never more than a second old; the shim gives it to the host that replaces a lost one,
// which restores it before the modules import. A live reload needs none of this: the new
// code gets the very dict.
#pragma once

#include <Python.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "python_runtime.h"

namespace mmpy::host {

class KeptState {
public:
	// `send` takes a snapshot to the shim.
	using Send = std::function<void(std::vector<uint8_t> snapshot)>;

	KeptState(uv_loop_t* loop, PythonRuntime& python, Send send);
	KeptState(const KeptState&) = delete;
	KeptState& operator=(const KeptState&) = delete;
	~KeptState() { close(); }

	// Once Python runs.
	bool load(std::string& error);

	// The shim's snapshot, after a crash, before the modules import. What cannot be
	// restored is logged, key by key.
	void restore(std::span<const uint8_t> snapshot);

	// The modules are loaded: values whose classes they define are restored; snapshots begin.
	void show_started();

	// Stops the snapshots and drops every Python reference, while Python lives. Idempotent.
	void close();

private:
	static void on_tick(uv_timer_t* handle);

	PythonRuntime& python_;
	uv_loop_t* loop_;
	Send send_;
	PyObject* module_ = nullptr;  // _mmpy_kept_state
	PyObject* kept_ = nullptr;    // its KeptState
	uv_timer_t timer_{};
	bool timer_open_ = false;
};

}  // namespace mmpy::host
