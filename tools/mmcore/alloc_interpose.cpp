// Counting allocation functions (see callstats.h). Definitions in the executable interpose
// the calls of the plugins and of the libraries they use (libc's and libstdc++'s own calls
// included: they go through the PLT). Each forwards straight to glibc's implementation
// (__libc_*), so nothing here can recurse (no dlsym(RTLD_NEXT), which itself calls calloc).
// Built only without sanitizers (tools/mmcore/CMakeLists.txt), which own malloc.
#include "callstats.h"

#ifdef MMCORE_ALLOC_COUNTING

#include <cerrno>
#include <malloc.h>
#include <stdlib.h>

extern "C" {
void* __libc_malloc(size_t size) noexcept;
void* __libc_calloc(size_t n, size_t size) noexcept;
void* __libc_realloc(void* ptr, size_t size) noexcept;
void* __libc_memalign(size_t alignment, size_t size) noexcept;
}

namespace {

inline void count() {
	if (uint64_t* counter = mmcore::current_alloc_counter) {
		++*counter;
	}
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* malloc(size_t size) noexcept {
	count();
	return __libc_malloc(size);
}

__attribute__((visibility("default"))) void* calloc(size_t n, size_t size) noexcept {
	count();
	return __libc_calloc(n, size);
}

__attribute__((visibility("default"))) void* realloc(void* ptr, size_t size) noexcept {
	count();
	return __libc_realloc(ptr, size);
}

__attribute__((visibility("default"))) void* memalign(size_t alignment, size_t size) noexcept {
	count();
	return __libc_memalign(alignment, size);
}

// Like glibc before 2.38, an alias of memalign.
__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) noexcept {
	count();
	return __libc_memalign(alignment, size);
}

__attribute__((visibility("default"))) int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
	count();
	if (alignment == 0 || alignment % sizeof(void*) || (alignment & (alignment - 1))) {
		return EINVAL;
	}
	void* p = __libc_memalign(alignment, size);
	if (!p && size) {
		return ENOMEM;
	}
	*out = p;
	return 0;
}
}

#endif
