/* Probes for bench/run.py: the fixed costs inside one of our calls, measured on the
 * machine at hand (issue #5).  Hand-written because they wrap no NVML function.
 *
 *   _probe_call()      a METH_FASTCALL function that does nothing: what any call from
 *                      Python to a C function costs (the floor of every wrapper)
 *   _probe_gil()       the same, releasing and retaking the GIL (Py_BEGIN/END_ALLOW_THREADS):
 *                      what every call paid before ext/gil.h, and pays with other threads
 *   _probe_nvml_gil()  the same with what wrappers do around NVML now (PN_NVML_BEGIN/END):
 *                      keep the GIL when no other thread could want it
 *   _probe_gil_ns(n)   ns per GIL release+retake, timed in C over n round trips
 *   _gil_shared()      whether PN_NVML_BEGIN would release the GIL here and now
 *   _probe_raw(name, n, index)
 *                      n calls of one of the benchmark's NVML entry points straight from C,
 *                      in this process (what bench/raw_nvml.c does in its own): the raw
 *                      cost on the same core and at the same moment as the Python timings
 */
#include "pynvml.h"

#include <time.h>

static PyObject *
probe_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_RETURN_NONE;
}

static PyObject *
probe_gil(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_BEGIN_ALLOW_THREADS
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
probe_nvml_gil(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PN_NVML_BEGIN
    PN_NVML_END
    Py_RETURN_NONE;
}

static PyObject *
gil_shared(PyObject *module, PyObject *ignored)
{
    return PyBool_FromLong(pn_gil_shared(PyThreadState_Get()));
}

static PyObject *
probe_gil_ns(PyObject *module, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n <= 0) {
        PyErr_SetString(PyExc_ValueError, "_probe_gil_ns(n): n must be > 0");
        return NULL;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        Py_BEGIN_ALLOW_THREADS
        Py_END_ALLOW_THREADS
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
    return PyFloat_FromDouble(ns / n);
}

/* The benchmark's calls (bench/run.py CALLS), each on device `dev` with outputs that
 * stay in this frame. */
static nvmlReturn_t
raw_call(int which, void *fn, nvmlDevice_t dev)
{
    unsigned int u;
    nvmlDevice_t h;
    char name[96];
    nvmlMemory_t mem;
    nvmlUtilization_t util;
    nvmlPciInfo_t pci;
    switch (which) {
    case 0: return ((pfn_nvmlDeviceGetCount_v2)fn)(&u);
    case 1: return ((pfn_nvmlDeviceGetHandleByIndex_v2)fn)(0, &h);
    case 2: return ((pfn_nvmlDeviceGetName)fn)(dev, name, sizeof name);
    case 3: return ((pfn_nvmlDeviceGetMemoryInfo)fn)(dev, &mem);
    case 4: return ((pfn_nvmlDeviceGetTemperature)fn)(dev, NVML_TEMPERATURE_GPU, &u);
    case 5: return ((pfn_nvmlDeviceGetUtilizationRates)fn)(dev, &util);
    case 6: return ((pfn_nvmlDeviceGetPowerUsage)fn)(dev, &u);
    case 7: return ((pfn_nvmlDeviceGetClockInfo)fn)(dev, NVML_CLOCK_GRAPHICS, &u);
    default: return ((pfn_nvmlDeviceGetPciInfo_v3)fn)(dev, &pci);
    }
}

static PyObject *
probe_raw(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const struct { const char *name; int sym; } calls[] = {
        {"nvmlDeviceGetCount_v2", PN_SYM_nvmlDeviceGetCount_v2},
        {"nvmlDeviceGetHandleByIndex_v2", PN_SYM_nvmlDeviceGetHandleByIndex_v2},
        {"nvmlDeviceGetName", PN_SYM_nvmlDeviceGetName},
        {"nvmlDeviceGetMemoryInfo", PN_SYM_nvmlDeviceGetMemoryInfo},
        {"nvmlDeviceGetTemperature", PN_SYM_nvmlDeviceGetTemperature},
        {"nvmlDeviceGetUtilizationRates", PN_SYM_nvmlDeviceGetUtilizationRates},
        {"nvmlDeviceGetPowerUsage", PN_SYM_nvmlDeviceGetPowerUsage},
        {"nvmlDeviceGetClockInfo", PN_SYM_nvmlDeviceGetClockInfo},
        {"nvmlDeviceGetPciInfo_v3", PN_SYM_nvmlDeviceGetPciInfo_v3},
    };
    pn_state *st = pn_get_state(module);
    if (nargs != 3 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "_probe_raw(name, n, index): a benchmark entry point's name, a count, "
                                         "a device index");
        return NULL;
    }
    int which = -1;
    for (int i = 0; i < (int)(sizeof calls / sizeof calls[0]); i++)
        if (PyUnicode_CompareWithASCIIString(args[0], calls[i].name) == 0)
            which = i;
    if (which < 0) {
        PyErr_Format(PyExc_ValueError, "_probe_raw: %R is not one of bench/run.py's calls", args[0]);
        return NULL;
    }
    long n = PyLong_AsLong(args[1]);
    unsigned int index;
    if ((n == -1 && PyErr_Occurred()) || pn_arg_u32(args[2], "_probe_raw", "index", &index) < 0)
        return NULL;
    if (n <= 0 || n > 100000000) {
        PyErr_SetString(PyExc_ValueError, "_probe_raw: n must be 1..1e8");
        return NULL;
    }
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetHandleByIndex_v2, pfn_nvmlDeviceGetHandleByIndex_v2, byindex);
    void *fn = st->syms[calls[which].sym];
    if (fn == NULL && (fn = pn_resolve(st, calls[which].sym)) == NULL)
        return NULL;
    nvmlDevice_t dev;
    nvmlReturn_t rc = byindex(index, &dev);
    for (long i = 0; rc == NVML_SUCCESS && i < n; i++)
        rc = raw_call(which, fn, dev);
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_RETURN_NONE;
}

PyMethodDef pn_speed_methods[] = {
    {"_probe_call", (PyCFunction)(void (*)(void))probe_call, METH_FASTCALL | METH_KEYWORDS,
     "Does nothing: the cost of calling a C function (bench/run.py)."},
    {"_probe_gil", (PyCFunction)(void (*)(void))probe_gil, METH_FASTCALL | METH_KEYWORDS,
     "Releases and retakes the GIL: that plus the cost of calling a C function (bench/run.py)."},
    {"_probe_nvml_gil", (PyCFunction)(void (*)(void))probe_nvml_gil, METH_FASTCALL | METH_KEYWORDS,
     "What a wrapper does around its NVML call (ext/gil.h), and nothing else (bench/run.py)."},
    {"_gil_shared", gil_shared, METH_NOARGS,
     "True when a wrapper would release the GIL around its NVML call now (ext/gil.h)."},
    {"_probe_raw", (PyCFunction)(void (*)(void))probe_raw, METH_FASTCALL,
     "_probe_raw(name, n, index): n raw C calls of a benchmark entry point (bench/run.py)."},
    {"_probe_gil_ns", probe_gil_ns, METH_O, "ns per GIL release+retake, timed in C over n (bench/run.py)."},
    {NULL, NULL, 0, NULL},
};
