/* A client's pynvml._nvmlGetFunctionPointer, honoured as nvidia-ml-py honours it.
 *
 * nvidia-ml-py looks each entry point up through _nvmlGetFunctionPointer(name) (and its
 * cache dict) on every call, and tools build on that: gpustat replaces it to fall back
 * from the _v3 process getters to _v2 on drivers before 510.39, and its test suite makes
 * it return fake Python functions.  Ours resolve an entry point with dlsym once and keep
 * it in st->syms[].
 *
 * pynvml/_compat_names.py notices a replaced lookup (or a client's cache entry) and calls
 * _set_fnptr_hook(resolve, call).  From then on st->syms[] stays empty, so each wrapper's
 * usual "not resolved yet" branch reaches pn_resolve (loader.c), which hands the name to
 * pn_hook_resolve: resolve(name) gives the address of the ctypes function the lookup
 * returns, and the C call goes on as usual (an NVMLError the lookup raises propagates).
 * A plain Python function cannot be called from C: the wrappers that clients fake that way
 * (spec option pyhook: the process lists, nvmlDeviceGetMemoryInfo) start with PN_HOOK_ENTRY,
 * which hands the caller's own arguments to call(name, args, kwargs); it runs
 * nvidia-ml-py's algorithm around the fake, or gives the ctypes function, whose address
 * the wrapper's PN_RESOLVE_HOOKED takes (so the lookup is asked once per call, as in
 * nvidia-ml-py).  _set_fnptr_hook(None, None) ends it all.
 *
 * While nobody has changed the lookup, nothing here runs: the resolution branch is the
 * one the wrappers always had, and PN_HOOK_ENTRY is a load and a branch not taken
 * (_probe_hook_entry below: bench/run.py times it, ~2 ns).
 *
 * nvmlInitWithFlags and nvmlShutdown are resolved with dlsym all the same: they run under
 * the loader's init lock, and a Python lookup that called back into nvmlInit would wait
 * on that lock forever.
 */
#include "pynvml.h"

#include <string.h>

/* The address of a ctypes function object: its buffer holds the function pointer. */
static void *
cfunc_address(PyObject *f)
{
    void *p = NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(f, &view, PyBUF_SIMPLE) == 0) {
        if (view.len == (Py_ssize_t)sizeof p)
            memcpy(&p, view.buf, sizeof p);
        PyBuffer_Release(&view);
    }
    return p;
}

void *
pn_hook_resolve(pn_state *st, int sym)
{
    /* resolve() gives a ctypes function object (it checked), or raises */
    PyObject *r = PyObject_CallFunction(st->hook_resolve, "s", pn_sym_names[sym]);
    if (r == NULL)
        return NULL;
    void *p = cfunc_address(r);
    Py_DECREF(r);
    if (p == NULL && !PyErr_Occurred())
        PyErr_Format(PyExc_TypeError, "pynvml: _nvmlGetFunctionPointer('%s') gave no function address",
                     pn_sym_names[sym]);
    return p;
}

/* call(name, args, kwargs) for a pyhook wrapper: 1 with *result set (the Python path's
 * result), -1 with an exception, 0 with *fn set (the address of the ctypes function the
 * lookup gave: call() returns it as a 1-tuple, which no Python path returns), or with
 * *fn NULL when the hook was taken away meanwhile (the wrapper goes on as usual). */
int
pn_hook_call(pn_state *st, const char *name, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             PyObject **result, void **fn)
{
    PyObject *call = st->hook_call;
    if (call == NULL)
        return 0;
    PyObject *pos = PyTuple_New(nargs);
    PyObject *kw = NULL;
    if (pos == NULL)
        return -1;
    for (Py_ssize_t i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(pos, i, args[i]);
    }
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        kw = PyDict_New();
        for (Py_ssize_t i = 0; kw != NULL && i < PyTuple_GET_SIZE(kwnames); i++)
            if (PyDict_SetItem(kw, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
                Py_CLEAR(kw);
        if (kw == NULL) {
            Py_DECREF(pos);
            return -1;
        }
    }
    Py_INCREF(call);     /* the hook can be unset while it runs (another thread) */
    PyObject *r = PyObject_CallFunction(call, "sOO", name, pos, kw != NULL ? kw : Py_None);
    Py_DECREF(call);
    Py_DECREF(pos);
    Py_XDECREF(kw);
    if (r == NULL)
        return -1;
    if (PyTuple_CheckExact(r) && PyTuple_GET_SIZE(r) == 1) {
        *fn = cfunc_address(PyTuple_GET_ITEM(r, 0));
        Py_DECREF(r);
        if (*fn == NULL) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "pynvml: _nvmlGetFunctionPointer gave no function address for %s",
                             name);
            return -1;
        }
        return 0;
    }
    *result = r;
    return 1;
}

/* _set_fnptr_hook(resolve, call), or (None, None) to go back to dlsym. */
static PyObject *
set_fnptr_hook(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    pn_state *st = pn_get_state(module);
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_set_fnptr_hook() takes (resolve, call) or (None, None)");
        return NULL;
    }
    int on = args[0] != Py_None;
    if (on != (args[1] != Py_None) || (on && (!PyCallable_Check(args[0]) || !PyCallable_Check(args[1])))) {
        PyErr_SetString(PyExc_TypeError, "_set_fnptr_hook() takes two callables or (None, None)");
        return NULL;
    }
    PyObject *old_resolve = st->hook_resolve, *old_call = st->hook_call;
    if (on) {
        Py_INCREF(args[0]);
        Py_INCREF(args[1]);
    }
    st->hook_resolve = on ? args[0] : NULL;
    st->hook_call = on ? args[1] : NULL;
    st->fnptr_hooked = on;
    /* Resolved entry points are forgotten both ways: while hooked every wrapper must reach
     * pn_resolve; after, the addresses a client's lookup gave must not stay. */
    memset(st->syms, 0, sizeof st->syms);
    Py_XDECREF(old_resolve);
    Py_XDECREF(old_call);
    Py_RETURN_NONE;
}

/* _fnptr_hooked(): whether the C functions follow a client's lookup now (for tests). */
static PyObject *
fnptr_hooked(PyObject *module, PyObject *ignored)
{
    return PyBool_FromLong(pn_get_state(module)->fnptr_hooked);
}

/* _probe_hook_entry(): a METH_FASTCALL function that does only the check that opens the
 * pyhook wrappers; bench/run.py times it against _probe_call (ext/hand_speed.c), which does
 * nothing: the difference is what the check costs a call while nobody hooked. */
static PyObject *
probe_hook_entry(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    pn_state *st = pn_get_state(module);
    PN_HOOK_ENTRY(st, "nvmlDeviceGetMemoryInfo")
    return PyBool_FromLong(pn_hooked_fn != NULL);
}

PyMethodDef pn_hook_methods[] = {
    {"_set_fnptr_hook", (PyCFunction)(void (*)(void))set_fnptr_hook, METH_FASTCALL,
     "Make the C functions follow pynvml._nvmlGetFunctionPointer (resolve, call), or not (None, None)."},
    {"_fnptr_hooked", fnptr_hooked, METH_NOARGS, "Whether the C functions follow a client's lookup."},
    {"_probe_hook_entry", (PyCFunction)(void (*)(void))probe_hook_entry, METH_FASTCALL | METH_KEYWORDS,
     "bench/run.py: a C function that does only the _nvmlGetFunctionPointer check."},
    {NULL, NULL, 0, NULL},
};
