/* Hand-written helpers of the `getters` family (spec/functions_getters.nvml) that the
 * generated wrappers call: they are C that no spec line can describe.
 *
 *   pn_copy_to_buffer   refargs=: nvidia-ml-py's optional output objects (a c_uint(), a
 *                       struct) receive what NVML wrote, through the buffer protocol
 *   pn_post_nonzero     nvmlDeviceOnSameBoard: nvidia-ml-py returns (onSameBoard != 0)
 */
#include "pynvml.h"

#include <string.h>

int pn_copy_to_buffer(PyObject *dst, const void *src, size_t size, const char *fname, const char *argname);
PyObject *pn_post_nonzero(pn_state *st, PyObject *result);

/* Copy an output into the caller's object: a writable buffer of at least `size` bytes
 * (our struct objects, ctypes instances).  Anything else is a TypeError or ValueError.
 * With src NULL, only checks (before the NVML call). */
int
pn_copy_to_buffer(PyObject *dst, const void *src, size_t size, const char *fname, const char *argname)
{
    Py_buffer view;
    if (!PyObject_CheckBuffer(dst)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be None or a writable object of %zu bytes "
                     "(a ctypes instance or a pynvml struct), not %.100s", fname, argname, size,
                     Py_TYPE(dst)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(dst, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if ((size_t)view.len < size) {
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' holds %zd bytes, the output needs %zu",
                     fname, argname, view.len, size);
        PyBuffer_Release(&view);
        return -1;
    }
    if (src != NULL)
        memcpy(view.buf, src, size);
    PyBuffer_Release(&view);
    return 0;
}

PyObject *
pn_post_nonzero(pn_state *st, PyObject *result)
{
    (void)st;
    if (result == NULL)
        return NULL;
    int nonzero = PyObject_IsTrue(result);
    Py_DECREF(result);
    if (nonzero < 0)
        return NULL;
    return PyBool_FromLong(nonzero);
}
