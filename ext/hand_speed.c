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

PyMethodDef pn_speed_methods[] = {
    {"_probe_call", (PyCFunction)(void (*)(void))probe_call, METH_FASTCALL | METH_KEYWORDS,
     "Does nothing: the cost of calling a C function (bench/run.py)."},
    {"_probe_gil", (PyCFunction)(void (*)(void))probe_gil, METH_FASTCALL | METH_KEYWORDS,
     "Releases and retakes the GIL: that plus the cost of calling a C function (bench/run.py)."},
    {"_probe_nvml_gil", (PyCFunction)(void (*)(void))probe_nvml_gil, METH_FASTCALL | METH_KEYWORDS,
     "What a wrapper does around its NVML call (ext/gil.h), and nothing else (bench/run.py)."},
    {"_gil_shared", gil_shared, METH_NOARGS,
     "True when a wrapper would release the GIL around its NVML call now (ext/gil.h)."},
    {"_probe_gil_ns", probe_gil_ns, METH_O, "ns per GIL release+retake, timed in C over n (bench/run.py)."},
    {NULL, NULL, 0, NULL},
};
