/* MIG wrappers that fit no pattern of the spec (spec/functions_mig.nvml names them `hand`):
 *
 * - the profile-info calls, whose `version` argument picks the entry point and the struct
 *   (2: the ...V call and a _v2 struct, 1: the plain call, else NVMLError(FUNCTION_NOT_FOUND)),
 *   as nvidia-ml-py's do;
 * - nvmlGpuInstanceSetVgpuHeterogeneousMode, whose int goes into a versioned struct;
 * - the GI's vGPU id lists, in structs that point to an array of the caller's;
 * - the instance and placement lists, which nvidia-ml-py takes as the caller's ctypes
 *   array and count (…Ref, …Ref), filled in place.  Ours do the same when given them (any
 *   writable buffer: a ctypes array, or byref()/pointer() of one; the count a c_uint, or
 *   byref()/pointer() of one) and otherwise return a list.  NVML is always handed an
 *   array of ours big enough for every instance of the profile (NVML writes as many as
 *   exist, trusting the array); what does not fit the caller's is NVMLError_InsufficientSize
 *   rather than memory overwritten.
 */
#include "pynvml.h"

#include <stddef.h>
#include <string.h>

/* ENTRY(h_name, impl, arg): the Python entry point h_name, impl(..., arg) (PN_ENTRY). */
#define ENTRY(NAME, IMPL, ARG) PN_ENTRY(NAME, return IMPL(module, args, nargs, kwnames, ARG);)

/* --- profile info, by version ------------------------------------------------------------ */

static int
version_arg(PyObject *o, const char *fname, unsigned int *version)
{
    if (o == NULL || o == Py_None) {
        *version = o == NULL ? 2 : 0;   /* None: no version, NVMLError(FUNCTION_NOT_FOUND) as nvidia-ml-py */
        return 0;
    }
    return pn_arg_u32(o, fname, "version", version);
}

/* The profile-info calls, each version its own entry point and struct. */
enum { P_GI_V1, P_GI_V2, P_CI_V1, P_CI_V2 };

static const struct {
    int sym;                /* PN_SYM_* */
    int sidx;               /* PN_STRUCT_* */
    unsigned int version;   /* the struct's version word (its first member), 0: it has none */
} pinfos[] = {
    [P_GI_V1] = {PN_SYM_nvmlDeviceGetGpuInstanceProfileInfo, PN_STRUCT_nvmlGpuInstanceProfileInfo_t, 0},
    [P_GI_V2] = {PN_SYM_nvmlDeviceGetGpuInstanceProfileInfoV, PN_STRUCT_nvmlGpuInstanceProfileInfo_v2_t,
                 nvmlGpuInstanceProfileInfo_v2},
    [P_CI_V1] = {PN_SYM_nvmlGpuInstanceGetComputeInstanceProfileInfo, PN_STRUCT_nvmlComputeInstanceProfileInfo_t, 0},
    [P_CI_V2] = {PN_SYM_nvmlGpuInstanceGetComputeInstanceProfileInfoV,
                 PN_STRUCT_nvmlComputeInstanceProfileInfo_v2_t, nvmlComputeInstanceProfileInfo_v2},
};

/* Calls profile-info entry point `which` on owner (a device, or a GPU instance with
 * engProfile): the struct it filled, or NULL with the error raised. */
static PyObject *
profile_info_call(pn_state *st, int which, void *owner, unsigned int profile, unsigned int eng)
{
    PN_RESOLVE(st, pinfos[which].sym, void *, fn);
    union {
        nvmlGpuInstanceProfileInfo_t gi_v1;
        nvmlGpuInstanceProfileInfo_v2_t gi_v2;
        nvmlComputeInstanceProfileInfo_t ci_v1;
        nvmlComputeInstanceProfileInfo_v2_t ci_v2;
    } info;
    memset(&info, 0, sizeof info);
    if (pinfos[which].version != 0)   /* a v2 struct: its first member is the version */
        memcpy(&info, &pinfos[which].version, sizeof(unsigned int));
    nvmlReturn_t rc;
    PN_NVML_BEGIN
    switch (which) {   /* each through its own prototype */
    case P_GI_V1: rc = ((pfn_nvmlDeviceGetGpuInstanceProfileInfo)fn)(owner, profile, &info.gi_v1); break;
    case P_GI_V2: rc = ((pfn_nvmlDeviceGetGpuInstanceProfileInfoV)fn)(owner, profile, &info.gi_v2); break;
    case P_CI_V1:
        rc = ((pfn_nvmlGpuInstanceGetComputeInstanceProfileInfo)fn)(owner, profile, eng, &info.ci_v1);
        break;
    default: rc = ((pfn_nvmlGpuInstanceGetComputeInstanceProfileInfoV)fn)(owner, profile, eng, &info.ci_v2); break;
    }
    PN_NVML_END
    return rc ? pn_raise(st, rc) : pn_struct_new(st, pinfos[which].sidx, &info);
}

static PyObject *
gi_profile_info(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname)
{
    static const char *const names[] = {"device", "profile", "version", NULL};
    PyObject *argv[3];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    unsigned int profile, version;
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 3, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "profile", &profile) < 0 || version_arg(argv[2], fname, &version) < 0)
        return NULL;
    if (version != 1 && version != 2)
        return pn_raise(st, NVML_ERROR_FUNCTION_NOT_FOUND);
    return profile_info_call(st, version == 2 ? P_GI_V2 : P_GI_V1, dev, profile, 0);
}

ENTRY(h_nvmlDeviceGetGpuInstanceProfileInfo, gi_profile_info, "nvmlDeviceGetGpuInstanceProfileInfo")
ENTRY(h_nvmlDeviceGetGpuInstanceProfileInfoV, gi_profile_info, "nvmlDeviceGetGpuInstanceProfileInfoV")

static PyObject *
ci_profile_info(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname)
{
    /* nvidia-ml-py names the GPU instance `device` here */
    static const char *const names[] = {"device", "profile", "engProfile", "version", NULL};
    PyObject *argv[4];
    pn_state *st = pn_get_state(module);
    nvmlGpuInstance_t gi;
    unsigned int profile, eng, version;
    if (pn_unpack(fname, args, nargs, kwnames, names, 3, 4, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_GpuInstance, fname, "device", (void **)&gi) < 0 ||
        pn_arg_u32(argv[1], fname, "profile", &profile) < 0 ||
        pn_arg_u32(argv[2], fname, "engProfile", &eng) < 0 || version_arg(argv[3], fname, &version) < 0)
        return NULL;
    if (version != 1 && version != 2)
        return pn_raise(st, NVML_ERROR_FUNCTION_NOT_FOUND);
    return profile_info_call(st, version == 2 ? P_CI_V2 : P_CI_V1, gi, profile, eng);
}

ENTRY(h_nvmlGpuInstanceGetComputeInstanceProfileInfo, ci_profile_info, "nvmlGpuInstanceGetComputeInstanceProfileInfo")
ENTRY(h_nvmlGpuInstanceGetComputeInstanceProfileInfoV, ci_profile_info, "nvmlGpuInstanceGetComputeInstanceProfileInfoV")

/* --- lists: instances and placements --------------------------------------------------------- */

enum { L_GPU_INSTANCES, L_GI_PLACEMENTS, L_COMPUTE_INSTANCES, L_CI_PLACEMENTS };

typedef struct {
    const char *fname;
    const char *names[5];   /* owner, profileId, array ref, count ref */
    int owner_kind;         /* PN_HANDLE_* of the first argument */
    int elem_handle;        /* PN_HANDLE_* of an element, or -1 for a struct */
    int elem_struct;        /* PN_STRUCT_* of an element */
    size_t elsize;
    int can_query;          /* a NULL array asks for the count */
} list_def;

static const list_def lists[] = {
    [L_GPU_INSTANCES] = {"nvmlDeviceGetGpuInstances", {"device", "profileId", "gpuInstancesRef", "countRef", NULL},
                         PN_HANDLE_Device, PN_HANDLE_GpuInstance, 0, sizeof(nvmlGpuInstance_t), 0},
    [L_GI_PLACEMENTS] = {"nvmlDeviceGetGpuInstancePossiblePlacements",
                         {"device", "profileId", "placementsRef", "countRef", NULL}, PN_HANDLE_Device, -1,
                         PN_STRUCT_nvmlGpuInstancePlacement_t, sizeof(nvmlGpuInstancePlacement_t), 1},
    [L_COMPUTE_INSTANCES] = {"nvmlGpuInstanceGetComputeInstances",
                             {"gpuInstance", "profileId", "computeInstancesRef", "countRef", NULL},
                             PN_HANDLE_GpuInstance, PN_HANDLE_ComputeInstance, 0, sizeof(nvmlComputeInstance_t), 0},
    [L_CI_PLACEMENTS] = {"nvmlGpuInstanceGetComputeInstancePossiblePlacements",
                         {"gpuInstance", "profileId", "placementsRef", "countRef", NULL}, PN_HANDLE_GpuInstance, -1,
                         PN_STRUCT_nvmlComputeInstancePlacement_t, sizeof(nvmlComputeInstancePlacement_t), 1},
};

/* Room NVML is given for instances (it writes every one of the profile, up to its
 * instanceCount, without being told the size: 7 on an H100). */
#define INSTANCE_ROOM 64

/* Calls the list's entry point; arr NULL with can_query asks for the count. */
static nvmlReturn_t
call_list(pn_state *st, int which, void *owner, unsigned int profile, void *arr, unsigned int *count, int *resolved)
{
    nvmlReturn_t rc = NVML_ERROR_FUNCTION_NOT_FOUND;
    *resolved = 0;
#define CALL(SYM, T)                                                       \
    do {                                                                   \
        T fn = (T)st->syms[SYM];                                           \
        if (fn == NULL && (fn = (T)pn_resolve(st, SYM)) == NULL)           \
            return rc;                                                     \
        *resolved = 1;                                                     \
        PN_NVML_BEGIN                                             \
        rc = fn(owner, profile, arr, count);                               \
        PN_NVML_END                                               \
    } while (0)
    switch (which) {
    case L_GPU_INSTANCES: CALL(PN_SYM_nvmlDeviceGetGpuInstances, pfn_nvmlDeviceGetGpuInstances); break;
    case L_GI_PLACEMENTS:
        CALL(PN_SYM_nvmlDeviceGetGpuInstancePossiblePlacements_v2, pfn_nvmlDeviceGetGpuInstancePossiblePlacements_v2);
        break;
    case L_COMPUTE_INSTANCES:
        CALL(PN_SYM_nvmlGpuInstanceGetComputeInstances, pfn_nvmlGpuInstanceGetComputeInstances);
        break;
    default:
        CALL(PN_SYM_nvmlGpuInstanceGetComputeInstancePossiblePlacements,
             pfn_nvmlGpuInstanceGetComputeInstancePossiblePlacements);
    }
#undef CALL
    return rc;
}

/* The object a ctypes reference stands for: byref(x)._obj, pointer(x).contents, or o. */
static PyObject *
referent(PyObject *o)
{
    if (PyObject_HasAttrString(o, "_obj"))
        return PyObject_GetAttrString(o, "_obj");
    PyObject *cls = (PyObject *)Py_TYPE(o);
    if (PyObject_HasAttrString(cls, "_type_") && PyObject_HasAttrString(cls, "contents")) {
        PyObject *c = PyObject_GetAttrString(o, "contents");   /* ValueError for a NULL pointer */
        return c;
    }
    Py_INCREF(o);
    return o;
}

/* A writable buffer of at least `min` bytes behind a caller's reference. */
static int
writable(PyObject *o, Py_buffer *view, size_t min, const char *fname, const char *argname)
{
    PyObject *r = referent(o);
    if (r == NULL)
        return -1;
    int ok = PyObject_GetBuffer(r, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) == 0;
    Py_DECREF(r);
    if (!ok) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a writable ctypes object (or byref() of one), "
                     "not %.100s", fname, argname, Py_TYPE(o)->tp_name);
        return -1;
    }
    if ((size_t)view->len < min) {
        PyBuffer_Release(view);
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' has room for %zd bytes, fewer than %zu",
                     fname, argname, view->len, min);
        return -1;
    }
    return 0;
}

static PyObject *
list_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int which)
{
    const list_def *L = &lists[which];
    pn_state *st = pn_get_state(module);
    PyObject *argv[4];
    void *owner;
    unsigned int profile;
    if (pn_unpack(L->fname, args, nargs, kwnames, L->names, 2, 4, argv) < 0 ||
        pn_arg_handle(st, argv[0], L->owner_kind, L->fname, L->names[0], &owner) < 0 ||
        pn_arg_u32(argv[1], L->fname, L->names[1], &profile) < 0)
        return NULL;
    PyObject *aref = argv[2] == Py_None ? NULL : argv[2];
    PyObject *cref = argv[3] == Py_None ? NULL : argv[3];
    int ref_mode = aref != NULL || cref != NULL;
    Py_buffer abuf = {0}, cbuf = {0};
    if (aref != NULL && writable(aref, &abuf, L->elsize, L->fname, L->names[2]) < 0)
        return NULL;
    if (cref != NULL && writable(cref, &cbuf, sizeof(unsigned int), L->fname, L->names[3]) < 0) {
        if (aref != NULL)
            PyBuffer_Release(&abuf);
        return NULL;
    }
    PyObject *result = NULL;
    char *room = NULL;
    unsigned int count = 0, cap = INSTANCE_ROOM;
    int resolved;
    nvmlReturn_t rc = NVML_SUCCESS;
    if (L->can_query) {
        /* how many placements there are: the caller's count query, or ours before the list */
        rc = call_list(st, which, owner, profile, NULL, cref != NULL || !ref_mode ? &count : NULL, &resolved);
        if (!resolved)
            goto done;
        if (rc != NVML_SUCCESS || (ref_mode && aref == NULL)) {
            if (rc == NVML_SUCCESS && cref != NULL)
                memcpy(cbuf.buf, &count, sizeof count);
            goto finish;
        }
        cap = count;
    }
    else if (ref_mode && aref == NULL) {
        /* nvidia-ml-py would hand NVML a NULL array: NVML refuses it */
        rc = call_list(st, which, owner, profile, NULL, cref != NULL ? &count : NULL, &resolved);
        if (!resolved)
            goto done;
        goto finish;
    }
    room = PyMem_Calloc(cap ? cap : 1, L->elsize);
    if (room == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    count = cap;
    rc = call_list(st, which, owner, profile, room, ref_mode && cref == NULL ? NULL : &count, &resolved);
    if (!resolved)
        goto done;
    if (rc == NVML_SUCCESS && count > cap)
        count = cap;   /* never read past what we allocated */
    if (rc == NVML_SUCCESS && ref_mode) {
        memcpy(cbuf.buf, &count, sizeof count);
        if ((size_t)count * L->elsize > (size_t)abuf.len)
            rc = NVML_ERROR_INSUFFICIENT_SIZE;   /* NVML would have written past the caller's array */
        else
            memcpy(abuf.buf, room, (size_t)count * L->elsize);
    }
finish:
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto done;
    }
    if (ref_mode) {
        result = PyLong_FromLong(NVML_SUCCESS);
        goto done;
    }
    result = PyList_New(count);
    for (unsigned int i = 0; result != NULL && i < count; i++) {
        char *el = room + (size_t)i * L->elsize;
        PyObject *o = L->elem_handle >= 0 ? pn_handle_new(st, L->elem_handle, *(void **)el)
                                          : pn_struct_new(st, L->elem_struct, el);
        if (o == NULL)
            Py_CLEAR(result);
        else
            PyList_SET_ITEM(result, i, o);
    }
done:
    PyMem_Free(room);
    if (aref != NULL)
        PyBuffer_Release(&abuf);
    if (cref != NULL)
        PyBuffer_Release(&cbuf);
    return result;
}

ENTRY(h_nvmlDeviceGetGpuInstances, list_call, L_GPU_INSTANCES)
ENTRY(h_nvmlDeviceGetGpuInstancePossiblePlacements, list_call, L_GI_PLACEMENTS)
ENTRY(h_nvmlGpuInstanceGetComputeInstances, list_call, L_COMPUTE_INSTANCES)
ENTRY(h_nvmlGpuInstanceGetComputeInstancePossiblePlacements, list_call, L_CI_PLACEMENTS)

/* --- vGPU on a GPU instance --------------------------------------------------------------------- */

/* nvmlGpuInstanceSetVgpuHeterogeneousMode(gpuInstance, heterogeneous_mode): the mode is an
 * int that goes into a versioned struct, as nvidia-ml-py builds it. */
static PyObject *
h_nvmlGpuInstanceSetVgpuHeterogeneousMode(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char fname[] = "nvmlGpuInstanceSetVgpuHeterogeneousMode";
    static const char *const names[] = {"gpuInstance", "heterogeneous_mode", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlGpuInstance_t gi;
    nvmlVgpuHeterogeneousMode_v1_t mode;
    memset(&mode, 0, sizeof mode);
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_GpuInstance, fname, "gpuInstance", (void **)&gi) < 0 ||
        pn_arg_u32(argv[1], fname, "heterogeneous_mode", &mode.mode) < 0)
        return NULL;
    mode.version = VgpuHeterogeneousMode_v1;
    PN_RESOLVE(st, PN_SYM_nvmlGpuInstanceSetVgpuHeterogeneousMode, pfn_nvmlGpuInstanceSetVgpuHeterogeneousMode, fn);
    nvmlReturn_t rc;
    PN_NVML_BEGIN
    rc = fn(gi, &mode);
    PN_NVML_END
    return rc ? pn_raise(st, rc) : PyLong_FromLong(NVML_SUCCESS);
}

/* nvmlGpuInstanceGetActiveVgpus / GetCreatableVgpus / GetVgpuTypeCreatablePlacements(gpuInstance,
 * struct): the struct holds a count and a pointer to an array of ids that the caller provides.
 * nvidia-ml-py asks with a count of 0, then gives a ctypes array of the size NVML said; ours
 * does the same with an array that the struct object itself keeps alive (as its `base`), so
 * the pointer stays valid as long as the struct.  The struct is returned, filled. */
typedef struct {
    const char *fname;
    const char *argname;
    int sidx;
    size_t count_off, ptr_off;
    int sym;
} idlist_def;

enum { V_ACTIVE, V_CREATABLE, V_PLACEMENTS };

static const idlist_def idlists[] = {
    [V_ACTIVE] = {"nvmlGpuInstanceGetActiveVgpus", "c_vgpu_instance_info", PN_STRUCT_nvmlActiveVgpuInstanceInfo_v1_t,
                  offsetof(nvmlActiveVgpuInstanceInfo_v1_t, vgpuCount),
                  offsetof(nvmlActiveVgpuInstanceInfo_v1_t, vgpuInstances), PN_SYM_nvmlGpuInstanceGetActiveVgpus},
    [V_CREATABLE] = {"nvmlGpuInstanceGetCreatableVgpus", "c_vgpus", PN_STRUCT_nvmlVgpuTypeIdInfo_v1_t,
                     offsetof(nvmlVgpuTypeIdInfo_v1_t, vgpuCount), offsetof(nvmlVgpuTypeIdInfo_v1_t, vgpuTypeIds),
                     PN_SYM_nvmlGpuInstanceGetCreatableVgpus},
    [V_PLACEMENTS] = {"nvmlGpuInstanceGetVgpuTypeCreatablePlacements", "c_vgpu_placements",
                      PN_STRUCT_nvmlVgpuCreatablePlacementInfo_v1_t,
                      offsetof(nvmlVgpuCreatablePlacementInfo_v1_t, count),
                      offsetof(nvmlVgpuCreatablePlacementInfo_v1_t, placementIds),
                      PN_SYM_nvmlGpuInstanceGetVgpuTypeCreatablePlacements},
};

typedef nvmlReturn_t (*idlist_fn)(nvmlGpuInstance_t, void *);

static nvmlReturn_t
call_idlist(int which, idlist_fn fn, nvmlGpuInstance_t gi, void *data)
{
    nvmlReturn_t rc;
    PN_NVML_BEGIN
    switch (which) {   /* each through its own prototype */
    case V_ACTIVE: rc = ((pfn_nvmlGpuInstanceGetActiveVgpus)(void (*)(void))fn)(gi, data); break;
    case V_CREATABLE: rc = ((pfn_nvmlGpuInstanceGetCreatableVgpus)(void (*)(void))fn)(gi, data); break;
    default: rc = ((pfn_nvmlGpuInstanceGetVgpuTypeCreatablePlacements)(void (*)(void))fn)(gi, data); break;
    }
    PN_NVML_END
    return rc;
}

static PyObject *
idlist_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int which)
{
    const idlist_def *L = &idlists[which];
    const char *const names[] = {"gpuInstance", L->argname, NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlGpuInstance_t gi;
    void *data;
    if (pn_unpack(L->fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_GpuInstance, L->fname, "gpuInstance", (void **)&gi) < 0 ||
        pn_arg_struct(st, argv[1], L->sidx, L->fname, L->argname, &data) < 0)
        return NULL;
    pn_struct *obj = (pn_struct *)argv[1];
    if (obj->base != NULL) {   /* a view: a field of another struct, an array item */
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be a struct of its own, not a field of another",
                     L->fname, L->argname);
        return NULL;
    }
    idlist_fn fn = (idlist_fn)st->syms[L->sym];
    if (fn == NULL && (fn = (idlist_fn)pn_resolve(st, L->sym)) == NULL)
        return NULL;
    unsigned int *count = (unsigned int *)(obj->data + L->count_off);
    unsigned int **ids = (unsigned int **)(obj->data + L->ptr_off);
    PyObject *room = NULL;
    *count = 0;
    *ids = NULL;
    nvmlReturn_t rc = call_idlist(which, fn, gi, data);
    for (int tries = 0; rc == NVML_ERROR_INSUFFICIENT_SIZE && tries < 8; tries++) {
        unsigned int n = *count;
        Py_XDECREF(room);
        room = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n ? n : 1) * sizeof(unsigned int));
        if (room == NULL) {
            *count = 0;
            *ids = NULL;
            return NULL;
        }
        memset(PyBytes_AS_STRING(room), 0, PyBytes_GET_SIZE(room));
        *ids = (unsigned int *)PyBytes_AS_STRING(room);
        *count = n;
        rc = call_idlist(which, fn, gi, data);
    }
    if (rc != NVML_SUCCESS) {
        *count = 0;
        *ids = NULL;   /* never left pointing at an array that goes away */
        Py_XDECREF(room);
        return pn_raise(st, rc);
    }
    if (*ids == NULL) {
        Py_XDECREF(room);
        room = NULL;
    }
    int kept = pn_struct_keep(argv[1], room);   /* the array lives as long as the struct */
    Py_XDECREF(room);
    if (kept < 0) {
        *count = 0;
        *ids = NULL;
        return NULL;
    }
    Py_INCREF(argv[1]);
    return argv[1];
}

ENTRY(h_nvmlGpuInstanceGetActiveVgpus, idlist_call, V_ACTIVE)
ENTRY(h_nvmlGpuInstanceGetCreatableVgpus, idlist_call, V_CREATABLE)
ENTRY(h_nvmlGpuInstanceGetVgpuTypeCreatablePlacements, idlist_call, V_PLACEMENTS)

#define FASTCALL(F) (PyCFunction)(void (*)(void))(F), METH_FASTCALL | METH_KEYWORDS

PyMethodDef pn_hand_mig_methods[] = {
    {"nvmlDeviceGetGpuInstanceProfileInfo", FASTCALL(h_nvmlDeviceGetGpuInstanceProfileInfo),
     "nvmlDeviceGetGpuInstanceProfileInfo(device, profile, version=2)\n--\n\n"
     "The GPU instance profile NVML_GPU_INSTANCE_PROFILE_*: c_nvmlGpuInstanceProfileInfo_v2_t "
     "(version 1: c_nvmlGpuInstanceProfileInfo_t)."},
    {"nvmlDeviceGetGpuInstanceProfileInfoV", FASTCALL(h_nvmlDeviceGetGpuInstanceProfileInfoV),
     "nvmlDeviceGetGpuInstanceProfileInfoV(device, profile, version=2)\n--\n\n"
     "The same as nvmlDeviceGetGpuInstanceProfileInfo."},
    {"nvmlGpuInstanceGetComputeInstanceProfileInfo", FASTCALL(h_nvmlGpuInstanceGetComputeInstanceProfileInfo),
     "nvmlGpuInstanceGetComputeInstanceProfileInfo(device, profile, engProfile, version=2)\n--\n\n"
     "The compute instance profile NVML_COMPUTE_INSTANCE_PROFILE_* of GPU instance `device`: "
     "c_nvmlComputeInstanceProfileInfo_v2_t (version 1: c_nvmlComputeInstanceProfileInfo_t)."},
    {"nvmlGpuInstanceGetComputeInstanceProfileInfoV", FASTCALL(h_nvmlGpuInstanceGetComputeInstanceProfileInfoV),
     "nvmlGpuInstanceGetComputeInstanceProfileInfoV(device, profile, engProfile, version=2)\n--\n\n"
     "The same as nvmlGpuInstanceGetComputeInstanceProfileInfo."},
    {"nvmlDeviceGetGpuInstances", FASTCALL(h_nvmlDeviceGetGpuInstances),
     "nvmlDeviceGetGpuInstances(device, profileId, gpuInstancesRef=None, countRef=None)\n--\n\n"
     "The GPU instances of a profile id: a list, or with a ctypes array and count filled in them."},
    {"nvmlDeviceGetGpuInstancePossiblePlacements", FASTCALL(h_nvmlDeviceGetGpuInstancePossiblePlacements),
     "nvmlDeviceGetGpuInstancePossiblePlacements(device, profileId, placementsRef=None, countRef=None)\n--\n\n"
     "Where GPU instances of a profile id can go: a list of c_nvmlGpuInstancePlacement_t, or with a "
     "ctypes array (None: only the count) and count filled in them."},
    {"nvmlGpuInstanceGetComputeInstances", FASTCALL(h_nvmlGpuInstanceGetComputeInstances),
     "nvmlGpuInstanceGetComputeInstances(gpuInstance, profileId, computeInstancesRef=None, countRef=None)\n--\n\n"
     "The compute instances of a profile id: a list, or with a ctypes array and count filled in them."},
    {"nvmlGpuInstanceGetComputeInstancePossiblePlacements",
     FASTCALL(h_nvmlGpuInstanceGetComputeInstancePossiblePlacements),
     "nvmlGpuInstanceGetComputeInstancePossiblePlacements(gpuInstance, profileId, placementsRef=None, "
     "countRef=None)\n--\n\n"
     "Where compute instances of a profile id can go: a list of c_nvmlComputeInstancePlacement_t, or "
     "with a ctypes array (None: only the count) and count filled in them."},
    {"nvmlGpuInstanceSetVgpuHeterogeneousMode", FASTCALL(h_nvmlGpuInstanceSetVgpuHeterogeneousMode),
     "nvmlGpuInstanceSetVgpuHeterogeneousMode(gpuInstance, heterogeneous_mode)\n--\n\n"
     "Set a GPU instance's vGPU heterogeneous mode (NVML_VGPU_*: 0 or 1)."},
    {"nvmlGpuInstanceGetActiveVgpus", FASTCALL(h_nvmlGpuInstanceGetActiveVgpus),
     "nvmlGpuInstanceGetActiveVgpus(gpuInstance, c_vgpu_instance_info)\n--\n\n"
     "Fill a c_nvmlActiveVgpuInstanceInfo_v1_t (its version set) with the GI's vGPU instances; return it."},
    {"nvmlGpuInstanceGetCreatableVgpus", FASTCALL(h_nvmlGpuInstanceGetCreatableVgpus),
     "nvmlGpuInstanceGetCreatableVgpus(gpuInstance, c_vgpus)\n--\n\n"
     "Fill a c_nvmlVgpuTypeIdInfo_v1_t (its version set) with the vGPU types the GI can take; return it."},
    {"nvmlGpuInstanceGetVgpuTypeCreatablePlacements", FASTCALL(h_nvmlGpuInstanceGetVgpuTypeCreatablePlacements),
     "nvmlGpuInstanceGetVgpuTypeCreatablePlacements(gpuInstance, c_vgpu_placements)\n--\n\n"
     "Fill a c_nvmlVgpuCreatablePlacementInfo_v1_t (version and vgpuTypeId set) with the placements "
     "of that vGPU type in the GI; return it."},
    {NULL, NULL, 0, NULL},
};
