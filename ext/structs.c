/* NVML structs and unions as Python classes, built on first use from the generated
 * tables (generated/structs.c.h: each field's name, offset, kind and str() format).
 *
 * Each class is a real ctypes.Structure (or ctypes.Union) subclass with nvml.h's layout
 * (issue #10): code written for nvidia-ml-py treats its struct classes as ctypes types
 * (`T * n` arrays filled by NVML through a ctypes function pointer, ctypes.sizeof(T),
 * byref(s), pointer(s), POINTER(T), T.from_buffer(...), memmove into one), and only a
 * ctypes type can take part in those.  So an object holds the C bytes as ctypes does
 * (pn_struct mirrors ctypes' CDataObject), a wrapper fills one with a memcpy and passes
 * its bytes to NVML as a pointer, and ctypes can make and use them too (array items,
 * from_buffer, pointer contents).  The first class made imports ctypes; `import pynvml`
 * does not.  BENCHMARKS.md ("Struct classes as ctypes types") has the measurements.
 *
 * What the classes keep of nvidia-ml-py's ctypes classes: the field names and order
 * (`_fields_`, with the ctypes types; the layout itself is nvml.h's C order), construction
 * by position and keyword (c_nvmlMemory_t(-1, -1, -1) wraps as ctypes does; a ctypes
 * simple value such as c_uint(5) is taken for a number), the field values nvidia-ml-py's
 * __init__ sets (version words), assignment, `_fmt_`, and str() as _PrintableStructure
 * prints ("c_nvmlMemory_t(total: 85520809984 B, ...)"), == by content, pickling.
 *
 * What a field reads as (our descriptors replace ctypes' own; spec/structs.nvml has the
 * full list): char buffers as str, u8 arrays as bytes, other arrays as lists, pointers as
 * an int address (None when NULL), handles as handle objects, nested structs as views
 * sharing the parent's bytes (ctypes views: their b_base is the parent).  Python cannot
 * write a pointer or a handle that NVML would follow through the fields; ctypes' own
 * tools (memmove, from_buffer) write raw bytes, as with nvidia-ml-py.
 *
 * Value slots (issue #5: a field read as fast as a plain object's attribute).  For the
 * classes the generator marks `cached` (codegen/emit_ext.py value_cached: structs of
 * scalar and text fields that no function takes; c_nvmlMemory_t, c_nvmlUtilization_t,
 * process infos, ...) what a wrapper returns is an instance of a subclass of the class
 * (its "result class", same name) that also keeps each field's value as a Python object
 * in a slot after the ctypes header, read through read-only member descriptors that
 * CPython specializes into a plain load (LOAD_ATTR_SLOT).  Only this file makes result
 * objects, and every write of their bytes through the class refills the slots
 * (values_fill): creation, __init__, assignment (struct_setattro), __copy__; their
 * buffer is read-only, and ctypes makes plain class instances where it makes objects
 * (POINTER(result class) is POINTER(class), so pointer(r).contents is one).  What stays
 * possible is writing a result's bytes with ctypes' raw tools (memmove(r, ...), or
 * passing byref(r) to a C function): its fields then still read the values it came
 * with (README, "differs on purpose").  The classes themselves (what `T()` and ctypes
 * make) read every field from the bytes.
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

/* Each class (and result class) holds `_pn_` = (struct index, module) in its dict: how a
 * class made by the ctypes metaclass, which has no module of its own (ht_module), finds
 * its table entry and the module state.  A look-up through the type's method cache. */
static PyObject *pn_key;   /* "_pn_", interned once */

static int
type_info(PyTypeObject *t, pn_state **st)
{
    PyObject *info = pn_key ? _PyType_Lookup(t, pn_key) : NULL;
    if (info == NULL || !PyTuple_Check(info) || PyTuple_GET_SIZE(info) != 2) {
        PyErr_Format(PyExc_TypeError, "%s is not a pynvml struct class", t->tp_name);
        return -1;
    }
    if (st != NULL)
        *st = pn_get_state(PyTuple_GET_ITEM(info, 1));
    return (int)PyLong_AsLong(PyTuple_GET_ITEM(info, 0));
}

static pn_state *
state_of_type(PyTypeObject *t)
{
    pn_state *st;
    return type_info(t, &st) < 0 ? NULL : st;
}

static inline const pn_struct_def *
def_of(PyObject *self)
{
    int sidx = type_info(Py_TYPE(self), NULL);
    return sidx < 0 ? NULL : &pn_struct_defs[sidx];
}

/* Result objects (value slots): their class's tp_dealloc is result_dealloc. */
static void result_dealloc(PyObject *self);

static inline int
is_result(PyObject *o)
{
    return Py_TYPE(o)->tp_dealloc == result_dealloc;
}

/* A result object: the ctypes header, its table entry (NULL in one ctypes made: then the
 * class says), the value slots, then the bytes (16-aligned). */
#define RESULT_SLOTS_OFFSET (sizeof(pn_struct) + sizeof(void *))

static inline PyObject **
value_slots(PyObject *self)
{
    return (PyObject **)((char *)self + RESULT_SLOTS_OFFSET);
}

static inline const pn_struct_def **
result_def_slot(PyObject *self)
{
    return (const pn_struct_def **)((char *)self + sizeof(pn_struct));
}

static inline size_t
result_data_offset(const pn_struct_def *d)
{
    return (RESULT_SLOTS_OFFSET + d->nfields * sizeof(PyObject *) + 15) & ~(size_t)15;
}

/* An object we make of a class (not a result class): the ctypes header, then the bytes.
 * make_struct_type grows each class's tp_basicsize by its size for this. */
#define OWN_DATA_OFFSET ((sizeof(pn_struct) + 15) & ~(size_t)15)

static PyObject *field_get(PyObject *self, void *closure);
static PyObject *scalar_get(unsigned char kind, const char *p);

/* Every slot from the bytes, as field_get reads them (the one decoding of a field). */
static int
values_fill(PyObject *self, const pn_struct_def *d)
{
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

/* Keep `keep` alive as long as struct object `o` (an array its pointer fields point to),
 * in ctypes' own keep-alive dict (b_objects) under a key of ours; NULL forgets it. */
int
pn_struct_keep(PyObject *o, PyObject *keep)
{
    pn_struct *s = (pn_struct *)o;
    if (s->objects == NULL || !PyDict_Check(s->objects)) {
        PyObject *d = PyDict_New();
        if (d == NULL)
            return -1;
        if (s->objects != NULL && s->objects != Py_None && PyDict_SetItemString(d, "pn_prev", s->objects) < 0) {
            Py_DECREF(d);
            return -1;
        }
        Py_XSETREF(s->objects, d);
    }
    if (keep == NULL) {
        if (PyDict_DelItemString(s->objects, "pn_keep") < 0)
            PyErr_Clear();
        return 0;
    }
    return PyDict_SetItemString(s->objects, "pn_keep", keep);
}

int
pn_struct_changed(PyObject *o)
{
    if (!is_result(o))
        return 0;
    const pn_struct_def *d = def_of(o);
    return d == NULL ? -1 : values_fill(o, d);
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

/* The ctypes header of an object whose bytes are at `data`: what ctypes' own
 * constructors set (GenericPyCData_new, PyCData_FromBaseObj). */
static void
cdata_init(pn_struct *o, char *data, PyObject *base, const pn_struct_def *d)
{
    o->data = data;
    o->needsfree = 0;        /* the bytes live in the object, or in base's */
    Py_XINCREF(base);
    o->base = base;
    o->size = d->size;
    o->length = d->nfields;
    o->index = 0;
    o->objects = NULL;
}

/* An object of class `t` (a struct class `exact`ly, or a subclass a user made) that owns
 * a copy of `data`.  The classes are GC types (ctypes'); our objects hold no cycles but
 * are tracked as ctypes tracks its own. */
static PyObject *
own_new(PyTypeObject *t, int exact, const pn_struct_def *d, const void *data)
{
    if (!exact) {
        /* a subclass (it may have a __dict__ and slots): ctypes' constructor, then the bytes */
        PyObject *empty = PyTuple_New(0);
        PyObject *o = empty ? t->tp_new(t, empty, NULL) : NULL;
        Py_XDECREF(empty);
        if (o != NULL)
            memcpy(((pn_struct *)o)->data, data, d->size);
        return o;
    }
    pn_struct *o = PyObject_GC_New(pn_struct, t);
    if (o == NULL)
        return NULL;
    cdata_init(o, (char *)o + OWN_DATA_OFFSET, NULL, d);
    memcpy(o->data, data, d->size);
    /* not tracked: it holds no references (ctypes may add keep-alives later, of objects
     * that cannot point back at it); what ctypes makes is tracked as ctypes does */
    return (PyObject *)o;
}

/* The classes' tp_dealloc: what ctypes' own (PyCData_dealloc) does, without the generic
 * subtype_dealloc in front of it (a class has no __dict__ nor slots of its own).  A
 * subclass someone makes gets subtype_dealloc, which clears its own parts, then this. */
static void
class_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    pn_struct *s = (pn_struct *)self;
    PyObject_GC_UnTrack(self);
    Py_CLEAR(s->objects);
    if (s->needsfree && s->data != NULL && s->data != s->value.c &&
        (s->data < (char *)self || s->data >= (char *)self + tp->tp_basicsize))
        PyMem_Free(s->data);
    s->data = NULL;
    Py_CLEAR(s->base);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* A view of struct `sidx` at `data`, inside base's bytes (a nested field).  `index` is its
 * b_index: ctypes keys what a pointer field of the view keeps alive (KeepRef) by the chain
 * of b_index up to the owner, so each view of one parent needs its own. */
static PyObject *
new_view(pn_state *st, int sidx, PyObject *base, char *data, Py_ssize_t index)
{
    PyTypeObject *t = (PyTypeObject *)pn_struct_type(st, sidx);
    if (t == NULL)
        return NULL;
    pn_struct *v = PyObject_GC_New(pn_struct, t);
    if (v == NULL)
        return NULL;
    cdata_init(v, data, base, &pn_struct_defs[sidx]);
    v->index = index;
    PyObject_GC_Track((PyObject *)v);
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

/* The value of a ctypes simple object (c_uint(5).value), or NULL without an error when
 * `v` is not one.  ctypes' simple types are the classes with a one-letter `_type_`. */
static PyObject *
ctypes_simple_value(PyObject *v)
{
    PyObject *code = PyObject_GetAttrString((PyObject *)Py_TYPE(v), "_type_");
    if (code == NULL) {
        PyErr_Clear();
        return NULL;
    }
    int simple = PyUnicode_Check(code) && PyUnicode_GET_LENGTH(code) == 1;
    Py_DECREF(code);
    return simple ? PyObject_GetAttrString(v, "value") : NULL;
}

/* Store an int the way ctypes does: wrapped to the field's width. */
static int
scalar_set(unsigned char kind, char *p, PyObject *v, const char *name)
{
    if (kind == PN_K_F64) {
        PyObject *inner = PyFloat_Check(v) || PyLong_Check(v) ? NULL : ctypes_simple_value(v);
        if (inner != NULL) {
            int rc = scalar_set(kind, p, inner, name);
            Py_DECREF(inner);
            return rc;
        }
        if (PyErr_Occurred())
            return -1;
        double d = PyFloat_AsDouble(v);
        if (d == -1.0 && PyErr_Occurred())
            return -1;
        *(double *)p = d;
        return 0;
    }
    if (PyFloat_Check(v) || !PyIndex_Check(v)) {
        /* a ctypes simple value (c_uint(5)), as a ctypes Structure takes for its fields */
        PyObject *inner = ctypes_simple_value(v);
        if (inner != NULL) {
            int rc = PyIndex_Check(inner) && !PyFloat_Check(inner) ? scalar_set(kind, p, inner, name) : -2;
            Py_DECREF(inner);
            if (rc != -2)
                return rc;
        }
        else if (PyErr_Occurred())
            return -1;
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

/* Item `i` of field `f` (i 0 for a single value): b_index (field << 16 | i) is unique
 * among the views of one parent. */
static PyObject *
item_get(pn_state *st, PyObject *self, const pn_field *f, char *p, unsigned int i)
{
    if (f->kind == PN_K_STRUCT) {
        const pn_struct_def *d = def_of(self);
        if (d == NULL)
            return NULL;
        return new_view(st, f->sub, self, p, (Py_ssize_t)(((size_t)(f - d->fields) << 16) | i));
    }
    return scalar_get(f->kind, p);
}

/* Pointer fields (T*, void*, char*) are ctypes' own: the layout gives them nvidia-ml-py's
 * ctypes types (POINTER(T), c_void_p, c_char_p) and our descriptors hand reads and writes to
 * the field ctypes made (a CField, kept in the class's `_pn_cf_` tuple by field index).  So
 * they take what a ctypes Structure takes there (None; for POINTER(T) a pointer to a T or
 * an array of T; an int address for void* and char*; bytes for char*, str as nvidia-ml-py's
 * classes encode it) and keep the object pointed to alive as long as the struct, in the
 * owner's b_objects under ctypes' own keys (KeepRef).  A wrapper hands those bytes to NVML
 * as they are, as nvidia-ml-py's byref() does. */
static PyObject *cf_key;   /* "_pn_cf_", interned once */

static PyObject *
ctypes_field_of(PyObject *self, const pn_field *f, const pn_struct_def **dp)
{
    const pn_struct_def *d = def_of(self);
    PyObject *cfs = d && cf_key ? _PyType_Lookup(Py_TYPE(self), cf_key) : NULL;
    if (d == NULL)
        return NULL;
    Py_ssize_t k = f - d->fields;
    if (cfs == NULL || !PyTuple_Check(cfs) || k < 0 || k >= PyTuple_GET_SIZE(cfs) ||
        PyTuple_GET_ITEM(cfs, k) == Py_None) {
        PyErr_Format(PyExc_SystemError, "pynvml.%s.%s: no ctypes field", d->pyname, f->name);
        return NULL;
    }
    if (dp != NULL)
        *dp = d;
    return PyTuple_GET_ITEM(cfs, k);
}

static PyObject *
ctypes_field_get(PyObject *self, const pn_field *f)
{
    PyObject *cf = ctypes_field_of(self, f, NULL);
    if (cf == NULL)
        return NULL;
    return Py_TYPE(cf)->tp_descr_get(cf, self, (PyObject *)Py_TYPE(self));
}

/* The owner of `o`'s bytes (b_base up to the end): where ctypes keeps what its pointer
 * fields point to.  One of our own objects is not tracked by the garbage collector until
 * it keeps something (own_new); then it is, as ctypes' objects are. */
static void
track_owner(PyObject *o)
{
    while (((pn_struct *)o)->base != NULL)
        o = ((pn_struct *)o)->base;
    if (PyObject_IS_GC(o) && !PyObject_GC_IsTracked(o) && ((pn_struct *)o)->objects != NULL)
        PyObject_GC_Track(o);
}

static int
ctypes_field_set(PyObject *self, const pn_field *f, PyObject *v)
{
    const pn_struct_def *d;
    PyObject *cf = ctypes_field_of(self, f, &d);
    if (cf == NULL)
        return -1;
    PyObject *enc = NULL;
    if (f->kind == PN_K_CSTR && d->printable && PyUnicode_Check(v)) {   /* _PrintableStructure's __setattr__ */
        if ((enc = PyUnicode_AsUTF8String(v)) == NULL)
            return -1;
        v = enc;
    }
    int rc = Py_TYPE(cf)->tp_descr_set(cf, self, v);
    Py_XDECREF(enc);
    if (rc == 0)
        track_owner(self);
    else if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        /* ctypes' message names no field: say which, and what it takes */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        PyErr_Format(PyExc_TypeError, "%s.%s (%s): %S", d->pyname, f->name, f->ctype, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    return rc;
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
    case PN_K_PTR:   /* as ctypes reads it: a POINTER(T) object over these bytes, or the int */
        return ctypes_field_get(self, f);
    case PN_K_CSTR:
    case PN_K_HANDLE:
    case PN_K_OPAQUE:
        memcpy(&ptr, p, sizeof ptr);
        if (ptr == NULL)
            Py_RETURN_NONE;
        if (f->kind == PN_K_OPAQUE)
            return PyLong_FromVoidPtr(ptr);
        if (f->kind == PN_K_CSTR) {   /* _PrintableStructure decodes what ctypes reads */
            const pn_struct_def *d = def_of(self);
            if (d == NULL)
                return NULL;
            return d->printable ? PyUnicode_DecodeUTF8(ptr, (Py_ssize_t)strlen(ptr), "replace")
                                : PyBytes_FromString(ptr);   /* a plain ctypes Structure's bytes */
        }
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
        return item_get(st, self, f, p, 0);
    PyObject *list = PyList_New(f->count);
    for (unsigned int i = 0; list != NULL && i < f->count; i++) {
        PyObject *item = item_get(st, self, f, p + i * elem_size(f), i);
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
        return ctypes_field_set(self, f, v);
    case PN_K_OPAQUE:   /* only NVML makes one (nvmlSystemEventSetCreate) */
        if (v != Py_None) {
            PyErr_Format(PyExc_TypeError, "field '%s' is a handle only NVML makes: it can only be set to None",
                         f->name);
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

/* An attribute nvidia-ml-py's __init__ sets that is no field (spec: `attr`, the version
 * word of c_nvmlPerfMetricsSamples_v1_t, which nvml.h's struct lacks): there it lives in
 * the instance's __dict__, so it reads back, takes any value and can be deleted, and
 * NVML never sees it.  Ours have no __dict__: it lives in the object's b_objects dict
 * (ctypes' keep-alive dict, under a key of ours), which copies keep too. */
static int
attr_store(PyObject *self, PyObject *v)
{
    pn_struct *s = (pn_struct *)self;
    if (s->objects == NULL || !PyDict_Check(s->objects)) {
        if (v == NULL)
            return 1;   /* nothing stored */
        if (pn_struct_keep(self, NULL) < 0)   /* makes the dict */
            return -1;
    }
    if (v == NULL) {
        int rc = PyDict_DelItemString(s->objects, "pn_attr");
        if (rc < 0 && PyErr_ExceptionMatches(PyExc_KeyError)) {
            PyErr_Clear();
            return 1;
        }
        return rc;
    }
    if (PyDict_SetItemString(s->objects, "pn_attr", v) < 0)
        return -1;
    track_owner(self);   /* it may hold anything, this object too */
    return 0;
}

static PyObject *
attr_get(PyObject *self, void *closure)
{
    pn_struct *s = (pn_struct *)self;
    PyObject *v = s->objects && PyDict_Check(s->objects) ? PyDict_GetItemString(s->objects, "pn_attr") : NULL;
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%s'", Py_TYPE(self)->tp_name,
                     (const char *)closure);
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

static int
attr_set(PyObject *self, PyObject *v, void *closure)
{
    int rc = attr_store(self, v);
    if (rc == 1)
        PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%s'", Py_TYPE(self)->tp_name,
                     (const char *)closure);
    return rc == 0 ? 0 : -1;
}

/* What nvidia-ml-py's __init__ sets before the arguments (version words). */
static void
set_defaults(pn_struct *self, const pn_struct_def *d)
{
    for (unsigned int i = 0; i < d->ndefaults; i++) {
        const pn_field *f = &d->fields[d->defaults[i].field];
        unsigned long long v = d->defaults[i].value;
        switch (kind_size(f->kind)) {
        case 1: *(unsigned char *)(self->data + f->offset) = (unsigned char)v; break;
        case 2: *(unsigned short *)(self->data + f->offset) = (unsigned short)v; break;
        case 4: *(unsigned int *)(self->data + f->offset) = (unsigned int)v; break;
        default: *(unsigned long long *)(self->data + f->offset) = v; break;
        }
    }
}

static int init_fields(PyObject *self, const pn_struct_def *d, PyObject *args, PyObject *kwds);

/* __init__: ctypes' constructor made the (zeroed) bytes; the defaults, then the
 * arguments.  Also a result class's, for a result object made by calling its class. */
static PyObject *
struct_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    set_defaults((pn_struct *)self, d);
    if (d->attr != NULL) {
        PyObject *v = PyLong_FromUnsignedLongLong(d->attr_value);
        int stored = v ? attr_store(self, v) : -1;
        Py_XDECREF(v);
        if (stored < 0)
            return NULL;
    }
    int rc = init_fields(self, d, args, kwds);
    /* also after a failure: the fields set before it are in the bytes */
    if (is_result(self) && values_fill(self, d) < 0)
        return NULL;
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int
init_fields(PyObject *self, const pn_struct_def *d, PyObject *args, PyObject *kwds)
{
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

/* A result object: not a GC object (its slots hold numbers and str, its header nothing
 * ctypes gave it: no cycle can go through it), so it is freed here, not by ctypes. */
static void
result_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    pn_struct *s = (pn_struct *)self;
    const pn_struct_def *d = *result_def_slot(self) ? *result_def_slot(self) : def_of(self);
    if (d != NULL) {
        PyObject **slot = value_slots(self);
        for (unsigned int i = 0; i < d->nfields; i++)
            Py_XDECREF(slot[i]);
    }
    else
        PyErr_Clear();
    Py_XDECREF(s->objects);
    Py_XDECREF(s->base);
    /* one that ctypes' constructor made (the result class called): its own buffer */
    if (s->needsfree && s->data != NULL && s->data != s->value.c)
        PyMem_Free(s->data);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* Assignment to a field of a result object: its member descriptor is read-only, the bytes
 * take the value as field_set stores it (wrapped to the width, as ctypes does) and the
 * slots are read back from them.  Other names as usual. */
static int
struct_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    PyObject *descr = PyUnicode_Check(name) ? _PyType_Lookup(Py_TYPE(self), name) : NULL;
    if (descr != NULL && Py_TYPE(descr) == &PyMemberDescr_Type) {
        const pn_struct_def *d = def_of(self);
        if (d == NULL)
            return -1;
        Py_ssize_t at = ((PyMemberDescrObject *)descr)->d_member->offset - (Py_ssize_t)RESULT_SLOTS_OFFSET;
        if (at >= 0 && at % (Py_ssize_t)sizeof(PyObject *) == 0 &&
            at / (Py_ssize_t)sizeof(PyObject *) < (Py_ssize_t)d->nfields &&
            PyType_IsSubtype(Py_TYPE(self), PyDescr_TYPE(descr))) {
            const pn_field *f = &d->fields[at / sizeof(PyObject *)];
            int rc = field_set(self, value, (void *)f);
            return values_fill(self, d) < 0 ? -1 : rc;
        }
    }
    return PyObject_GenericSetAttr(self, name, value);
}

/* str() as nvidia-ml-py's _PrintableStructure: "Name(field: <fmt % value>, ...)". */
static PyObject *
struct_str(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    if (!d->printable)   /* ctypes' own repr */
        return PyUnicode_FromFormat("<pynvml.%s object at %p>", d->pyname, self);
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

/* == and != by content, between objects of one struct (a class, its result class, or a
 * subclass of either). */
static PyObject *
struct_compare(PyObject *a, PyObject *b, int op)
{
    if (!PyObject_TypeCheck(b, Py_TYPE(a)) && !PyObject_TypeCheck(a, Py_TYPE(b))) {
        int sa = type_info(Py_TYPE(a), NULL), sb = sa < 0 ? -1 : type_info(Py_TYPE(b), NULL);
        if (sa < 0 || sb < 0 || sa != sb) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
    }
    const pn_struct_def *d = def_of(a);
    if (d == NULL)
        return NULL;
    int eq = memcmp(((pn_struct *)a)->data, ((pn_struct *)b)->data, d->size) == 0;
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *
struct_eq(PyObject *self, PyObject *other)
{
    return struct_compare(self, other, Py_EQ);
}

static PyObject *
struct_ne(PyObject *self, PyObject *other)
{
    return struct_compare(self, other, Py_NE);
}

static PyObject *
struct_copy(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    pn_state *st;
    int sidx = type_info(Py_TYPE(self), &st);
    if (sidx < 0)
        return NULL;
    pn_struct *s = (pn_struct *)self;
    PyObject *c = is_result(self) ? pn_struct_new(st, sidx, s->data)
                                  : own_new(Py_TYPE(self), Py_TYPE(self) == (PyTypeObject *)st->struct_types[sidx],
                                            &pn_struct_defs[sidx], s->data);
    /* the copy's pointers point where the original's do: it keeps alive all that the
     * original's owner keeps (ctypes' keep-alives, pn_struct_keep's arrays) */
    PyObject *owner = self;
    while (((pn_struct *)owner)->base != NULL)
        owner = ((pn_struct *)owner)->base;
    PyObject *kept = ((pn_struct *)owner)->objects;
    if (c != NULL && kept != NULL && PyDict_Check(kept) && PyDict_Size(kept) > 0) {
        PyObject *dup = PyDict_Copy(kept);
        if (dup == NULL)
            Py_CLEAR(c);
        else {
            Py_XSETREF(((pn_struct *)c)->objects, dup);
            track_owner(c);
        }
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
struct_deepcopy(PyObject *self, PyObject *Py_UNUSED(memo))
{
    return struct_copy(self, NULL);
}

static PyObject *
struct_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    /* Pickle as the class (not a result class) and the field values, in order. */
    pn_state *st;
    int sidx = type_info(Py_TYPE(self), &st);
    if (sidx < 0)
        return NULL;
    const pn_struct_def *d = &pn_struct_defs[sidx];
    PyObject *cls = is_result(self) ? st->struct_types[sidx] : (PyObject *)Py_TYPE(self);
    PyObject *values = PyTuple_New(d->nfields);
    for (unsigned int i = 0; values != NULL && i < d->nfields; i++) {
        const pn_field *f = &d->fields[i];
        PyObject *v = NULL;
        if (f->kind == PN_K_PTR || f->kind == PN_K_CSTR || f->kind == PN_K_OPAQUE) {   /* only NULL pickles */
            void *ptr;
            memcpy(&ptr, ((pn_struct *)self)->data + f->offset, sizeof ptr);
            if (ptr != NULL)
                PyErr_Format(PyExc_TypeError, "cannot pickle a %s whose '%s' points somewhere", d->pyname, f->name);
            else
                v = Py_None, Py_INCREF(v);
        }
        else if (!reduce_text(self, f, &v))
            v = field_get(self, (void *)f);
        if (v == NULL) {
            Py_CLEAR(values);
            break;
        }
        PyTuple_SET_ITEM(values, i, v);
    }
    if (values == NULL)
        return NULL;
    if (d->attr != NULL) {   /* and the attribute that is no field: (value,), or () if deleted */
        pn_struct *s = (pn_struct *)self;
        PyObject *v = s->objects && PyDict_Check(s->objects) ? PyDict_GetItemString(s->objects, "pn_attr") : NULL;
        return Py_BuildValue("(ONN)", cls, values, v ? PyTuple_Pack(1, v) : PyTuple_New(0));
    }
    return Py_BuildValue("(ON)", cls, values);
}

/* __setstate__: what struct_reduce gave after the fields (the attribute that is no field). */
static PyObject *
struct_setstate(PyObject *self, PyObject *state)
{
    const pn_struct_def *d = def_of(self);
    if (d == NULL)
        return NULL;
    if (d->attr == NULL || !PyTuple_Check(state) || PyTuple_GET_SIZE(state) > 1) {
        PyErr_Format(PyExc_TypeError, "%s: bad pickled state", d->pyname);
        return NULL;
    }
    if (attr_store(self, PyTuple_GET_SIZE(state) ? PyTuple_GET_ITEM(state, 0) : NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static int
slot_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *r = struct_init(self, args, kwds);
    Py_XDECREF(r);
    return r == NULL ? -1 : 0;
}

static PyObject *
slot_str(PyObject *self)
{
    return struct_str(self, NULL);
}

static PyObject *
slot_richcompare(PyObject *a, PyObject *b, int op)
{
    if (op != Py_EQ && op != Py_NE)
        Py_RETURN_NOTIMPLEMENTED;
    return struct_compare(a, b, op);
}

/* A read-only buffer of the bytes: result objects (their slots mirror the bytes) and the
 * classes that hold pointers or handles NVML follows. */
static int
readonly_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
    pn_struct *s = (pn_struct *)self;
    return PyBuffer_FillInfo(view, self, s->data, s->size, 1, flags);
}

/* The methods every class gets, as descriptors in its dict (a subclass, ctypes' or a
 * user's, finds them there; slots set in C alone would not be inherited through the
 * ctypes metaclass's type_new). */
static PyMethodDef struct_methods[] = {
    {"__init__", (PyCFunction)(void (*)(void))struct_init, METH_VARARGS | METH_KEYWORDS, NULL},
    {"__str__", struct_str, METH_NOARGS, NULL},
    {"__repr__", struct_str, METH_NOARGS, NULL},
    {"__eq__", struct_eq, METH_O, NULL},
    {"__ne__", struct_ne, METH_O, NULL},
    {"__copy__", struct_copy, METH_NOARGS, NULL},
    {"__deepcopy__", struct_deepcopy, METH_O, NULL},   /* bytes and numbers: a copy is deep */
    {"__reduce__", struct_reduce, METH_NOARGS, NULL},
    {"__setstate__", struct_setstate, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

/* Getset and member tables live as long as the process: every module instance shares
 * them. */
static PyGetSetDef *getsets[PN_NSTRUCTS];
static PyMemberDef *members[PN_NSTRUCTS];   /* result classes: over the value slots */

static PyObject *pointer_ctype(pn_state *st, const pn_field *f);

/* The ctypes type of a field (a new reference): for the layout, the whole member (a bit
 * field's too); nested structs are their classes; arrays T * count; pointers
 * nvidia-ml-py's POINTER(T) (ctypes' field then does their reads and writes). */
static PyObject *
field_ctype(pn_state *st, const pn_field *f)
{
    if (f->kind == PN_K_PTR && strncmp(f->ctype, "LP_", 3) == 0)
        return pointer_ctype(st, f);
    static const char *const names[] = {
        [PN_K_U8] = "c_ubyte", [PN_K_U16] = "c_ushort", [PN_K_U32] = "c_uint", [PN_K_I32] = "c_int",
        [PN_K_U64] = "c_ulonglong", [PN_K_I64] = "c_longlong", [PN_K_ULONG] = "c_ulong",
        [PN_K_F64] = "c_double", [PN_K_CHARS] = "c_char", [PN_K_CHAR] = "c_char", [PN_K_PTR] = "c_void_p",
        [PN_K_CSTR] = "c_char_p", [PN_K_HANDLE] = "c_void_p", [PN_K_OPAQUE] = "c_void_p",
    };
    PyObject *t;
    if (f->kind == PN_K_STRUCT) {
        t = pn_struct_type(st, f->sub);
        Py_XINCREF(t);
    }
    else
        t = PyObject_GetAttrString(st->ctypes, names[f->kind]);
    if (t == NULL || f->count == 0)
        return t;
    PyObject *n = PyLong_FromUnsignedLong(f->count);
    PyObject *arr = n ? PyNumber_Multiply(t, n) : NULL;
    Py_XDECREF(n);
    Py_DECREF(t);
    return arr;
}

static int sidx_by_name(const char *name);

/* What `_fields_` shows for a pointer or handle field: nvidia-ml-py's type, e.g.
 * POINTER(c_uint) or c_nvmlDevice_t = POINTER(struct_c_nvmlDevice_t) (the generated
 * table has its name, "LP_..."); the layout has a c_void_p there (field_ctype). */
static PyObject *
pointer_ctype(pn_state *st, const pn_field *f)
{
    if (strncmp(f->ctype, "LP_", 3) != 0)
        return field_ctype(st, f);
    const char *pointee = f->ctype + 3;
    PyObject *t;
    int sidx;
    if (strncmp(pointee, "struct_", 7) == 0) {   /* the opaque structs behind handles */
        PyObject *compat = PyImport_ImportModule("pynvml._ctypes_compat");
        t = compat ? PyObject_GetAttrString(compat, pointee) : NULL;
        Py_XDECREF(compat);
    }
    else if ((sidx = sidx_by_name(pointee)) >= 0) {
        t = pn_struct_type(st, sidx);
        Py_XINCREF(t);
    }
    else
        t = PyObject_GetAttrString(st->ctypes, pointee);
    PyObject *p = t ? PyObject_CallMethod(st->ctypes, "POINTER", "O", t) : NULL;
    Py_XDECREF(t);
    return p;
}

/* The ctypes layout of `d`, [(name, ctype), ...] in C order (by offset; nvidia-ml-py's
 * order, which `_fields_` shows, is not always nvml.h's), and the `_fields_` nvidia-ml-py
 * shows: its order, bit fields as (name, ctype, bits). */
static int
ctypes_fields(pn_state *st, const pn_struct_def *d, PyObject **layout, PyObject **shown)
{
    *layout = PyList_New(0);
    *shown = PyList_New(d->nfields);
    if (*layout == NULL || *shown == NULL)
        goto fail;
    unsigned int order[512];
    if (d->nfields > 512) {
        PyErr_SetString(PyExc_SystemError, "struct with too many fields");
        goto fail;
    }
    for (unsigned int k = 0; k < d->nfields; k++)
        order[k] = k;
    for (unsigned int k = 1; k < d->nfields; k++)   /* stable insertion sort by offset */
        for (unsigned int j = k; j > 0 && d->fields[order[j - 1]].offset > d->fields[order[j]].offset; j--) {
            unsigned int x = order[j];
            order[j] = order[j - 1];
            order[j - 1] = x;
        }
    for (unsigned int k = 0; k < d->nfields; k++) {
        const pn_field *f = &d->fields[k];
        PyObject *t = (f->kind == PN_K_PTR || f->kind == PN_K_HANDLE || f->kind == PN_K_OPAQUE)
                          ? pointer_ctype(st, f) : field_ctype(st, f);
        if (t == NULL)
            goto fail;
        PyObject *pair = f->bits ? Py_BuildValue("(sNi)", f->name, t, (int)f->bits)
                                 : Py_BuildValue("(sN)", f->name, t);
        if (pair == NULL)
            goto fail;
        PyList_SET_ITEM(*shown, k, pair);
    }
    for (unsigned int k = 0; k < d->nfields; k++) {
        const pn_field *f = &d->fields[order[k]];
        PyObject *t = field_ctype(st, f);
        PyObject *pair = t ? Py_BuildValue("(sN)", f->name, t) : NULL;
        if (pair == NULL || PyList_Append(*layout, pair) < 0) {
            Py_XDECREF(pair);
            goto fail;
        }
        Py_DECREF(pair);
    }
    return 0;
fail:
    Py_CLEAR(*layout);
    Py_CLEAR(*shown);
    return -1;
}

/* ctypes laid `t` out as nvml.h does (and as our tables say)? */
static int
check_layout(pn_state *st, PyObject *t, const pn_struct_def *d)
{
    PyObject *size = PyObject_CallMethod(st->ctypes, "sizeof", "O", t);
    PyObject *align = size ? PyObject_CallMethod(st->ctypes, "alignment", "O", t) : NULL;
    int ok = align != NULL && PyLong_AsLong(size) == (long)d->size && PyLong_AsLong(align) == (long)d->align;
    if (align != NULL && !ok)
        PyErr_Format(PyExc_SystemError, "pynvml.%s: ctypes lays it out in %S bytes (align %S), nvml.h in %u (%u)",
                     d->pyname, size, align, d->size, d->align);
    Py_XDECREF(size);
    Py_XDECREF(align);
    for (unsigned int k = 0; ok && k < d->nfields; k++) {
        PyObject *cf = PyObject_GetAttrString(t, d->fields[k].name);
        PyObject *off = cf ? PyObject_GetAttrString(cf, "offset") : NULL;
        ok = off != NULL && PyLong_AsLong(off) == (long)d->fields[k].offset;
        if (off != NULL && !ok)
            PyErr_Format(PyExc_SystemError, "pynvml.%s.%s: ctypes puts it at %S, nvml.h at %u", d->pyname,
                         d->fields[k].name, off, d->fields[k].offset);
        Py_XDECREF(cf);
        Py_XDECREF(off);
    }
    return ok ? 0 : -1;
}

/* The first class made checks that pn_struct is ctypes' CDataObject: a ctypes object's
 * buffer is at its b_ptr, its size at b_size, and our header is the base's size. */
static int
check_cdata_layout(pn_state *st)
{
    static int checked = 0;
    if (checked)
        return 0;
    PyObject *structure = PyObject_GetAttrString(st->ctypes, "Structure");
    PyObject *num = PyObject_CallMethod(st->ctypes, "c_ulonglong", "K", 0x0123456789abcdefULL);
    int ok = 0;
    if (structure != NULL && num != NULL) {
        Py_buffer view;
        if (PyObject_GetBuffer(num, &view, PyBUF_SIMPLE) == 0) {
            pn_struct *c = (pn_struct *)num;
            ok = ((PyTypeObject *)structure)->tp_basicsize == (Py_ssize_t)sizeof(pn_struct) &&
                 view.buf == (void *)c->data && c->size == 8 && c->base == NULL &&
                 *(unsigned long long *)c->data == 0x0123456789abcdefULL;
            PyBuffer_Release(&view);
        }
    }
    Py_XDECREF(structure);
    Py_XDECREF(num);
    if (PyErr_Occurred())
        return -1;
    if (!ok) {
        PyErr_SetString(PyExc_SystemError, "this Python's ctypes objects are not laid out as pynvml expects "
                                           "(Modules/_ctypes/ctypes.h CDataObject)");
        return -1;
    }
    checked = 1;
    return 0;
}

/* Put `value` under `name` in type t's dict without ctypes' __setattr__ (which would lay
 * out `_fields_` again). */
static int
dict_set(PyObject *t, const char *name, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(((PyTypeObject *)t)->tp_dict, name, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *
call_metaclass(PyObject *meta, const char *name, PyObject *base, PyObject *ns)
{
    return ns == NULL ? NULL : PyObject_CallFunction(meta, "s(O)N", name, base, ns);
}

/* The result class of struct i: a subclass of its class with value slots. */
static PyObject *
make_result_type(pn_state *st, int i, PyObject *cls)
{
    const pn_struct_def *d = &pn_struct_defs[i];
    if (members[i] == NULL) {
        PyMemberDef *ms = PyMem_RawCalloc(d->nfields + 1, sizeof *ms);
        if (ms == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (unsigned int k = 0; k < d->nfields; k++) {
            ms[k].name = d->fields[k].name;
            ms[k].type = PN_T_OBJECT_EX;
            ms[k].offset = (Py_ssize_t)(RESULT_SLOTS_OFFSET + k * sizeof(PyObject *));
            ms[k].flags = PN_READONLY;
        }
        members[i] = ms;
    }
    /* `_pn_` comes from the class, through the MRO */
    PyObject *r = call_metaclass((PyObject *)Py_TYPE(cls), d->pyname, cls,
                                 Py_BuildValue("{s()ssss}", "__slots__", "__module__", "pynvml",
                                               "__qualname__", d->pyname));
    if (r == NULL)
        return NULL;
    PyTypeObject *rt = (PyTypeObject *)r;
    for (unsigned int k = 0; k < d->nfields; k++)
        if (dict_set(r, d->fields[k].name, PyDescr_NewMember(rt, &members[i][k])) < 0)
            goto fail;
    /* not a GC type: result_dealloc frees its objects (they hold no cycles) */
    rt->tp_flags &= ~Py_TPFLAGS_HAVE_GC;
    rt->tp_dealloc = result_dealloc;
    rt->tp_free = PyObject_Free;
    rt->tp_setattro = struct_setattro;
    rt->tp_basicsize = (Py_ssize_t)(result_data_offset(d) + ((d->size + 7) & ~7u));
    ((PyHeapTypeObject *)rt)->as_buffer.bf_getbuffer = readonly_getbuffer;
    ((PyHeapTypeObject *)rt)->as_buffer.bf_releasebuffer = NULL;
    rt->tp_as_buffer = &((PyHeapTypeObject *)rt)->as_buffer;
    PyType_Modified(rt);
    /* pointer(result) is a POINTER(class): its contents, ctypes' objects, are the class's */
    PyObject *cache = PyObject_GetAttrString(st->ctypes, "_pointer_type_cache");
    PyObject *ptr = cache ? PyObject_CallMethod(st->ctypes, "POINTER", "O", cls) : NULL;
    int rc = ptr ? PyObject_SetItem(cache, r, ptr) : -1;
    Py_XDECREF(cache);
    Py_XDECREF(ptr);
    if (rc < 0)
        goto fail;
    return r;
fail:
    Py_DECREF(r);
    return NULL;
}

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
    if (pn_key == NULL && (pn_key = PyUnicode_InternFromString("_pn_")) == NULL)
        return NULL;
    if (cf_key == NULL && (cf_key = PyUnicode_InternFromString("_pn_cf_")) == NULL)
        return NULL;
    if (st->ctypes == NULL) {
        PyObject *ctypes = PyImport_ImportModule("ctypes");
        if (ctypes == NULL)
            return NULL;
        if (st->ctypes == NULL)
            st->ctypes = ctypes;
        else
            Py_DECREF(ctypes);
        if (check_cdata_layout(st) < 0)
            return NULL;
    }
    if (getsets[i] == NULL) {
        /* the fields, the attribute that is no field (if any), the end */
        PyGetSetDef *gs = PyMem_RawCalloc(d->nfields + 2, sizeof *gs);
        if (gs == NULL)
            return PyErr_NoMemory();
        for (unsigned int k = 0; k < d->nfields; k++) {
            gs[k].name = d->fields[k].name;
            gs[k].get = field_get;
            gs[k].set = field_set;
            gs[k].closure = (void *)&d->fields[k];
        }
        if (d->attr != NULL) {
            gs[d->nfields].name = d->attr;
            gs[d->nfields].get = attr_get;
            gs[d->nfields].set = attr_set;
            gs[d->nfields].closure = (void *)d->attr;
        }
        getsets[i] = gs;
    }
    PyObject *layout, *shown;
    if (ctypes_fields(st, d, &layout, &shown) < 0)
        return NULL;
    /* a nested struct's class is made first (field_ctype): this one may exist by now */
    if (st->struct_types[i] != NULL) {
        Py_DECREF(layout);
        Py_DECREF(shown);
        return st->struct_types[i];
    }
    PyObject *base = PyObject_GetAttrString(st->ctypes, d->is_union ? "Union" : "Structure");
    PyObject *t = base == NULL ? NULL :
        call_metaclass((PyObject *)Py_TYPE(base), d->pyname, base,
                       Py_BuildValue("{sNs()sssssssN}", "_fields_", layout, "__slots__", "__module__", "pynvml",
                                     "__qualname__", d->pyname, "__doc__", d->cname, "_pn_",
                                     Py_BuildValue("(iO)", i, module)));
    Py_XDECREF(base);
    if (t == NULL) {
        Py_DECREF(shown);
        return NULL;
    }
    if (check_layout(st, t, d) < 0)
        goto fail;
    /* what nvidia-ml-py's classes show, and our descriptors over ctypes' fields */
    if (dict_set(t, "_fields_", shown) < 0) {
        shown = NULL;
        goto fail;
    }
    shown = NULL;
    /* ctypes' own fields of the pointers, before ours replace them (ctypes_field_set) */
    PyObject *cfs = PyTuple_New(d->nfields);
    if (cfs == NULL)
        goto fail;
    for (unsigned int k = 0; k < d->nfields; k++) {
        const pn_field *f = &d->fields[k];
        PyObject *cf = f->kind == PN_K_PTR || f->kind == PN_K_CSTR
                           ? PyDict_GetItemString(((PyTypeObject *)t)->tp_dict, f->name) : Py_None;
        if (cf == NULL || (cf != Py_None && Py_TYPE(cf)->tp_descr_set == NULL)) {
            Py_DECREF(cfs);
            PyErr_Format(PyExc_SystemError, "pynvml.%s.%s: ctypes made no field", d->pyname, f->name);
            goto fail;
        }
        Py_INCREF(cf);
        PyTuple_SET_ITEM(cfs, k, cf);
    }
    if (dict_set(t, "_pn_cf_", cfs) < 0)
        goto fail;
    for (unsigned int k = 0; k < d->nfields; k++)
        if (dict_set(t, d->fields[k].name, PyDescr_NewGetSet((PyTypeObject *)t, &getsets[i][k])) < 0)
            goto fail;
    if (d->attr != NULL && dict_set(t, d->attr, PyDescr_NewGetSet((PyTypeObject *)t, &getsets[i][d->nfields])) < 0)
        goto fail;
    /* the dunders through the type's __setattr__, which points the slots at them */
    for (PyMethodDef *m = struct_methods; m->ml_name != NULL; m++) {
        PyObject *descr = PyDescr_NewMethod((PyTypeObject *)t, m);
        int rc = descr ? PyObject_SetAttrString(t, m->ml_name, descr) : -1;
        Py_XDECREF(descr);
        if (rc < 0)
            goto fail;
    }
    if (PyObject_SetAttrString(t, "__hash__", Py_None) < 0)
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
        if (dict_set(t, "_fmt_", fmt) < 0)
            goto fail;
    }
    /* and the slots themselves (ctypes' Union metaclass sets attributes without updating
     * slots): C calls for the class's own objects */
    PyTypeObject *tt = (PyTypeObject *)t;
    tt->tp_init = slot_init;
    tt->tp_str = tt->tp_repr = slot_str;
    tt->tp_richcompare = slot_richcompare;
    tt->tp_hash = PyObject_HashNotImplemented;
    if (d->has_pointers) {   /* no bytes from a buffer can forge a pointer NVML follows */
        ((PyHeapTypeObject *)tt)->as_buffer.bf_getbuffer = readonly_getbuffer;
        ((PyHeapTypeObject *)tt)->as_buffer.bf_releasebuffer = NULL;
        tt->tp_as_buffer = &((PyHeapTypeObject *)tt)->as_buffer;
    }
    tt->tp_dealloc = class_dealloc;
    /* our objects keep their bytes after the ctypes header (own_new) */
    tt->tp_basicsize = (Py_ssize_t)(OWN_DATA_OFFSET + ((d->size + 7) & ~7u));
    PyType_Modified(tt);
    PyObject *r = NULL;
    if (d->cached && (r = make_result_type(st, i, t)) == NULL)
        goto fail;
    /* Making the class allocates, so a garbage collection may have run Python code (a
     * finalizer) that let another thread in to make this class too: keep the first. */
    if (st->struct_types[i] != NULL) {
        Py_XDECREF(r);
        Py_DECREF(t);
        return st->struct_types[i];
    }
    PyObject *mdict = PyModule_GetDict(module);
    if (PyDict_SetItemString(mdict, d->pyname, t) < 0)
        goto fail_r;
    for (int a = 0; pn_struct_aliases[a].name != NULL; a++)
        if (pn_struct_aliases[a].sidx == i && PyDict_SetItemString(mdict, pn_struct_aliases[a].name, t) < 0)
            goto fail_r;
    st->struct_types[i] = t;   /* the state's references */
    st->result_types[i] = r;
    return t;
fail_r:
    Py_XDECREF(r);
fail:
    Py_XDECREF(shown);
    Py_DECREF(t);
    return NULL;
}

/* _nvml._result_class(cls): the result class (value slots) of a struct class, or None. */
PyObject *
pn_struct_result_class(PyObject *module, PyObject *cls)
{
    if (!PyType_Check(cls)) {
        PyErr_SetString(PyExc_TypeError, "_result_class() takes a struct class");
        return NULL;
    }
    pn_state *st;
    int sidx = type_info((PyTypeObject *)cls, &st);
    if (sidx < 0)
        return NULL;
    PyObject *r = st->result_types[sidx] ? st->result_types[sidx] : Py_None;
    Py_INCREF(r);
    return r;
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
    if (st->struct_types[sidx] == NULL && pn_struct_make_type(st, sidx) == NULL)
        return NULL;
    const pn_struct_def *d = &pn_struct_defs[sidx];
    PyTypeObject *t = (PyTypeObject *)st->result_types[sidx];
    if (t == NULL)
        return own_new((PyTypeObject *)st->struct_types[sidx], 1, d, data);
    /* Every result of a call comes through here: no zeroing nor defaults, the bytes are
     * all NVML's.  A result class is not a GC type; tp_free is PyObject_Free. */
    pn_struct *o = PyObject_Malloc(t->tp_basicsize);
    if (o == NULL)
        return PyErr_NoMemory();
    PyObject_Init((PyObject *)o, t);
    cdata_init(o, (char *)o + result_data_offset(d), NULL, d);
    *result_def_slot((PyObject *)o) = d;
    memcpy(o->data, data, d->size);
    memset(value_slots((PyObject *)o), 0, d->nfields * sizeof(PyObject *));
    if (values_fill((PyObject *)o, d) < 0) {
        Py_DECREF(o);
        return NULL;
    }
    return (PyObject *)o;
}

/* 1 when `o` is a ctypes array of struct `sidx` (`c_nvmlPRMCounter_v1_t * n`), else 0. */
int
pn_is_struct_array(pn_state *st, PyObject *o, int sidx)
{
    PyObject *cls = pn_struct_type(st, sidx);
    if (cls == NULL || st->ctypes == NULL)
        return cls == NULL ? -1 : 0;
    PyObject *array = PyObject_GetAttrString(st->ctypes, "Array");
    if (array == NULL)
        return -1;
    int r = PyObject_TypeCheck(o, (PyTypeObject *)array);
    Py_DECREF(array);
    if (r) {
        PyObject *item = PyObject_GetAttrString((PyObject *)Py_TYPE(o), "_type_");
        if (item == NULL)
            return -1;
        r = PyType_Check(item) && PyType_IsSubtype((PyTypeObject *)item, (PyTypeObject *)cls);
        Py_DECREF(item);
    }
    return r;
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
    if (is_result(o)) {   /* codegen's value_cached() rules these out */
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
