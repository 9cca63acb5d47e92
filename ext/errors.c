/* Raising NVML return codes as Python exceptions.
 *
 * The classes themselves (NVMLError and a subclass per code) are Python classes,
 * src/pynvml/_errors.py, because tools patch them as nvidia-ml-py's; pynvml/__init__.py
 * hands them to us through _configure: the base class and the code -> class dict.
 */
#include "pynvml.h"

PyObject *
pn_raise(pn_state *st, int code)
{
    if (st->NVMLError == NULL || st->code_to_class == NULL) {
        PyErr_Format(PyExc_RuntimeError, "NVML returned %d (pynvml's error classes are not set up)", code);
        return NULL;
    }
    PyObject *exc = PyObject_CallFunction(st->NVMLError, "i", code);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}
