/* Loading libnvidia-ml and resolving its entry points; nvmlInit/nvmlShutdown, their
 * refcount, the real shutdown deferred by a grace period, and fork.
 *
 * The extension never links against NVML: the library is dlopen'ed by the first
 * nvmlInit* and each entry point is looked up with dlsym on its first call, then kept
 * in pn_state.syms.  A symbol the library lacks (an older driver) raises
 * NVMLError_FunctionNotFound; a library that cannot be opened raises
 * NVMLError_LibraryNotFound.  The library stays loaded after nvmlShutdown, as in
 * nvidia-ml-py, so later calls reach NVML and get its NVML_ERROR_UNINITIALIZED.
 *
 * PYNVML_LIBRARY names another library (a path) to load instead; the value "sim"
 * selects the simulated NVML that ships in the package.
 *
 * Amortized init/shutdown (issue #19).  A poll written as nvmlInit(); getters;
 * nvmlShutdown() pays NVML's real init and shutdown each time (16 ms on an H200, where
 * the getters cost 10 us).  So the last nvmlShutdown (our refcount back to 0) makes our
 * layer uninitialized at once -- handles go stale, every entry point but nvmlErrorString
 * raises NVMLError_Uninitialized, as after a real shutdown -- but keeps NVML's own
 * initialization for a grace period (PYNVML_SHUTDOWN_GRACE seconds, default
 * GRACE_DEFAULT_S; 0 turns it off).  An nvmlInit with the same flags within it takes
 * that initialization over (no NVML call); other flags shut it down and initialize anew.
 * While the period is on, an nvmlInit nested in another with the same flags is counted
 * without an NVML call either (a monitor that holds NVML while a library it uses polls
 * as above), and NVML's own count follows ours down only as far as it must (real_refs);
 * with PYNVML_SHUTDOWN_GRACE=0 every nvmlInit and nvmlShutdown reaches NVML, as before.
 * The real nvmlShutdown comes from a timer thread (a C thread: it never keeps the
 * interpreter alive) at the end of the period, from Py_AtExit at interpreter exit, or
 * from _nvml._release_now(); never in a fork child, which forgets it.
 *
 * What is process-wide lives in `proc` below, not in the module state: NVML's
 * initialization is one per process, and the timer thread, the atfork handler and the
 * exit hook all run outside any module (and may outlive one).  The refcount and the
 * handles' epoch stay per module state.
 */
#include "pynvml.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "generated/sym_names.c.h"

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"

/* Seconds NVML stays initialized after the last nvmlShutdown, unless PYNVML_SHUTDOWN_GRACE
 * says otherwise.  Long enough to span the poll intervals of the clients that init and
 * shut down on every poll (gpustat --watch: 1 s, nvitop: 2 s, Ray's reporter: 2.5 s),
 * short enough that an administrator's GPU reset or driver unload waits only seconds for
 * a process that has stopped polling (README, "Amortized init/shutdown"). */
#define GRACE_DEFAULT_S 5.0
#define GRACE_MAX_S 86400.0

/* fork() leaves NVML uninitialized in the child (seen on the H100): a counter that the
 * child's atfork handler bumps, compared by pn_check_fork.  Process-wide by nature. */
volatile unsigned long pn_fork_count = 0;

typedef nvmlReturn_t (*shutdown_fn)(void);

static struct {
    /* Serializes nvmlInit and nvmlShutdown (every module state's) and guards the rest. */
    pthread_mutex_t lock;
    pthread_cond_t wake;            /* the timer thread waits on it (CLOCK_MONOTONIC) */
    int held;                       /* NVML initialized by us, kept only for the grace period */
    unsigned int held_flags;        /* the flags of that initialization */
    void *held_lib;                 /* the library it was made through */
    shutdown_fn held_shutdown;      /* its nvmlShutdown */
    char held_profile[512];         /* PYNVML_SIM_PROFILE when it was made ("" unset; see below) */
    int held_profile_known;         /* held_profile holds the whole value */
    struct timespec deadline;       /* when the timer thread shuts it down (monotonic) */
    int timer_running;              /* the timer thread exists (not in a fork child) */
    int exiting;                    /* Py_AtExit ran: nothing is deferred from now on */
} proc = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void
proc_sync_init(void)
{
    pthread_condattr_t ca;
    pthread_mutex_init(&proc.lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&proc.wake, &ca);
    pthread_condattr_destroy(&ca);
}

/* In the child of a fork: the threads of the parent are gone, whatever they held.  The
 * lock is made anew (another thread may have held it inside nvmlInit: the child's
 * nvmlInit would wait for ever, issue #11), and the parent's deferred shutdown is
 * forgotten: the child's NVML is not initialized, and shutting it down is the parent's
 * business. */
static void
on_fork_child(void)
{
    pn_fork_count++;
    proc_sync_init();
    proc.held = 0;
    proc.timer_running = 0;
}

/* The real nvmlShutdown of the initialization kept for the grace period; proc.lock held.
 * Its return code has nobody to go to (the caller's nvmlShutdown returned long ago). */
static void
release_held(void)
{
    if (!proc.held)
        return;
    proc.held = 0;
    (void)proc.held_shutdown();
}

static int
deadline_passed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > proc.deadline.tv_sec ||
           (now.tv_sec == proc.deadline.tv_sec && now.tv_nsec >= proc.deadline.tv_nsec);
}

/* The timer thread: sleeps until a deferred shutdown is due, then makes it.  No Python. */
static void *
timer_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&proc.lock);
    for (;;) {
        if (proc.exiting)
            break;
        if (!proc.held)
            pthread_cond_wait(&proc.wake, &proc.lock);
        else if (deadline_passed())
            release_held();
        else
            pthread_cond_timedwait(&proc.wake, &proc.lock, &proc.deadline);
    }
    pthread_mutex_unlock(&proc.lock);
    return NULL;
}

/* proc.lock held.  0, or -1 where no thread could be made (the caller then shuts down at
 * once).  The thread blocks every signal: they stay for the interpreter's threads. */
static int
start_timer(void)
{
    if (proc.timer_running)
        return 0;
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&t, &attr, timer_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return -1;
    proc.timer_running = 1;
    return 0;
}

/* At interpreter exit (after finalization: no Python): the deferred shutdown now.  A
 * daemon thread frozen by finalization inside nvmlInit would hold the lock for ever:
 * after 2 s the process ends without us (the driver lets go of a process that ends). */
static void
at_exit(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    if (pthread_mutex_timedlock(&proc.lock, &until) != 0)
        return;
    release_held();
    proc.exiting = 1;
    pthread_cond_signal(&proc.wake);
    pthread_mutex_unlock(&proc.lock);
}

int
pn_loader_setup(pn_state *st)
{
    static int once = 0;
    if (!once) {
        proc_sync_init();
        if (pthread_atfork(NULL, NULL, on_fork_child) != 0) {
            PyErr_SetString(PyExc_OSError, "pthread_atfork failed");
            return -1;
        }
        if (Py_AtExit(at_exit) < 0) {
            PyErr_SetString(PyExc_RuntimeError, "Py_AtExit: no room for pynvml's exit hook");
            return -1;
        }
        once = 1;
    }
    st->forks_seen = pn_fork_count;
    return 0;
}

/* In a forked child, forget the parent's initialization: handles made before the fork
 * become stale (NVMLError_Uninitialized) and the refcount starts from zero. */
int
pn_check_fork(pn_state *st)
{
    if (st->forks_seen != pn_fork_count) {
        st->forks_seen = pn_fork_count;
        st->refcount = 0;
        st->real_refs = 0;
        st->epoch++;
        return 1;
    }
    return 0;
}

static int
load_library(pn_state *st)
{
    if (st->lib != NULL)
        return 0;
    const char *want = getenv("PYNVML_LIBRARY");
    if (want == NULL || *want == '\0')
        want = DEFAULT_LIBRARY;
    else if (strcmp(want, "sim") == 0) {
        if (st->sim_path == NULL) {
            PyErr_SetString(PyExc_RuntimeError,
                            "PYNVML_LIBRARY=sim, but this build of pynvml has no simulator");
            return -1;
        }
        want = st->sim_path;
    }
    void *lib;
    Py_BEGIN_ALLOW_THREADS
    lib = dlopen(want, RTLD_NOW | RTLD_LOCAL);
    Py_END_ALLOW_THREADS
    if (lib == NULL) {
        const char *why = dlerror();
        PyObject *exc = NULL;
        pn_raise(st, NVML_ERROR_LIBRARY_NOT_FOUND);
        /* Say which library and why: the class and code stay those of nvidia-ml-py. */
        PyObject *type, *tb;
        PyErr_Fetch(&type, &exc, &tb);
        PyErr_NormalizeException(&type, &exc, &tb);
        if (exc != NULL) {
            PyObject *detail = why ? PyUnicode_FromString(why)
                                   : PyUnicode_FromFormat("%s: not found", want);
            if (detail != NULL) {
                PyObject_SetAttrString(exc, "detail", detail);
                Py_DECREF(detail);
            }
        }
        PyErr_Restore(type, exc, tb);
        return -1;
    }
    st->lib_path = strdup(want);
    memset(st->syms, 0, sizeof st->syms);
    st->lib = lib;
    return 0;
}

int
pn_layer_uninitialized(pn_state *st)
{
    return st->refcount == 0 && __atomic_load_n(&proc.held, __ATOMIC_ACQUIRE);
}

void *
pn_resolve(pn_state *st, int sym)
{
    /* Within a grace period NVML is still initialized, but our caller shut it down: it
     * gets what NVML would have answered (nvmlErrorString needs no initialization). */
    if (st->lib == NULL || (sym != PN_SYM_nvmlErrorString && pn_layer_uninitialized(st))) {
        pn_raise(st, NVML_ERROR_UNINITIALIZED);
        return NULL;
    }
    if (st->fnptr_hooked && sym != PN_SYM_nvmlInitWithFlags && sym != PN_SYM_nvmlShutdown)
        return pn_hook_resolve(st, sym);    /* a client's _nvmlGetFunctionPointer: fnptr_hook.c */
    void *p = dlsym(st->lib, pn_sym_names[sym]);
    if (p == NULL) {
        pn_raise(st, NVML_ERROR_FUNCTION_NOT_FOUND);
        return NULL;
    }
    st->syms[sym] = p;
    return p;
}

/* nvmlInitWithFlags / nvmlShutdown themselves, whatever the layer's state. */
static void *
resolve_raw(pn_state *st, int sym)
{
    void *p = st->syms[sym];
    if (p == NULL && (p = dlsym(st->lib, pn_sym_names[sym])) == NULL)
        pn_raise(st, NVML_ERROR_FUNCTION_NOT_FOUND);
    return p;
}

static double grace_seconds(int warn);

/* PYNVML_SIM_PROFILE is what it was when the held initialization was made (a value too
 * long to keep counts as changed: NVML is initialized anew). */
static int
same_profile(void)
{
    const char *profile = getenv("PYNVML_SIM_PROFILE");
    return proc.held_profile_known && strcmp(profile ? profile : "", proc.held_profile) == 0;
}

/* proc.lock, waited for without the GIL. */
static void
lock_init(void)
{
    if (pthread_mutex_trylock(&proc.lock) != 0) {
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&proc.lock);
        Py_END_ALLOW_THREADS
    }
}

static void
unlock_init(void)
{
    pthread_mutex_unlock(&proc.lock);
}

PyObject *
pn_init_with_flags(pn_state *st, unsigned int flags)
{
    int amortized = grace_seconds(0) > 0;   /* before the lock: it may not run Python */
    lock_init();
    pn_check_fork(st);
    nvmlReturn_t rc;
    if (load_library(st) < 0)
        goto fail;
    if (st->refcount == 0 && proc.held) {
        /* Taken over only if it is the same NVML: same library, same flags and, for the
         * simulator, the same profile (its GPUs are read at init: a test that points
         * PYNVML_SIM_PROFILE elsewhere before nvmlInit must get those GPUs). */
        if (proc.held_lib == st->lib && proc.held_flags == flags && same_profile()) {
            /* the grace period's initialization becomes the caller's: no NVML call */
            proc.held = 0;
            st->refcount = 1;
            st->real_refs = 1;
            st->real_flags = flags;
            unlock_init();
            Py_RETURN_NONE;
        }
        Py_BEGIN_ALLOW_THREADS
        release_held();   /* other flags: NVML initialized anew, with them */
        Py_END_ALLOW_THREADS
    }
    if (amortized && st->refcount > 0 && flags == st->real_flags) {
        /* NVML is initialized by us with these flags already: counted, no NVML call */
        st->refcount++;
        unlock_init();
        Py_RETURN_NONE;
    }
    /* nvmlInit() is nvmlInitWithFlags(0), as in nvidia-ml-py: one entry point to need. */
    pfn_nvmlInitWithFlags fn = (pfn_nvmlInitWithFlags)resolve_raw(st, PN_SYM_nvmlInitWithFlags);
    if (fn == NULL)
        goto fail;
    st->syms[PN_SYM_nvmlInitWithFlags] = (void *)fn;
    Py_BEGIN_ALLOW_THREADS
    rc = fn(flags);
    Py_END_ALLOW_THREADS
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto fail;
    }
    if (st->refcount++ == 0)
        st->real_flags = flags;
    st->real_refs++;
    unlock_init();
    Py_RETURN_NONE;
fail:
    unlock_init();
    return NULL;
}

/* The grace period PYNVML_SHUTDOWN_GRACE asks for, in seconds; -1 where it is not a
 * number of seconds from 0 to GRACE_MAX_S, with a warning raised (or an error) if `warn`. */
static double
grace_seconds(int warn)
{
    const char *s = getenv("PYNVML_SHUTDOWN_GRACE");
    if (s == NULL || *s == '\0')
        return GRACE_DEFAULT_S;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || *end != '\0' || errno != 0 || !isfinite(v) || v < 0 || v > GRACE_MAX_S) {
        if (warn)
            PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "PYNVML_SHUTDOWN_GRACE=%.40s is not a number of seconds from 0 to %d: "
                             "NVML is shut down at once", s, (int)GRACE_MAX_S);
        return -1;
    }
    return v;
}

/* The last shutdown: keep NVML's initialization for `grace` seconds (proc.lock held).
 * 1 when deferred; 0 where the shutdown is to be made now. */
static int
defer_shutdown(pn_state *st, shutdown_fn fn, double grace)
{
    if (proc.held || proc.exiting || grace <= 0)
        return 0;   /* another module instance's is kept already; too late; or no grace */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double whole = floor(grace);
    long long ns = now.tv_nsec + (long long)((grace - whole) * 1e9);
    proc.deadline.tv_sec = now.tv_sec + (time_t)whole + (time_t)(ns / 1000000000LL);
    proc.deadline.tv_nsec = (long)(ns % 1000000000LL);
    if (start_timer() < 0)
        return 0;
    proc.held = 1;
    const char *profile = getenv("PYNVML_SIM_PROFILE");
    proc.held_profile_known = strlen(profile ? profile : "") < sizeof proc.held_profile;
    snprintf(proc.held_profile, sizeof proc.held_profile, "%s", profile ? profile : "");
    proc.held_flags = st->real_flags;
    proc.held_lib = st->lib;
    proc.held_shutdown = fn;
    pthread_cond_signal(&proc.wake);
    return 1;
}

PyObject *
pn_shutdown(pn_state *st)
{
    /* read before the lock: its warning can run Python code, which could call us */
    double grace = grace_seconds(1);
    if (grace < 0 && PyErr_Occurred())
        return NULL;
    lock_init();
    pn_check_fork(st);
    if (pn_layer_uninitialized(st)) {
        /* NVML is held for the grace period: not ours to shut down again */
        unlock_init();
        return pn_raise(st, NVML_ERROR_UNINITIALIZED);
    }
    if (st->lib == NULL) {
        unlock_init();
        return pn_raise(st, NVML_ERROR_UNINITIALIZED);
    }
    shutdown_fn fn = (shutdown_fn)resolve_raw(st, PN_SYM_nvmlShutdown);
    if (fn == NULL) {
        unlock_init();
        return NULL;
    }
    st->syms[PN_SYM_nvmlShutdown] = (void *)fn;
    long after = st->refcount > 0 ? st->refcount - 1 : 0;
    if (st->refcount == 1 && st->real_refs == 1 && defer_shutdown(st, fn, grace)) {
        st->refcount = 0;
        st->real_refs = 0;   /* proc holds it now */
        st->epoch++;   /* as after a real shutdown: our handles go stale */
        /* every entry point through pn_resolve again, which answers UNINITIALIZED;
         * word by word: the smi engine reads them without the GIL (smi_query.c) */
        for (int i = 0; i < PN_NSYMS; i++)
            __atomic_store_n(&st->syms[i], NULL, __ATOMIC_RELAXED);
        unlock_init();
        Py_RETURN_NONE;
    }
    /* NVML's own refcount follows ours down only as far as it must: a reference of ours
     * more than the inits left (one made with other flags, or every one when there is
     * no grace period); with nothing of ours initialized, NVML answers for itself */
    if (st->refcount == 0 || st->real_refs > after) {
        nvmlReturn_t rc;
        Py_BEGIN_ALLOW_THREADS
        rc = fn();
        Py_END_ALLOW_THREADS
        if (rc != NVML_SUCCESS) {
            unlock_init();
            return pn_raise(st, rc);
        }
        if (st->real_refs > 0)
            st->real_refs--;
    }
    if (st->refcount > 0 && --st->refcount == 0)
        st->epoch++;   /* NVML forgot its handles: ours go stale with them */
    unlock_init();
    Py_RETURN_NONE;
}

/* _nvml._release_now(): the deferred shutdown, now; True if there was one. */
PyObject *
pn_release_now(pn_state *st)
{
    (void)st;
    int had;
    lock_init();
    had = proc.held;
    Py_BEGIN_ALLOW_THREADS
    release_held();
    Py_END_ALLOW_THREADS
    unlock_init();
    return PyBool_FromLong(had);
}

/* _nvml._release_pending(): whether NVML is kept initialized for a grace period now. */
PyObject *
pn_release_pending(pn_state *st)
{
    (void)st;
    return PyBool_FromLong(__atomic_load_n(&proc.held, __ATOMIC_ACQUIRE));
}
