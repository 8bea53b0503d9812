#include "show_code.h"

#include <ctime>
#include <set>
#include <utility>

#include "python_sources.h"

namespace mmpy::host {

namespace {
// How long a stopping version's tasks get to end, and then the tasks its cleanup handler
// started: as at shutdown.
constexpr uint64_t kSettleMs = 2000;
// A save counts once the folder has been quiet this long: editors write a file in several
// steps (truncate, write, rename), and formatters rewrite it right after.
constexpr uint64_t kSaveSettleMs = 100;

uint64_t now_ns() {
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<std::string> strings(PyObject* list) {
	std::vector<std::string> result;
	for (Py_ssize_t i = 0; list && PyList_Check(list) && i < PyList_GET_SIZE(list); i++) {
		if (const char* text = PyUnicode_AsUTF8(PyList_GET_ITEM(list, i))) {
			result.emplace_back(text);
		}
	}
	PyErr_Clear();
	return result;
}

std::string joined(const std::vector<std::string>& names) {
	std::string text;
	for (const std::string& name : names) {
		text += (text.empty() ? "" : ", ") + name;
	}
	return text;
}
}  // namespace

// A folder of the show's files under watch.
struct ShowCode::Watch {
	ShowCode* owner;
	std::string folder;
	std::set<std::string> names;  // the show's files in it
	uv_fs_event_t handle;
};

ShowCode::ShowCode(uv_loop_t* loop, PythonRuntime& python, Instance& instance, Scheduler& scheduler, Tasks& tasks,
                   Watchdog& watchdog, LogSink& log, Hooks hooks)
    : loop_(loop),
      python_(python),
      instance_(instance),
      scheduler_(scheduler),
      tasks_(tasks),
      watchdog_(watchdog),
      log_(log),
      hooks_(std::move(hooks)) {}

ShowCode::~ShowCode() {
	close();
}

bool ShowCode::load(const std::string& directory, std::string& error) {
	directory_ = directory;
	module_ = load_host_module("_mmpy_show_code", kShowCodeSource);
	PyObject* type = module_ ? PyObject_GetAttrString(module_, "ShowCode") : nullptr;
	code_ = type ? PyObject_CallFunction(type, "s", directory.c_str()) : nullptr;
	Py_XDECREF(type);
	// `module = some/file.py` lines load through it (PythonRuntime::import_module).
	PyObject* load_path = code_ ? PyObject_GetAttrString(code_, "load_path") : nullptr;
	bool ok = load_path && PyDict_SetItemString(PyModule_GetDict(PyImport_AddModule("__main__")), "_mmpy_load_path",
	                                            load_path) == 0;
	Py_XDECREF(load_path);
	if (!ok) {
		error = take_python_error("the host's reload support (show_code.py) failed to load");
		return false;
	}
	uv_timer_init(loop_, &settle_);
	uv_timer_init(loop_, &step_timer_);
	settle_.data = this;
	step_timer_.data = this;
	timers_open_ = true;
	return true;
}

bool ShowCode::import_module(const std::string& value, std::string& error) {
	bool imported = python_.import_module(value, error);
	modules_.push_back({value, imported});
	return imported;
}

void ShowCode::show_started() {
	started_ = true;
	version_loaded_ = time(nullptr);
	if (on_save_) {
		rewatch();
	}
}

void ShowCode::reload(const std::string& why, Done done) {
	if (done) {
		(step_ != Step::Idle ? again_waiting_ : waiting_).push_back(std::move(done));
	}
	begin(why, true);
}

std::vector<std::string> ShowCode::module_lines() const {
	std::vector<std::string> lines;
	for (const ModuleLine& line : modules_) {
		lines.push_back(line.value);
	}
	return lines;
}

// Tells those who asked how the reload went (the operator's `reload` waits for it).
void ShowCode::answer(bool reloaded, const std::string& line) {
	for (const Done& done : std::exchange(waiting_, {})) {
		done(reloaded, line);
	}
}

void ShowCode::begin(const std::string& why, bool forced) {
	if (abandoned_ || !code_) {
		answer(false, "the show is ending");
		return;
	}
	if (!started_) {
		log_.log(0, "reload (" + why + ") ignored: the show has not started yet");
		answer(false, "reload (" + why + ") ignored: the show has not started yet");
		return;
	}
	if (step_ != Step::Idle) {
		again_ = true;
		again_forced_ = again_forced_ || forced;
		again_why_ = why;
		return;
	}
	PyObject* list = PyObject_CallMethod(code_, "changed", nullptr);
	std::vector<std::string> changed = strings(list);
	if (!changed.empty()) {
		PyObject* problem = PyObject_CallMethod(code_, "check", "O", list);
		const char* file = nullptr;
		int line = 0;
		const char* message = nullptr;
		if (problem && problem != Py_None && PyArg_ParseTuple(problem, "sis", &file, &line, &message)) {
			std::string where = relative(file) + (line > 0 ? ", line " + std::to_string(line) : "");
			std::string failed = "reload failed: " + std::string(message) + " (" + where +
			                     "); still running the version of " + version_time();
			log_.log(0, failed);
			answer(false, failed);
			Py_DECREF(problem);
			Py_DECREF(list);
			return;
		}
		Py_XDECREF(problem);
		PyErr_Clear();
	}
	Py_XDECREF(list);
	if (changed.empty() && !forced) {
		answer(true, "no file changed");
		return;  // saved without a change, or changed back
	}
	std::vector<std::string> names;
	for (const std::string& path : changed) {
		names.push_back(relative(path));
	}
	log_.log(0, "reload (" + why + "): " + (names.empty() ? "no file changed" : joined(names) + " changed") +
	                "; stopping the version of " + version_time());
	step_ = Step::StoppingOld;
	began_ns_ = now_ns();
	hooks_.hold();
	// Until a version runs again, output() changes no value: what the old code's tasks and
	// cleanup handler output goes nowhere, and the new code finds the values the stage has.
	instance_.set_reloading(true);
	stop_running([this] {
		previous_ = PyObject_CallMethod(code_, "forget", nullptr);
		if (!previous_) {
			PyErr_Print();
		}
		switch_to_new();
	});
}

// The running version's intervals and sockets stop, its tasks are cancelled, its cleanup
// handler runs and the tasks that started get their time, as at shutdown; then its handlers
// are dropped, so that nothing of it is called any more.
void ShowCode::stop_running(std::function<void()> then) {
	scheduler_.clear();
	tasks_.settle(kSettleMs, true, [this, then] {
		after([this, then] {
			instance_.run_cleanup();
			tasks_.settle(kSettleMs, false, [this, then] {
				after([this, then] {
					scheduler_.clear();  // what the cleanup handler's tasks registered
					handled_ = instance_.drop_handlers();
					then();
				});
			});
		});
	});
}

// Runs `then` from libuv, outside the task whose end called here: a version's import and
// handlers must not run inside a task of the version before.
void ShowCode::after(std::function<void()> then) {
	next_step_ = std::move(then);
	uv_timer_start(&step_timer_, on_step, 0, 0);
}

void ShowCode::on_step(uv_timer_t* handle) {
	auto* self = static_cast<ShowCode*>(handle->data);
	std::function<void()> step = std::move(self->next_step_);
	self->next_step_ = nullptr;
	if (step && !self->abandoned_) {
		step();
	}
}

void ShowCode::switch_to_new() {
	std::vector<std::string> needed = handled_;
	std::vector<bool> imported;
	std::optional<std::string> problem = import_all(imported);
	instance_.resolve_handlers();  // what lacks a handler that had one is the problem below
	if (!problem) {
		std::vector<std::string> missing = lacking(needed);
		if (!missing.empty()) {
			problem = "the new version has no handler for " + std::string(missing.size() == 1 ? "channel " : "channels ") +
			          joined(missing);
		}
	}
	if (problem) {
		go_back(*problem);
		return;
	}
	Py_CLEAR(previous_);
	for (size_t i = 0; i < modules_.size(); i++) {
		modules_[i].imported = imported[i];
	}
	version_loaded_ = time(nullptr);
	finish(true, "reloaded: now running the version of " + version_time());
}

// The new version failed: it is stopped like the old one was (it may have opened what the
// old one needs), and the old one is imported again from the text it ran.
void ShowCode::go_back(const std::string& problem) {
	problem_ = problem;
	step_ = Step::StoppingNew;
	stop_running([this] {
		call_method("forget", nullptr);
		call_method("keep", previous_ ? previous_ : Py_None);
		std::vector<bool> imported;
		std::optional<std::string> again = import_all(imported);
		std::vector<Instance::Unresolved> misses = instance_.resolve_handlers();
		call_method("keep", Py_None);
		Py_CLEAR(previous_);
		if (again) {
			instance_.log_unresolved(misses);
			finish(false, "reload failed: " + problem_ + "; going back to the version of " + version_time() +
			       " failed too: " + *again + "; the channels without a handler ignore their events until the next reload");
			return;
		}
		finish(false, "reload failed: " + problem_ + "; still running the version of " + version_time());
	});
}

// A version runs: its intervals and sockets start, the held inputs go to it.
void ShowCode::finish(bool reloaded, const std::string& line) {
	step_ = Step::Idle;
	uint64_t took_ms = (now_ns() - began_ns_) / 1000000;
	size_t held = hooks_.held();
	std::string full = line + " (switched over in " + std::to_string(took_ms) + " ms" +
	                   (held ? "; " + std::to_string(held) + " inputs held meanwhile go to it now)" : ")");
	log_.log(0, full);
	answer(reloaded, full);
	instance_.set_reloading(false);
	scheduler_.start();
	hooks_.release();
	if (abandoned_) {
		return;  // a held input ended the session
	}
	if (on_save_) {
		rewatch();
	}
	if (again_) {
		again_ = false;
		bool forced = std::exchange(again_forced_, false);
		waiting_ = std::exchange(again_waiting_, {});
		begin(again_why_, forced);
	}
}

// A method of show_code.py's ShowCode whose result does not matter; its failure is printed.
void ShowCode::call_method(const char* name, PyObject* argument) {
	PyObject* result = argument ? PyObject_CallMethod(code_, name, "O", argument) : PyObject_CallMethod(code_, name, nullptr);
	if (!result) {
		PyErr_Print();
	}
	Py_XDECREF(result);
}

// Imports every `module =` line again, in order, each watched by handler-timeout; says in
// `imported` which did. The first failure of a line that the running version had imported,
// as a line: a module that failed before (a device library that is not installed) fails no
// reload, since the running version goes without it too; its traceback is logged again.
std::optional<std::string> ShowCode::import_all(std::vector<bool>& imported) {
	std::optional<std::string> problem;
	imported.clear();
	for (const ModuleLine& line : modules_) {
		std::string error;
		watchdog_.begin_call("import of module", &line.value);
		bool ok = python_.import_module(line.value, error);
		watchdog_.end_call();
		imported.push_back(ok);
		if (!ok && line.imported && !problem) {
			problem = error;
		}
	}
	return problem;
}

std::vector<std::string> ShowCode::lacking(const std::vector<std::string>& needed) const {
	std::vector<std::string> missing;
	for (const std::string& name : needed) {
		const Instance::Channel* channel = instance_.find(name);
		if (channel && !channel->handler) {
			missing.push_back(name);
		}
	}
	return missing;
}

std::vector<std::string> ShowCode::files() const {
	PyObject* list = code_ ? PyObject_CallMethod(code_, "files", nullptr) : nullptr;
	std::vector<std::string> result = strings(list);
	Py_XDECREF(list);
	return result;
}

std::string ShowCode::relative(const std::string& path) const {
	std::string folder = directory_.empty() || directory_.back() == '/' ? directory_ : directory_ + "/";
	return !folder.empty() && path.rfind(folder, 0) == 0 ? path.substr(folder.size()) : path;
}

std::string ShowCode::version_time() const {
	char text[16] = "?";
	tm local{};
	if (localtime_r(&version_loaded_, &local)) {
		strftime(text, sizeof(text), "%H:%M:%S", &local);
	}
	return text;
}

// Watches the folders of the show's files (a folder, not a file: editors save by renaming
// a new file over the old one).
void ShowCode::rewatch() {
	std::map<std::string, std::set<std::string>> wanted;
	for (const std::string& path : files()) {
		size_t slash = path.rfind('/');
		wanted[slash == std::string::npos ? "." : path.substr(0, slash)].insert(path.substr(slash + 1));
	}
	for (auto it = watches_.begin(); it != watches_.end();) {
		if (wanted.count(it->first)) {
			++it;
			continue;
		}
		close_watch(it->second);
		it = watches_.erase(it);
	}
	for (auto& [folder, names] : wanted) {
		auto found = watches_.find(folder);
		if (found != watches_.end()) {
			found->second->names = names;
			continue;
		}
		auto* watch = new Watch{this, folder, names, {}};
		uv_fs_event_init(loop_, &watch->handle);
		watch->handle.data = watch;
		int status = uv_fs_event_start(&watch->handle, on_file_event, folder.c_str(), 0);
		if (status != 0) {
			log_.log(0, "reload = on-save: cannot watch " + folder + " (" + uv_strerror(status) +
			                "); saves there do not reload");
			close_watch(watch);
			continue;
		}
		watches_[folder] = watch;
	}
}

// The watch goes with its handle, once libuv has closed it.
void ShowCode::close_watch(Watch* watch) {
	uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle),
	         [](uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); });
}

void ShowCode::on_file_event(uv_fs_event_t* handle, const char* filename, int, int status) {
	auto* watch = static_cast<Watch*>(handle->data);
	if (status == 0 && filename && watch->names.count(filename)) {
		uv_timer_start(&watch->owner->settle_, on_settled, kSaveSettleMs, 0);
	}
}

void ShowCode::on_settled(uv_timer_t* handle) {
	static_cast<ShowCode*>(handle->data)->begin("saved", false);
}

void ShowCode::abandon() {
	abandoned_ = true;
	answer(false, "the show is ending");
	waiting_ = std::exchange(again_waiting_, {});
	answer(false, "the show is ending");
	next_step_ = nullptr;
	if (timers_open_) {
		uv_timer_stop(&settle_);
		uv_timer_stop(&step_timer_);
	}
	for (auto& [folder, watch] : watches_) {
		close_watch(watch);
	}
	watches_.clear();
	instance_.set_reloading(false);
}

void ShowCode::close() {
	abandon();
	if (timers_open_) {
		uv_close(reinterpret_cast<uv_handle_t*>(&settle_), nullptr);
		uv_close(reinterpret_cast<uv_handle_t*>(&step_timer_), nullptr);
		timers_open_ = false;
	}
	if (code_) {
		PyObject* result = PyObject_CallMethod(code_, "close", nullptr);
		Py_XDECREF(result);
		PyErr_Clear();
	}
	Py_CLEAR(previous_);
	Py_CLEAR(code_);
	Py_CLEAR(module_);
}

}  // namespace mmpy::host
