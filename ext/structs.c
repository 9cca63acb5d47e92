/* NVML structs and unions as Python classes, built at import from the generated
 * tables (generated/structs.c.h: each field's name, offset, kind and str() format).
 *
 * An object holds the C bytes themselves (laid out as nvml.h lays them out), so a
 * wrapper fills one with a memcpy and passes one to NVML as a pointer.  A nested
 * struct field reads as a view that shares its parent's bytes, as in ctypes.
 *
 * What the classes keep of nvidia-ml-py's ctypes classes: the field names and order,
 * construction by position and keyword (c_nvmlMemory_t(-1, -1, -1) wraps as ctypes
 * does), assignment, `_fields_`, `_fmt_`, and str() as _PrintableStructure prints
 * ("c_nvmlMemory_t(total: 85520809984 B, ...)").  They also support the buffer
 * protocol (bytes(s), ctypes' from_buffer_copy) and == by content.
 */
#include "pynvml.h"

#include <string.h>

#include "generated/structs.c.h"

static pn_state *
state_of_type(PyTypeObject *t)
{
    PyObject *mro = t->tp_mro;
    for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *b = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        if (PyType_HasFeature(b, Py_TPFLAGS_HEAPTYPE) && ((PyHeapTypeObject *)b)->ht_module)
            return pn_get_state(((PyHeapTypeObject *)b)->ht_module);
    }
    PyErr_SetString(PyExc_SystemError, "pynvml struct type without its module");
    return NULL;
}

/* The struct index of an object's class (or of the first pynvml class it derives from). */
static int
sidx_of(pn_state *st, PyTypeObject *t)
{
    for (int i = 0; i < PN_NSTRUCTS; i++)
        if (PyType_IsSubtype(t, (PyTypeObject *)st->struct_types[i]))
            return i;
    return -1;
}

static const pn_struct_def *
def_of(PyObject *self)
{
    pn_state *st = state_of_type(Py_TYPE(self));
    if (st == NULL)
        return NULL;
    int i = sidx_of(st, Py_TYPE(self));
    return i < 0 ? NULL : &pn_struct_defs[i];
}

static size_t
kind_size(unsigned char kind)
{
    switch (kind) {
    case PN_K_U8: return 1;
    case PN_K_U16: return 2;
    case PN_K_U32: case PN_K_I32: return 4;
    default: return 8;
    }
}

static size_t
elem_size(const pn_field *f)
{
    if (f->kind == PN_K_STRUCT)
        return pn_struct_defs[f->sub].size;
    return kind_size(f->kind);
}

static PyObject *
new_view(pn_state *st, int sidx, PyObject *base, char *data)
{
    pn_struct *v = PyObject_New(pn_struct, (PyTypeObject *)st->struct_types[sidx]);
    if (v == NULL)
        return NULL;
    v->data = data;
    Py_INCREF(base);
    v->base = base;
    return (PyObject *)v;
}

static PyObject *
scalar_get(unsigned char kind, const char *p)
{
    switch (kind) {
    case PN_K_U8: return PyLong_FromUnsignedLong(*(const unsigned char *)p);
    case PN_K_U16: return PyLong_FromUnsignedLong(*(const unsigned short *)p);
    case PN_K_U32: return PyLong_FromUnsignedLong(*(const unsigned int *)p);
    case PN_K_I32: return PyLong_FromLong(*(const int *)p);
    case PN_K_U64: return PyLong_FromUnsignedLongLong(*(const unsigned long long *)p);
    case PN_K_I64: return PyLong_FromLongLong(*(const long long *)p);
    case PN_K_ULONG: return PyLong_FromUnsignedLong(*(const unsigned long *)p);
    case PN_K_F64: return PyFloat_FromDouble(*(const double *)p);
    }
    PyErr_SetString(PyExc_SystemError, "bad field kind");
    return NULL;
}

/* Store an int the way ctypes does: wrapped to the field's width. */
static int
scalar_set(unsigned char kind, char *p, PyObject *v, const char *name)
{
    if (kind == PN_K_F64) {
        double d = PyFloat_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        *(double *)p = d;
        return 0;
    }
    if (PyFloat_Check(v) || !PyIndex_Check(v)) {
        PyErr_Format(PyExc_TypeError, "field '%s' takes an int, not %.100s", name, Py_TYPE(v)->tp_name);
        return -1;
    }
    PyObject *i = PyNumber_Index(v);
    if (i == NULL)
        return -1;
    unsigned long long u = PyLong_AsUnsignedLongLongMask(i);
    Py_DECREF(i);
    if (u == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    switch (kind) {
    case PN_K_U8: *(unsigned char *)p = (unsigned char)u; break;
    case PN_K_U16: *(unsigned short *)p = (unsigned short)u; break;
    case PN_K_U32: case PN_K_I32: *(unsigned int *)p = (unsigned int)u; break;
    default: *(unsigned long long *)p = u; break;
    }
    return 0;
}

static PyObject *
item_get(pn_state *st, PyObject *self, const pn_field *f, char *p)
{
    if (f->kind == PN_K_STRUCT)
        return new_view(st, f->sub, self, p);
    return scalar_get(f->kind, p);
}

static PyObject *
field_get(PyObject *self, void *closure)
{
    const pn_field *f = closure;
    char *p = ((pn_struct *)self)->data + f->offset;
    if (f->kind == PN_K_CHARS)
        return pn_decode(p, f->count);
    if (f->kind != PN_K_STRUCT && f->count == 0)
        return scalar_get(f->kind, p);
    pn_state *st = state_of_type(Py_TYPE(self));
    if (st == NULL)
        return NULL;
    if (f->count == 0)
        return item_get(st, self, f, p);
    PyObject *list = PyList_New(f->count);
    for (unsigned int i = 0; list != NULL && i < f->count; i++) {
        PyObject *item = item_get(st, self, f, p + i * elem_size(f));
        if (item == NULL)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, i, item);
    }
    return list;
}

static int
item_set(pn_state *st, const pn_field *f, char *p, PyObject *v)
{
    if (f->kind != PN_K_STRUCT)
        return scalar_set(f->kind, p, v, f->name);
    PyTypeObject *t = (PyTypeObject *)st->struct_types[f->sub];
    if (!PyObject_TypeCheck(v, t)) {
        PyErr_Format(PyExc_TypeError, "field '%s' takes a %s, not %.100s", f->name, t->tp_name,
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    memmove(p, ((pn_struct *)v)->data, pn_struct_defs[f->sub].size);
    return 0;
}

static int
field_set(PyObject *self, PyObject *v, void *closure)
{
    const pn_field *f = closure;
    char *p = ((pn_struct *)self)->data + f->offset;
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "field '%s' cannot be deleted", f->name);
        return -1;
    }
    if (f->kind == PN_K_CHARS) {
        const char *s;
        Py_ssize_t n;
        if (PyUnicode_Check(v)) {
            if ((s = PyUnicode_AsUTF8AndSize(v, &n)) == NULL)
                return -1;
        }
        else if (PyBytes_Check(v)) {
            s = PyBytes_AS_STRING(v);
            n = PyBytes_GET_SIZE(v);
        }
        else {
            PyErr_Format(PyExc_TypeError, "field '%s' takes str or bytes, not %.100s", f->name,
                         Py_TYPE(v)->tp_name);
            return -1;
        }
        if ((size_t)n > f->count) {   /* a full buffer, without its NUL, is allowed (as in ctypes) */
            PyErr_Format(PyExc_ValueError, "field '%s' holds at most %u bytes, got %zd", f->name,
                         f->count, n);
            return -1;
        }
        memset(p, 0, f->count);
        memcpy(p, s, n);
        return 0;
    }
    pn_state *st = f->kind == PN_K_STRUCT ? state_of_type(Py_TYPE(self)) : NULL;
    if (f->kind == PN_K_STRUCT && st == NULL)
        return -1;
    if (f->count == 0)
        return item_set(st, f, p, v);
    PyObject *seq = PySequence_Fast(v, "an array field takes a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if ((size_t)n > f->count) {
        PyErr_Format(PyExc_ValueError, "field '%s' holds %u items, got %zd", f->name, f->count, n);
        Py_DECREF(seq);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (item_set(st, f, p + i * elem_size(f), PySequence_Fast_GET_ITEM(seq, i)) < 0) {
            Py_DECREF(seq);
            return -1;
        }
    }
    Py_DECREF(seq);
    return 0;
}

static PyObject *
struct_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    pn_struct *self = (pn_struct *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->data = (char *)self->inline_data;   /* tp_alloc zeroed it */
    self->base = NULL;
    return (PyObject *)self;
}

static int
struct_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if ((size_t)n > d->nfields) {
        PyErr_Format(PyExc_TypeError, "%s takes at most %u fields, got %zd", d->pyname, d->nfields, n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (field_set(self, PyTuple_GET_ITEM(args, i), (void *)&d->fields[i]) < 0)
            return -1;
    if (kwds == NULL)
        return 0;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(kwds, &pos, &key, &value)) {
        unsigned int i;
        for (i = 0; i < d->nfields; i++)
            if (PyUnicode_CompareWithASCIIString(key, d->fields[i].name) == 0)
                break;
        if (i == d->nfields) {
            PyErr_Format(PyExc_TypeError, "%s has no field '%S'", d->pyname, key);
            return -1;
        }
        if ((Py_ssize_t)i < n) {
            PyErr_Format(PyExc_TypeError, "%s: field '%S' given twice", d->pyname, key);
            return -1;
        }
        if (field_set(self, value, (void *)&d->fields[i]) < 0)
            return -1;
    }
    return 0;
}

static void
struct_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    Py_XDECREF(((pn_struct *)self)->base);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* str() as nvidia-ml-py's _PrintableStructure: "Name(field: <fmt % value>, ...)". */
static PyObject *
struct_str(PyObject *self)
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    if (!d->printable)
        return PyUnicode_FromFormat("<%s object at %p>", Py_TYPE(self)->tp_name, self);
    PyObject *parts = PyList_New(0);
    if (parts == NULL)
        return NULL;
    for (unsigned int i = 0; i < d->nfields; i++) {
        const pn_field *f = &d->fields[i];
        const char *fmt = f->fmt ? f->fmt : d->fmt_default ? d->fmt_default : "%s";
        PyObject *value = field_get(self, (void *)f);
        PyObject *pyfmt = value ? PyUnicode_FromFormat("%s: %s", f->name, fmt) : NULL;
        PyObject *text = pyfmt ? PyUnicode_Format(pyfmt, value) : NULL;
        Py_XDECREF(value);
        Py_XDECREF(pyfmt);
        if (text == NULL || PyList_Append(parts, text) < 0) {
            Py_XDECREF(text);
            Py_DECREF(parts);
            return NULL;
        }
        Py_DECREF(text);
    }
    PyObject *sep = PyUnicode_FromString(", ");
    PyObject *body = sep ? PyUnicode_Join(sep, parts) : NULL;
    Py_XDECREF(sep);
    Py_DECREF(parts);
    if (body == NULL)
        return NULL;
    PyObject *r = PyUnicode_FromFormat("%s(%U)", _PyType_Name(Py_TYPE(self)), body);
    Py_DECREF(body);
    return r;
}

static PyObject *
struct_richcompare(PyObject *a, PyObject *b, int op)
{
    if ((op != Py_EQ && op != Py_NE) || Py_TYPE(a) != Py_TYPE(b))
        Py_RETURN_NOTIMPLEMENTED;
    const pn_struct_def *d = def_of(a);
    if (d == NULL)
        return NULL;
    int eq = memcmp(((pn_struct *)a)->data, ((pn_struct *)b)->data, d->size) == 0;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static int
struct_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return -1;
    return PyBuffer_FillInfo(view, self, ((pn_struct *)self)->data, d->size, 0, flags);
}

static PyObject *
struct_copy(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    PyObject *c = struct_new(Py_TYPE(self), NULL, NULL);
    if (c != NULL)
        memcpy(((pn_struct *)c)->data, ((pn_struct *)self)->data, d->size);
    return c;
}

static PyObject *
struct_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    /* Pickle as the class and the field values, in order. */
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    PyObject *values = PyTuple_New(d->nfields);
    for (unsigned int i = 0; values != NULL && i < d->nfields; i++) {
        PyObject *v = field_get(self, (void *)&d->fields[i]);
        if (v == NULL) {
            Py_CLEAR(values);
            break;
        }
        PyTuple_SET_ITEM(values, i, v);
    }
    if (values == NULL)
        return NULL;
    return Py_BuildValue("(ON)", Py_TYPE(self), values);
}

static PyMethodDef struct_methods[] = {
    {"__copy__", struct_copy, METH_NOARGS, NULL},
    {"__reduce__", struct_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static const char *
kind_name(const pn_field *f)
{
    static const char *const names[] = {"c_ubyte", "c_ushort", "c_uint", "c_int", "c_ulonglong",
                                        "c_longlong", "c_ulong", "c_double", "c_char", NULL};
    if (f->kind == PN_K_STRUCT)
        return pn_struct_defs[f->sub].pyname;
    return names[f->kind];
}

/* Getset tables and type names live as long as the process: every module instance
 * shares them (before 3.12, a type made from a spec keeps pointing at spec->name). */
static PyGetSetDef *getsets[PN_NSTRUCTS];
static char *qualnames[PN_NSTRUCTS];

int
pn_structs_setup(PyObject *module, pn_state *st)
{
    for (int i = 0; i < PN_NSTRUCTS; i++) {
        const pn_struct_def *d = &pn_struct_defs[i];
        if (getsets[i] == NULL) {
            PyGetSetDef *gs = PyMem_RawCalloc(d->nfields + 1, sizeof *gs);
            if (gs == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            for (unsigned int k = 0; k < d->nfields; k++) {
                gs[k].name = d->fields[k].name;
                gs[k].get = field_get;
                gs[k].set = field_set;
                gs[k].closure = (void *)&d->fields[k];
            }
            getsets[i] = gs;
        }
        if (qualnames[i] == NULL) {
            size_t n = strlen("pynvml.") + strlen(d->pyname) + 1;
            if ((qualnames[i] = PyMem_RawMalloc(n)) == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            PyOS_snprintf(qualnames[i], n, "pynvml.%s", d->pyname);
        }
        PyType_Slot slots[] = {
            {Py_tp_new, struct_new},
            {Py_tp_init, struct_init},
            {Py_tp_dealloc, struct_dealloc},
            {Py_tp_str, struct_str},
            {Py_tp_repr, struct_str},
            {Py_tp_richcompare, struct_richcompare},
            {Py_tp_getset, getsets[i]},
            {Py_tp_methods, struct_methods},
            {Py_bf_getbuffer, struct_getbuffer},
            {Py_tp_doc, (void *)d->cname},
            {0, NULL},
        };
        PyType_Spec spec = {
            .name = qualnames[i],
            .basicsize = (int)(sizeof(pn_struct) + ((d->size + 7) & ~7u)),
            .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
            .slots = slots,
        };
        PyObject *t = PyType_FromModuleAndSpec(module, &spec, NULL);
        if (t == NULL)
            return -1;
        st->struct_types[i] = t;
        /* _fields_ and _fmt_, as the ctypes classes have them. */
        PyObject *fields = PyList_New(d->nfields);
        PyObject *fmt = PyDict_New();
        if (fields == NULL || fmt == NULL)
            return -1;
        for (unsigned int k = 0; k < d->nfields; k++) {
            const pn_field *f = &d->fields[k];
            PyObject *pair = f->count && f->kind != PN_K_STRUCT && f->kind != PN_K_CHARS
                ? Py_BuildValue("(ss#)", f->name, kind_name(f), (Py_ssize_t)strlen(kind_name(f)))
                : Py_BuildValue("(ss)", f->name, kind_name(f));
            if (pair == NULL)
                return -1;
            PyList_SET_ITEM(fields, k, pair);
            if (f->fmt != NULL) {
                PyObject *s = PyUnicode_FromString(f->fmt);
                if (s == NULL || PyDict_SetItemString(fmt, f->name, s) < 0)
                    return -1;
                Py_DECREF(s);
            }
        }
        if (d->fmt_default != NULL) {
            PyObject *s = PyUnicode_FromString(d->fmt_default);
            if (s == NULL || PyDict_SetItemString(fmt, "<default>", s) < 0)
                return -1;
            Py_DECREF(s);
        }
        PyObject *tdict = ((PyTypeObject *)t)->tp_dict;
        if (PyDict_SetItemString(tdict, "_fields_", fields) < 0 ||
            PyDict_SetItemString(tdict, "_fmt_", fmt) < 0)
            return -1;
        Py_DECREF(fields);
        Py_DECREF(fmt);
        PyType_Modified((PyTypeObject *)t);
        Py_INCREF(t);
        if (PyModule_AddObject(module, d->pyname, t) < 0) {
            Py_DECREF(t);
            return -1;
        }
    }
    for (int i = 0; pn_struct_aliases[i].name != NULL; i++) {
        PyObject *t = st->struct_types[pn_struct_aliases[i].sidx];
        Py_INCREF(t);
        if (PyModule_AddObject(module, pn_struct_aliases[i].name, t) < 0) {
            Py_DECREF(t);
            return -1;
        }
    }
    return 0;
}

PyObject *
pn_struct_new(pn_state *st, int sidx, const void *data)
{
    PyTypeObject *t = (PyTypeObject *)st->struct_types[sidx];
    PyObject *o = struct_new(t, NULL, NULL);
    if (o != NULL)
        memcpy(((pn_struct *)o)->data, data, pn_struct_defs[sidx].size);
    return o;
}

int
pn_arg_struct(pn_state *st, PyObject *o, int sidx, const char *fname, const char *argname, void **out)
{
    PyTypeObject *t = (PyTypeObject *)st->struct_types[sidx];
    if (!PyObject_TypeCheck(o, t)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a %s, not %.100s", fname, argname,
                     t->tp_name, Py_TYPE(o)->tp_name);
        return -1;
    }
    *out = ((pn_struct *)o)->data;
    return 0;
}

/* _nvml._struct_layouts(): {C name: (size, align, [(field, offset), ...])}, the layout
 * the C compiler gave our declarations, for tests to hold against nvml.h's. */
PyObject *
pn_struct_layouts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyDict_New();
    for (int i = 0; out != NULL && i < PN_NSTRUCTS; i++) {
        const pn_struct_def *d = &pn_struct_defs[i];
        PyObject *fields = PyList_New(d->nfields);
        for (unsigned int k = 0; fields != NULL && k < d->nfields; k++) {
            PyObject *f = Py_BuildValue("(sI)", d->fields[k].name, d->fields[k].offset);
            if (f == NULL)
                Py_CLEAR(fields);
            else
                PyList_SET_ITEM(fields, k, f);
        }
        PyObject *v = fields ? Py_BuildValue("(IIN)", d->size, d->align, fields) : NULL;
        if (v == NULL || PyDict_SetItemString(out, d->cname, v) < 0)
            Py_CLEAR(out);
        Py_XDECREF(v);
    }
    return out;
}
