/* The _nvml extension module: its state, and the assembly of the generated and
 * hand-written pieces.  Multi-phase init, so each (sub)interpreter gets its own state. */
#include "pynvml.h"

#include "generated/constants.c.h"
#include "generated/wrappers.c.h"

extern PyMethodDef pn_speed_methods[];   /* hand_speed.c: probes for bench/run.py */

static int
add_constants(PyObject *module)
{
    for (size_t i = 0; i < sizeof pn_int_constants / sizeof pn_int_constants[0]; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(pn_int_constants[i].value);
        if (v != NULL && pn_int_constants[i].negative)
            Py_SETREF(v, PyNumber_Negative(v));
        if (v == NULL || PyModule_AddObject(module, pn_int_constants[i].name, v) < 0) {
            Py_XDECREF(v);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof pn_str_constants / sizeof pn_str_constants[0]; i++)
        if (PyModule_AddStringConstant(module, pn_str_constants[i].name, pn_str_constants[i].value) < 0)
            return -1;
    return 0;
}

/* _export(namespace): copy every public name (no leading underscore) of this module into
 * a dict: pynvml/__init__.py's `from ._nvml import *`, at a tenth of its cost (~1600 names). */
static PyObject *
export_names(PyObject *module, PyObject *ns)
{
    if (!PyDict_Check(ns)) {
        PyErr_SetString(PyExc_TypeError, "_export() takes a dict");
        return NULL;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(PyModule_GetDict(module), &pos, &key, &value)) {
        if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) == 0 || PyUnicode_READ_CHAR(key, 0) == '_')
            continue;
        if (PyDict_SetItem(ns, key, value) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

/* PEP 562 hooks: the struct classes are made on first use (structs.c). */
static PyMethodDef lazy_methods[] = {
    {"_export", export_names, METH_O, "Copy the module's public names into a dict."},
    {"__getattr__", pn_struct_getattr, METH_O, NULL},
    {"__dir__", pn_struct_dir, METH_NOARGS, NULL},
    {"_lazy_names", pn_struct_lazy_names, METH_NOARGS, "The names of the struct classes made on first use."},
    {"_result_class", pn_struct_result_class, METH_O,
     "The subclass of a struct class whose objects the functions return (value slots), or None."},
    {NULL, NULL, 0, NULL},
};

/* The hand-written functions' docstrings get the spec's words once (docs.c). */
static void
apply_docs(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    PyMethodDef *const tables[] = {pn_hand_methods, pn_hand_mig_methods, pn_hand_events_methods,
                                   pn_hand_getters_methods, pn_hand_vgpu_methods, pn_hand_setters_methods,
                                   pn_hand_prm_methods};
    pn_docs_apply(tables, sizeof tables / sizeof tables[0]);
}

static int
module_exec(PyObject *module)
{
    pn_state *st = pn_get_state(module);
    apply_docs();
    if (pn_loader_setup(st) < 0 ||
        pn_handles_setup(module, st) < 0 ||
        pn_structs_setup(module, st) < 0 ||
        add_constants(module) < 0 ||
        PyModule_AddFunctions(module, pn_generated_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_mig_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_events_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_getters_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_vgpu_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_setters_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hand_prm_methods) < 0 ||
        PyModule_AddFunctions(module, pn_smi_methods) < 0 ||
        PyModule_AddFunctions(module, pn_batch_methods) < 0 ||
        PyModule_AddFunctions(module, lazy_methods) < 0 ||
        PyModule_AddFunctions(module, pn_hook_methods) < 0 ||
        PyModule_AddFunctions(module, pn_speed_methods) < 0)
        return -1;
    return 0;
}

static int
module_traverse(PyObject *module, visitproc visit, void *arg)
{
    pn_state *st = pn_get_state(module);
    if (st == NULL)
        return 0;
    Py_VISIT(st->NVMLError);
    Py_VISIT(st->code_to_class);
    Py_VISIT(st->friendly_class);
    Py_VISIT(st->live);
    Py_VISIT(st->hook_resolve);
    Py_VISIT(st->hook_call);
    for (int i = 0; i < PN_NHANDLES; i++)
        Py_VISIT(st->handle_types[i]);
    for (int i = 0; i < PN_NSTRUCTS; i++) {
        Py_VISIT(st->struct_types[i]);
        Py_VISIT(st->result_types[i]);
    }
    Py_VISIT(st->ctypes);
    return 0;
}

static int
module_clear(PyObject *module)
{
    pn_state *st = pn_get_state(module);
    if (st == NULL)
        return 0;
    Py_CLEAR(st->NVMLError);
    Py_CLEAR(st->code_to_class);
    Py_CLEAR(st->friendly_class);
    Py_CLEAR(st->live);
    Py_CLEAR(st->hook_resolve);
    Py_CLEAR(st->hook_call);
    st->fnptr_hooked = 0;
    for (int i = 0; i < PN_NHANDLES; i++)
        Py_CLEAR(st->handle_types[i]);
    for (int i = 0; i < PN_NSTRUCTS; i++) {
        Py_CLEAR(st->result_types[i]);
        Py_CLEAR(st->struct_types[i]);
    }
    Py_CLEAR(st->ctypes);
    return 0;
}

static void
module_free(void *module)
{
    pn_state *st = pn_get_state((PyObject *)module);
    module_clear((PyObject *)module);
    if (st == NULL)
        return;
    /* The library stays loaded: NVML keeps process-wide state of its own, and another
     * module instance (a sub-interpreter, a reload) may still use it. */
    free(st->lib_path);
    free(st->sim_path);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pynvml._nvml",
    .m_doc = "NVML bindings in C: the core of pynvml.",
    .m_size = sizeof(pn_state),
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC
PyInit__nvml(void)
{
    return PyModuleDef_Init(&module_def);
}
