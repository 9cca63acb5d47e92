/* A stand-in libnvidia-ml that exports only what nvmlInit and nvmlShutdown need (and
 * nvmlErrorString): every other entry point is missing, as in a driver too old for a
 * function.  tests/test_loading.py builds it with gcc and loads it via PYNVML_LIBRARY;
 * built with -DWITHOUT_INIT it lacks nvmlInitWithFlags too. */
#ifndef WITHOUT_INIT
int nvmlInitWithFlags(unsigned int flags) { (void)flags; return 0; }
#endif
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int result) { (void)result; return "minimal shim error text"; }
