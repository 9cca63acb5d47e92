/* The NVMLError hierarchy, as nvidia-ml-py defines it:
 *
 *   NVMLError(code)            returns an instance of the subclass for that code
 *   NVMLError_NotSupported()   an instance with .value == NVML_ERROR_NOT_SUPPORTED
 *   str(e)                     NVMLError._errcode_to_string[code], else nvmlErrorString
 *   e1 == e2                   compares .value (so, as there, instances are unhashable)
 *   NVMLError._valClassMapping / nvmlExceptionClass(code)   code -> subclass
 *
 * A subclass knows its code through its class attribute `_code`, which user
 * subclasses inherit.  Our one addition: an error raised while loading the library
 * carries `.detail` (which file, and dlerror's reason), and str() shows it.
 */
#include "pynvml.h"

#include "generated/error_classes.c.h"

static PyObject *
module_of(PyObject *self)
{
    /* The module that made NVMLError: found from any subclass through the MRO. */
    PyObject *mro = Py_TYPE(self)->tp_mro;
    for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (PyType_HasFeature(t, Py_TPFLAGS_HEAPTYPE) && ((PyHeapTypeObject *)t)->ht_module)
            return ((PyHeapTypeObject *)t)->ht_module;
    }
    return NULL;
}

static PyObject *
error_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *module = PyType_GetModule(type);  /* only NVMLError itself has one */
    PyObject *value = NULL;
    PyTypeObject *cls = type;
    if (module != NULL) {
        pn_state *st = pn_get_state(module);
        if (PyTuple_GET_SIZE(args) < 1) {
            PyErr_SetString(PyExc_TypeError, "NVMLError() takes the NVML return code");
            return NULL;
        }
        value = PyTuple_GET_ITEM(args, 0);
        Py_INCREF(value);
        PyObject *sub = PyDict_GetItemWithError(st->code_to_class, value);
        if (sub != NULL)
            cls = (PyTypeObject *)sub;
        else if (PyErr_Occurred()) {
            Py_DECREF(value);
            return NULL;
        }
    }
    else {
        PyErr_Clear();
        value = PyObject_GetAttrString((PyObject *)type, "_code");
        if (value == NULL)
            return NULL;
    }
    PyObject *self = ((PyTypeObject *)PyExc_Exception)->tp_new(cls, args, kwds);
    if (self == NULL || PyObject_SetAttrString(self, "value", value) < 0) {
        Py_XDECREF(self);
        Py_DECREF(value);
        return NULL;
    }
    Py_DECREF(value);
    return self;
}

static PyObject *
error_str(PyObject *self)
{
    PyObject *value = PyObject_GetAttrString(self, "value");
    if (value == NULL)
        return NULL;
    PyObject *module = module_of(self);
    pn_state *st = module ? pn_get_state(module) : NULL;
    PyObject *text = NULL;
    PyObject *table = st ? PyObject_GetAttrString(st->NVMLError, "_errcode_to_string") : NULL;
    if (table != NULL && PyDict_Check(table)) {
        text = PyDict_GetItemWithError(table, value);
        Py_XINCREF(text);
    }
    if (text == NULL && !PyErr_Occurred() && st != NULL && st->lib != NULL && PyLong_Check(value)) {
        /* Unknown to the table: ask NVML, and remember the answer, as nvidia-ml-py does. */
        pfn_nvmlErrorString fn = (pfn_nvmlErrorString)st->syms[PN_SYM_nvmlErrorString];
        if (fn == NULL)
            fn = (pfn_nvmlErrorString)pn_resolve(st, PN_SYM_nvmlErrorString);
        long code = PyLong_AsLong(value);
        if (fn != NULL && !PyErr_Occurred()) {
            const char *s = fn((nvmlReturn_t)code);
            if (s != NULL) {
                text = PyUnicode_DecodeUTF8(s, strlen(s), "replace");
                if (text != NULL && table != NULL && PyDict_Check(table))
                    PyDict_SetItem(table, value, text);
            }
        }
    }
    Py_XDECREF(table);
    if (text == NULL) {
        PyErr_Clear();
        text = PyUnicode_FromFormat("NVML Error with code %S", value);
    }
    Py_DECREF(value);
    if (text == NULL)
        return NULL;
    PyObject *detail = PyObject_GetAttrString(self, "detail");
    if (detail == NULL) {
        PyErr_Clear();
        return text;
    }
    PyObject *full = PyUnicode_FromFormat("%U (%S)", text, detail);
    Py_DECREF(text);
    Py_DECREF(detail);
    return full;
}

static PyObject *
error_richcompare(PyObject *a, PyObject *b, int op)
{
    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    PyObject *va = PyObject_GetAttrString(a, "value");
    PyObject *vb = va ? PyObject_GetAttrString(b, "value") : NULL;
    if (vb == NULL) {
        Py_XDECREF(va);
        PyErr_Clear();
        Py_RETURN_NOTIMPLEMENTED;
    }
    PyObject *r = PyObject_RichCompare(va, vb, op);
    Py_DECREF(va);
    Py_DECREF(vb);
    return r;
}

static PyObject *
error_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    /* Pickles (multiprocessing passes exceptions back) rebuild through NVMLError(code). */
    PyObject *module = module_of(self);
    PyObject *value = PyObject_GetAttrString(self, "value");
    if (module == NULL || value == NULL) {
        Py_XDECREF(value);
        return NULL;
    }
    PyObject *r = Py_BuildValue("(O(N))", pn_get_state(module)->NVMLError, value);
    return r;
}

static PyMethodDef error_methods[] = {
    {"__reduce__", error_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot error_slots[] = {
    {Py_tp_new, error_new},
    {Py_tp_str, error_str},
    {Py_tp_richcompare, error_richcompare},
    {Py_tp_methods, error_methods},
    {Py_tp_doc, "An error returned by NVML; NVMLError(code) gives the subclass for the code."},
    {0, NULL},
};

static PyType_Spec error_spec = {
    .name = "pynvml.NVMLError",
    .basicsize = 0,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = error_slots,
};

/* Messages nvidia-ml-py keeps for the codes it knows; others come from nvmlErrorString. */
static const struct { int code; const char *text; } known_messages[] = {
    {NVML_ERROR_UNINITIALIZED, "Uninitialized"},
    {NVML_ERROR_INVALID_ARGUMENT, "Invalid Argument"},
    {NVML_ERROR_NOT_SUPPORTED, "Not Supported"},
    {NVML_ERROR_NO_PERMISSION, "Insufficient Permissions"},
    {NVML_ERROR_ALREADY_INITIALIZED, "Already Initialized"},
    {NVML_ERROR_NOT_FOUND, "Not Found"},
    {NVML_ERROR_INSUFFICIENT_SIZE, "Insufficient Size"},
    {NVML_ERROR_INSUFFICIENT_POWER, "Insufficient External Power"},
    {NVML_ERROR_DRIVER_NOT_LOADED, "Driver Not Loaded"},
    {NVML_ERROR_TIMEOUT, "Timeout"},
    {NVML_ERROR_IRQ_ISSUE, "Interrupt Request Issue"},
    {NVML_ERROR_LIBRARY_NOT_FOUND, "NVML Shared Library Not Found"},
    {NVML_ERROR_FUNCTION_NOT_FOUND, "Function Not Found"},
    {NVML_ERROR_CORRUPTED_INFOROM, "Corrupted infoROM"},
    {NVML_ERROR_GPU_IS_LOST, "GPU is lost"},
    {NVML_ERROR_RESET_REQUIRED, "GPU requires restart"},
    {NVML_ERROR_OPERATING_SYSTEM, "The operating system has blocked the request."},
    {NVML_ERROR_LIB_RM_VERSION_MISMATCH, "RM has detected an NVML/RM version mismatch."},
    {NVML_ERROR_MEMORY, "Insufficient Memory"},
    {NVML_ERROR_UNKNOWN, "Unknown Error"},
};

int
pn_errors_setup(PyObject *module, pn_state *st)
{
    PyObject *bases = PyTuple_Pack(1, PyExc_Exception);
    if (bases == NULL)
        return -1;
    st->NVMLError = PyType_FromModuleAndSpec(module, &error_spec, bases);
    Py_DECREF(bases);
    if (st->NVMLError == NULL)
        return -1;
    PyObject *dict = ((PyTypeObject *)st->NVMLError)->tp_dict;
    PyObject *strings = PyDict_New();
    st->code_to_class = PyDict_New();
    if (strings == NULL || st->code_to_class == NULL)
        return -1;
    for (size_t i = 0; i < sizeof known_messages / sizeof known_messages[0]; i++) {
        PyObject *k = PyLong_FromLong(known_messages[i].code);
        PyObject *v = PyUnicode_FromString(known_messages[i].text);
        if (k == NULL || v == NULL || PyDict_SetItem(strings, k, v) < 0)
            return -1;
        Py_DECREF(k);
        Py_DECREF(v);
    }
    if (PyDict_SetItemString(dict, "_errcode_to_string", strings) < 0 ||
        PyDict_SetItemString(dict, "_valClassMapping", st->code_to_class) < 0)
        return -1;
    Py_DECREF(strings);
    PyType_Modified((PyTypeObject *)st->NVMLError);
    Py_INCREF(st->NVMLError);
    if (PyModule_AddObject(module, "NVMLError", st->NVMLError) < 0) {
        Py_DECREF(st->NVMLError);
        return -1;
    }
    for (size_t i = 0; i < sizeof pn_error_classes / sizeof pn_error_classes[0]; i++) {
        PyObject *ns = PyDict_New();
        PyObject *code = PyLong_FromLong(pn_error_classes[i].code);
        if (ns == NULL || code == NULL || PyDict_SetItemString(ns, "_code", code) < 0)
            return -1;
        char qual[128];
        PyOS_snprintf(qual, sizeof qual, "pynvml.%s", pn_error_classes[i].name);
        PyObject *cls = PyErr_NewException(qual, st->NVMLError, ns);
        Py_DECREF(ns);
        if (cls == NULL || PyDict_SetItem(st->code_to_class, code, cls) < 0 ||
            PyModule_AddObject(module, pn_error_classes[i].name, cls) < 0) {
            Py_XDECREF(cls);
            return -1;
        }
        Py_DECREF(code);
    }
    return 0;
}

PyObject *
pn_raise(pn_state *st, int code)
{
    PyObject *exc = PyObject_CallFunction(st->NVMLError, "i", code);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
    return NULL;
}

static PyObject *
exception_class(PyObject *module, PyObject *code)
{
    pn_state *st = pn_get_state(module);
    PyObject *cls = PyDict_GetItemWithError(st->code_to_class, code);
    if (cls == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_ValueError, "nvmlErrorCode %S is not valid", code);
        return NULL;
    }
    Py_INCREF(cls);
    return cls;
}

PyMethodDef pn_error_methods[] = {
    {"nvmlExceptionClass", exception_class, METH_O,
     "nvmlExceptionClass(nvmlErrorCode)\n--\n\nThe NVMLError subclass raised for an NVML return code."},
    {NULL, NULL, 0, NULL},
};
