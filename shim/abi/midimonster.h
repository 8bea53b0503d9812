/* The MIDIMonster backend plugin ABI (core v0.7), declared from ../shared/MIDIMONSTER_ABI.md.
 * Our own declarations, so the shim builds without the core's source; the static asserts
 * pin the 64-bit layout the real core expects. The test core in tools/ includes this too.
 * Plain C so that a C core could include it as well. */
#ifndef MMPY_MIDIMONSTER_H
#define MMPY_MIDIMONSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Visibility of the plugin's single entry point; everything else stays hidden. */
#define MM_PLUGIN_API __attribute__((visibility("default")))

struct _channel_value;
struct _backend_channel;
struct _backend_instance;
struct _managed_fd;

typedef int (*mmbackend_handle_event)(struct _backend_instance* inst, size_t channels, struct _backend_channel** c, struct _channel_value* v);
typedef int (*mmbackend_create_instance)(struct _backend_instance* inst);
typedef struct _backend_channel* (*mmbackend_parse_channel)(struct _backend_instance* instance, char* spec, uint8_t flags);
typedef void (*mmbackend_free_channel)(struct _backend_channel* c);
typedef int (*mmbackend_configure)(char* option, char* value);
typedef int (*mmbackend_configure_instance)(struct _backend_instance* instance, char* option, char* value);
typedef int (*mmbackend_process_fd)(size_t nfds, struct _managed_fd* fds);
typedef int (*mmbackend_start)(size_t ninstances, struct _backend_instance** inst);
typedef uint32_t (*mmbackend_interval)(void);
typedef int (*mmbackend_shutdown)(size_t ninstances, struct _backend_instance** inst);

/* Bits of the `flags` argument of the channel callback. */
enum {
	mmchannel_input = 0x1,  /* the backend produces events on this channel (into the core) */
	mmchannel_output = 0x2  /* the core delivers events to this channel */
};

typedef struct _channel_value {
	union {
		double dbl;
		uint64_t u64;
	} raw;
	double normalised;
} channel_value;

typedef struct {
	char* name;
	mmbackend_configure conf;
	mmbackend_create_instance create;
	mmbackend_configure_instance conf_instance;
	mmbackend_parse_channel channel;
	mmbackend_handle_event handle;
	mmbackend_process_fd process;
	mmbackend_start start;
	mmbackend_shutdown shutdown;
	mmbackend_free_channel channel_free;
	mmbackend_interval interval;
} backend;

typedef struct _backend_instance {
	backend* backend;
	uint64_t ident;
	void* impl;
	char* name;
} instance;

typedef struct _backend_channel {
	instance* instance;
	uint64_t ident;
	void* impl;
} channel;

typedef struct _managed_fd {
	int fd;
	backend* backend;
	void* impl;
} managed_fd;

/* Exported by the core executable. */
int mm_backend_register(backend b);
instance* mm_instance_find(char* backend, uint64_t ident);
channel* mm_channel(instance* i, uint64_t ident, uint8_t create);
void mm_channel_update(channel* c, uint64_t ident);
int mm_manage_fd(int fd, char* backend, int manage, void* impl);
int mm_channel_event(channel* c, channel_value v);
uint64_t mm_timestamp(void);
int mm_backend_instances(char* backend, size_t* n, instance*** i);
__attribute__((format(printf, 3, 4))) int log_printf(int level, char* module, char* fmt, ...);

#ifdef __cplusplus
}

static_assert(sizeof(channel_value) == 16, "channel_value layout");
static_assert(sizeof(backend) == 11 * sizeof(void*), "backend callback table layout");
static_assert(offsetof(backend, interval) == 10 * sizeof(void*), "backend callback table layout");
static_assert(offsetof(instance, name) == 24, "instance layout");
static_assert(offsetof(channel, impl) == 16, "channel layout");
static_assert(offsetof(managed_fd, impl) == 16, "managed_fd layout");
#endif

#endif
