/* A shared object without init(): the core must close and skip it. */
int noinit_plugin_marker(void);

/* Exists only so the library is not empty. */
int noinit_plugin_marker(void) {
	return 42;
}
