// mmpy-socket-floor: the floor under the out-of-process backend's latency on this machine,
// one Unix-socket round trip between two processes and nothing else. The benchmark
// (mmpy-bench) prints it next to the backend's figures, so that "added over the floor" is
// measured on the same machine in the same run rather than taken from a design document.
//
//   mmpy-socket-floor SAMPLES RATE CPUS
//     RATE: round trips per second, 0 for back to back (the next one as soon as the answer
//           is in);
//     CPUS: "any" (the scheduler decides), "one" (both processes on the first CPU we may
//           use), "two" (each on its own CPU).
// Prints one line of JSON: {"samples":N,"p50":..,"p99":..,"p999":..,"min":..,"max":..} in µs.
//
// Both ends sleep in poll() between messages, as the core (select) and the host (epoll) do.
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint64_t now_ns() {
	timespec ts{};
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

[[noreturn]] void die(const char* what) {
	std::fprintf(stderr, "mmpy-socket-floor: %s: %s\n", what, std::strerror(errno));
	std::exit(1);
}

// Waits until `fd` is readable, then reads exactly one message; false at end of stream.
bool receive(int fd, uint64_t& message) {
	pollfd p{fd, POLLIN, 0};
	while (poll(&p, 1, -1) < 0) {
		if (errno != EINTR) {
			die("poll");
		}
	}
	ssize_t got = read(fd, &message, sizeof message);
	if (got == 0) {
		return false;
	}
	if (got != static_cast<ssize_t>(sizeof message)) {
		die("read");
	}
	return true;
}

void send_message(int fd, uint64_t message) {
	if (write(fd, &message, sizeof message) != static_cast<ssize_t>(sizeof message)) {
		die("write");
	}
}

// The CPUs this process may use, in order: pinning picks from these, never others.
std::vector<int> usable_cpus() {
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		die("sched_getaffinity");
	}
	std::vector<int> cpus;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set)) {
			cpus.push_back(cpu);
		}
	}
	return cpus;
}

void pin(int cpu) {
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		die("sched_setaffinity");
	}
}

uint64_t percentile(const std::vector<uint64_t>& sorted, double p) {
	size_t rank = static_cast<size_t>(std::max(1.0, std::ceil(static_cast<double>(sorted.size()) * p / 100)));
	return sorted[std::min(sorted.size(), rank) - 1];
}

}  // namespace

int main(int argc, char** argv) {
	if (argc != 4) {
		std::fprintf(stderr, "usage: mmpy-socket-floor SAMPLES RATE any|one|two\n");
		return 2;
	}
	long samples = std::atol(argv[1]);
	long rate = std::atol(argv[2]);
	std::string cpus = argv[3];
	if (samples <= 0 || rate < 0 || (cpus != "any" && cpus != "one" && cpus != "two")) {
		std::fprintf(stderr, "mmpy-socket-floor: SAMPLES must be > 0, RATE >= 0, CPUS any, one or two\n");
		return 2;
	}
	std::vector<int> usable = usable_cpus();
	if (cpus == "two" && usable.size() < 2) {
		std::fprintf(stderr, "mmpy-socket-floor: 'two' needs two usable CPUs, this process has %zu\n", usable.size());
		return 2;
	}

	int pair[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
		die("socketpair");
	}
	pid_t child = fork();
	if (child < 0) {
		die("fork");
	}
	if (child == 0) {
		// The echo: the host's part, minus Python.
		close(pair[0]);
		if (cpus != "any") {
			pin(cpus == "one" ? usable[0] : usable[1]);
		}
		uint64_t message = 0;
		while (receive(pair[1], message)) {
			send_message(pair[1], message);
		}
		_exit(0);
	}
	close(pair[1]);
	if (cpus != "any") {
		pin(usable[0]);
	}

	const long warmup = std::min(100L, samples);
	std::vector<uint64_t> round_trips_ns;
	round_trips_ns.reserve(static_cast<size_t>(samples));
	uint64_t period_ns = rate > 0 ? 1000000000u / static_cast<uint64_t>(rate) : 0;
	uint64_t next = now_ns();
	for (long i = 0; i < warmup + samples; i++) {
		uint64_t sent_at = now_ns();
		send_message(pair[0], sent_at);
		uint64_t echoed = 0;
		if (!receive(pair[0], echoed) || echoed != sent_at) {
			std::fprintf(stderr, "mmpy-socket-floor: the echo process answered wrongly or ended\n");
			return 1;
		}
		uint64_t back_at = now_ns();
		if (i >= warmup) {
			round_trips_ns.push_back(back_at - sent_at);
		}
		if (period_ns) {
			next += period_ns;
			timespec until{static_cast<time_t>(next / 1000000000u), static_cast<long>(next % 1000000000u)};
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
			}
		}
	}
	close(pair[0]);
	int status = 0;
	waitpid(child, &status, 0);

	std::sort(round_trips_ns.begin(), round_trips_ns.end());
	auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
	std::printf("{\"samples\": %zu, \"rate_per_s\": %ld, \"cpus\": \"%s\", \"p50\": %.1f, \"p99\": %.1f, "
	            "\"p999\": %.1f, \"min\": %.1f, \"max\": %.1f}\n",
	            round_trips_ns.size(), rate, cpus.c_str(), us(percentile(round_trips_ns, 50)),
	            us(percentile(round_trips_ns, 99)), us(percentile(round_trips_ns, 99.9)), us(round_trips_ns.front()),
	            us(round_trips_ns.back()));
	return 0;
}
