/* Result converters for calls whose Python result is shaped differently from their C
 * outputs (the spec names them with post=NAME).  Each takes the generic result (stolen)
 * and returns the shaped one, as nvidia-ml-py returns it. */
#include "pynvml.h"

#include <string.h>

/* Process lists: nvmlFriendlyObject per process, usedGpuMemory None where NVML says
 * NVML_VALUE_NOT_AVAILABLE (no per-process figure, e.g. under WDDM or without rights). */
PyObject *
pn_post_processes(pn_state *st, PyObject *result)
{
    if (result == NULL)
        return NULL;
    PyObject *out = PyList_New(PyList_GET_SIZE(result));
    for (Py_ssize_t i = 0; out != NULL && i < PyList_GET_SIZE(result); i++) {
        PyObject *s = PyList_GET_ITEM(result, i);
        PyObject *fields = PyObject_GetAttrString(s, "_fields_");
        PyObject *d = fields ? PyDict_New() : NULL;
        for (Py_ssize_t k = 0; d != NULL && k < PyList_GET_SIZE(fields); k++) {
            PyObject *name = PyTuple_GET_ITEM(PyList_GET_ITEM(fields, k), 0);
            PyObject *v = PyObject_GetAttr(s, name);
            if (v != NULL && PyUnicode_CompareWithASCIIString(name, "usedGpuMemory") == 0 &&
                PyLong_AsUnsignedLongLongMask(v) == PN_VALUE_NOT_AVAILABLE) {
                Py_DECREF(v);
                v = Py_None;
                Py_INCREF(v);
            }
            if (v == NULL || PyDict_SetItem(d, name, v) < 0)
                Py_CLEAR(d);
            Py_XDECREF(v);
        }
        Py_XDECREF(fields);
        PyObject *obj = d ? PyObject_CallOneArg(st->friendly_class, d) : NULL;
        Py_XDECREF(d);
        if (obj == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, obj);
    }
    Py_DECREF(result);
    return out;
}

/* nvmlDeviceGetRetiredPages_v2: [{'address': a, 'timestamp': t}, ...] */
PyObject *
pn_post_retired_pages_v2(pn_state *st, PyObject *result)
{
    if (result == NULL)
        return NULL;
    PyObject *addresses = PyTuple_GET_ITEM(result, 0);
    PyObject *times = PyTuple_GET_ITEM(result, 1);
    Py_ssize_t n = PyList_GET_SIZE(addresses);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *d = Py_BuildValue("{sOsO}", "address", PyList_GET_ITEM(addresses, i),
                                    "timestamp", PyList_GET_ITEM(times, i));
        if (d == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, d);
    }
    Py_DECREF(result);
    return out;
}

/* nvmlDeviceIsMigDeviceHandle: nvidia-ml-py returns the ctypes.c_uint it passed to NVML
 * (not its value); callers test it with bool() or read .value. */
PyObject *
pn_post_cuint(pn_state *st, PyObject *result)
{
    (void)st;
    if (result == NULL)
        return NULL;
    PyObject *ctypes = PyImport_ImportModule("ctypes");
    PyObject *out = ctypes ? PyObject_CallMethod(ctypes, "c_uint", "O", result) : NULL;
    Py_XDECREF(ctypes);
    Py_DECREF(result);
    return out;
}
