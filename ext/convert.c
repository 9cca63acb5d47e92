/* Argument parsing and conversion for the wrappers, and C string decoding.
 *
 * Every input is checked before it can reach NVML: integers must be ints (or have
 * __index__) within the C type's range, strings are str or bytes without NUL bytes.
 * Anything else is a TypeError or ValueError naming the function and the argument.
 *
 * Converting can run the caller's Python code (__index__, __float__, a sequence's
 * __iter__/__len__), which may change or free what is being converted.  So: an argument
 * is held by a strong reference while its own conversion runs (its __index__ may remove
 * it from the list it came from, the list's reference being the last), a sequence is
 * converted from a tuple copy of it (pn_arg_tuple), and the wrappers check handles
 * again after the last conversion that can run Python code (tests/test_reentrancy.py).
 */
#include "pynvml.h"

#include <string.h>

int
pn_unpack(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
          const char *const *names, int nmin, int nmax, PyObject **out)
{
    if (nargs > nmax) {
        PyErr_Format(PyExc_TypeError, "%s() takes %s%d positional argument%s but %zd were given",
                     fname, nmin == nmax ? "" : "at most ", nmax, nmax == 1 ? "" : "s", nargs);
        return -1;
    }
    for (int i = 0; i < nmax; i++)
        out[i] = i < nargs ? args[i] : NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int i = 0; i < nmax; i++) {
            if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", fname, key);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         fname, names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int i = 0; i < nmin; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %d)",
                         fname, names[i], i + 1);
            return -1;
        }
    }
    return 0;
}

/* An int-like object as a Python int (new reference), or NULL with TypeError. */
static PyObject *
as_index(PyObject *o, const char *fname, const char *argname)
{
    if (PyLong_CheckExact(o)) {
        Py_INCREF(o);
        return o;
    }
    if (PyFloat_Check(o) || !PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be an int, not %.100s",
                     fname, argname, Py_TYPE(o)->tp_name);
        return NULL;
    }
    return PyNumber_Index(o);
}

int
pn_arg_u64_range(PyObject *o, const char *fname, const char *argname,
                 unsigned long long max, unsigned long long *out)
{
    Py_INCREF(o);   /* its __index__ may drop the last other reference (see above) */
    PyObject *i = as_index(o, fname, argname);
    int r = -1;
    if (i == NULL)
        goto done;
    unsigned long long v = PyLong_AsUnsignedLongLong(i);
    Py_DECREF(i);
    if ((v == (unsigned long long)-1 && PyErr_Occurred()) || v > max) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' must be in range 0..%llu, got %R",
                     fname, argname, max, o);
        goto done;
    }
    *out = v;
    r = 0;
done:
    Py_DECREF(o);
    return r;
}

int
pn_arg_i64_range(PyObject *o, const char *fname, const char *argname,
                 long long min, long long max, long long *out)
{
    Py_INCREF(o);   /* as in pn_arg_u64_range */
    PyObject *i = as_index(o, fname, argname);
    int r = -1;
    if (i == NULL)
        goto done;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
    Py_DECREF(i);
    if (overflow || (v == -1 && PyErr_Occurred()) || v < min || v > max) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' must be in range %lld..%lld, got %R",
                     fname, argname, min, max, o);
        goto done;
    }
    *out = v;
    r = 0;
done:
    Py_DECREF(o);
    return r;
}

/* A tuple of a sequence's items (new reference), or NULL with TypeError `msg`: what the
 * wrappers convert from, so that an item's __index__ changing the caller's list (or a
 * thread doing so while the GIL is released) cannot change what is being read. */
PyObject *
pn_arg_tuple(PyObject *o, const char *msg)
{
    if (PyTuple_CheckExact(o)) {
        Py_INCREF(o);
        return o;
    }
    PyObject *seq = PySequence_Fast(o, msg);   /* o itself if a list or tuple, else list(o) */
    if (seq == NULL)
        return NULL;
    PyObject *t = PyList_CheckExact(seq) ? PyList_AsTuple(seq) : PySequence_Tuple(seq);
    Py_DECREF(seq);
    return t;
}

/* A C string view of a str (UTF-8, cached in the str object) or bytes argument.  The
 * pointer lives as long as the argument, which the caller holds for the call. */
int
pn_arg_cstr(PyObject *o, const char *fname, const char *argname, const char **out)
{
    const char *s;
    Py_ssize_t n;
    if (PyUnicode_Check(o)) {
        s = PyUnicode_AsUTF8AndSize(o, &n);
        if (s == NULL)
            return -1;
    }
    else if (PyBytes_Check(o)) {
        s = PyBytes_AS_STRING(o);
        n = PyBytes_GET_SIZE(o);
    }
    else {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be str or bytes, not %.100s",
                     fname, argname, Py_TYPE(o)->tp_name);
        return -1;
    }
    if ((Py_ssize_t)strlen(s) != n) {
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' contains a NUL character", fname, argname);
        return -1;
    }
    *out = s;
    return 0;
}

/* A NUL-terminated (or full) C buffer as str.  Invalid UTF-8, which some drivers put in
 * names, becomes U+FFFD rather than an exception. */
PyObject *
pn_decode(const char *buf, size_t cap)
{
    size_t n = strnlen(buf, cap);
    return PyUnicode_DecodeUTF8(buf, (Py_ssize_t)n, "replace");
}
