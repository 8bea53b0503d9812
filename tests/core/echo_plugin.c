/* Test plugin `echo` for the core tests: proves dlopen/init/ABI work end to end.
 * Each event it receives is sent back out on the same channel (times the instance's `gain`),
 * either directly from handle() (mode = direct) or through a pipe the core select()s on
 * (mode = pipe), which exercises mm_manage_fd, process() and mm_instance_find.
 * With `allocs-per-event = N`, handle() makes N heap allocations per event (malloc, calloc,
 * realloc in turn, each freed at once) for the core's allocation counting in `stats`.
 * Environment knobs for loader tests: ECHO_FAIL_INIT=1 makes init() fail,
 * ECHO_REGISTER_AS=name registers under another name (e.g. a duplicate). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "midimonster.h"

#define LOGF(fmt, ...) log_printf(0, registered_name, fmt "\n", __VA_ARGS__)

typedef struct {
	char** names;
	size_t n;
	double gain;
	int via_pipe;
	long allocs_per_event;
} echo_instance;

typedef struct {
	uint64_t instance;
	uint64_t channel;
	double value;
} echo_record;

static char* registered_name = "echo";
static int pipe_fds[2] = {-1, -1};
static uint64_t next_ident = 1;
static size_t channels_freed = 0;
/* volatile: the allocations of allocs-per-event must not be optimised away. */
static void* volatile alloc_sink;

/* Global options: logged so tests can see conf() and -b overrides; `fail` is rejected. */
static int echo_conf(char* option, char* value) {
	LOGF("conf %s=%s", option, value);
	return strcmp(option, "fail") == 0;
}

/* Logs whether the core already set the name (the real core sets it after create). */
static int echo_create(instance* inst) {
	echo_instance* data = calloc(1, sizeof(echo_instance));
	if (!data) {
		return 1;
	}
	data->gain = 1.0;
	inst->impl = data;
	inst->ident = next_ident++;
	LOGF("create name=%s", inst->name ? inst->name : "(null)");
	return 0;
}

/* Options `gain`, `mode` and `allocs-per-event`; anything else fails configuration. */
static int echo_conf_instance(instance* inst, char* option, char* value) {
	echo_instance* data = inst->impl;
	LOGF("instance %s %s=%s", inst->name, option, value);
	if (!strcmp(option, "gain")) {
		data->gain = strtod(value, NULL);
		return 0;
	}
	if (!strcmp(option, "mode")) {
		data->via_pipe = !strcmp(value, "pipe");
		return 0;
	}
	if (!strcmp(option, "allocs-per-event")) {
		data->allocs_per_event = strtol(value, NULL, 10);
		return 0;
	}
	return 1;
}

/* Channel names -> idents via a per-instance table; flags are logged for the tests. */
static channel* echo_channel(instance* inst, char* spec, uint8_t flags) {
	echo_instance* data = inst->impl;
	size_t u;
	LOGF("channel %s.%s flags=%d", inst->name, spec, flags);
	for (u = 0; u < data->n && strcmp(data->names[u], spec); u++) {
	}
	if (u == data->n) {
		data->names = realloc(data->names, (data->n + 1) * sizeof(char*));
		data->names[data->n++] = strdup(spec);
	}
	channel* c = mm_channel(inst, u, 1);
	if (c) {
		c->impl = data; /* non-NULL so the core calls channel_free */
	}
	return c;
}

/* Makes `count` heap allocations, cycling through malloc, calloc and realloc. */
static void allocate(long count) {
	for (long k = 0; k < count; k++) {
		switch (k % 3) {
			case 0: alloc_sink = malloc(16); break;
			case 1: alloc_sink = calloc(1, 16); break;
			default: alloc_sink = realloc(NULL, 16); break;
		}
		free(alloc_sink);
	}
}

/* Echo back, directly or via the pipe. */
static int echo_handle(instance* inst, size_t n, channel** c, channel_value* v) {
	echo_instance* data = inst->impl;
	for (size_t u = 0; u < n; u++) {
		allocate(data->allocs_per_event);
		channel_value out = v[u];
		out.normalised = v[u].normalised * data->gain;
		if (data->via_pipe) {
			echo_record r = {inst->ident, c[u]->ident, out.normalised};
			if (write(pipe_fds[1], &r, sizeof(r)) != sizeof(r)) {
				LOGF("pipe write failed: %s", strerror(errno));
			}
		} else {
			mm_channel_event(c[u], out);
		}
	}
	return 0;
}

/* Reads pipe records and pushes them; checks the core hands back our impl pointer. */
static int echo_process(size_t nfds, managed_fd* fds) {
	for (size_t u = 0; u < nfds; u++) {
		if (fds[u].impl != pipe_fds) {
			LOGF("managed fd %d came back with a foreign impl", fds[u].fd);
			continue;
		}
		echo_record r;
		while (read(fds[u].fd, &r, sizeof(r)) == sizeof(r)) {
			instance* inst = mm_instance_find(registered_name, r.instance);
			channel* c = inst ? mm_channel(inst, r.channel, 0) : NULL;
			if (!c) {
				LOGF("no channel for record %lu/%lu", (unsigned long) r.instance, (unsigned long) r.channel);
				continue;
			}
			channel_value v = {.raw = {.dbl = r.value}, .normalised = r.value};
			mm_channel_event(c, v);
		}
	}
	return 0;
}

/* Creates the pipe if any instance uses it. */
static int echo_start(size_t n, instance** inst) {
	int need_pipe = 0;
	for (size_t u = 0; u < n; u++) {
		need_pipe |= ((echo_instance*) inst[u]->impl)->via_pipe;
	}
	if (need_pipe) {
		if (pipe(pipe_fds) || fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK)) {
			return 1;
		}
		if (mm_manage_fd(pipe_fds[0], registered_name, 1, pipe_fds)) {
			return 1;
		}
	}
	LOGF("start %zu instances, timestamp nonzero=%d", n, mm_timestamp() != 0);
	return 0;
}

/* Counts channel_free calls so shutdown can report them. */
static void echo_channel_free(channel* c) {
	c->impl = NULL;
	channels_freed++;
}

/* Reports how many channels were freed before it ran; frees instance data. */
static int echo_shutdown(size_t n, instance** inst) {
	LOGF("shutdown %zu instances after %zu channel_free calls", n, channels_freed);
	for (size_t u = 0; u < n; u++) {
		echo_instance* data = inst[u]->impl;
		for (size_t k = 0; data && k < data->n; k++) {
			free(data->names[k]);
		}
		if (data) {
			free(data->names);
		}
		free(data);
		inst[u]->impl = NULL;
	}
	if (pipe_fds[1] >= 0) {
		close(pipe_fds[1]);
	}
	return 0;
}

/* Plugin entry point. */
MM_PLUGIN_API int init(void) {
	backend b = {
		.conf = echo_conf,
		.create = echo_create,
		.conf_instance = echo_conf_instance,
		.channel = echo_channel,
		.handle = echo_handle,
		.process = echo_process,
		.start = echo_start,
		.shutdown = echo_shutdown,
		.channel_free = echo_channel_free,
		.interval = NULL,
	};
	if (getenv("ECHO_REGISTER_AS")) {
		registered_name = getenv("ECHO_REGISTER_AS");
	}
	b.name = registered_name;
	if (getenv("ECHO_FAIL_INIT")) {
		LOGF("init fails on request%s", "");
		return 1;
	}
	if (mm_backend_register(b)) {
		LOGF("failed to register backend %s", registered_name);
		return 1;
	}
	return 0;
}
