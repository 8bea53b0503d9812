// The operator's way into a running host (docs/running-a-show.md, "Operating a running
// show"): a Unix socket <runtime folder>/control/<core pid>.<instance>, mode 0600 in a 0700
// folder, each peer checked like the listener's (same user, or root). One request per
// connection (protocol/operator.h): a line of JSON in, a line out, then the host closes it.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "operator.h"

namespace mmpy::host {

class ControlServer {
public:
	// `answer` sends the reply; it may be called later (a reload answers when it is done),
	// and does nothing if the operator has gone meanwhile.
	using Answer = std::function<void(const protocol::OperatorReply&)>;
	using Handle = std::function<void(const protocol::OperatorRequest&, Answer)>;

	ControlServer(uv_loop_t* loop, Handle handle) : loop_(loop), handle_(std::move(handle)) {}
	ControlServer(const ControlServer&) = delete;
	ControlServer& operator=(const ControlServer&) = delete;
	~ControlServer() { close(); }

	// Listens on `path` (a stale socket of an earlier host of the same instance is replaced).
	bool open(const std::string& path, std::string& error);
	// Stops listening, ends every connection and removes the socket. Idempotent.
	void close();

private:
	struct Client;
	static void on_connection(uv_stream_t* server, int status);
	void read_request(const std::shared_ptr<Client>& client, std::string_view bytes);
	void reply(const std::shared_ptr<Client>& client, const protocol::OperatorReply& reply);
	void end(const std::shared_ptr<Client>& client);

	uv_loop_t* loop_;
	Handle handle_;
	uv_pipe_t server_{};
	bool open_ = false;
	std::string path_;
	std::set<std::shared_ptr<Client>> clients_;
};

}  // namespace mmpy::host
