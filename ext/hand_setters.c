/* Wrappers of the setters family (spec/functions_setters.nvml) that fit no pattern of the
 * spec, because nvidia-ml-py's Python arguments are not NVML's parameters:
 *
 *   - setters whose struct nvidia-ml-py builds from plain arguments (a mode, a limit, a
 *     host name): we fill the struct the same way, version word included;
 *   - getters whose outputs may also go to ctypes objects the caller passes
 *     (nvmlDeviceGetMinMaxFanSpeed(handle, minSpeed=c_uint(), maxSpeed=c_uint())): a
 *     c_uint/c_int (the exact type) is filled and the values are returned; anything else
 *     ctypes can point through (byref(x), pointer(x)) is filled and NVML_SUCCESS returned,
 *     as nvidia-ml-py's isReference branch does (an int 0 there is NULL to NVML, as
 *     ctypes passes it);
 *   - CPU and memory affinity, whose array length is the caller's argument: a ctypes
 *     array of as many c_ulonglong, as nvidia-ml-py returns.
 *
 * The GIL is released around every NVML call; the simulator's entry points are generated.
 */
#include "pynvml.h"

#include <string.h>

#define UNPACK(fname, names, nmin, nmax, argv)                                       \
    if (pn_unpack(fname, args, nargs, kwnames, names, nmin, nmax, argv) < 0)        \
        return NULL

/* h_<name>, NVML's <name> through a helper shared by several:
 *     helper(module, args, nargs, kwnames, "<name>", PN_SYM_<name>, names, ...)
 * where names are the Python argument names NAMES, given in parentheses (PN_ENTRY). */
#define WRAPPER_NAMES(...) __VA_ARGS__, NULL
#define WRAPPER(name, helper, NAMES, ...)                                                      \
    PN_ENTRY(h_##name, static const char *const names[] = {WRAPPER_NAMES NAMES};              \
             return helper(module, args, nargs, kwnames, #name, PN_SYM_##name, names, __VA_ARGS__);)

/* --- setters of a struct built from arguments -------------------------------------- */

/* nvmlDeviceSetDramEncryptionMode(handle, mode) -> None */
static PyObject *
h_nvmlDeviceSetDramEncryptionMode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"handle", "mode", NULL};
    static const char fname[] = "nvmlDeviceSetDramEncryptionMode";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlDevice_t dev;
    nvmlDramEncryptionInfo_t info;
    memset(&info, 0, sizeof info);
    info.version = nvmlDramEncryptionInfo_v1;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "mode", (unsigned int *)&info.encryptionState) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetDramEncryptionMode, pfn_nvmlDeviceSetDramEncryptionMode, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &info));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_RETURN_NONE;
}

/* nvmlDeviceSetPowerManagementLimit_v2(device, powerScope, powerLimit, version=nvmlPowerValue_v2)
 * -> NVML_SUCCESS.  (nvidia-ml-py returns NVML_SUCCESS without looking at NVML's answer;
 * ours raises NVML's error, as every other setter does.) */
static PyObject *
h_nvmlDeviceSetPowerManagementLimit_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"device", "powerScope", "powerLimit", "version", NULL};
    static const char fname[] = "nvmlDeviceSetPowerManagementLimit_v2";
    pn_state *st = pn_get_state(module);
    PyObject *argv[4];
    UNPACK(fname, names, 3, 4, argv);
    nvmlDevice_t dev;
    nvmlPowerValue_v2_t v;
    memset(&v, 0, sizeof v);
    v.version = nvmlPowerValue_v2;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "powerScope", (unsigned int *)&v.powerScope) < 0 ||
        pn_arg_u32(argv[2], fname, "powerLimit", &v.powerValueMw) < 0 ||
        (argv[3] != NULL && pn_arg_u32(argv[3], fname, "version", &v.version) < 0))
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetPowerManagementLimit_v2, pfn_nvmlDeviceSetPowerManagementLimit_v2, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &v));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromLong(NVML_SUCCESS);
}

/* nvmlDeviceSetNvLinkDeviceLowPowerThreshold(device, l1threshold) -> NVML_SUCCESS */
static PyObject *
h_nvmlDeviceSetNvLinkDeviceLowPowerThreshold(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                             PyObject *kwnames)
{
    static const char *const names[] = {"device", "l1threshold", NULL};
    static const char fname[] = "nvmlDeviceSetNvLinkDeviceLowPowerThreshold";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlDevice_t dev;
    nvmlNvLinkPowerThres_t info;
    memset(&info, 0, sizeof info);
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "l1threshold", &info.lowPwrThreshold) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetNvLinkDeviceLowPowerThreshold, pfn_nvmlDeviceSetNvLinkDeviceLowPowerThreshold,
               fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &info));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromLong(NVML_SUCCESS);
}

/* nvmlDeviceSetHostname_v1(device, hostname) -> None; hostname: str or bytes of at most
 * 63 bytes (a longer one is a ValueError, as ctypes' char array gives). */
static PyObject *
h_nvmlDeviceSetHostname_v1(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"device", "hostname", NULL};
    static const char fname[] = "nvmlDeviceSetHostname_v1";
    pn_state *st = pn_get_state(module);
    PyObject *argv[2];
    UNPACK(fname, names, 2, 2, argv);
    nvmlDevice_t dev;
    const char *name;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_cstr(argv[1], fname, "hostname", &name) < 0)
        return NULL;
    nvmlHostname_v1_t h;
    memset(&h, 0, sizeof h);
    if (strlen(name) >= sizeof h.value) {
        PyErr_Format(PyExc_ValueError, "%s(): argument 'hostname' is longer than %d bytes", fname,
                     (int)sizeof h.value - 1);
        return NULL;
    }
    memcpy(h.value, name, strlen(name));
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetHostname_v1, pfn_nvmlDeviceSetHostname_v1, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &h));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    Py_RETURN_NONE;
}

/* nvmlSystemSetConfComputeKeyRotationThresholdInfo(max_atk_adv) -> NVML_SUCCESS */
static PyObject *
h_nvmlSystemSetConfComputeKeyRotationThresholdInfo(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                                   PyObject *kwnames)
{
    static const char *const names[] = {"max_atk_adv", NULL};
    static const char fname[] = "nvmlSystemSetConfComputeKeyRotationThresholdInfo";
    pn_state *st = pn_get_state(module);
    PyObject *argv[1];
    UNPACK(fname, names, 1, 1, argv);
    nvmlConfComputeSetKeyRotationThresholdInfo_t info;
    memset(&info, 0, sizeof info);
    info.version = ConfComputeSetKeyRotationThresholdInfo_v1;
    if (pn_arg_u64(argv[0], fname, "max_atk_adv", &info.maxAttackerAdvantage) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlSystemSetConfComputeKeyRotationThresholdInfo,
               pfn_nvmlSystemSetConfComputeKeyRotationThresholdInfo, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(&info));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromLong(NVML_SUCCESS);
}

/* --- outputs that may go to the caller's ctypes objects ------------------------------ */

/* Whether o is exactly ctypes.<ctype> (nvidia-ml-py's `type(x) is c_uint`). */
static int
is_exact_ctype(PyObject *o, const char *ctype)
{
    PyObject *ctypes = PyImport_ImportModule("ctypes");
    if (ctypes == NULL)
        return -1;
    PyObject *t = PyObject_GetAttrString(ctypes, ctype);
    Py_DECREF(ctypes);
    if (t == NULL)
        return -1;
    int r = (PyObject *)Py_TYPE(o) == t;
    Py_DECREF(t);
    return r;
}

/* The ctypes object that o is or points to (byref(x)._obj, pointer(x).contents), with a
 * `value`; a TypeError otherwise (checked before NVML is called). */
static PyObject *
target_of(PyObject *o, const char *fname, const char *argname)
{
    PyObject *t = NULL;
    if (PyObject_HasAttrString(o, "_obj"))
        t = PyObject_GetAttrString(o, "_obj");         /* byref(x) */
    else if (PyObject_HasAttrString(o, "contents") && !PyType_Check(o))
        t = PyObject_GetAttrString(o, "contents");     /* pointer(x) */
    else {
        t = o;
        Py_INCREF(t);
    }
    if (t == NULL)
        return NULL;
    /* a ctypes simple object: has `value` and is no Python int, str, ... */
    if (!PyObject_HasAttrString(t, "value") || !PyObject_HasAttrString(t, "_type_") || PyLong_Check(t) ||
        PyType_Check(t)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a ctypes integer, byref() or pointer() of one, "
                     "not %.100s", fname, argname, Py_TYPE(o)->tp_name);
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

/* f(handle[, key], a=None, b=None): NVML's two (or one) outputs, also written to a and b
 * where given.  nout outputs; keyed: one u32 input after the handle. */
static PyObject *
outs_to_refs(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname, int sym,
             const char *const *names, int keyed, int nout, int is_signed, int as_list)
{
    pn_state *st = pn_get_state(module);
    PyObject *argv[4] = {NULL, NULL, NULL, NULL};
    int nin = 1 + keyed;
    if (pn_unpack(fname, args, nargs, kwnames, names, nin, nin + nout, argv) < 0)
        return NULL;
    nvmlDevice_t dev;
    unsigned int key = 0;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, names[0], (void **)&dev) < 0 ||
        (keyed && pn_arg_u32(argv[1], fname, names[1], &key) < 0))
        return NULL;
    PyObject *targets[2] = {NULL, NULL};
    int reference = 0, null_out = 0;
    PyObject *result = NULL;
    for (int i = 0; i < nout; i++) {
        PyObject *a = argv[nin + i];
        if (a == NULL || a == Py_None)
            continue;
        int overflow = 0;
        if (PyLong_CheckExact(a) && PyLong_AsLongAndOverflow(a, &overflow) == 0 && !overflow) {
            /* nvidia-ml-py passes 0 on as a NULL pointer.  A NULL-checking NVML answers
             * INVALID_ARGUMENT; the H200's nvmlDeviceGetGpcClkMinMaxVfOffset (driver
             * 580.159.04) crashed on it instead.  So NVML never sees the NULL: we answer
             * INVALID_ARGUMENT ourselves. */
            null_out = 1;
            continue;
        }
        int exact = is_exact_ctype(a, is_signed ? "c_int" : "c_uint");
        if (exact < 0 || (targets[i] = target_of(a, fname, names[nin + i])) == NULL)
            goto done;
        reference |= !exact;
    }
    if (null_out) {                 /* every argument checked first, then this */
        pn_raise(st, NVML_ERROR_INVALID_ARGUMENT);
        goto done;
    }
    nvmlReturn_t rc;
    unsigned int u[2] = {0, 0};
    void *fnp = st->syms[sym];
    if (fnp == NULL)
        fnp = pn_resolve(st, sym);
    if (fnp == NULL)
        goto done;
    if (keyed) {
        nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int, unsigned int *) = fnp;
        PN_NVML_CALL(rc, fn(dev, key, &u[0]));
    } else {
        nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int *, unsigned int *) = fnp;
        PN_NVML_CALL(rc, fn(dev, &u[0], &u[1]));
    }
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto done;
    }
    PyObject *vals[2] = {NULL, NULL};
    for (int i = 0; i < nout; i++) {
        vals[i] = is_signed ? PyLong_FromLong((int)u[i]) : PyLong_FromUnsignedLong(u[i]);
        if (vals[i] == NULL || (targets[i] && PyObject_SetAttrString(targets[i], "value", vals[i]) < 0)) {
            Py_XDECREF(vals[0]);
            Py_XDECREF(vals[1]);
            goto done;
        }
    }
    if (reference) {
        Py_XDECREF(vals[0]);
        Py_XDECREF(vals[1]);
        result = PyLong_FromLong(NVML_SUCCESS);
    } else if (nout == 1) {
        result = vals[0];
    } else {
        result = as_list ? Py_BuildValue("[NN]", vals[0], vals[1]) : Py_BuildValue("(NN)", vals[0], vals[1]);
    }
done:
    Py_XDECREF(targets[0]);
    Py_XDECREF(targets[1]);
    return result;
}

/*      NVML's name                        Python argument names                      keyed nout signed list */
WRAPPER(nvmlDeviceGetMinMaxFanSpeed,       outs_to_refs, ("handle", "minSpeed", "maxSpeed"),   0, 2, 0, 1)
WRAPPER(nvmlDeviceGetGpcClkMinMaxVfOffset, outs_to_refs, ("device", "minOffset", "maxOffset"), 0, 2, 1, 0)
WRAPPER(nvmlDeviceGetMemClkMinMaxVfOffset, outs_to_refs, ("device", "minOffset", "maxOffset"), 0, 2, 1, 0)
WRAPPER(nvmlDeviceGetFanControlPolicy_v2,  outs_to_refs, ("handle", "fan", "fanControlPolicy"), 1, 1, 0, 0)

/* --- CPU and memory affinity: as many words as the caller asks for ------------------ */

#define PN_MAX_AFFINITY_WORDS 65536   /* 4M CPUs or NUMA nodes: a larger size is a ValueError */

/* (ctypes.c_ulonglong * n)(*words): the array nvidia-ml-py returns. */
static PyObject *
ulonglong_array(const unsigned long *words, unsigned int n)
{
    PyObject *ctypes = PyImport_ImportModule("ctypes");
    if (ctypes == NULL)
        return NULL;
    PyObject *el = PyObject_GetAttrString(ctypes, "c_ulonglong");
    Py_DECREF(ctypes);
    if (el == NULL)
        return NULL;
    PyObject *len = PyLong_FromUnsignedLong(n);
    PyObject *type = len ? PyNumber_Multiply(el, len) : NULL;
    Py_DECREF(el);
    Py_XDECREF(len);
    if (type == NULL)
        return NULL;
    PyObject *arr = PyObject_CallNoArgs(type);
    Py_DECREF(type);
    for (unsigned int i = 0; arr != NULL && i < n; i++) {
        PyObject *w = PyLong_FromUnsignedLong(words[i]);
        if (w == NULL || PySequence_SetItem(arr, i, w) < 0)
            Py_CLEAR(arr);
        Py_XDECREF(w);
    }
    return arr;
}

static PyObject *
affinity(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname, int sym,
         const char *const *names, int scoped)
{
    pn_state *st = pn_get_state(module);
    PyObject *argv[3];
    if (pn_unpack(fname, args, nargs, kwnames, names, 2 + scoped, 2 + scoped, argv) < 0)
        return NULL;
    nvmlDevice_t dev;
    unsigned int size, scope = 0;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, names[0], (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, names[1], &size) < 0 ||
        (scoped && pn_arg_u32(argv[2], fname, names[2], &scope) < 0))
        return NULL;
    if (size > PN_MAX_AFFINITY_WORDS) {
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' must be at most %d words, got %u", fname, names[1],
                     PN_MAX_AFFINITY_WORDS, size);
        return NULL;
    }
    void *fnp = st->syms[sym];
    if (fnp == NULL && (fnp = pn_resolve(st, sym)) == NULL)
        return NULL;
    /* room for one word when size is 0: NVML gets a valid pointer and answers the size */
    unsigned long *words = PyMem_Calloc(size ? size : 1, sizeof *words);
    if (words == NULL)
        return PyErr_NoMemory();
    nvmlReturn_t rc;
    if (scoped) {
        nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int, unsigned long *, unsigned int) = fnp;
        PN_NVML_CALL(rc, fn(dev, size, words, scope));
    } else {
        nvmlReturn_t (*fn)(nvmlDevice_t, unsigned int, unsigned long *) = fnp;
        PN_NVML_CALL(rc, fn(dev, size, words));
    }
    PyObject *arr = NULL;
    if (rc != NVML_SUCCESS)
        pn_raise(st, rc);
    else
        arr = ulonglong_array(words, size);
    PyMem_Free(words);
    return arr;
}

/*      NVML's name                          Python argument names                   scoped */
WRAPPER(nvmlDeviceGetCpuAffinity,            affinity, ("handle", "cpuSetSize"),              0)
WRAPPER(nvmlDeviceGetCpuAffinityWithinScope, affinity, ("handle", "cpuSetSize", "scope"),     1)
WRAPPER(nvmlDeviceGetMemoryAffinity,         affinity, ("handle", "nodeSetSize", "scope"),    1)

/* nvmlDeviceClearFieldValues(handle, fieldIds): nvmlDeviceGetFieldValues' arguments and
 * result (a list of c_nvmlFieldValue_t, each entry's nvmlReturn set; nvidia-ml-py returns
 * its ctypes array of them). */
static PyObject *
h_nvmlDeviceClearFieldValues(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return pn_field_values(module, args, nargs, kwnames, "nvmlDeviceClearFieldValues",
                           PN_SYM_nvmlDeviceClearFieldValues);
}

#define FAST(name, doc) \
    {#name, (PyCFunction)(void (*)(void))h_##name, METH_FASTCALL | METH_KEYWORDS, doc}

PyMethodDef pn_hand_setters_methods[] = {
    FAST(nvmlDeviceSetDramEncryptionMode,
         "nvmlDeviceSetDramEncryptionMode(handle, mode)\n--\n\nSet the pending DRAM encryption mode."),
    FAST(nvmlDeviceSetPowerManagementLimit_v2,
         "nvmlDeviceSetPowerManagementLimit_v2(device, powerScope, powerLimit, version=nvmlPowerValue_v2)\n--\n\n"
         "Set the power limit (mW) of a scope; returns NVML_SUCCESS."),
    FAST(nvmlDeviceSetNvLinkDeviceLowPowerThreshold,
         "nvmlDeviceSetNvLinkDeviceLowPowerThreshold(device, l1threshold)\n--\n\n"
         "Set the NVLink low power threshold; returns NVML_SUCCESS."),
    FAST(nvmlDeviceSetHostname_v1, "nvmlDeviceSetHostname_v1(device, hostname)\n--\n\nSet the GPU's host name."),
    FAST(nvmlSystemSetConfComputeKeyRotationThresholdInfo,
         "nvmlSystemSetConfComputeKeyRotationThresholdInfo(max_atk_adv)\n--\n\n"
         "Set the key rotation threshold (attacker advantage); returns NVML_SUCCESS."),
    FAST(nvmlDeviceGetMinMaxFanSpeed,
         "nvmlDeviceGetMinMaxFanSpeed(handle, minSpeed=None, maxSpeed=None)\n--\n\n"
         "[min, max] fan speed (%); ctypes objects passed are filled (byref/pointer: returns NVML_SUCCESS)."),
    FAST(nvmlDeviceGetGpcClkMinMaxVfOffset,
         "nvmlDeviceGetGpcClkMinMaxVfOffset(device, minOffset=None, maxOffset=None)\n--\n\n"
         "(min, max) GPC clock VF offset; ctypes objects passed are filled (byref/pointer: returns NVML_SUCCESS)."),
    FAST(nvmlDeviceGetMemClkMinMaxVfOffset,
         "nvmlDeviceGetMemClkMinMaxVfOffset(device, minOffset=None, maxOffset=None)\n--\n\n"
         "(min, max) memory clock VF offset; ctypes objects passed are filled (byref/pointer: returns NVML_SUCCESS)."),
    FAST(nvmlDeviceGetFanControlPolicy_v2,
         "nvmlDeviceGetFanControlPolicy_v2(handle, fan, fanControlPolicy=None)\n--\n\n"
         "The fan's control policy; a ctypes object passed is filled (byref/pointer: returns NVML_SUCCESS)."),
    FAST(nvmlDeviceGetCpuAffinity,
         "nvmlDeviceGetCpuAffinity(handle, cpuSetSize)\n--\n\nThe ideal CPUs of the GPU: cpuSetSize words of a bit mask."),
    FAST(nvmlDeviceGetCpuAffinityWithinScope,
         "nvmlDeviceGetCpuAffinityWithinScope(handle, cpuSetSize, scope)\n--\n\n"
         "The GPU's CPUs within a scope (NVML_AFFINITY_SCOPE_NODE/SOCKET): cpuSetSize words of a bit mask."),
    FAST(nvmlDeviceGetMemoryAffinity,
         "nvmlDeviceGetMemoryAffinity(handle, nodeSetSize, scope)\n--\n\n"
         "The GPU's NUMA nodes within a scope: nodeSetSize words of a bit mask."),
    FAST(nvmlDeviceClearFieldValues,
         "nvmlDeviceClearFieldValues(handle, fieldIds)\n--\n\n"
         "Clear field values (NVML_FI_* ints or (fieldId, scopeId) pairs); a c_nvmlFieldValue_t per id."),
    {NULL, NULL, 0, NULL},
};
