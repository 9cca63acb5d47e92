/* Opaque NVML handles as Python objects: c_nvmlDevice_t, c_nvmlUnit_t, ...
 *
 * A handle knows its kind (its type) and the initialization it came from (the epoch):
 * after the last nvmlShutdown, or in a forked child, using it raises
 * NVMLError_Uninitialized instead of passing a dead pointer to NVML.  Handles of one
 * kind are refused where another kind is expected.
 *
 * Interop with ctypes code written for nvidia-ml-py: a handle passes to a ctypes
 * function as a pointer (through `_as_parameter_`), and a ctypes pointer is accepted
 * wherever a handle is (it cannot be checked: ctypes users own what they pass).
 * ctypes itself is imported only when that is used.
 */
#include "pynvml.h"

#include "structmember.h"

static const char *const handle_names[PN_NHANDLES] = {
    "pynvml.c_nvmlDevice_t", "pynvml.c_nvmlUnit_t", "pynvml.c_nvmlEventSet_t",
    "pynvml.c_nvmlGpuInstance_t", "pynvml.c_nvmlComputeInstance_t", "pynvml.c_nvmlGpmSample_t",
    "pynvml.c_nvmlSystemEventSet_t",
};

/* Kinds of objects that the caller frees (nvmlEventSetFree, nvmlGpmSampleFree, ...): the
 * extension keeps a table of those it made and has not freed (st->live), and refuses the
 * others, so a freed one never reaches NVML again (nor one read back from a struct field
 * after its free).  A handle object given to a free is also marked, in case NVML hands
 * the same address out again. */
static int
tracked(int kind)
{
    return pn_handle_kind_tracked(kind);   /* pynvml.h: pn_arg_handle's inline path skips these */
}

static PyObject *
live_key(int kind, void *ptr)
{
    return Py_BuildValue("(iN)", kind, PyLong_FromVoidPtr(ptr));
}

int
pn_handle_track(pn_state *st, int kind, void *ptr)
{
    if (st->live == NULL && (st->live = PyDict_New()) == NULL)
        return -1;
    PyObject *k = live_key(kind, ptr), *v = PyLong_FromUnsignedLong(st->epoch);
    int r = (k == NULL || v == NULL) ? -1 : PyDict_SetItem(st->live, k, v);
    Py_XDECREF(k);
    Py_XDECREF(v);
    return r;
}

void
pn_handle_untrack(pn_state *st, int kind, void *ptr, PyObject *obj)
{
    if (obj != NULL && Py_TYPE(obj) == (PyTypeObject *)st->handle_types[kind])
        ((pn_handle *)obj)->freed = 1;
    if (st->live == NULL)
        return;
    PyObject *k = live_key(kind, ptr);
    if (k == NULL || PyDict_DelItem(st->live, k) < 0)
        PyErr_Clear();   /* not there: nothing to forget */
    Py_XDECREF(k);
}

/* 1: made by us in this initialization and not freed; 0: not; -1: error set. */
int
pn_handle_is_live(pn_state *st, int kind, void *ptr)
{
    if (st->live == NULL)
        return 0;
    PyObject *k = live_key(kind, ptr);
    if (k == NULL)
        return -1;
    PyObject *v = PyDict_GetItemWithError(st->live, k);
    Py_DECREF(k);
    if (v == NULL)
        return PyErr_Occurred() ? -1 : 0;
    return PyLong_AsUnsignedLong(v) == st->epoch;
}

static PyObject *
handle_repr(PyObject *self)
{
    pn_handle *h = (pn_handle *)self;
    return PyUnicode_FromFormat("<%s %p>", Py_TYPE(self)->tp_name, h->ptr);
}

static Py_hash_t
handle_hash(PyObject *self)
{
    return _Py_HashPointer(((pn_handle *)self)->ptr);
}

static PyObject *
handle_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    int eq = ((pn_handle *)a)->ptr == ((pn_handle *)b)->ptr;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *
handle_value(PyObject *self, void *closure)
{
    return PyLong_FromVoidPtr(((pn_handle *)self)->ptr);
}

/* What ctypes passes when a handle is given to a foreign function. */
static PyObject *
handle_as_parameter(PyObject *self, void *closure)
{
    PyObject *ctypes = PyImport_ImportModule("ctypes");
    if (ctypes == NULL)
        return NULL;
    PyObject *r = PyObject_CallMethod(ctypes, "c_void_p", "N", handle_value(self, NULL));
    Py_DECREF(ctypes);
    return r;
}

static PyObject *
handle_new_refused(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyErr_Format(PyExc_TypeError,
                 "%s handles come from NVML (e.g. nvmlDeviceGetHandleByIndex); they cannot be made",
                 type->tp_name);
    return NULL;
}

static PyGetSetDef handle_getset[] = {
    {"value", handle_value, NULL, "The handle's address, as an int.", NULL},
    {"_as_parameter_", handle_as_parameter, NULL, "The handle as a ctypes.c_void_p.", NULL},
    {NULL},
};

static PyType_Slot handle_slots[] = {
    {Py_tp_repr, handle_repr},
    {Py_tp_hash, handle_hash},
    {Py_tp_richcompare, handle_richcompare},
    {Py_tp_getset, handle_getset},
    {Py_tp_new, handle_new_refused},
    {Py_tp_doc, "An NVML handle. Valid until the last nvmlShutdown."},
    {0, NULL},
};

int
pn_handles_setup(PyObject *module, pn_state *st)
{
    for (int k = 0; k < PN_NHANDLES; k++) {
        PyType_Spec spec = {
            .name = handle_names[k],
            .basicsize = sizeof(pn_handle),
            .flags = Py_TPFLAGS_DEFAULT,
            .slots = handle_slots,
        };
        st->handle_types[k] = PyType_FromModuleAndSpec(module, &spec, NULL);
        if (st->handle_types[k] == NULL)
            return -1;
        Py_INCREF(st->handle_types[k]);
        if (PyModule_AddObject(module, strrchr(handle_names[k], '.') + 1, st->handle_types[k]) < 0) {
            Py_DECREF(st->handle_types[k]);
            return -1;
        }
    }
    return 0;
}

PyObject *
pn_handle_new(pn_state *st, int kind, void *ptr)
{
    PyTypeObject *t = (PyTypeObject *)st->handle_types[kind];
    pn_handle *h = PyObject_New(pn_handle, t);
    if (h == NULL)
        return NULL;
    h->ptr = ptr;
    h->epoch = st->epoch;
    h->freed = 0;
    return (PyObject *)h;
}

/* A ctypes pointer object (POINTER(...) instance or c_void_p): its address, or -1. */
static int
ctypes_pointer_value(PyObject *o, void **out)
{
    if (!PyObject_CheckBuffer(o) || !PyObject_HasAttrString((PyObject *)Py_TYPE(o), "_type_"))
        return -1;
    Py_buffer view;
    if (PyObject_GetBuffer(o, &view, PyBUF_FORMAT | PyBUF_ND) < 0) {
        PyErr_Clear();
        return -1;
    }
    int ok = view.len == sizeof(void *) && view.format != NULL &&
             (view.format[0] == '&' || strcmp(view.format, "P") == 0 || strcmp(view.format, "<P") == 0);
    if (ok)
        memcpy(out, view.buf, sizeof(void *));
    PyBuffer_Release(&view);
    return ok ? 0 : -1;
}

int
pn_arg_handle_checked(pn_state *st, PyObject *o, int kind, const char *fname, const char *argname, void **out)
{
    PyTypeObject *want = (PyTypeObject *)st->handle_types[kind];
    if (Py_TYPE(o) == want) {
        pn_handle *h = (pn_handle *)o;
        if (pn_fork_count != st->forks_seen)
            pn_check_fork(st);
        if (h->epoch != st->epoch) {
            pn_raise(st, NVML_ERROR_UNINITIALIZED);
            return -1;
        }
        if (tracked(kind)) {
            int live = h->freed ? 0 : pn_handle_is_live(st, kind, h->ptr);
            if (live < 0)
                return -1;
            if (!live) {
                PyErr_Format(PyExc_ValueError, "%s(): argument '%s' is a %s that was freed", fname, argname,
                             want->tp_name);
                return -1;
            }
        }
        *out = h->ptr;
        return 0;
    }
    for (int k = 0; k < PN_NHANDLES; k++) {
        if (Py_TYPE(o) == (PyTypeObject *)st->handle_types[k]) {
            PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a %s, not a %s",
                         fname, argname, want->tp_name, Py_TYPE(o)->tp_name);
            return -1;
        }
    }
    void *p;
    if (ctypes_pointer_value(o, &p) == 0) {
        if (p == NULL) {
            PyErr_Format(PyExc_ValueError, "%s(): argument '%s' is a NULL pointer", fname, argname);
            return -1;
        }
        *out = p;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a %s, not %.100s",
                 fname, argname, want->tp_name, Py_TYPE(o)->tp_name);
    return -1;
}
