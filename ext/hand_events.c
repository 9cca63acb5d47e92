/* Wrappers of the events family that fit no pattern of the spec (spec/functions_events.nvml):
 *
 *   - calls that make or free an object the caller owns (event sets, system event sets,
 *     GPM samples): the extension records what it made (ext/handles.c, st->live), so a
 *     freed object is refused with ValueError instead of reaching NVML again;
 *   - the waits: NVML blocks for up to `timeoutms`.  The GIL is released while it does,
 *     and the wait is made in slices of at most PN_WAIT_SLICE_MS, between which pending
 *     signals are handled: Ctrl-C raises KeyboardInterrupt within a slice instead of
 *     after the whole timeout (a signal handler only runs in the main thread, between
 *     bytecodes; a thread blocked inside C would otherwise not see it until NVML
 *     returned).  An event that arrives during a slice ends the wait as usual;
 *   - a free while another thread waits on the object (its slice runs without the GIL):
 *     the object is forgotten first (the waiter stops after its slice, with ValueError),
 *     then the free waits for that slice to end before NVML frees it (struct pn_waiting).
 *     The other calls that take an object the caller frees (nvmlGpmSampleGet, ...) are
 *     short and keep the GIL, so no free can run during them;
 *   - arguments converted first, the handles checked after (again): a later argument's
 *     __index__ may free the set or shut NVML down (ext/convert.c);
 *   - calls that return one of their arguments (nvmlGpmSampleGet returns the sample,
 *     nvmlGpmMetricsGet the struct it filled, as nvidia-ml-py does), or NVML_SUCCESS;
 *   - nvidia-ml-py's system event API: request structs built from Python arguments, and
 *     c_nvmlSystem* taking the request struct itself;
 *   - nvmlUnitGetDeviceCount: a size query whose INSUFFICIENT_SIZE is the answer.
 */
#include "pynvml.h"

#include <string.h>
#include <time.h>

#define PN_WAIT_SLICE_MS 100u

static unsigned long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

/* Arguments by position or keyword (ext/convert.c). */
#define UNPACK(fname, names, nmin, nmax, argv)                                       \
    if (pn_unpack(fname, args, nargs, kwnames, names, nmin, nmax, argv) < 0)        \
        return NULL

/* fn(arg) for the entry point `sym`, which takes one pointer (an object NVML made, a
 * request struct), with the GIL held (short calls: no other thread frees the object or
 * changes the request meanwhile): 0, or -1 with an error raised (NVML's, or the
 * loader's where the symbol is missing). */
static int
call_with_ptr(pn_state *st, int sym, void *arg)
{
    nvmlReturn_t (*fn)(void *) = st->syms[sym];
    if (fn == NULL && (fn = (nvmlReturn_t (*)(void *))pn_resolve(st, sym)) == NULL)
        return -1;
    nvmlReturn_t rc = fn(arg);
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        return -1;
    }
    return 0;
}

/* An object used by a wait slice, which runs without the GIL: a list on the C stacks of
 * the waiting threads, changed with the GIL held. */
struct pn_waiting {
    void *obj;
    struct pn_waiting *next;
};

/* Before the free of `obj`, which is no longer tracked: until no slice uses it, let the
 * other threads run (a slice ends within PN_WAIT_SLICE_MS). */
static void
wait_unused(pn_state *st, void *obj)
{
    for (;;) {
        struct pn_waiting *w = st->waiting;
        while (w != NULL && w->obj != obj)
            w = w->next;
        if (w == NULL)
            return;
        Py_BEGIN_ALLOW_THREADS
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        Py_END_ALLOW_THREADS
    }
}

/* The NVML free of tracked object `obj` (argument `arg`, the handle object, or NULL):
 * forgotten, so that no other call starts using it, then freed once no wait uses it;
 * tracked again if NVML refuses (it is then still there).  0, or -1 with an error. */
static int
free_tracked(pn_state *st, int kind, int sym, void *obj, void *req, PyObject *arg)
{
    pn_handle_untrack(st, kind, obj, arg);
    wait_unused(st, obj);
    if (call_with_ptr(st, sym, req) == 0)
        return 0;
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (pn_handle_track(st, kind, obj) == 0 && arg != NULL)
        ((pn_handle *)arg)->freed = 0;
    PyErr_Clear();
    PyErr_Restore(type, value, tb);
    return -1;
}

/* --- device event sets --------------------------------------------------------------- */

/* An object NVML allocates (an event set, a GPM sample): made with `alloc`, recorded so
 * that its free can be refused a second time, wrapped as a handle of `kind`. */
static PyObject *
tracked_alloc(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname,
              int sym, int kind)
{
    pn_state *st = pn_get_state(module);
    if (pn_unpack(fname, args, nargs, kwnames, NULL, 0, 0, NULL) < 0)
        return NULL;
    nvmlReturn_t (*fn)(void **) = st->syms[sym];
    if (fn == NULL && (fn = (nvmlReturn_t (*)(void **))pn_resolve(st, sym)) == NULL)
        return NULL;
    void *obj = NULL;
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(&obj));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    if (pn_handle_track(st, kind, obj) < 0)
        return NULL;
    return pn_handle_new(st, kind, obj);
}

/* Its free: a handle of `kind` (refused once freed), then forgotten. */
static PyObject *
tracked_free(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname,
             const char *const *names, int sym, int kind)
{
    pn_state *st = pn_get_state(module);
    PyObject *argv[1];
    if (pn_unpack(fname, args, nargs, kwnames, names, 1, 1, argv) < 0)
        return NULL;
    void *obj;
    if (pn_arg_handle(st, argv[0], kind, fname, names[0], &obj) < 0 ||
        free_tracked(st, kind, sym, obj, obj, Py_TYPE(argv[0]) == (PyTypeObject *)st->handle_types[kind] ? argv[0] : NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* h_<alloc_fn>() and h_<free_fn>(<argname>): tracked_alloc and tracked_free of handle kind `kind`. */
#define TRACKED(alloc_fn, free_fn, argname, kind)                                                     \
    PN_ENTRY(h_##alloc_fn, return tracked_alloc(module, args, nargs, kwnames, #alloc_fn, PN_SYM_##alloc_fn, kind);) \
    PN_ENTRY(h_##free_fn, static const char *const names[] = {argname, NULL};                         \
             return tracked_free(module, args, nargs, kwnames, #free_fn, names, PN_SYM_##free_fn, kind);)

TRACKED(nvmlEventSetCreate, nvmlEventSetFree, "eventSet", PN_HANDLE_EventSet)


/* One slice of a wait, made with the GIL released. */
typedef nvmlReturn_t (*wait_slice_fn)(void *ctx, unsigned int slice_ms);

/* Wait on `obj` up to timeout_ms in slices; before each slice check (through `recheck`,
 * which may raise) that the object waited on is still ours, between slices handle
 * signals.  Each slice is listed in st->waiting while it runs (a free waits for it).
 * Returns NVML's code, or -1 with a Python error set. */
static int
wait_sliced(pn_state *st, void *obj, unsigned int timeout_ms, wait_slice_fn call, void *ctx,
            int (*recheck)(void *ctx))
{
    unsigned long long deadline = now_ms() + timeout_ms;
    for (;;) {
        if (recheck(ctx) < 0)
            return -1;
        unsigned long long now = now_ms();
        unsigned int left = now >= deadline ? 0 : (unsigned int)(deadline - now);
        unsigned int slice = left < PN_WAIT_SLICE_MS ? left : PN_WAIT_SLICE_MS;
        nvmlReturn_t rc;
        struct pn_waiting me = {obj, st->waiting};
        st->waiting = &me;
        Py_BEGIN_ALLOW_THREADS   /* blocks by design: always (ext/gil.h) */
        rc = call(ctx, slice);
        Py_END_ALLOW_THREADS
        struct pn_waiting **at = &st->waiting;   /* others may have come and gone meanwhile */
        while (*at != &me)
            at = &(*at)->next;
        *at = me.next;
        if (rc != NVML_ERROR_TIMEOUT || slice == left)
            return rc;
        if (PyErr_CheckSignals() < 0)
            return -1;
    }
}

typedef struct {
    pn_state *st;
    pfn_nvmlEventSetWait_v2 fn;
    nvmlEventSet_t set;
    PyObject *obj;
    const char *fname;
    nvmlEventData_t data;
} event_wait;

static nvmlReturn_t
event_wait_slice(void *ctx, unsigned int slice_ms)
{
    event_wait *w = ctx;
    return w->fn(w->set, &w->data, slice_ms);
}

static int
event_wait_recheck(void *ctx)
{
    event_wait *w = ctx;
    void *p;   /* freed (or NVML shut down) by another thread meanwhile: stop here */
    return pn_arg_handle(w->st, w->obj, PN_HANDLE_EventSet, w->fname, "eventSet", &p);
}

static PyObject *
event_set_wait(PyObject *module, const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"eventSet", "timeoutms", NULL};
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    event_wait w;
    memset(&w, 0, sizeof w);
    unsigned int timeout;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_EventSet, fname, "eventSet", (void **)&w.set) < 0 ||
        pn_arg_u32(argv[1], fname, "timeoutms", &timeout) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_EventSet, fname, "eventSet", (void **)&w.set) < 0)
        return NULL;   /* (the set again: timeoutms's __index__ may have freed it) */
    PN_RESOLVE(st, PN_SYM_nvmlEventSetWait_v2, pfn_nvmlEventSetWait_v2, fn);
    w.st = st;
    w.fn = fn;
    w.obj = argv[0];
    w.fname = fname;
    int rc = wait_sliced(st, w.set, timeout, event_wait_slice, &w, event_wait_recheck);
    if (rc < 0)
        return NULL;
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_struct_new(st, PN_STRUCT_nvmlEventData_t, &w.data);
}

static PyObject *
h_nvmlEventSetWait_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return event_set_wait(module, "nvmlEventSetWait_v2", args, nargs, kwnames);
}

static PyObject *
h_nvmlEventSetWait(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return event_set_wait(module, "nvmlEventSetWait", args, nargs, kwnames);
}

/* nvmlEventSetWait_v3(eventSet, params) (NVML 13.615): the wait's timeout travels in the
 * caller's c_nvmlEventSetWait_v3_t (params.timeoutMs), which NVML fills with the event.
 * Waited in slices as above, each on a copy of params holding the slice's timeout; the
 * event is copied back into params (its timeoutMs as the caller set it).  Returns None, as
 * nvidia-ml-py's does. */
typedef struct {
    pn_state *st;
    pfn_nvmlEventSetWait_v3 fn;
    nvmlEventSet_t set;
    PyObject *obj;
    nvmlEventSetWait_v3_t params;
} event_wait_v3;

static nvmlReturn_t
event_wait_v3_slice(void *ctx, unsigned int slice_ms)
{
    event_wait_v3 *w = ctx;
    w->params.timeoutMs = slice_ms;
    return w->fn(w->set, &w->params);
}

static int
event_wait_v3_recheck(void *ctx)
{
    event_wait_v3 *w = ctx;
    void *p;
    return pn_arg_handle(w->st, w->obj, PN_HANDLE_EventSet, "nvmlEventSetWait_v3", "eventSet", &p);
}

static PyObject *
h_nvmlEventSetWait_v3(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"eventSet", "params", NULL};
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK("nvmlEventSetWait_v3", names, 2, 2, argv);
    event_wait_v3 w;
    memset(&w, 0, sizeof w);
    void *params;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_EventSet, "nvmlEventSetWait_v3", "eventSet", (void **)&w.set) < 0 ||
        pn_arg_struct(st, argv[1], PN_STRUCT_nvmlEventSetWait_v3_t, "nvmlEventSetWait_v3", "params", &params) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlEventSetWait_v3, pfn_nvmlEventSetWait_v3, fn);
    w.st = st;
    w.fn = fn;
    w.obj = argv[0];
    memcpy(&w.params, params, sizeof w.params);
    unsigned int timeout = w.params.timeoutMs;
    int rc = wait_sliced(st, w.set, timeout, event_wait_v3_slice, &w, event_wait_v3_recheck);
    if (rc < 0)
        return NULL;
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    w.params.timeoutMs = timeout;
    memcpy(params, &w.params, sizeof w.params);   /* the object is alive: argv holds it */
    Py_RETURN_NONE;
}

/* --- system event sets ----------------------------------------------------------------- */

/* The `set` member of a request struct must be a set we made and did not free. */
static int
check_request_set(pn_state *st, nvmlSystemEventSet_t set, const char *fname)
{
    if (set == NULL)
        return 0;   /* NVML answers NULL itself */
    int live = pn_handle_is_live(st, PN_HANDLE_SystemEventSet, set);
    if (live < 0)
        return -1;
    if (!live) {
        PyErr_Format(PyExc_ValueError, "%s(): the request's set is a system event set that was freed "
                     "(or not made by nvmlSystemEventSetCreate)", fname);
        return -1;
    }
    return 0;
}

static int
check_version(pn_state *st, PyObject *o, const char *fname, unsigned int want)
{
    unsigned int v;
    if (pn_arg_u32(o, fname, "version", &v) < 0)
        return -1;
    if (v != want) {   /* nvidia-ml-py checks before calling NVML */
        pn_raise(st, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
        return -1;
    }
    return 0;
}

/* c_nvmlSystemEventSetCreate(req) and the others call NVML on the request struct itself:
 * their argument `req`, an object of struct class sidx.  Its bytes, or NULL with an error set. */
static void *
request_arg(pn_state *st, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname, int sidx)
{
    static const char *const names[] = {"req", NULL};
    PyObject *arg;
    void *req;
    UNPACK(fname, names, 1, 1, &arg);
    if (pn_arg_struct(st, arg, sidx, fname, "req", &req) < 0)
        return NULL;
    return req;
}

static PyObject *
h_c_nvmlSystemEventSetCreate(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    pn_state *st = pn_get_state(module);
    nvmlSystemEventSetCreateRequest_v1_t *req = request_arg(st, args, nargs, kwnames, "c_nvmlSystemEventSetCreate",
                                                            PN_STRUCT_nvmlSystemEventSetCreateRequest_v1_t);
    if (req == NULL || call_with_ptr(st, PN_SYM_nvmlSystemEventSetCreate, req) < 0)
        return NULL;
    if (req->set != NULL && pn_handle_track(st, PN_HANDLE_SystemEventSet, req->set) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
h_c_nvmlSystemEventSetFree(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char fname[] = "c_nvmlSystemEventSetFree";
    pn_state *st = pn_get_state(module);
    nvmlSystemEventSetFreeRequest_v1_t *req =
        request_arg(st, args, nargs, kwnames, fname, PN_STRUCT_nvmlSystemEventSetFreeRequest_v1_t);
    if (req == NULL || check_request_set(st, req->set, fname) < 0)
        return NULL;
    nvmlSystemEventSetFreeRequest_v1_t copy = *req;   /* the caller's may change while the GIL is out */
    if (free_tracked(st, PN_HANDLE_SystemEventSet, PN_SYM_nvmlSystemEventSetFree, copy.set, &copy, NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
h_c_nvmlSystemRegisterEvents(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char fname[] = "c_nvmlSystemRegisterEvents";
    pn_state *st = pn_get_state(module);
    nvmlSystemRegisterEventRequest_v1_t *req =
        request_arg(st, args, nargs, kwnames, fname, PN_STRUCT_nvmlSystemRegisterEventRequest_v1_t);
    if (req == NULL || check_request_set(st, req->set, fname) < 0 ||
        call_with_ptr(st, PN_SYM_nvmlSystemRegisterEvents, req) < 0)
        return NULL;
    Py_RETURN_NONE;
}

typedef struct {
    pn_state *st;
    pfn_nvmlSystemEventSetWait fn;
    nvmlSystemEventSetWaitRequest_v1_t req;
    PyObject *obj;
} system_wait;

static nvmlReturn_t
system_wait_slice(void *ctx, unsigned int slice_ms)
{
    system_wait *w = ctx;
    w->req.timeoutms = slice_ms;
    return w->fn(&w->req);
}

static int
system_wait_recheck(void *ctx)
{
    system_wait *w = ctx;
    void *p;
    return pn_arg_handle(w->st, w->obj, PN_HANDLE_SystemEventSet, "nvmlSystemEventSetWait", "setHandle", &p);
}

/* c_nvmlSystemEventSetWait's: the request's set, which has no handle object */
static int
c_system_wait_recheck(void *ctx)
{
    system_wait *w = ctx;
    return check_request_set(w->st, w->req.set, "c_nvmlSystemEventSetWait");
}

/* The request's `data` member cannot be set from Python (a pointer NVML writes through):
 * with dataSize > 0 NVML answers INVALID_ARGUMENT; nvmlSystemEventSetWait() gives the
 * events themselves.  As nvidia-ml-py's, NVML_ERROR_TIMEOUT is returned, not raised. */
static PyObject *
h_c_nvmlSystemEventSetWait(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char fname[] = "c_nvmlSystemEventSetWait";
    pn_state *st = pn_get_state(module);
    nvmlSystemEventSetWaitRequest_v1_t *req =
        request_arg(st, args, nargs, kwnames, fname, PN_STRUCT_nvmlSystemEventSetWaitRequest_v1_t);
    if (req == NULL || check_request_set(st, req->set, fname) < 0)
        return NULL;
    if (req->data != NULL) {   /* only bytes copied in could hold one: a pointer we cannot vouch for */
        PyErr_Format(PyExc_ValueError, "%s(): the request's data pointer was not set by pynvml", fname);
        return NULL;
    }
    PN_RESOLVE(st, PN_SYM_nvmlSystemEventSetWait, pfn_nvmlSystemEventSetWait, fn);
    /* NVML gets a copy, waited on in slices as nvmlSystemEventSetWait's (another thread
     * may change or free what the caller's struct names meanwhile); what it wrote goes
     * back into the caller's struct */
    system_wait w = {st, fn, *req, NULL};
    unsigned int timeout = req->timeoutms;
    int rc = wait_sliced(st, w.req.set, timeout, system_wait_slice, &w, c_system_wait_recheck);
    if (rc < 0)
        return NULL;
    w.req.timeoutms = timeout;
    *req = w.req;
    if (rc == NVML_ERROR_TIMEOUT)
        return PyLong_FromLong(rc);
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_RETURN_NONE;
}

static PyObject *
h_nvmlSystemEventSetCreate(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"version", NULL};
    static const char fname[] = "nvmlSystemEventSetCreate";
    pn_state *st = pn_get_state(module);
    PyObject *argv[1];
    UNPACK(fname, names, 1, 1, argv);
    if (check_version(st, argv[0], fname, nvmlSystemEventSetCreateRequest_v1) < 0)
        return NULL;
    nvmlSystemEventSetCreateRequest_v1_t req;
    memset(&req, 0, sizeof req);
    req.version = nvmlSystemEventSetCreateRequest_v1;
    if (call_with_ptr(st, PN_SYM_nvmlSystemEventSetCreate, &req) < 0)
        return NULL;
    if (req.set == NULL)
        return pn_raise(st, NVML_ERROR_MEMORY);
    if (pn_handle_track(st, PN_HANDLE_SystemEventSet, req.set) < 0)
        return NULL;
    return pn_handle_new(st, PN_HANDLE_SystemEventSet, req.set);
}

static PyObject *
h_nvmlSystemEventSetFree(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"version", "setHandle", NULL};
    static const char fname[] = "nvmlSystemEventSetFree";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlSystemEventSetFreeRequest_v1_t req;
    memset(&req, 0, sizeof req);
    if (check_version(st, argv[0], fname, nvmlSystemEventSetFreeRequest_v1) < 0 ||
        pn_arg_handle(st, argv[1], PN_HANDLE_SystemEventSet, fname, "setHandle", (void **)&req.set) < 0)
        return NULL;
    req.version = nvmlSystemEventSetFreeRequest_v1;
    if (free_tracked(st, PN_HANDLE_SystemEventSet, PN_SYM_nvmlSystemEventSetFree, req.set, &req,
                     Py_TYPE(argv[1]) == (PyTypeObject *)st->handle_types[PN_HANDLE_SystemEventSet] ? argv[1] : NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
h_nvmlSystemRegisterEvents(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"version", "eventTypes", "setHandle", NULL};
    static const char fname[] = "nvmlSystemRegisterEvents";
    pn_state *st = pn_get_state(module);
    PyObject *argv[3];
    UNPACK(fname, names, 3, 3, argv);
    nvmlSystemRegisterEventRequest_v1_t req;
    memset(&req, 0, sizeof req);
    if (check_version(st, argv[0], fname, nvmlSystemRegisterEventRequest_v1) < 0 ||
        pn_arg_u64(argv[1], fname, "eventTypes", &req.eventTypes) < 0 ||
        pn_arg_handle(st, argv[2], PN_HANDLE_SystemEventSet, fname, "setHandle", (void **)&req.set) < 0)
        return NULL;
    req.version = nvmlSystemRegisterEventRequest_v1;
    if (call_with_ptr(st, PN_SYM_nvmlSystemRegisterEvents, &req) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* nvmlSystemEventSetWait(version, setHandle, timeoutMs, eventData, eventDataSize): the
 * events as [{'eventType': ..., 'gpuId': ...}], [] on timeout.  eventData is where NVML
 * writes them, as in nvidia-ml-py: a sequence of c_nvmlSystemEventData_v1_t (ours), or
 * a writable buffer of such structs (a ctypes array); or None (pynvml allocates). */
static PyObject *
h_nvmlSystemEventSetWait(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"version", "setHandle", "timeoutMs", "eventData", "eventDataSize", NULL};
    static const char fname[] = "nvmlSystemEventSetWait";
    pn_state *st = pn_get_state(module);
    PyObject *argv[5];
    UNPACK(fname, names, 5, 5, argv);
    system_wait w;
    memset(&w, 0, sizeof w);
    unsigned int timeout, size;
    if (check_version(st, argv[0], fname, nvmlSystemEventSetWaitRequest_v1) < 0 ||
        pn_arg_handle(st, argv[1], PN_HANDLE_SystemEventSet, fname, "setHandle", (void **)&w.req.set) < 0 ||
        pn_arg_u32(argv[2], fname, "timeoutMs", &timeout) < 0 ||
        pn_arg_u32(argv[4], fname, "eventDataSize", &size) < 0)
        return NULL;
    if (size > 1u << 20) {
        PyErr_Format(PyExc_ValueError, "%s(): eventDataSize %u is too large", fname, size);
        return NULL;
    }
    PyObject *data = argv[3], *seq = NULL, *result = NULL;
    Py_buffer view = {0};
    int have_view = 0;
    nvmlSystemEventData_v1_t *buf = NULL;
    /* struct classes are made on first use (structs.c): ask for it, don't read the table */
    PyTypeObject *elem = (PyTypeObject *)pn_struct_type(st, PN_STRUCT_nvmlSystemEventData_v1_t);
    if (elem == NULL)
        return NULL;
    if (data == Py_None) {
        /* ours to allocate */
    }
    else if (PyUnicode_Check(data) || PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument 'eventData' must be None, a sequence of "
                     "c_nvmlSystemEventData_v1_t or a writable buffer, not %.100s", fname, Py_TYPE(data)->tp_name);
        return NULL;
    }
    else if (PyObject_CheckBuffer(data) && !PyObject_TypeCheck(data, elem)) {
        if (PyObject_GetBuffer(data, &view, PyBUF_WRITABLE) < 0) {
            PyErr_Format(PyExc_TypeError, "%s(): argument 'eventData' must be a writable buffer", fname);
            return NULL;
        }
        have_view = 1;
        if ((size_t)view.len < (size_t)size * sizeof *buf) {
            PyErr_Format(PyExc_ValueError, "%s(): eventData holds %zd bytes, fewer than eventDataSize=%u events",
                         fname, view.len, size);
            goto done;
        }
    }
    else if (!PySequence_Check(data)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument 'eventData' must be None, a sequence of "
                     "c_nvmlSystemEventData_v1_t or a writable buffer, not %.100s", fname, Py_TYPE(data)->tp_name);
        return NULL;
    }
    else {
        /* a copy: the structs checked here are the ones written after the wait, whatever
         * another thread puts in the caller's list meanwhile */
        if ((seq = pn_arg_tuple(data, "eventData")) == NULL)
            return NULL;
        if (PyTuple_GET_SIZE(seq) < (Py_ssize_t)size) {
            PyErr_Format(PyExc_ValueError, "%s(): eventData has %zd items, fewer than eventDataSize=%u", fname,
                         PyTuple_GET_SIZE(seq), size);
            goto done;
        }
        for (unsigned int i = 0; i < size; i++) {
            if (!PyObject_TypeCheck(PyTuple_GET_ITEM(seq, i), elem)) {
                PyErr_Format(PyExc_TypeError, "%s(): eventData[%u] must be a c_nvmlSystemEventData_v1_t", fname, i);
                goto done;
            }
        }
    }
    if (!have_view && (buf = PyMem_Calloc(size ? size : 1, sizeof *buf)) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        pfn_nvmlSystemEventSetWait fn = (pfn_nvmlSystemEventSetWait)st->syms[PN_SYM_nvmlSystemEventSetWait];
        if (fn == NULL && (fn = pn_resolve(st, PN_SYM_nvmlSystemEventSetWait)) == NULL)
            goto done;
        w.st = st;
        w.fn = fn;
        w.obj = argv[1];
        w.req.version = nvmlSystemEventSetWaitRequest_v1;
        w.req.data = have_view ? (nvmlSystemEventData_v1_t *)view.buf : buf;
        w.req.dataSize = size;
        int rc = wait_sliced(st, w.req.set, timeout, system_wait_slice, &w, system_wait_recheck);
        if (rc < 0)
            goto done;
        if (rc == NVML_ERROR_TIMEOUT) {
            result = PyList_New(0);
            goto done;
        }
        if (rc != NVML_SUCCESS) {
            pn_raise(st, rc);
            goto done;
        }
    }
    unsigned int n = w.req.numEvent < size ? w.req.numEvent : size;
    result = PyList_New(n);
    for (unsigned int i = 0; result != NULL && i < n; i++) {
        nvmlSystemEventData_v1_t *e = &w.req.data[i];
        if (seq != NULL) {   /* the caller's structs get the events too */
            PyObject *s = PyTuple_GET_ITEM(seq, i);
            memcpy(((pn_struct *)s)->data, e, sizeof *e);
            if (pn_struct_changed(s) < 0) {
                Py_CLEAR(result);
                break;
            }
        }
        PyObject *d = Py_BuildValue("{sKsI}", "eventType", e->eventType, "gpuId", e->gpuId);
        if (d == NULL)
            Py_CLEAR(result);
        else
            PyList_SET_ITEM(result, i, d);
    }
done:
    if (have_view)
        PyBuffer_Release(&view);
    PyMem_Free(buf);
    Py_XDECREF(seq);
    return result;
}

/* --- GPM ------------------------------------------------------------------------------- */

TRACKED(nvmlGpmSampleAlloc, nvmlGpmSampleFree, "gpmSample", PN_HANDLE_GpmSample)


/* nvmlGpmSampleGet(device, gpmSample) -> gpmSample, filled. */
static PyObject *
h_nvmlGpmSampleGet(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"device", "gpmSample", NULL};
    static const char fname[] = "nvmlGpmSampleGet";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlDevice_t dev;
    nvmlGpmSample_t sample;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_handle(st, argv[1], PN_HANDLE_GpmSample, fname, "gpmSample", (void **)&sample) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlGpmSampleGet, pfn_nvmlGpmSampleGet, fn);
    nvmlReturn_t rc = fn(dev, sample);   /* with the GIL: no free of the sample meanwhile */
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_INCREF(argv[1]);
    return argv[1];
}

static PyObject *
h_nvmlGpmMigSampleGet(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"device", "gpuInstanceId", "gpmSample", NULL};
    static const char fname[] = "nvmlGpmMigSampleGet";
    pn_state *st = pn_get_state(module);
    PyObject *argv[3];
    UNPACK(fname, names, 3, 3, argv);
    nvmlDevice_t dev;
    unsigned int gi;
    nvmlGpmSample_t sample;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "gpuInstanceId", &gi) < 0 ||
        pn_arg_handle(st, argv[2], PN_HANDLE_GpmSample, fname, "gpmSample", (void **)&sample) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0)
        return NULL;   /* (the device again: gpuInstanceId's __index__ may have shut NVML down) */
    PN_RESOLVE(st, PN_SYM_nvmlGpmMigSampleGet, pfn_nvmlGpmMigSampleGet, fn);
    nvmlReturn_t rc = fn(dev, gi, sample);   /* with the GIL: no free of the sample meanwhile */
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_INCREF(argv[2]);
    return argv[2];
}

/* nvmlGpmMetricsGet(metricsGet) -> metricsGet, filled in place.  The samples in it must
 * be ours and not freed (the struct's handle fields only take sample objects). */
static PyObject *
h_nvmlGpmMetricsGet(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"metricsGet", NULL};
    static const char fname[] = "nvmlGpmMetricsGet";
    pn_state *st = pn_get_state(module);
    PyObject *argv[1];
    UNPACK(fname, names, 1, 1, argv);
    pn_nvmlGpmMetricsGet_t *m;
    if (pn_arg_struct(st, argv[0], PN_STRUCT_pn_nvmlGpmMetricsGet_t, fname, "metricsGet", (void **)&m) < 0)
        return NULL;
    nvmlGpmSample_t samples[2] = {m->sample1, m->sample2};
    for (int i = 0; i < 2; i++) {
        int live = samples[i] == NULL ? 1 : pn_handle_is_live(st, PN_HANDLE_GpmSample, samples[i]);
        if (live < 0)
            return NULL;
        if (!live) {
            PyErr_Format(PyExc_ValueError, "%s(): metricsGet.sample%d is a GPM sample that was freed", fname, i + 1);
            return NULL;
        }
    }
    if (m->numMetrics > sizeof m->metrics / sizeof m->metrics[0]) {
        PyErr_Format(PyExc_ValueError, "%s(): metricsGet.numMetrics is %u; its metrics array holds %zu",
                     fname, m->numMetrics, sizeof m->metrics / sizeof m->metrics[0]);
        return NULL;
    }
    PN_RESOLVE(st, PN_SYM_nvmlGpmMetricsGet, pfn_nvmlGpmMetricsGet, fn);
    nvmlReturn_t rc = fn(m);   /* with the GIL: its samples are not freed, its bytes not changed meanwhile */
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_INCREF(argv[0]);
    return argv[0];
}

/* nvmlGpmSetStreamingEnabled(device, state) -> NVML_SUCCESS, as nvidia-ml-py returns. */
static PyObject *
h_nvmlGpmSetStreamingEnabled(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"device", "state", NULL};
    static const char fname[] = "nvmlGpmSetStreamingEnabled";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlDevice_t dev;
    unsigned int state;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "state", &state) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0)
        return NULL;   /* (the device again: state's __index__ may have shut NVML down) */
    PN_RESOLVE(st, PN_SYM_nvmlGpmSetStreamingEnabled, pfn_nvmlGpmSetStreamingEnabled, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, state));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromLong(NVML_SUCCESS);
}

/* --- units ------------------------------------------------------------------------------- */

/* nvmlUnitGetDeviceCount(unit): nvmlUnitGetDevices' size query (no array); its
 * INSUFFICIENT_SIZE answer is the count, as nvidia-ml-py takes it. */
static PyObject *
h_nvmlUnitGetDeviceCount(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"unit", NULL};
    static const char fname[] = "nvmlUnitGetDeviceCount";
    pn_state *st = pn_get_state(module);
    PyObject *argv[1];
    UNPACK(fname, names, 1, 1, argv);
    nvmlUnit_t unit;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Unit, fname, "unit", (void **)&unit) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlUnitGetDevices, pfn_nvmlUnitGetDevices, fn);
    unsigned int count = 0;
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(unit, &count, NULL));
    if (rc != NVML_SUCCESS && rc != NVML_ERROR_INSUFFICIENT_SIZE)
        return pn_raise(st, rc);
    return PyLong_FromUnsignedLong(count);
}

#define FAST(name, doc) \
    {#name, (PyCFunction)(void (*)(void))h_##name, METH_FASTCALL | METH_KEYWORDS, doc}

PyMethodDef pn_hand_events_methods[] = {
    FAST(nvmlEventSetCreate, "nvmlEventSetCreate()\n--\n\nA new, empty event set (free it with nvmlEventSetFree)."),
    FAST(nvmlEventSetFree, "nvmlEventSetFree(eventSet)\n--\n\nFree an event set; using it afterwards is a ValueError."),
    FAST(nvmlEventSetWait_v2,
         "nvmlEventSetWait_v2(eventSet, timeoutms)\n--\n\n"
         "The next event (c_nvmlEventData_t), waiting up to timeoutms ms (NVMLError_Timeout when none comes).\n"
         "Other threads run while it waits; Ctrl-C interrupts it within 100 ms."),
    FAST(nvmlEventSetWait, "nvmlEventSetWait(eventSet, timeoutms)\n--\n\nAs nvmlEventSetWait_v2."),
    FAST(nvmlEventSetWait_v3,
         "nvmlEventSetWait_v3(eventSet, params)\n--\n\n"
         "Fill params (a c_nvmlEventSetWait_v3_t) with the next event, an event bit or a GPU operational event,\n"
         "waiting up to params.timeoutMs ms (NVMLError_Timeout when none comes).  Other threads run while it\n"
         "waits; Ctrl-C interrupts it within 100 ms."),
    {"c_nvmlSystemEventSetCreate", (PyCFunction)(void (*)(void))h_c_nvmlSystemEventSetCreate, METH_FASTCALL | METH_KEYWORDS,
     "c_nvmlSystemEventSetCreate(req)\n--\n\nnvmlSystemEventSetCreate on a c_nvmlSystemEventSetCreateRequest_v1_t "
     "(its .set is filled)."},
    {"c_nvmlSystemEventSetFree", (PyCFunction)(void (*)(void))h_c_nvmlSystemEventSetFree, METH_FASTCALL | METH_KEYWORDS,
     "c_nvmlSystemEventSetFree(req)\n--\n\nnvmlSystemEventSetFree on a c_nvmlSystemEventSetFreeRequest_v1_t."},
    {"c_nvmlSystemRegisterEvents", (PyCFunction)(void (*)(void))h_c_nvmlSystemRegisterEvents, METH_FASTCALL | METH_KEYWORDS,
     "c_nvmlSystemRegisterEvents(req)\n--\n\nnvmlSystemRegisterEvents on a c_nvmlSystemRegisterEventRequest_v1_t."},
    {"c_nvmlSystemEventSetWait", (PyCFunction)(void (*)(void))h_c_nvmlSystemEventSetWait, METH_FASTCALL | METH_KEYWORDS,
     "c_nvmlSystemEventSetWait(req)\n--\n\nnvmlSystemEventSetWait on a c_nvmlSystemEventSetWaitRequest_v1_t; "
     "returns NVML_ERROR_TIMEOUT on timeout, else None."},
    FAST(nvmlSystemEventSetCreate,
         "nvmlSystemEventSetCreate(version)\n--\n\nA new system event set (version: nvmlSystemEventSetCreateRequest_v1)."),
    FAST(nvmlSystemEventSetFree, "nvmlSystemEventSetFree(version, setHandle)\n--\n\nFree a system event set."),
    FAST(nvmlSystemRegisterEvents,
         "nvmlSystemRegisterEvents(version, eventTypes, setHandle)\n--\n\n"
         "Register nvmlSystemEventType* events on a system event set."),
    FAST(nvmlSystemEventSetWait,
         "nvmlSystemEventSetWait(version, setHandle, timeoutMs, eventData, eventDataSize)\n--\n\n"
         "Up to eventDataSize events as [{'eventType': ..., 'gpuId': ...}] ([] on timeout); eventData: None, a list "
         "of c_nvmlSystemEventData_v1_t or a ctypes array of them, which receive the events."),
    FAST(nvmlGpmSampleAlloc, "nvmlGpmSampleAlloc()\n--\n\nA new GPM sample (free it with nvmlGpmSampleFree)."),
    FAST(nvmlGpmSampleFree, "nvmlGpmSampleFree(gpmSample)\n--\n\nFree a GPM sample; using it afterwards is a ValueError."),
    FAST(nvmlGpmSampleGet, "nvmlGpmSampleGet(device, gpmSample)\n--\n\nTake a sample of the device; returns gpmSample."),
    FAST(nvmlGpmMigSampleGet,
         "nvmlGpmMigSampleGet(device, gpuInstanceId, gpmSample)\n--\n\nTake a sample of a GPU instance; returns gpmSample."),
    FAST(nvmlGpmMetricsGet,
         "nvmlGpmMetricsGet(metricsGet)\n--\n\nFill metricsGet (a c_nvmlGpmMetricsGet_t with version, numMetrics, "
         "sample1, sample2 and metrics[i].metricId set) with the metrics between the two samples; returns it."),
    FAST(nvmlGpmSetStreamingEnabled, "nvmlGpmSetStreamingEnabled(device, state)\n--\n\nTurn GPM streaming on or off; returns NVML_SUCCESS."),
    FAST(nvmlUnitGetDeviceCount, "nvmlUnitGetDeviceCount(unit)\n--\n\nHow many devices the unit holds."),
    {NULL, NULL, 0, NULL},
};
