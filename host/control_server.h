// The operator's way into a running host (docs/running-a-show.md, "Operating a running
// show"): a Unix socket <runtime folder>/control/<core pid>.<instance>, mode 0600 in a 0700
// folder, each peer checked like the listener's (same user, or root). One request per
// connection (protocol/operator.h): a line of JSON in, a line out, then the host closes it;
// except a stream (monitor, logs), which goes on with stream lines, and a conversation
// (console), which goes on with a request and its reply at a time.
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
	// Up to this much may wait for a streaming operator (monitor, logs -f); beyond it lines
	// are dropped and counted, so that a terminal that does not keep up never holds the show.
	static constexpr size_t kMaxQueuedBytes = 256 * 1024;

	struct Client;
	// One request's way back. answer() sends the reply and ends the connection; it may come
	// later (a reload answers when it is done). stream() sends one line and keeps the
	// connection; false once the operator has gone. Both do nothing once the operator is gone.
	class Replier {
	public:
		Replier(ControlServer& server, std::weak_ptr<Client> client) : server_(server), client_(std::move(client)) {}
		void answer(const protocol::OperatorReply& reply);
		// The reply of a stream (monitor, logs): the connection stays for stream lines.
		void open(const protocol::OperatorReply& reply);
		bool stream(const protocol::StreamLine& line);
		// Ends a stream once its lines are written.
		void close();
		// The reply that opens a conversation (console): each further request on the
		// connection goes to `next`, answered with say(); `gone` runs once when the operator
		// has gone (or the server closes).
		void converse(const protocol::OperatorReply& reply, std::function<void(const protocol::OperatorRequest&)> next,
		              std::function<void()> gone);
		void say(const protocol::OperatorReply& reply);

	private:
		ControlServer& server_;
		std::weak_ptr<Client> client_;
	};
	using Handle = std::function<void(const protocol::OperatorRequest&, std::shared_ptr<Replier>)>;

	ControlServer(uv_loop_t* loop, Handle handle) : loop_(loop), handle_(std::move(handle)) {}
	ControlServer(const ControlServer&) = delete;
	ControlServer& operator=(const ControlServer&) = delete;
	~ControlServer() { close(); }

	// Listens on `path` (a stale socket of an earlier host of the same instance is replaced).
	bool open(const std::string& path, std::string& error);
	// Stops listening, ends every connection and removes the socket. Idempotent.
	void close();

private:
	static void on_connection(uv_stream_t* server, int status);
	void read_request(const std::shared_ptr<Client>& client, std::string_view bytes);
	void converse(const std::shared_ptr<Client>& client, std::string_view bytes);
	void end_conversation(const std::shared_ptr<Client>& client, const protocol::OperatorReply& last);
	void reply(const std::shared_ptr<Client>& client, const protocol::OperatorReply& reply, bool then_end = true);
	bool send_line(const std::shared_ptr<Client>& client, std::string text, bool then_end);
	void end(const std::shared_ptr<Client>& client);

	uv_loop_t* loop_;
	Handle handle_;
	uv_pipe_t server_{};
	bool open_ = false;
	std::string path_;
	std::set<std::shared_ptr<Client>> clients_;
};

}  // namespace mmpy::host
