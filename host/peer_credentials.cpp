#include "peer_credentials.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mmpy::host {

bool peer_allowed(int fd, std::string& refusal) {
	// SO_PEERCRED gives the credentials the peer had when it called connect(); a process
	// cannot change them afterwards.
	ucred peer{};
	socklen_t size = sizeof(peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0) {
		refusal = std::string("refused a connection: cannot tell who connected (SO_PEERCRED: ") +
		          std::strerror(errno) + ")";
		return false;
	}
	uid_t own = geteuid();
	if (peer.uid == own || peer.uid == 0) {
		return true;
	}
	refusal = "refused a connection from uid " + std::to_string(peer.uid) + " (pid " + std::to_string(peer.pid) +
	          "): this host serves only uid " + std::to_string(own) +
	          "; run MIDIMonster as that user, or start a listener of your own";
	return false;
}

}  // namespace mmpy::host
