/* Internal interface of the _nvml extension: module state and the helpers that the
 * generated wrappers (generated/wrappers.c.h) and the hand-written files share.
 *
 * Files, one job each:
 *   module.c    module init, state, constants, method table
 *   gil.h       when a wrapper releases the GIL around its NVML call (PN_NVML_BEGIN/END)
 *   loader.c    dlopen of libnvidia-ml, lazy symbol resolution, init/shutdown refcount
 *   fnptr_hook.c  a client's pynvml._nvmlGetFunctionPointer honoured (as nvidia-ml-py's)
 *   errors.c    raising NVML return codes as NVMLError (classes: src/pynvml/_errors.py)
 *   handles.c   opaque handle types (devices, units, event sets, ...)
 *   structs.c   struct/union types built from the generated field tables
 *   convert.c   argument parsing and conversion, C string decoding
 *   post.c      result converters for calls whose Python result has its own shape
 *   hand_*.c    wrappers for the calls that fit no pattern (each file says why)
 *   smi_*.c     the nvidia-smi query engine (pynvml.smi)
 *   docs.c      the hand-written functions' docstrings joined with the spec's words
 *   batch.c     batch queries: many (device, metric) pairs, NVML calls made concurrently
 */
#ifndef PYNVML_H
#define PYNVML_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stddef.h>

#include "gil.h"
#include "nvml_decls.h"

/* What NVML reports for a 64-bit value it does not have (NVML_VALUE_NOT_AVAILABLE). */
#define PN_VALUE_NOT_AVAILABLE 0xFFFFFFFFFFFFFFFFull

/* Handle kinds, in the order of generated/nvml_decls.h's PN_HANDLE_* list. */
typedef struct {
    PyObject_HEAD
    void *ptr;              /* the NVML handle */
    unsigned long epoch;    /* pn_state.epoch when it was made */
    int freed;              /* given to nvmlEventSetFree / nvmlGpmSampleFree / ... */
} pn_handle;

/* A struct or union object: an instance of a real ctypes.Structure / ctypes.Union
 * subclass (structs.c says why), so its layout begins as ctypes' CDataObject does
 * (Modules/_ctypes/ctypes.h, the same in CPython 3.9 to 3.13; structs.c checks it against
 * a live ctypes object before making the first class).  `data` (ctypes' b_ptr) points at
 * the C bytes: inside the object for one we made, at b_value or ctypes' own buffer for
 * one ctypes made, or into `base`'s bytes for a view of a nested field or an array item. */
typedef struct {
    PyObject_HEAD
    char *data;             /* b_ptr */
    int needsfree;          /* b_needsfree: ctypes frees an outside buffer */
    PyObject *base;         /* b_base: the object whose bytes these are, or NULL */
    Py_ssize_t size;        /* b_size */
    Py_ssize_t length;      /* b_length */
    Py_ssize_t index;       /* b_index */
    PyObject *objects;      /* b_objects: what ctypes (or a wrapper) keeps alive */
    union { char c[16]; long double ld; } value;   /* b_value */
} pn_struct;

typedef struct {
    /* the loaded library */
    void *lib;
    char *lib_path;                 /* what dlopen was given */
    char *sim_path;                 /* the simulator shipped with the package */
    void *syms[PN_NSYMS];           /* resolved entry points, NULL until first use */
    long refcount;                  /* successful inits minus shutdowns */
    long real_refs;                 /* NVML's inits made through us, not yet shut down */
    unsigned int real_flags;        /* the flags of the init that took refcount from 0 */
    unsigned long epoch;            /* bumped when the last shutdown invalidates handles */
    unsigned long forks_seen;       /* pn_fork_count when state was last checked */
    /* types */
    PyObject *NVMLError;            /* pynvml.NVMLError, set from Python (_configure) */
    PyObject *code_to_class;        /* NVMLError._valClassMapping: code -> subclass */
    PyObject *handle_types[PN_NHANDLES];
    PyObject *struct_types[PN_NSTRUCTS];   /* the classes (ctypes types), made on first use */
    PyObject *result_types[PN_NSTRUCTS];   /* their value-slot subclasses (structs.c), or NULL */
    PyObject *ctypes;               /* the ctypes module, once a class was made */
    PyObject *friendly_class;       /* pynvml.nvmlFriendlyObject, set from Python */
    PyObject *live;                 /* {(kind, address): epoch}: event sets, GPM samples not freed */
    struct pn_waiting *waiting;     /* objects a wait is using with the GIL released (hand_events.c) */
    PyObject *module;               /* the module this state belongs to (borrowed) */
    /* fnptr_hook.c: set while a client has changed pynvml._nvmlGetFunctionPointer */
    int fnptr_hooked;
    PyObject *hook_resolve;         /* name -> address of the entry point to call */
    PyObject *hook_call;            /* (name, args, kwargs) -> result, or NotImplemented */
} pn_state;

static inline pn_state *pn_get_state(PyObject *module) {
    return (pn_state *)PyModule_GetState(module);
}

/* loader.c */
extern volatile unsigned long pn_fork_count;
void *pn_resolve(pn_state *st, int sym);
int pn_check_fork(pn_state *st);
PyObject *pn_init_with_flags(pn_state *st, unsigned int flags);
PyObject *pn_shutdown(pn_state *st);
int pn_loader_setup(pn_state *st);
/* 1 when the caller's last nvmlShutdown left NVML initialized for the grace period only:
 * calls answer NVML_ERROR_UNINITIALIZED as after a real shutdown. */
int pn_layer_uninitialized(pn_state *st);
PyObject *pn_release_now(pn_state *st);
PyObject *pn_release_pending(pn_state *st);

#define PN_RESOLVE(st, IDX, TYPE, var)                               \
    TYPE var = (TYPE)(st)->syms[IDX];                                 \
    if (var == NULL && (var = (TYPE)pn_resolve((st), (IDX))) == NULL) \
        return NULL

/* rc = expr, an NVML call, between PN_NVML_BEGIN and PN_NVML_END (gil.h): one statement. */
#define PN_NVML_CALL(rc, expr) \
    do {                       \
        PN_NVML_BEGIN          \
        (rc) = (expr);         \
        PN_NVML_END            \
    } while (0)

/* fnptr_hook.c.  PN_HOOK_ENTRY(st, "pyname") opens the wrappers that clients fake through
 * _nvmlGetFunctionPointer with Python functions (spec option pyhook): while a client has
 * changed the lookup, it asks pynvml/_compat_names.py's call(), which calls such a fake as
 * nvidia-ml-py would (the wrapper returns its result), or gives the address of the ctypes
 * function the lookup gave, which the wrapper's PN_RESOLVE_HOOKED then takes: one lookup
 * per call, as in nvidia-ml-py.  Needs the wrapper's args, nargs and kwnames. */
extern PyMethodDef pn_hook_methods[];
void *pn_hook_resolve(pn_state *st, int sym);
int pn_hook_call(pn_state *st, const char *name, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                 PyObject **result, void **fn);
#define PN_HOOK_ENTRY(st, NAME)                                                            \
    void *pn_hooked_fn = NULL;                                                             \
    if ((st)->fnptr_hooked) {                                                              \
        PyObject *hooked_ = NULL;                                                          \
        if (pn_hook_call((st), (NAME), args, nargs, kwnames, &hooked_, &pn_hooked_fn) != 0) \
            return hooked_;                                                                \
    }
#define PN_RESOLVE_HOOKED(st, IDX, TYPE, var)                                    \
    TYPE var = pn_hooked_fn != NULL ? (TYPE)pn_hooked_fn : (TYPE)(st)->syms[IDX]; \
    if (var == NULL && (var = (TYPE)pn_resolve((st), (IDX))) == NULL)             \
        return NULL

/* errors.c */
PyObject *pn_raise(pn_state *st, int code);

/* handles.c */
int pn_handles_setup(PyObject *module, pn_state *st);
PyObject *pn_handle_new(pn_state *st, int kind, void *ptr);
int pn_handle_track(pn_state *st, int kind, void *ptr);
void pn_handle_untrack(pn_state *st, int kind, void *ptr, PyObject *obj);
int pn_handle_is_live(pn_state *st, int kind, void *ptr);
int pn_arg_handle_checked(pn_state *st, PyObject *o, int kind, const char *fname, const char *argname,
                          void **out);
/* Kinds of objects that the caller frees (nvmlEventSetFree, ...): handles.c tracks them. */
static inline int
pn_handle_kind_tracked(int kind)
{
    return kind == PN_HANDLE_EventSet || kind == PN_HANDLE_GpmSample || kind == PN_HANDLE_SystemEventSet;
}
/* A handle argument: the common case (a current handle of the right kind, of a kind that is
 * never freed: devices, instances, units) inline; anything else (stale, freeable, another
 * kind, a ctypes pointer, junk) through pn_arg_handle_checked.  `kind` is a constant at
 * each call, so the test of it costs nothing. */
static inline int
pn_arg_handle(pn_state *st, PyObject *o, int kind, const char *fname, const char *argname, void **out)
{
    if (!pn_handle_kind_tracked(kind) && Py_TYPE(o) == (PyTypeObject *)st->handle_types[kind] &&
        pn_fork_count == st->forks_seen &&
        ((pn_handle *)o)->epoch == st->epoch) {
        *out = ((pn_handle *)o)->ptr;
        return 0;
    }
    return pn_arg_handle_checked(st, o, kind, fname, argname, out);
}

/* structs.c */
typedef struct {
    const char *name;           /* the Python name */
    const char *cname;          /* nvml.h's name of the member */
    unsigned int offset;
    unsigned char kind;         /* PN_K_* */
    unsigned int count;         /* 0: a single value; N: a fixed array (char: buffer size) */
    int sub;                    /* PN_STRUCT_* of a nested struct, PN_HANDLE_* of a handle, else -1 */
    const char *fmt;            /* str() format, NULL for the struct's default */
    const char *ctype;          /* the ctypes type name `_fields_` gives, e.g. "c_uint_Array_8" */
    unsigned char bits;         /* nvidia-ml-py's bit field: only the low bits count; 0: all */
} pn_field;

typedef struct {
    unsigned int field;         /* index of a scalar field */
    unsigned long long value;   /* its value in a new object */
} pn_default;

typedef struct pn_struct_def {
    const char *pyname;
    const char *cname;
    unsigned int size;
    unsigned int align;
    const pn_field *fields;
    unsigned int nfields;
    const char *fmt_default;
    int printable;
    int version_field;          /* index of the `version` field, or -1 */
    unsigned int version;       /* the struct's version word */
    int has_pointers;           /* holds pointers or handles NVML follows: read-only buffer */
    const pn_default *defaults; /* field values of a new object (nvidia-ml-py's __init__) */
    unsigned int ndefaults;
    int nonabi;                 /* our own C name: nvml.h has no struct of this layout */
    int cached;                 /* fields read from value slots (structs.c, "Value slots") */
    int is_union;               /* a union: a ctypes.Union subclass */
    const char *attr;           /* nvidia-ml-py's __init__ sets this attribute, no field, or NULL */
    unsigned long long attr_value;   /* to this */
} pn_struct_def;

/* Field kinds: the scalars (in this order), then a char buffer (char[N], read as str),
 * a nested struct or union, one char, a pointer (T* or void*: ctypes' own field), a C
 * string pointer (char *, read as str), a handle, and a handle the bindings have no
 * class for (read as its address, set to None only). */
enum { PN_K_U8, PN_K_U16, PN_K_U32, PN_K_I32, PN_K_U64, PN_K_I64, PN_K_ULONG, PN_K_F64,
       PN_K_CHARS, PN_K_STRUCT, PN_K_CHAR, PN_K_PTR, PN_K_CSTR, PN_K_HANDLE, PN_K_OPAQUE };

extern const pn_struct_def pn_struct_defs[PN_NSTRUCTS];
int pn_structs_setup(PyObject *module, pn_state *st);
PyObject *pn_struct_make_type(pn_state *st, int sidx);
/* The class of struct sidx (borrowed), made on first use: NULL with an exception if it
 * cannot be made. */
static inline PyObject *pn_struct_type(pn_state *st, int sidx) {
    PyObject *t = st->struct_types[sidx];
    return t != NULL ? t : pn_struct_make_type(st, sidx);
}
PyObject *pn_struct_getattr(PyObject *module, PyObject *name);
PyObject *pn_struct_dir(PyObject *module, PyObject *ignored);
PyObject *pn_struct_lazy_names(PyObject *module, PyObject *ignored);
PyObject *pn_struct_result_class(PyObject *module, PyObject *cls);
PyObject *pn_struct_new(pn_state *st, int sidx, const void *data);
PyObject *pn_struct_list(pn_state *st, int sidx, const void *arr, size_t size, size_t n);
int pn_arg_struct(pn_state *st, PyObject *o, int sidx, const char *fname, const char *argname, void **out);
int pn_struct_changed(PyObject *o);   /* after C wrote into o's bytes */
int pn_struct_keep(PyObject *o, PyObject *keep);
int pn_is_struct_array(pn_state *st, PyObject *o, int sidx);   /* a ctypes array of struct sidx? */   /* keep `keep` alive with o (NULL: forget) */
PyObject *pn_struct_layouts(PyObject *module, PyObject *ignored);

/* convert.c */
int pn_unpack(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
              const char *const *names, int nmin, int nmax, PyObject **out);
int pn_arg_u64_range(PyObject *o, const char *fname, const char *argname,
                     unsigned long long max, unsigned long long *out);
int pn_arg_i64_range(PyObject *o, const char *fname, const char *argname,
                     long long min, long long max, long long *out);
int pn_arg_cstr(PyObject *o, const char *fname, const char *argname, const char **out);
PyObject *pn_arg_tuple(PyObject *o, const char *msg);
PyObject *pn_decode(const char *buf, size_t cap);

/* The integer arguments: an exact int in range converts inline; anything else (an
 * __index__ object, out of range, not an int) goes through pn_arg_*_range, which also
 * words the error. */
static inline int pn_arg_u32(PyObject *o, const char *f, const char *a, unsigned int *out) {
    if (PyLong_CheckExact(o)) {
        unsigned long u = PyLong_AsUnsignedLong(o);
        if (u == (unsigned long)-1 && PyErr_Occurred())
            PyErr_Clear();   /* negative or too big: the slow path says so */
        else if (u <= 0xFFFFFFFFul) {
            *out = (unsigned int)u;
            return 0;
        }
    }
    unsigned long long v;
    if (pn_arg_u64_range(o, f, a, 0xFFFFFFFFull, &v) < 0) return -1;
    *out = (unsigned int)v;
    return 0;
}
static inline int pn_arg_i32(PyObject *o, const char *f, const char *a, int *out) {
    if (PyLong_CheckExact(o)) {
        int overflow;
        long l = PyLong_AsLongAndOverflow(o, &overflow);
        if (!overflow && l >= -0x80000000L && l <= 0x7FFFFFFFL) {
            *out = (int)l;
            return 0;
        }
    }
    long long v;
    if (pn_arg_i64_range(o, f, a, -0x80000000LL, 0x7FFFFFFFLL, &v) < 0) return -1;
    *out = (int)v;
    return 0;
}
static inline int pn_arg_u64(PyObject *o, const char *f, const char *a, unsigned long long *out) {
    return pn_arg_u64_range(o, f, a, ~0ull, out);
}
static inline int pn_arg_i64(PyObject *o, const char *f, const char *a, long long *out) {
    return pn_arg_i64_range(o, f, a, (-0x7FFFFFFFFFFFFFFFLL - 1), 0x7FFFFFFFFFFFFFFFLL, out);
}

/* post.c */
PyObject *pn_post_processes(pn_state *st, PyObject *result);
PyObject *pn_post_retired_pages_v2(pn_state *st, PyObject *result);

/* hand_*.c */
/* The parameters of a METH_FASTCALL | METH_KEYWORDS function, and PN_ENTRY(h_name, body):
 * such a function whose body is a statement or two.  A PyMethodDef holds no data for its
 * function, so entry points that share one implementation and tell it which call they
 * are each need a function of their own: the hand_*.c files write those with these. */
#define PN_FASTCALL_PARAMS PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames
#define PN_ENTRY(NAME, ...) \
    static PyObject *NAME(PN_FASTCALL_PARAMS) { __VA_ARGS__ }
extern PyMethodDef pn_hand_methods[];
extern PyMethodDef pn_hand_mig_methods[];   /* hand_mig.c */
extern PyMethodDef pn_hand_events_methods[];
extern PyMethodDef pn_hand_getters_methods[];   /* hand_getters.c */
extern PyMethodDef pn_hand_vgpu_methods[];     /* hand_vgpu.c */
extern PyMethodDef pn_hand_setters_methods[];
extern PyMethodDef pn_hand_prm_methods[];     /* hand_prm.c */
PyObject *pn_field_values(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                          const char *fname, int sym);   /* hand_core.c: Get/ClearFieldValues */

/* smi_query.c: the nvidia-smi query engine behind pynvml.smi */
extern PyMethodDef pn_smi_methods[];

/* docs.c: the spec's words added to the docstrings of these method tables */
void pn_docs_apply(PyMethodDef *const *tables, size_t ntables);
/* batch.c: n jobs run on up to n threads, the caller's among them (parallel 0: all on
 * the caller's); no Python in a job, the GIL released by the caller. */
typedef void (*pn_job_fn)(void *arg, size_t i);
void pn_run_jobs(size_t njobs, pn_job_fn fn, void *arg, int parallel);
extern PyMethodDef pn_batch_methods[];
/* One (device, item) pair of a batch query: a device by index or by handle; the engine
 * (pn_smi_batch, smi_query.c) sets value (a new reference) or, where NULL, rc. */
typedef struct {
    int item;
    int by_index;
    unsigned int index;
    void *dev;
    PyObject *value;
    int rc;
} pn_batch_pair;
int pn_smi_item_count(void);
int pn_smi_batch(pn_state *st, pn_batch_pair *pairs, size_t n);

/* generated/wrappers.c.h */
extern PyMethodDef pn_generated_methods[];

#endif
