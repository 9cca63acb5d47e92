/* Batch queries (issue #19): many (device, metric) pairs in one call, their NVML calls
 * made concurrently where NVML lets them overlap, every pair answered with its value or
 * its own error.
 *
 * Why: NVML samples some values for a while before it answers (nvmlDeviceGetPcieThroughput
 * ~20 ms a direction on an H200, nvmlDeviceValidateInforom ~69 ms), and a monitor asks for
 * them on every GPU.  Made one after the other, a full query of 8 GPUs costs 8x one GPU's;
 * made at once, about the slowest device's time.  NVML is thread-safe and answers calls
 * on different devices, and the two PCIe directions, side by side.
 *
 * Two parts:
 *   pn_run_jobs   runs n jobs on up to n threads (the caller's among them), no Python:
 *                 the smi engine (smi_query.c) hands it each device's calls, and each
 *                 slow call on its own, with the GIL released.
 *   _batch_query  the Python entry (pynvml.batch.query is its documented face): pairs of
 *                 (device handle or index, smi item number); the engine plans, fetches
 *                 and renders them (pn_smi_batch), and each NVML error becomes the
 *                 NVMLError instance that pair answers, not a raised exception.
 *
 * Threads are started per query and joined before it returns: nothing outlives a call,
 * so fork and interpreter exit need no care here.  Starting one costs ~10-30 us, next to
 * milliseconds of NVML calls in the queries that use them (see pn_smi_parallel_worth).
 */
#include "pynvml.h"

#include <pthread.h>
#include <signal.h>

/* Most threads a query starts: more jobs than that share them. */
#define PN_MAX_JOB_THREADS 64

typedef struct {
    size_t njobs;
    size_t next;        /* the next job to take (atomic) */
    pn_job_fn fn;
    void *arg;
} runner;

static void *
work(void *p)
{
    runner *r = p;
    size_t i;
    while ((i = __atomic_fetch_add(&r->next, 1, __ATOMIC_ACQ_REL)) < r->njobs)
        r->fn(r->arg, i);
    return NULL;
}

void
pn_run_jobs(size_t njobs, pn_job_fn fn, void *arg, int parallel)
{
    runner r = {njobs, 0, fn, arg};
    pthread_t tids[PN_MAX_JOB_THREADS];
    size_t want = parallel ? njobs : 1, started = 0;
    if (want > PN_MAX_JOB_THREADS)
        want = PN_MAX_JOB_THREADS;
    if (want > 1) {
        /* the helpers block every signal: signals stay for the interpreter's threads */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (; started + 1 < want; started++)
            if (pthread_create(&tids[started], NULL, work, &r) != 0)
                break;   /* fewer threads: the jobs wait for one, none is lost */
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    work(&r);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
}

/* _batch_query(devices, items) -> [value or NVMLError, ...]: devices a tuple of device
 * handles or indices, items a tuple of smi item numbers (the same length): pair k is
 * item items[k] of device devices[k].  pynvml.batch turns metric names into numbers. */
static PyObject *
batch_query(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    pn_state *st = pn_get_state(module);
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyTuple_Check(args[1]) ||
        PyTuple_GET_SIZE(args[0]) != PyTuple_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_TypeError, "_batch_query(devices, items): two tuples of the same length");
        return NULL;
    }
    /* tuples: nothing the caller holds can change them while we read */
    PyObject *devs = args[0], *its = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(devs);
    pn_batch_pair *pairs = PyMem_Calloc(n ? (size_t)n : 1, sizeof *pairs);
    PyObject *out = NULL;
    unsigned long epoch = st->epoch;
    if (pairs == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *d = PyTuple_GET_ITEM(devs, k), *it = PyTuple_GET_ITEM(its, k);
        if (!PyLong_CheckExact(it)) {
            PyErr_Format(PyExc_TypeError, "_batch_query: item numbers must be ints, not %.100s",
                         Py_TYPE(it)->tp_name);
            goto done;
        }
        long v = PyLong_AsLong(it);
        if (v == -1 && PyErr_Occurred())
            goto done;
        if (v < 0 || v >= pn_smi_item_count()) {
            PyErr_Format(PyExc_ValueError, "_batch_query: no item %ld", v);
            goto done;
        }
        pairs[k].item = (int)v;
        if (PyLong_CheckExact(d)) {
            unsigned int idx;
            if (pn_arg_u32(d, "_batch_query", "device index", &idx) < 0)
                goto done;
            pairs[k].by_index = 1;
            pairs[k].index = idx;
        }
        else if (pn_arg_handle(st, d, PN_HANDLE_Device, "_batch_query", "device", (void **)&pairs[k].dev) < 0)
            goto done;
    }
    /* a handle checked above is stale if converting a later one ran Python code (a
     * ctypes object's) that shut NVML down: none reaches NVML then */
    if (st->epoch != epoch) {
        pn_raise(st, NVML_ERROR_UNINITIALIZED);
        goto done;
    }
    if (pn_smi_batch(st, pairs, (size_t)n) < 0)
        goto done;
    out = PyList_New(n);
    if (out == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = pairs[k].value;
        if (v == NULL) {
            /* the pair's error, as the exception its call would have raised */
            PyObject *type, *exc, *tb;
            pn_raise(st, pairs[k].rc);
            PyErr_Fetch(&type, &exc, &tb);
            PyErr_NormalizeException(&type, &exc, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            if (exc == NULL) {
                Py_CLEAR(out);
                goto done;
            }
            v = exc;
        }
        else
            pairs[k].value = NULL;
        PyList_SET_ITEM(out, k, v);
    }
done:
    for (Py_ssize_t k = 0; k < n; k++)
        Py_XDECREF(pairs[k].value);
    PyMem_Free(pairs);
    return out;
}

PyMethodDef pn_batch_methods[] = {
    {"_batch_query", (PyCFunction)(void (*)(void))batch_query, METH_FASTCALL,
     "_batch_query(devices, items)\n--\n\n"
     "Item items[k] (an smi item number) of device devices[k] (a handle or an index), for every k, "
     "NVML's calls made concurrently across devices and slow samplers: [value or NVMLError, ...]. "
     "pynvml.batch.query is the documented interface."},
    {NULL, NULL, 0, NULL},
};
