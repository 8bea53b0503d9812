// The ways the shim reaches a host for an instance, each a type behind one interface:
// SpawnedHost starts a child `mm-pyhost --fd 3` of its own and reaps it; AttachedHost
// connects to a listening `mm-pyhost --listen`, whose hosts are not the shim's to reap.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "host_placement.h"
#include "outcomes.h"

namespace mmpy::shim {

class HostReach {
public:
	virtual ~HostReach() = default;

	// A connected socket to a new host, which waits for the hello; -1 and `error` if none.
	virtual int open(std::string& error) = 0;

	// The process serving the current connection; 0 when it is not the shim's own.
	virtual pid_t pid() const = 0;

	// The connection to the current host was closed: it is let go (killed first if `kill`)
	// and reaped later, so that the next host never runs beside it.
	virtual void let_go(bool kill) = 0;

	// A host let go of has not been reaped yet.
	virtual bool reaping() const = 0;

	// Never waits: how the host let go of ended, once it has.
	virtual std::optional<HostEnd> reap() = 0;

	// Kills the host let go of, which did not exit by itself.
	virtual void kill_let_go() = 0;

	// Before the show, where waiting is fine: waits up to `timeout_ms` for the host let go of
	// to end, then kills it. Nothing when there is no such process.
	virtual std::optional<HostEnd> reap_within(int timeout_ms) = 0;

	// At shutdown: the current host gets `timeout_ms` to exit before it is killed, one still
	// being reaped is killed at once. How the current one ended, if there was one.
	virtual std::optional<HostEnd> finish(int timeout_ms) = 0;

	// Attach mode: the listener's socket, to which the shim connects again after a loss.
	virtual bool reconnects() const = 0;
	virtual const std::string& address() const = 0;
};

// Spawn mode: the `host =` executable, else mm-pyhost next to python.so, else the installed
// one, else mm-pyhost on PATH; at the priority `placement` says (its CPU is the core's
// thread's, which it inherits: HostPlacement::pin_core).
class SpawnedHost final : public HostReach {
public:
	SpawnedHost(std::string configured_exe, HostPlacement placement)
	    : configured_(std::move(configured_exe)), placement_(placement) {}
	~SpawnedHost() override;

	int open(std::string& error) override;
	pid_t pid() const override { return current_ > 0 ? current_ : 0; }
	void let_go(bool kill) override;
	bool reaping() const override { return let_go_ > 0; }
	std::optional<HostEnd> reap() override;
	void kill_let_go() override;
	std::optional<HostEnd> reap_within(int timeout_ms) override;
	std::optional<HostEnd> finish(int timeout_ms) override;
	bool reconnects() const override { return false; }
	const std::string& address() const override { return configured_; }

	// Notes the folder python.so was loaded from. Called from init(), before the core
	// changes into the configuration's folder and a relative plugin path stops resolving.
	static void remember_plugin_folder();

private:
	std::string configured_;
	HostPlacement placement_;
	pid_t current_ = -1;  // serves the current connection
	pid_t let_go_ = -1;   // lost, not reaped yet
};

// Attach mode: `socket = PATH` in [backend python].
class AttachedHost final : public HostReach {
public:
	explicit AttachedHost(std::string path) : path_(std::move(path)) {}

	int open(std::string& error) override;
	pid_t pid() const override { return 0; }
	void let_go(bool) override {}
	bool reaping() const override { return false; }
	std::optional<HostEnd> reap() override { return std::nullopt; }
	void kill_let_go() override {}
	std::optional<HostEnd> reap_within(int) override { return std::nullopt; }
	std::optional<HostEnd> finish(int) override { return std::nullopt; }
	bool reconnects() const override { return true; }
	const std::string& address() const override { return path_; }

private:
	std::string path_;
};

}  // namespace mmpy::shim
