/* Wrappers that fit no pattern of the spec, each for the reason given above it, and
 * the module's private helpers for the Python layer (src/pynvml/__init__.py). */
#include "pynvml.h"

#include <string.h>

/* nvmlInit / nvmlInitWithFlags / nvmlShutdown: load the library and keep the refcount
 * (ext/loader.c) rather than just calling through. */
static PyObject *
h_nvmlInit(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return pn_init_with_flags(pn_get_state(module), 0);
}

static PyObject *
h_nvmlInitWithFlags(PyObject *module, PyObject *arg)
{
    unsigned int flags;
    if (pn_arg_u32(arg, "nvmlInitWithFlags", "flags", &flags) < 0)
        return NULL;
    return pn_init_with_flags(pn_get_state(module), flags);
}

static PyObject *
h_nvmlShutdown(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return pn_shutdown(pn_get_state(module));
}

/* nvmlErrorString returns a C string, not an nvmlReturn_t. */
static PyObject *
h_nvmlErrorString(PyObject *module, PyObject *arg)
{
    pn_state *st = pn_get_state(module);
    int code;
    if (pn_arg_i32(arg, "nvmlErrorString", "result", &code) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlErrorString, pfn_nvmlErrorString, fn);
    const char *s;
    PN_NVML_BEGIN
    s = fn(code);
    PN_NVML_END
    if (s == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeUTF8(s, strlen(s), "replace");
}

/* nvmlDeviceGetMemoryInfo(handle, version=None): the version argument picks the entry
 * point and the struct (any true value: nvmlDeviceGetMemoryInfo_v2 with that version
 * word, as nvidia-ml-py does; gpustat passes version=nvmlMemory_v2). */
static PyObject *
h_nvmlDeviceGetMemoryInfo(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"handle", "version", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    PN_HOOK_ENTRY(st, "nvmlDeviceGetMemoryInfo")
    if (pn_unpack("nvmlDeviceGetMemoryInfo", args, nargs, kwnames, names, 1, 2, argv) < 0)
        return NULL;
    nvmlDevice_t dev;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, "nvmlDeviceGetMemoryInfo", "handle", (void **)&dev) < 0)
        return NULL;
    int versioned = argv[1] != NULL && argv[1] != Py_None;
    unsigned int version = 0;
    if (versioned) {
        versioned = PyObject_IsTrue(argv[1]);
        if (versioned < 0 ||
            (versioned && pn_arg_u32(argv[1], "nvmlDeviceGetMemoryInfo", "version", &version) < 0))
            return NULL;
    }
    nvmlReturn_t rc;
    if (!versioned) {
        PN_RESOLVE_HOOKED(st, PN_SYM_nvmlDeviceGetMemoryInfo, pfn_nvmlDeviceGetMemoryInfo, fn);
        nvmlMemory_t m;
        memset(&m, 0, sizeof m);
        PN_NVML_BEGIN
        rc = fn(dev, &m);
        PN_NVML_END
        if (rc != NVML_SUCCESS)
            return pn_raise(st, rc);
        return pn_struct_new(st, PN_STRUCT_nvmlMemory_t, &m);
    }
    PN_RESOLVE_HOOKED(st, PN_SYM_nvmlDeviceGetMemoryInfo_v2, pfn_nvmlDeviceGetMemoryInfo_v2, fn);
    nvmlMemory_v2_t m;
    memset(&m, 0, sizeof m);
    m.version = version;
    PN_NVML_BEGIN
    rc = fn(dev, &m);
    PN_NVML_END
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_struct_new(st, PN_STRUCT_nvmlMemory_v2_t, &m);
}

/* nvmlDeviceGetFieldValues(handle, fieldIds): the C call takes an in/out array whose
 * entries the caller seeds; each id is an int or a (fieldId, scopeId) pair.  The same
 * for nvmlDeviceClearFieldValues (ext/hand_setters.c): pn_field_values(..., its symbol). */
static PyObject *
h_nvmlDeviceGetFieldValues(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return pn_field_values(module, args, nargs, kwnames, "nvmlDeviceGetFieldValues", PN_SYM_nvmlDeviceGetFieldValues);
}

PyObject *
pn_field_values(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname,
                int sym)
{
    static const char *const names[] = {"handle", "fieldIds", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0)
        return NULL;
    nvmlDevice_t dev;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0)
        return NULL;
    if (PyUnicode_Check(argv[1]) || PyBytes_Check(argv[1]) || !PySequence_Check(argv[1])) {
        PyErr_Format(PyExc_TypeError, "%s(): argument 'fieldIds' must be a sequence of field ids", fname);
        return NULL;
    }
    /* a copy: an id's __index__ may change the caller's list (ext/convert.c) */
    PyObject *seq = pn_arg_tuple(argv[1], "argument 'fieldIds' must be a sequence of field ids");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    if (n > 0x7FFFFFFF) {
        Py_DECREF(seq);
        PyErr_Format(PyExc_ValueError, "%s(): too many field ids", fname);
        return NULL;
    }
    nvmlFieldValue_t *values = PyMem_Calloc(n ? n : 1, sizeof *values);
    if (values == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        if (PyTuple_Check(item) || PyList_Check(item)) {
            if (PySequence_Size(item) != 2) {
                PyErr_Format(PyExc_ValueError, "%s(): a field id pair must be (fieldId, scopeId)", fname);
                goto done;
            }
            PyObject *a = PySequence_GetItem(item, 0), *b = PySequence_GetItem(item, 1);
            int bad = a == NULL || b == NULL ||
                      pn_arg_u32(a, fname, "fieldId", &values[i].fieldId) < 0 ||
                      pn_arg_u32(b, fname, "scopeId", &values[i].scopeId) < 0;
            Py_XDECREF(a);
            Py_XDECREF(b);
            if (bad)
                goto done;
        }
        else if (pn_arg_u32(item, fname, "fieldIds[i]", &values[i].fieldId) < 0)
            goto done;
    }
    /* the ids' __index__ may have shut NVML down: the handle again */
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0)
        goto done;
    {
        /* nvmlDeviceGetFieldValues and nvmlDeviceClearFieldValues have one signature */
        pfn_nvmlDeviceGetFieldValues fn = (pfn_nvmlDeviceGetFieldValues)st->syms[sym];
        if (fn == NULL && (fn = (pfn_nvmlDeviceGetFieldValues)pn_resolve(st, sym)) == NULL)
            goto done;
        nvmlReturn_t rc;
        PN_NVML_BEGIN
        rc = fn(dev, (int)n, values);
        PN_NVML_END
        if (rc != NVML_SUCCESS) {
            pn_raise(st, rc);
            goto done;
        }
    }
    result = pn_struct_list(st, PN_STRUCT_nvmlFieldValue_t, values, sizeof *values, (size_t)n);
done:
    PyMem_Free(values);
    Py_DECREF(seq);
    return result;
}

/* --- private helpers for the Python layer ---------------------------------------- */

static PyObject *
h_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"sim_library", "friendly_class", "error_base", "error_classes", NULL};
    PyObject *argv[4];
    pn_state *st = pn_get_state(module);
    if (pn_unpack("_configure", args, nargs, kwnames, names, 4, 4, argv) < 0)
        return NULL;
    if (!PyType_Check(argv[2]) || !PyDict_Check(argv[3])) {
        PyErr_SetString(PyExc_TypeError, "_configure: error_base must be a class, error_classes a dict");
        return NULL;
    }
    const char *path;
    if (pn_arg_cstr(argv[0], "_configure", "sim_library", &path) < 0)
        return NULL;
    char *copy = strdup(path);
    if (copy == NULL)
        return PyErr_NoMemory();
    free(st->sim_path);
    st->sim_path = copy;
    Py_INCREF(argv[1]);
    Py_XSETREF(st->friendly_class, argv[1]);
    Py_INCREF(argv[2]);
    Py_XSETREF(st->NVMLError, argv[2]);
    Py_INCREF(argv[3]);
    Py_XSETREF(st->code_to_class, argv[3]);
    Py_RETURN_NONE;
}

static PyObject *
h_library_path(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    pn_state *st = pn_get_state(module);
    if (st->lib_path == NULL)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(st->lib_path);
}

static PyObject *
h_refcount(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    pn_state *st = pn_get_state(module);
    pn_check_fork(st);
    return PyLong_FromLong(st->refcount);
}

static PyObject *
h_release_now(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return pn_release_now(pn_get_state(module));
}

static PyObject *
h_release_pending(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return pn_release_pending(pn_get_state(module));
}

PyMethodDef pn_hand_methods[] = {
    {"nvmlInit", h_nvmlInit, METH_NOARGS, "nvmlInit()\n--\n\nInitialize NVML (loading the library on first use)."},
    {"nvmlInitWithFlags", h_nvmlInitWithFlags, METH_O,
     "nvmlInitWithFlags(flags)\n--\n\nInitialize NVML with NVML_INIT_FLAG_* flags."},
    {"nvmlShutdown", h_nvmlShutdown, METH_NOARGS,
     "nvmlShutdown()\n--\n\nUndo one nvmlInit*; the last one invalidates all handles."},
    {"nvmlErrorString", h_nvmlErrorString, METH_O, "nvmlErrorString(result)\n--\n\nNVML's text for a return code."},
    {"nvmlDeviceGetMemoryInfo", (PyCFunction)(void (*)(void))h_nvmlDeviceGetMemoryInfo,
     METH_FASTCALL | METH_KEYWORDS,
     "nvmlDeviceGetMemoryInfo(handle, version=None)\n--\n\n"
     "c_nvmlMemory_t, or with version=nvmlMemory_v2 a c_nvmlMemory_v2_t (which also has 'reserved')."},
    {"nvmlDeviceGetFieldValues", (PyCFunction)(void (*)(void))h_nvmlDeviceGetFieldValues,
     METH_FASTCALL | METH_KEYWORDS,
     "nvmlDeviceGetFieldValues(handle, fieldIds)\n--\n\n"
     "A c_nvmlFieldValue_t per id (an NVML_FI_* int, or a (fieldId, scopeId) pair)."},
    {"_configure", (PyCFunction)(void (*)(void))h_configure, METH_FASTCALL | METH_KEYWORDS, NULL},
    {"_library_path", h_library_path, METH_NOARGS, "The path of the loaded NVML library, or None."},
    {"_refcount", h_refcount, METH_NOARGS, "How many nvmlInit* are not yet shut down."},
    {"_release_now", h_release_now, METH_NOARGS,
     "The real nvmlShutdown that a grace period defers (ext/loader.c), now: True if there was one."},
    {"_release_pending", h_release_pending, METH_NOARGS,
     "Whether NVML is kept initialized for a grace period after the last nvmlShutdown."},
    {"_struct_layouts", pn_struct_layouts, METH_NOARGS, "The C layout of each struct: {name: (size, align, [(field, offset)])}."},
    {NULL, NULL, 0, NULL},
};
