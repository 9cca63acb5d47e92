/* Loading libnvidia-ml and resolving its entry points.
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
 */
#include "pynvml.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "generated/sym_names.c.h"

#define DEFAULT_LIBRARY "libnvidia-ml.so.1"

/* fork() leaves NVML uninitialized in the child (seen on the H100): a counter that the
 * child's atfork handler bumps, compared by pn_check_fork.  Process-wide by nature. */
volatile unsigned long pn_fork_count = 0;

static void
on_fork_child(void)
{
    pn_fork_count++;
}

int
pn_loader_setup(pn_state *st)
{
    static int atfork_done = 0;
    if (!atfork_done) {
        if (pthread_atfork(NULL, NULL, on_fork_child) != 0) {
            PyErr_SetString(PyExc_OSError, "pthread_atfork failed");
            return -1;
        }
        atfork_done = 1;
    }
    st->forks_seen = pn_fork_count;
    st->init_lock = PyThread_allocate_lock();
    if (st->init_lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
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

void *
pn_resolve(pn_state *st, int sym)
{
    if (st->lib == NULL) {
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

static void
lock_init(pn_state *st)
{
    if (!PyThread_acquire_lock(st->init_lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(st->init_lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

PyObject *
pn_init_with_flags(pn_state *st, unsigned int flags)
{
    lock_init(st);
    pn_check_fork(st);
    nvmlReturn_t rc;
    if (load_library(st) < 0)
        goto fail;
    /* nvmlInit() is nvmlInitWithFlags(0), as in nvidia-ml-py: one entry point to need. */
    pfn_nvmlInitWithFlags fn = (pfn_nvmlInitWithFlags)st->syms[PN_SYM_nvmlInitWithFlags];
    if (fn == NULL && (fn = pn_resolve(st, PN_SYM_nvmlInitWithFlags)) == NULL)
        goto fail;
    Py_BEGIN_ALLOW_THREADS
    rc = fn(flags);
    Py_END_ALLOW_THREADS
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto fail;
    }
    st->refcount++;
    PyThread_release_lock(st->init_lock);
    Py_RETURN_NONE;
fail:
    PyThread_release_lock(st->init_lock);
    return NULL;
}

PyObject *
pn_shutdown(pn_state *st)
{
    lock_init(st);
    pn_check_fork(st);
    pfn_nvmlShutdown fn = (pfn_nvmlShutdown)st->syms[PN_SYM_nvmlShutdown];
    if (fn == NULL && (fn = pn_resolve(st, PN_SYM_nvmlShutdown)) == NULL) {
        PyThread_release_lock(st->init_lock);
        return NULL;
    }
    nvmlReturn_t rc;
    Py_BEGIN_ALLOW_THREADS
    rc = fn();
    Py_END_ALLOW_THREADS
    if (rc != NVML_SUCCESS) {
        PyThread_release_lock(st->init_lock);
        return pn_raise(st, rc);
    }
    if (st->refcount > 0 && --st->refcount == 0)
        st->epoch++;   /* NVML forgot its handles: ours go stale with them */
    PyThread_release_lock(st->init_lock);
    Py_RETURN_NONE;
}
