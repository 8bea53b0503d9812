#include "control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "log.h"
#include "peer_credentials.h"

namespace mmpy::host {

// Owned by the server's set until its handle has closed, and by each write under way; a
// libuv callback recovers its owner with shared_from_this().
struct ControlServer::Client : std::enable_shared_from_this<Client> {
	ControlServer* owner;
	uv_pipe_t pipe{};
	std::string in;
	bool answered = false;  // a request was taken: what comes after it is ignored
	bool closing = false;
	// A conversation: every request after the first goes here; `gone` when it ends.
	std::function<void(const protocol::OperatorRequest&)> next;
	std::function<void()> gone;
	uint64_t dropped = 0;   // stream lines not sent since the last one that was
	char buffer[4096];
};

namespace {
struct Write {
	uv_write_t request;
	std::string text;
	std::shared_ptr<void> keep;  // the client, until the line is written
	bool then_end = false;
};
}  // namespace

void ControlServer::Replier::answer(const protocol::OperatorReply& reply) {
	if (auto client = client_.lock()) {
		server_.reply(client, reply);
	}
}

void ControlServer::Replier::open(const protocol::OperatorReply& reply) {
	std::string text;
	auto client = client_.lock();
	if (client && protocol::encode(text, reply)) {
		server_.send_line(client, std::move(text), false);
	}
}

void ControlServer::Replier::close() {
	if (auto client = client_.lock()) {
		server_.send_line(client, std::string(), true);
	}
}

void ControlServer::Replier::converse(const protocol::OperatorReply& reply,
                                      std::function<void(const protocol::OperatorRequest&)> next,
                                      std::function<void()> gone) {
	auto client = client_.lock();
	if (!client || client->closing) {
		gone();
		return;
	}
	client->next = std::move(next);
	client->gone = std::move(gone);
	server_.reply(client, reply, false);
}

void ControlServer::Replier::say(const protocol::OperatorReply& reply) {
	if (auto client = client_.lock(); client && client->next) {
		server_.reply(client, reply, false);
	}
}

bool ControlServer::Replier::stream(const protocol::StreamLine& line) {
	auto client = client_.lock();
	if (!client || client->closing) {
		return false;
	}
	auto* stream = reinterpret_cast<uv_stream_t*>(&client->pipe);
	if (uv_stream_get_write_queue_size(stream) > kMaxQueuedBytes) {
		client->dropped++;
		return true;
	}
	std::string text;
	if (client->dropped) {
		protocol::StreamLine gap;
		gap.dropped = std::exchange(client->dropped, 0);
		protocol::encode(text, gap);
	}
	protocol::encode(text, line);
	return server_.send_line(client, std::move(text), false);
}

bool ControlServer::open(const std::string& path, std::string& error) {
	unlink(path.c_str());  // a socket left by an earlier host of this instance, which is gone
	int rc = uv_pipe_init(loop_, &server_, 0);
	if (rc == 0) {
		server_.data = this;
		rc = uv_pipe_bind(&server_, path.c_str());
		if (rc == 0 && chmod(path.c_str(), 0600) != 0) {
			rc = -errno;
		}
		if (rc == 0) {
			rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server_), 8, on_connection);
		}
		if (rc != 0) {
			uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
		}
	}
	if (rc != 0) {
		error = "no control socket at " + path + " (" + uv_strerror(rc) + "): mm-pyhost's operator commands do not "
		        "reach this instance";
		return false;
	}
	// Nothing to serve must not keep the loop from ending.
	uv_unref(reinterpret_cast<uv_handle_t*>(&server_));
	path_ = path;
	open_ = true;
	return true;
}

void ControlServer::close() {
	if (!open_) {
		return;
	}
	open_ = false;
	uv_close(reinterpret_cast<uv_handle_t*>(&server_), nullptr);
	unlink(path_.c_str());
	std::set<std::shared_ptr<Client>> clients = clients_;
	for (const auto& client : clients) {
		end(client);
	}
}

void ControlServer::on_connection(uv_stream_t* server, int status) {
	auto* self = static_cast<ControlServer*>(server->data);
	if (status < 0) {
		return;
	}
	auto client = std::make_shared<Client>();
	client->owner = self;
	uv_pipe_init(self->loop_, &client->pipe, 0);
	client->pipe.data = client.get();
	self->clients_.insert(client);
	if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&client->pipe)) != 0) {
		self->end(client);
		return;
	}
	uv_os_fd_t fd;
	std::string refusal;
	if (uv_fileno(reinterpret_cast<uv_handle_t*>(&client->pipe), &fd) != 0 || !peer_allowed(fd, refusal)) {
		log_line("control socket: refused a connection: " + refusal);
		protocol::OperatorReply no;
		no.ok = false;
		no.error = "refused: only the user who runs MIDIMonster (and root) may operate it";
		self->reply(client, no);
		return;
	}
	uv_read_start(
	    reinterpret_cast<uv_stream_t*>(&client->pipe),
	    [](uv_handle_t* handle, size_t, uv_buf_t* buf) {
		    auto* c = static_cast<Client*>(handle->data);
		    *buf = uv_buf_init(c->buffer, sizeof(c->buffer));
	    },
	    [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
		    std::shared_ptr<Client> client = static_cast<Client*>(stream->data)->shared_from_this();
		    ControlServer* owner = client->owner;
		    if (n < 0) {
			    // The end of the stream is the end of a request written without its newline;
			    // after a request, the operator has gone (Ctrl-C on monitor).
			    if (n == UV_EOF && !client->in.empty() && !client->answered) {
				    owner->read_request(client, "\n");
			    } else {
				    owner->end(client);
			    }
			    return;
		    }
		    owner->read_request(client, std::string_view(buf->base, static_cast<size_t>(n)));
	    });
}

void ControlServer::read_request(const std::shared_ptr<Client>& client, std::string_view bytes) {
	if (client->next) {
		converse(client, bytes);
		return;
	}
	if (client->answered) {
		return;
	}
	client->in.append(bytes);
	size_t newline = client->in.find('\n');
	protocol::OperatorReply bad;
	bad.ok = false;
	if (newline == std::string::npos) {
		if (client->in.size() > protocol::kMaxOperatorRequest) {
			bad.error = "a request longer than " + std::to_string(protocol::kMaxOperatorRequest) + " bytes";
			client->answered = true;
			reply(client, bad);
		}
		return;
	}
	client->answered = true;
	protocol::OperatorRequest request;
	std::string line = client->in.substr(0, newline);
	client->in.erase(0, newline + 1);
	if (!protocol::parse(line, request, bad.error)) {
		bad.error = "not a request mm-pyhost understands: " + bad.error;
		reply(client, bad);
		return;
	}
	handle_(request, std::make_shared<Replier>(*this, client));
	// A conversation's requests may have come in the same read as its first one.
	if (client->next) {
		converse(client, {});
	}
}

// The requests of a conversation, one line each, in order; a line too long or not a request
// ends it with the reason.
void ControlServer::converse(const std::shared_ptr<Client>& client, std::string_view bytes) {
	client->in.append(bytes);
	size_t newline;
	while (!client->closing && (newline = client->in.find('\n')) != std::string::npos) {
		std::string line = client->in.substr(0, newline);
		client->in.erase(0, newline + 1);
		protocol::OperatorRequest request;
		protocol::OperatorReply bad;
		bad.ok = false;
		if (!protocol::parse(line, request, bad.error)) {
			bad.error = "not a request mm-pyhost understands: " + bad.error;
			end_conversation(client, bad);
			return;
		}
		// A copy: the request may end the connection, which drops client->next.
		auto next = client->next;
		next(request);
	}
	if (!client->closing && client->in.size() > protocol::kMaxOperatorRequest) {
		protocol::OperatorReply bad;
		bad.ok = false;
		bad.error = "a request longer than " + std::to_string(protocol::kMaxOperatorRequest) + " bytes";
		end_conversation(client, bad);
	}
}

// The last reply of a conversation: nothing after it is read.
void ControlServer::end_conversation(const std::shared_ptr<Client>& client, const protocol::OperatorReply& last) {
	client->next = nullptr;
	client->in.clear();
	reply(client, last);
}

void ControlServer::reply(const std::shared_ptr<Client>& client, const protocol::OperatorReply& reply, bool then_end) {
	std::string text;
	if (!protocol::encode(text, reply)) {
		protocol::OperatorReply too_long;
		too_long.ok = false;
		too_long.error = "the reply does not fit in " + std::to_string(protocol::kMaxOperatorReply) + " bytes";
		text.clear();
		protocol::encode(text, too_long);
	}
	client->answered = true;
	send_line(client, std::move(text), then_end);
}

// Queues `text`; with `then_end`, the connection ends once it is written.
bool ControlServer::send_line(const std::shared_ptr<Client>& client, std::string text, bool then_end) {
	if (client->closing) {
		return false;
	}
	auto* write = new Write;
	write->keep = client;
	write->text = std::move(text);
	write->then_end = then_end;
	uv_buf_t buf = uv_buf_init(write->text.data(), static_cast<unsigned>(write->text.size()));
	write->request.data = write;
	int rc = uv_write(&write->request, reinterpret_cast<uv_stream_t*>(&client->pipe), &buf, 1,
	                  [](uv_write_t* request, int status) {
		                  auto* done = static_cast<Write*>(request->data);
		                  auto* c = static_cast<Client*>(request->handle->data);
		                  if (done->then_end || status < 0) {
			                  c->owner->end(c->shared_from_this());
		                  }
		                  delete done;
	                  });
	if (rc != 0) {
		delete write;
		end(client);
		return false;
	}
	return true;
}

void ControlServer::end(const std::shared_ptr<Client>& client) {
	if (client->closing) {
		return;
	}
	client->closing = true;
	if (auto gone = std::exchange(client->gone, nullptr)) {
		gone();
	}
	client->next = nullptr;
	uv_close(reinterpret_cast<uv_handle_t*>(&client->pipe), [](uv_handle_t* handle) {
		auto* c = static_cast<Client*>(handle->data);
		c->owner->clients_.erase(c->shared_from_this());  // the last reference unless a write is under way
	});
}

}  // namespace mmpy::host
