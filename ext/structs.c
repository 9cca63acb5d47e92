/* NVML structs and unions as Python classes, built at import from the generated
 * tables (generated/structs.c.h: each field's name, offset, kind and str() format).
 *
 * An object holds the C bytes themselves (laid out as nvml.h lays them out), so a
 * wrapper fills one with a memcpy and passes one to NVML as a pointer.  A nested
 * struct field reads as a view that shares its parent's bytes, as in ctypes.
 *
 * What the classes keep of nvidia-ml-py's ctypes classes: the field names and order,
 * construction by position and keyword (c_nvmlMemory_t(-1, -1, -1) wraps as ctypes
 * does), the field values nvidia-ml-py's __init__ sets (version words), assignment,
 * `_fields_` (names with ctypes' type names), `_fmt_`, and str() as
 * _PrintableStructure prints ("c_nvmlMemory_t(total: 85520809984 B, ...)").  They also
 * support the buffer protocol (bytes(s), ctypes' from_buffer_copy) and == by content.
 *
 * What a field reads as (spec/structs.nvml has the full list): char buffers as str,
 * u8 arrays as bytes, other arrays as lists, pointers as an int address (None when
 * NULL), handles as handle objects.  Python cannot write a pointer or a handle that NVML
 * would follow except a handle object it got from NVML: pointer fields take only None,
 * and the buffer of a struct with such fields is read-only.
 *
 * Value slots (issue #5: a field read as fast as a plain object's attribute).  For the
 * classes the generator marks `cached` (codegen/emit_ext.py value_cached: structs of
 * scalar and text fields that no other struct holds and no function takes, so that only
 * this file writes their bytes; c_nvmlMemory_t, c_nvmlUtilization_t, process infos, ...)
 * each field's value is also kept as a Python object in a slot after the bytes, and the
 * class reads fields through read-only member descriptors over those slots, which
 * CPython specializes into a plain load (LOAD_ATTR_SLOT), as for a plain object's
 * attribute.  Every write of the bytes refills the slots (values_fill): creation
 * (pn_struct_new, struct_alloc, __copy__), __init__ and assignment (struct_setattro);
 * the buffer of such a class is read-only, so nothing else can write them.  Other
 * classes compute a field from the bytes at each read (getset descriptors): views of
 * nested structs and NVML's in-place fills share those bytes.
 */
#include "pynvml.h"

#include <string.h>

#if PY_VERSION_HEX >= 0x030C0000
#define PN_T_OBJECT_EX Py_T_OBJECT_EX
#define PN_READONLY Py_READONLY
#else
#include <structmember.h>
#define PN_T_OBJECT_EX T_OBJECT_EX
#define PN_READONLY READONLY
#endif

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

/* The struct index of a class (or of the first pynvml class it derives from). */
static int
sidx_of(pn_state *st, PyTypeObject *t)
{
    /* Classes are made on first use (pn_struct_type): a NULL entry has no instances. */
    for (int i = 0; i < PN_NSTRUCTS; i++)
        if (t == (PyTypeObject *)st->struct_types[i])
            return i;
    for (int i = 0; i < PN_NSTRUCTS; i++)
        if (st->struct_types[i] != NULL && PyType_IsSubtype(t, (PyTypeObject *)st->struct_types[i]))
            return i;
    PyErr_Format(PyExc_TypeError, "%s is not a pynvml struct class", t->tp_name);
    return -1;
}

static inline const pn_struct_def *
def_of(PyObject *self)
{
    return ((pn_struct *)self)->def;
}

/* Where a cached class's value slots start: after the bytes, 8-aligned. */
static inline Py_ssize_t
values_offset(const pn_struct_def *d)
{
    return (Py_ssize_t)(sizeof(pn_struct) + ((d->size + 7) & ~7u));
}

static inline PyObject **
value_slots(PyObject *self)
{
    return (PyObject **)((char *)self + values_offset(def_of(self)));
}

static PyObject *field_get(PyObject *self, void *closure);
static PyObject *scalar_get(unsigned char kind, const char *p);

/* Every slot from the bytes, as field_get reads them (the one decoding of a field). */
static int
values_fill(PyObject *self)
{
    const pn_struct_def *d = def_of(self);
    PyObject **slot = value_slots(self);
    for (unsigned int i = 0; i < d->nfields; i++) {
        const pn_field *f = &d->fields[i];
        /* the common case, a plain number, without field_get's tests */
        PyObject *v = f->kind <= PN_K_F64 && f->count == 0 && f->bits == 0
                          ? scalar_get(f->kind, ((pn_struct *)self)->data + f->offset)
                          : field_get(self, (void *)f);
        if (v == NULL)
            return -1;
        Py_XSETREF(slot[i], v);
    }
    return 0;
}

int
pn_struct_changed(PyObject *o)
{
    return def_of(o)->cached ? values_fill(o) : 0;
}

static size_t
kind_size(unsigned char kind)
{
    switch (kind) {
    case PN_K_U8: case PN_K_CHAR: case PN_K_CHARS: return 1;
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
    PyTypeObject *t = (PyTypeObject *)pn_struct_type(st, sidx);
    if (t == NULL)
        return NULL;
    pn_struct *v = PyObject_New(pn_struct, t);
    if (v == NULL)
        return NULL;
    v->data = data;
    Py_INCREF(base);
    v->base = base;
    v->def = &pn_struct_defs[sidx];
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
    void *ptr;
    switch (f->kind) {
    case PN_K_CHARS:
        return pn_decode(p, f->count);
    case PN_K_CHAR:
        return PyUnicode_DecodeUTF8(p, 1, "replace");
    case PN_K_PTR:
    case PN_K_CSTR:
    case PN_K_HANDLE:
        memcpy(&ptr, p, sizeof ptr);
        if (ptr == NULL)
            Py_RETURN_NONE;
        if (f->kind == PN_K_PTR)
            return PyLong_FromVoidPtr(ptr);
        if (f->kind == PN_K_CSTR)     /* a string NVML points to (static in the library) */
            return PyUnicode_DecodeUTF8(ptr, (Py_ssize_t)strlen(ptr), "replace");
        {
            pn_state *st = state_of_type(Py_TYPE(self));
            return st ? pn_handle_new(st, f->sub, ptr) : NULL;
        }
    case PN_K_U8:
        if (f->count)
            return PyBytes_FromStringAndSize(p, f->count);
        break;
    }
    if (f->bits) {   /* nvidia-ml-py's bit field: the low bits of the member */
        unsigned long long u = 0;
        memcpy(&u, p, kind_size(f->kind));   /* little-endian: the low bytes */
        return PyLong_FromUnsignedLongLong(u & ((1ull << f->bits) - 1));
    }
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
    PyTypeObject *t = (PyTypeObject *)pn_struct_type(st, f->sub);
    if (t == NULL)
        return -1;
    if (!PyObject_TypeCheck(v, t)) {
        PyErr_Format(PyExc_TypeError, "field '%s' takes a %s, not %.100s", f->name, t->tp_name,
                     Py_TYPE(v)->tp_name);
        return -1;
    }
    memmove(p, ((pn_struct *)v)->data, pn_struct_defs[f->sub].size);
    return 0;
}

/* str or bytes for a char buffer or a char: its bytes. */
static int
text_bytes(PyObject *v, const pn_field *f, const char **s, Py_ssize_t *n)
{
    if (PyUnicode_Check(v)) {
        if ((*s = PyUnicode_AsUTF8AndSize(v, n)) == NULL)
            return -1;
        return 0;
    }
    if (PyBytes_Check(v)) {
        *s = PyBytes_AS_STRING(v);
        *n = PyBytes_GET_SIZE(v);
        return 0;
    }
    if (f->kind == PN_K_CHAR && PyByteArray_Check(v)) {
        *s = PyByteArray_AS_STRING(v);
        *n = PyByteArray_GET_SIZE(v);
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "field '%s' takes str or bytes, not %.100s", f->name, Py_TYPE(v)->tp_name);
    return -1;
}

/* A whole array: all or nothing, and what the value does not cover is zeroed. */
static int
array_set(PyObject *self, const pn_field *f, char *p, PyObject *v)
{
    size_t esz = elem_size(f), total = esz * f->count;
    if (f->kind == PN_K_U8 && PyObject_CheckBuffer(v)) {
        Py_buffer b;
        if (PyObject_GetBuffer(v, &b, PyBUF_SIMPLE) < 0)
            return -1;
        if ((size_t)b.len > total) {
            PyErr_Format(PyExc_ValueError, "field '%s' holds %u bytes, got %zd", f->name, f->count, b.len);
            PyBuffer_Release(&b);
            return -1;
        }
        memmove(p, b.buf, b.len);     /* the source may be this very struct */
        memset(p + b.len, 0, total - b.len);
        PyBuffer_Release(&b);
        return 0;
    }
    if (PyUnicode_Check(v)) {
        PyErr_Format(PyExc_TypeError, "field '%s' takes a sequence of its items, not str", f->name);
        return -1;
    }
    pn_state *st = NULL;
    if (f->kind == PN_K_STRUCT && (st = state_of_type(Py_TYPE(self))) == NULL)
        return -1;
    /* a copy: an item's __index__ may change the caller's list (ext/convert.c) */
    PyObject *seq = pn_arg_tuple(v, "an array field takes a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(seq);
    if ((size_t)n > f->count) {
        PyErr_Format(PyExc_ValueError, "field '%s' holds %u items, got %zd", f->name, f->count, n);
        Py_DECREF(seq);
        return -1;
    }
    char *tmp = PyMem_Calloc(1, total);
    if (tmp == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (item_set(st, f, tmp + i * esz, PyTuple_GET_ITEM(seq, i)) < 0) {
            PyMem_Free(tmp);
            Py_DECREF(seq);
            return -1;
        }
    }
    memcpy(p, tmp, total);
    PyMem_Free(tmp);
    Py_DECREF(seq);
    return 0;
}

static int
field_set(PyObject *self, PyObject *v, void *closure)
{
    const pn_field *f = closure;
    char *p = ((pn_struct *)self)->data + f->offset;
    const char *s;
    Py_ssize_t n;
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "field '%s' cannot be deleted", f->name);
        return -1;
    }
    switch (f->kind) {
    case PN_K_CHARS:
        if (text_bytes(v, f, &s, &n) < 0)
            return -1;
        if ((size_t)n > f->count) {   /* exactly full is kept without a terminator, as ctypes does */
            PyErr_Format(PyExc_ValueError, "field '%s' holds at most %u bytes, got %zd", f->name, f->count, n);
            return -1;
        }
        memset(p, 0, f->count);
        memcpy(p, s, n);
        return 0;
    case PN_K_CHAR:
        if (PyLong_Check(v)) {
            long c = PyLong_AsLong(v);
            if (c == -1 && PyErr_Occurred())
                return -1;
            if (c < 0 || c > 255) {
                PyErr_Format(PyExc_ValueError, "field '%s' takes a char code 0..255, got %ld", f->name, c);
                return -1;
            }
            *p = (char)c;
            return 0;
        }
        if (text_bytes(v, f, &s, &n) < 0)
            return -1;
        if (n != 1) {
            PyErr_Format(PyExc_ValueError, "field '%s' holds one byte, got %zd", f->name, n);
            return -1;
        }
        *p = s[0];
        return 0;
    case PN_K_PTR:
    case PN_K_CSTR:
        if (v != Py_None) {
            PyErr_Format(PyExc_TypeError,
                         "field '%s' is a pointer that NVML follows: it can only be set to None "
                         "(the functions that take a %s fill it)", f->name, def_of(self)->pyname);
            return -1;
        }
        memset(p, 0, sizeof(void *));
        return 0;
    case PN_K_HANDLE: {
        void *ptr = NULL;
        if (v != Py_None) {
            pn_state *st = state_of_type(Py_TYPE(self));
            if (st == NULL)
                return -1;
            PyTypeObject *want = (PyTypeObject *)st->handle_types[f->sub];
            if (Py_TYPE(v) != want) {
                PyErr_Format(PyExc_TypeError, "field '%s' takes a %s or None, not %.100s", f->name,
                             want->tp_name, Py_TYPE(v)->tp_name);
                return -1;
            }
            if (pn_arg_handle(st, v, f->sub, def_of(self)->pyname, f->name, &ptr) < 0)
                return -1;
        }
        memcpy(p, &ptr, sizeof ptr);
        return 0;
    }
    }
    if (f->count)
        return array_set(self, f, p, v);
    if (f->bits) {   /* only the low bits change, as in a ctypes bit field */
        unsigned long long old = 0, u = 0, mask = (1ull << f->bits) - 1;
        if (scalar_set(PN_K_U64, (char *)&u, v, f->name) < 0)
            return -1;
        memcpy(&old, p, kind_size(f->kind));
        old = (old & ~mask) | (u & mask);
        memcpy(p, &old, kind_size(f->kind));
        return 0;
    }
    pn_state *st = NULL;
    if (f->kind == PN_K_STRUCT && (st = state_of_type(Py_TYPE(self))) == NULL)
        return -1;
    return item_set(st, f, p, v);
}

/* A new object of struct `sidx` (of class `type`, that struct's class or a subclass). */
static PyObject *
struct_alloc(PyTypeObject *type, int sidx)
{
    pn_struct *self = (pn_struct *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->data = (char *)self->inline_data;   /* tp_alloc zeroed it */
    self->base = NULL;
    self->def = &pn_struct_defs[sidx];
    /* what nvidia-ml-py's __init__ sets before the arguments */
    for (unsigned int i = 0; i < self->def->ndefaults; i++) {
        const pn_field *f = &self->def->fields[self->def->defaults[i].field];
        unsigned long long v = self->def->defaults[i].value;
        switch (kind_size(f->kind)) {
        case 1: *(unsigned char *)(self->data + f->offset) = (unsigned char)v; break;
        case 2: *(unsigned short *)(self->data + f->offset) = (unsigned short)v; break;
        case 4: *(unsigned int *)(self->data + f->offset) = (unsigned int)v; break;
        default: *(unsigned long long *)(self->data + f->offset) = v; break;
        }
    }
    if (self->def->cached && values_fill((PyObject *)self) < 0) {   /* tp_alloc zeroed the slots */
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *
struct_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    pn_state *st = state_of_type(type);
    int sidx = st ? sidx_of(st, type) : -1;
    return sidx < 0 ? NULL : struct_alloc(type, sidx);
}

static int init_fields(PyObject *self, PyObject *args, PyObject *kwds);

static int
struct_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    int rc = init_fields(self, args, kwds);
    /* also after a failure: the fields set before it are in the bytes */
    if (def_of(self)->cached && values_fill(self) < 0)
        return -1;
    return rc;
}

static int
init_fields(PyObject *self, PyObject *args, PyObject *kwds)
{
    const pn_struct_def *d = def_of(self);
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
    if (def_of(self)->cached) {
        PyObject **slot = value_slots(self);
        for (unsigned int i = 0; i < def_of(self)->nfields; i++)
            Py_XDECREF(slot[i]);
    }
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* Assignment to a field of a cached class: its member descriptor is read-only, the bytes
 * take the value as field_set stores it (wrapped to the width, as ctypes does) and the
 * slots are read back from them.  Other names (a subclass's own) as usual. */
static int
struct_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    PyObject *descr = PyUnicode_Check(name) ? _PyType_Lookup(Py_TYPE(self), name) : NULL;
    if (descr != NULL && Py_TYPE(descr) == &PyMemberDescr_Type) {
        const pn_struct_def *d = def_of(self);
        Py_ssize_t at = ((PyMemberDescrObject *)descr)->d_member->offset - values_offset(d);
        if (at >= 0 && at % (Py_ssize_t)sizeof(PyObject *) == 0 &&
            at / (Py_ssize_t)sizeof(PyObject *) < (Py_ssize_t)d->nfields &&
            PyType_IsSubtype(Py_TYPE(self), PyDescr_TYPE(descr))) {
            const pn_field *f = &d->fields[at / sizeof(PyObject *)];
            int rc = field_set(self, value, (void *)f);
            return values_fill(self) < 0 ? -1 : rc;
        }
    }
    return PyObject_GenericSetAttr(self, name, value);
}

/* str() as nvidia-ml-py's _PrintableStructure: "Name(field: <fmt % value>, ...)". */
static PyObject *
struct_str(PyObject *self)
{
    const pn_struct_def *d = def_of(self);
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
        PyObject *text = NULL;
        if (pyfmt != NULL) {
            /* a tuple would be taken as the format's argument list */
            PyObject *arg = PyTuple_Pack(1, value);
            text = arg ? PyUnicode_Format(pyfmt, arg) : NULL;
            Py_XDECREF(arg);
        }
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
    int eq = memcmp(((pn_struct *)a)->data, ((pn_struct *)b)->data, d->size) == 0;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static int
struct_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    const pn_struct_def *d = def_of(self);
    /* read-only where the bytes hold pointers NVML would follow */
    /* read-only also where value slots mirror the bytes */
    return PyBuffer_FillInfo(view, self, ((pn_struct *)self)->data, d->size, d->has_pointers || d->cached, flags);
}

static PyObject *
struct_copy(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    const pn_struct_def *d = def_of(self);
    PyObject *c = struct_alloc(Py_TYPE(self), (int)(d - pn_struct_defs));
    if (c != NULL) {
        memcpy(((pn_struct *)c)->data, ((pn_struct *)self)->data, d->size);
        if (d->cached && values_fill(c) < 0)
            Py_CLEAR(c);
    }
    /* an owning struct whose base keeps what its pointers point to (hand_vgpu.c's
     * placement lists): the copy keeps it too */
    pn_struct *s = (pn_struct *)self;
    if (c != NULL && s->base != NULL && s->data == (char *)s->inline_data) {
        Py_INCREF(s->base);
        ((pn_struct *)c)->base = s->base;
    }
    return c;
}

/* A char field as struct_reduce gives it: 0 where its str (what field_get reads) sets
 * the same bytes again; else 1 and *out the bytes themselves (a char buffer: up to its
 * last nonzero byte; one char: its code; NULL with an error), which field_set takes too,
 * so that a copy or unpickling has the very bytes (invalid UTF-8, bytes after the NUL). */
static int
reduce_text(PyObject *self, const pn_field *f, PyObject **out)
{
    const unsigned char *p = (const unsigned char *)((pn_struct *)self)->data + f->offset;
    if (f->kind == PN_K_CHAR) {
        if (p[0] < 0x80)
            return 0;
        *out = PyLong_FromLong(p[0]);
        return 1;
    }
    if (f->kind != PN_K_CHARS)
        return 0;
    size_t n = strnlen((const char *)p, f->count), end = f->count;
    while (end > n && p[end - 1] == 0)
        end--;
    if (end == n) {   /* nothing after the NUL: the str round-trips if the text is UTF-8 */
        PyObject *t = PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)n, NULL);
        if (t != NULL) {
            Py_DECREF(t);
            return 0;
        }
        PyErr_Clear();
    }
    *out = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)end);
    return 1;
}

static PyObject *
struct_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    /* Pickle as the class and the field values, in order. */
    const pn_struct_def *d = def_of(self);
    PyObject *values = PyTuple_New(d->nfields);
    for (unsigned int i = 0; values != NULL && i < d->nfields; i++) {
        const pn_field *f = &d->fields[i];
        PyObject *v = NULL;
        if (!reduce_text(self, f, &v))
            v = field_get(self, (void *)f);
        if (v != NULL && v != Py_None && (f->kind == PN_K_PTR || f->kind == PN_K_CSTR)) {
            PyErr_Format(PyExc_TypeError, "cannot pickle a %s whose '%s' points somewhere", d->pyname, f->name);
            Py_CLEAR(v);
        }
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

/* Getset tables and type names live as long as the process: every module instance
 * shares them (before 3.12, a type made from a spec keeps pointing at spec->name). */
static PyGetSetDef *getsets[PN_NSTRUCTS];
static PyMemberDef *members[PN_NSTRUCTS];   /* cached classes: over the value slots */
static char *qualnames[PN_NSTRUCTS];

/* The class of struct `sidx`, made on first use (a borrowed reference; NULL with an
 * exception if it cannot be made).  Making all ~220 classes at import cost more than the
 * rest of `import pynvml` together; a program uses a handful.  The class is also put in
 * the module's dict under its names, so later look-ups are plain dict hits; the module's
 * __getattr__ (pn_struct_getattr) makes the ones not yet looked up. */
static PyObject *
make_struct_type(pn_state *st, int i)
{
    PyObject *module = st->module;
    const pn_struct_def *d = &pn_struct_defs[i];
    if (d->cached && members[i] == NULL) {
        PyMemberDef *ms = PyMem_RawCalloc(d->nfields + 1, sizeof *ms);
        if (ms == NULL)
            return PyErr_NoMemory();
        for (unsigned int k = 0; k < d->nfields; k++) {
            ms[k].name = d->fields[k].name;
            ms[k].type = PN_T_OBJECT_EX;
            ms[k].offset = values_offset(d) + (Py_ssize_t)(k * sizeof(PyObject *));
            ms[k].flags = PN_READONLY;
        }
        members[i] = ms;
    }
    if (!d->cached && getsets[i] == NULL) {
        PyGetSetDef *gs = PyMem_RawCalloc(d->nfields + 1, sizeof *gs);
        if (gs == NULL)
            return PyErr_NoMemory();
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
        if ((qualnames[i] = PyMem_RawMalloc(n)) == NULL)
            return PyErr_NoMemory();
        PyOS_snprintf(qualnames[i], n, "pynvml.%s", d->pyname);
    }
    PyType_Slot slots[] = {
        {Py_tp_new, struct_new},
        {Py_tp_init, struct_init},
        {Py_tp_dealloc, struct_dealloc},
        {Py_tp_str, struct_str},
        {Py_tp_repr, struct_str},
        {Py_tp_richcompare, struct_richcompare},
        {Py_tp_methods, struct_methods},
        {Py_bf_getbuffer, struct_getbuffer},
        {Py_tp_doc, (void *)d->cname},
        {d->cached ? Py_tp_members : Py_tp_getset, d->cached ? (void *)members[i] : (void *)getsets[i]},
        {d->cached ? Py_tp_setattro : 0, d->cached ? (void *)struct_setattro : NULL},
        {0, NULL},
    };
    PyType_Spec spec = {
        .name = qualnames[i],
        .basicsize = (int)(values_offset(d) + (d->cached ? d->nfields * sizeof(PyObject *) : 0)),
        .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
        .slots = slots,
    };
    PyObject *t = PyType_FromModuleAndSpec(module, &spec, NULL);
    if (t == NULL)
        return NULL;
    /* _fields_ (names and ctypes type names) and, for printable classes, _fmt_, as
     * nvidia-ml-py's classes have them. */
    PyObject *fields = PyList_New(d->nfields);
    if (fields == NULL)
        goto fail;
    for (unsigned int k = 0; k < d->nfields; k++) {
        const pn_field *f = &d->fields[k];
        PyObject *pair = f->bits ? Py_BuildValue("(ssi)", f->name, f->ctype, (int)f->bits)
                                 : Py_BuildValue("(ss)", f->name, f->ctype);
        if (pair == NULL) {
            Py_DECREF(fields);
            goto fail;
        }
        PyList_SET_ITEM(fields, k, pair);
    }
    PyObject *tdict = ((PyTypeObject *)t)->tp_dict;
    int rc = PyDict_SetItemString(tdict, "_fields_", fields);
    Py_DECREF(fields);
    if (rc < 0)
        goto fail;
    if (d->printable) {
        PyObject *fmt = PyDict_New();
        if (fmt == NULL)
            goto fail;
        for (unsigned int k = 0; k < d->nfields; k++) {
            const pn_field *f = &d->fields[k];
            PyObject *s = f->fmt ? PyUnicode_FromString(f->fmt) : NULL;
            if (f->fmt != NULL && (s == NULL || PyDict_SetItemString(fmt, f->name, s) < 0)) {
                Py_XDECREF(s);
                Py_DECREF(fmt);
                goto fail;
            }
            Py_XDECREF(s);
        }
        if (d->fmt_default != NULL) {
            PyObject *s = PyUnicode_FromString(d->fmt_default);
            if (s == NULL || PyDict_SetItemString(fmt, "<default>", s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(fmt);
                goto fail;
            }
            Py_DECREF(s);
        }
        rc = PyDict_SetItemString(tdict, "_fmt_", fmt);
        Py_DECREF(fmt);
        if (rc < 0)
            goto fail;
    }
    PyType_Modified((PyTypeObject *)t);
    /* Making the class allocates, so a garbage collection may have run Python code (a
     * finalizer) that let another thread in to make this class too: keep the first. */
    if (st->struct_types[i] != NULL) {
        Py_DECREF(t);
        return st->struct_types[i];
    }
    PyObject *mdict = PyModule_GetDict(module);
    if (PyDict_SetItemString(mdict, d->pyname, t) < 0)
        goto fail;
    for (int a = 0; pn_struct_aliases[a].name != NULL; a++)
        if (pn_struct_aliases[a].sidx == i && PyDict_SetItemString(mdict, pn_struct_aliases[a].name, t) < 0)
            goto fail;
    st->struct_types[i] = t;   /* the state's reference */
    return t;
fail:
    Py_DECREF(t);
    return NULL;
}

PyObject *
pn_struct_make_type(pn_state *st, int sidx)
{
    return make_struct_type(st, sidx);
}

int
pn_structs_setup(PyObject *module, pn_state *st)
{
    st->module = module;   /* borrowed: the state lives inside the module */
    return 0;
}

/* The struct class called `name` (a class name or an alias), or -1. */
static int
sidx_by_name(const char *name)
{
    for (int i = 0; i < PN_NSTRUCTS; i++)
        if (strcmp(pn_struct_defs[i].pyname, name) == 0)
            return i;
    for (int a = 0; pn_struct_aliases[a].name != NULL; a++)
        if (strcmp(pn_struct_aliases[a].name, name) == 0)
            return pn_struct_aliases[a].sidx;
    return -1;
}

/* _nvml.__getattr__ (PEP 562): the struct classes not made yet. */
PyObject *
pn_struct_getattr(PyObject *module, PyObject *name)
{
    const char *s = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (s == NULL && PyErr_Occurred())
        return NULL;
    int sidx = s ? sidx_by_name(s) : -1;
    if (sidx < 0) {
        PyErr_Format(PyExc_AttributeError, "module 'pynvml._nvml' has no attribute %R", name);
        return NULL;
    }
    PyObject *t = pn_struct_type(pn_get_state(module), sidx);
    Py_XINCREF(t);
    return t;
}

/* _nvml._lazy_names(): the names __getattr__ makes (every struct class name and alias). */
PyObject *
pn_struct_lazy_names(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t na = 0;
    while (pn_struct_aliases[na].name != NULL)
        na++;
    PyObject *out = PyTuple_New(PN_NSTRUCTS + na);
    for (Py_ssize_t i = 0; out != NULL && i < PN_NSTRUCTS + na; i++) {
        PyObject *s = PyUnicode_FromString(i < PN_NSTRUCTS ? pn_struct_defs[i].pyname
                                                           : pn_struct_aliases[i - PN_NSTRUCTS].name);
        if (s == NULL)
            Py_CLEAR(out);
        else
            PyTuple_SET_ITEM(out, i, s);
    }
    return out;
}

/* _nvml.__dir__: what is in the module's dict and the classes not made yet. */
PyObject *
pn_struct_dir(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *names = PyDict_Keys(PyModule_GetDict(module));
    PyObject *lazy = names ? pn_struct_lazy_names(module, NULL) : NULL;
    if (lazy == NULL) {
        Py_XDECREF(names);
        return NULL;
    }
    PyObject *set = PySet_New(names);
    Py_DECREF(names);
    for (Py_ssize_t i = 0; set != NULL && i < PyTuple_GET_SIZE(lazy); i++)
        if (PySet_Add(set, PyTuple_GET_ITEM(lazy, i)) < 0)
            Py_CLEAR(set);
    Py_DECREF(lazy);
    if (set == NULL)
        return NULL;
    PyObject *list = PySequence_List(set);
    Py_DECREF(set);
    return list;
}

PyObject *
pn_struct_new(pn_state *st, int sidx, const void *data)
{
    PyTypeObject *t = (PyTypeObject *)pn_struct_type(st, sidx);
    if (t == NULL)
        return NULL;
    /* Every result of a call comes through here: no zeroing nor defaults (struct_alloc),
     * the bytes are all NVML's.  The type is not GC-tracked; tp_free is PyObject_Free. */
    pn_struct *o = PyObject_Malloc(t->tp_basicsize);
    if (o == NULL)
        return PyErr_NoMemory();
    PyObject_Init((PyObject *)o, t);
    o->data = (char *)o->inline_data;
    o->base = NULL;
    o->def = &pn_struct_defs[sidx];
    memcpy(o->data, data, pn_struct_defs[sidx].size);
    if (o->def->cached) {
        memset(value_slots((PyObject *)o), 0, o->def->nfields * sizeof(PyObject *));
        if (values_fill((PyObject *)o) < 0) {
            Py_DECREF(o);
            return NULL;
        }
    }
    return (PyObject *)o;
}

int
pn_arg_struct(pn_state *st, PyObject *o, int sidx, const char *fname, const char *argname, void **out)
{
    PyTypeObject *t = (PyTypeObject *)st->struct_types[sidx];
    /* a class not made yet has no instances */
    if (t == NULL || !PyObject_TypeCheck(o, t)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a pynvml.%s, not %.100s", fname, argname,
                     pn_struct_defs[sidx].pyname, Py_TYPE(o)->tp_name);
        return -1;
    }
    if (pn_struct_defs[sidx].cached) {   /* codegen's value_cached() rules these out */
        PyErr_Format(PyExc_SystemError, "%s(): pynvml.%s keeps value slots: NVML may not write it", fname,
                     pn_struct_defs[sidx].pyname);
        return -1;
    }
    *out = ((pn_struct *)o)->data;
    return 0;
}

/* _nvml._struct_layouts(): {C name: (size, align, [(C field name, offset), ...])}, the
 * layout the C compiler gave our declarations, for tests to hold against nvml.h's.
 * Structs of our own (nonabi) have C names beginning with pn_. */
PyObject *
pn_struct_layouts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyDict_New();
    for (int i = 0; out != NULL && i < PN_NSTRUCTS; i++) {
        const pn_struct_def *d = &pn_struct_defs[i];
        PyObject *fields = PyList_New(d->nfields);
        for (unsigned int k = 0; fields != NULL && k < d->nfields; k++) {
            PyObject *f = Py_BuildValue("(sI)", d->fields[k].cname, d->fields[k].offset);
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

/* A list of `n` structs of class `sidx`, each `size` bytes, copied from `arr` (the hand
 * wrappers' array results). */
PyObject *
pn_struct_list(pn_state *st, int sidx, const void *arr, size_t size, size_t n)
{
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out != NULL && i < n; i++) {
        PyObject *o = pn_struct_new(st, sidx, (const char *)arr + i * size);
        if (o == NULL)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, (Py_ssize_t)i, o);
    }
    return out;
}
