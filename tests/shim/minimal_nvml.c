/* A stand-in libnvidia-ml that exports only what nvmlInit and nvmlShutdown need (and
 * nvmlErrorString): every other entry point is missing, as in a driver too old for a
 * function.  tests/test_loading.py builds it with gcc and loads it via PYNVML_LIBRARY;
 * built with -DWITHOUT_INIT it lacks nvmlInitWithFlags too.  Built with -DLOG_CALLS
 * (tests/test_grace.py), each nvmlInitWithFlags and nvmlShutdown appends a line
 * "pid init|shutdown" to the file PYNVML_SHIM_LOG names: what a process did up to its
 * very end, interpreter exit included, seen from outside it. */
#ifdef LOG_CALLS
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
log_call(const char *what)
{
    const char *path = getenv("PYNVML_SHIM_LOG");
    if (path == NULL)
        return;
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), what);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        if (write(fd, line, (size_t)n) != n) { /* a test log: nothing to do */ }
        close(fd);
    }
}
#else
#define log_call(what) ((void)0)
#endif

#ifndef WITHOUT_INIT
int nvmlInitWithFlags(unsigned int flags) { (void)flags; log_call("init"); return 0; }
#endif
int nvmlShutdown(void) { log_call("shutdown"); return 0; }
const char *nvmlErrorString(int result) { (void)result; return "minimal shim error text"; }
