/* vGPU wrappers that fit no pattern of the spec (spec/functions_vgpu.nvml declares their
 * entry points `cdecl`).  Each does what nvidia-ml-py 13.610.43's function of the same name
 * does, call for call; the reason it is hand-written is said above it:
 *   - versioned structs that carry an array of the caller's (utilization, placements)
 *   - buffer sizes NVML takes by pointer (metadata, strings)
 *   - the caller's struct objects, filled in place or read (scheduler v2, vGPU version)
 *   - setters, which return NVML_SUCCESS (nvmlVgpuInstanceSetEncoderCapacity: NVML's code)
 *   - nvidia-ml-py's own result shapes (ctypes objects for accounting pids)
 * Arguments are checked before NVML is called (TypeError/ValueError), the GIL is released
 * around every NVML call.
 */
#include "pynvml.h"

#include <string.h>

/* Unpack the arguments named in `names` (nmin required) into argv. */
#define UNPACK(fname, nmin, nmax, ...)                                                     \
    static const char *const names[] = {__VA_ARGS__, NULL};                                \
    PyObject *argv[nmax];                                                                  \
    pn_state *st = pn_get_state(module);                                                   \
    if (pn_unpack(fname, args, nargs, kwnames, names, nmin, nmax, argv) < 0)               \
        return NULL

static int
arg_device(pn_state *st, PyObject *o, const char *fname, nvmlDevice_t *out)
{
    return pn_arg_handle(st, o, PN_HANDLE_Device, fname, "handle", (void **)out);
}

static PyObject *
success(void)
{
    return PyLong_FromLong(NVML_SUCCESS);
}

/* --- utilization: the struct holds the count and the caller's array --------------------- */

/* nvmlDeviceGetVgpuInstancesUtilizationInfo(handle, timeStamp) and, per process,
 * nvmlDeviceGetVgpuProcessesUtilizationInfo: a size query (no array), [] when it
 * succeeds, else the samples newer than timeStamp.  The same steps on two struct types:
 * util_kinds[k] says what differs, util_call makes the call on the one of kind k. */
enum { UTIL_INSTANCES, UTIL_PROCESSES };

static const struct {
    const char *fname;
    int sym;
    int sidx;           /* a sample's struct */
    size_t size;        /* a sample's size */
} util_kinds[] = {
    [UTIL_INSTANCES] = {"nvmlDeviceGetVgpuInstancesUtilizationInfo", PN_SYM_nvmlDeviceGetVgpuInstancesUtilizationInfo,
                        PN_STRUCT_nvmlVgpuInstanceUtilizationInfo_v1_t, sizeof(nvmlVgpuInstanceUtilizationInfo_v1_t)},
    [UTIL_PROCESSES] = {"nvmlDeviceGetVgpuProcessesUtilizationInfo", PN_SYM_nvmlDeviceGetVgpuProcessesUtilizationInfo,
                        PN_STRUCT_nvmlVgpuProcessUtilizationInfo_v1_t, sizeof(nvmlVgpuProcessUtilizationInfo_v1_t)},
};

typedef union {
    nvmlVgpuInstancesUtilizationInfo_v1_t inst;
    nvmlVgpuProcessesUtilizationInfo_v1_t proc;
} util_info;

/* NVML's call of kind k on info, its array pointed at arr first (NULL: the size query);
 * *count: the sample count the struct holds after. */
static nvmlReturn_t
util_call(int k, void *fn, nvmlDevice_t dev, util_info *info, void *arr, unsigned int *count)
{
    nvmlReturn_t rc;
    if (k == UTIL_PROCESSES) {
        info->proc.vgpuProcUtilArray = arr;
        PN_NVML_CALL(rc, ((pfn_nvmlDeviceGetVgpuProcessesUtilizationInfo)fn)(dev, &info->proc));
        *count = info->proc.vgpuProcessCount;
    } else {
        info->inst.vgpuUtilArray = arr;
        PN_NVML_CALL(rc, ((pfn_nvmlDeviceGetVgpuInstancesUtilizationInfo)fn)(dev, &info->inst));
        *count = info->inst.vgpuInstanceCount;
    }
    return rc;
}

static PyObject *
utilization(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int k)
{
    const char *fname = util_kinds[k].fname;
    UNPACK(fname, 2, 2, "handle", "timeStamp");
    nvmlDevice_t dev;
    unsigned long long ts;
    if (arg_device(st, argv[0], fname, &dev) < 0 || pn_arg_u64(argv[1], fname, "timeStamp", &ts) < 0)
        return NULL;
    void *fn = st->syms[util_kinds[k].sym];
    if (fn == NULL && (fn = pn_resolve(st, util_kinds[k].sym)) == NULL)
        return NULL;
    util_info info;
    memset(&info, 0, sizeof info);
    if (k == UTIL_PROCESSES) {
        info.proc.version = VgpuProcessesUtilizationInfo_v1;
        info.proc.lastSeenTimeStamp = ts;
    } else {
        info.inst.version = VgpuInstancesUtilizationInfo_v1;
        info.inst.lastSeenTimeStamp = ts;
    }
    unsigned int cap, count;
    nvmlReturn_t rc = util_call(k, fn, dev, &info, NULL, &cap);
    if (rc == NVML_SUCCESS)
        return PyList_New(0);
    if (rc != NVML_ERROR_INSUFFICIENT_SIZE)
        return pn_raise(st, rc);
    void *arr = PyMem_Calloc(cap ? cap : 1, util_kinds[k].size);
    if (arr == NULL)
        return PyErr_NoMemory();
    rc = util_call(k, fn, dev, &info, arr, &count);
    PyObject *out = NULL;
    if (rc != NVML_SUCCESS)
        pn_raise(st, rc);
    else
        out = pn_struct_list(st, util_kinds[k].sidx, arr, util_kinds[k].size, count < cap ? count : cap);
    PyMem_Free(arr);
    return out;
}

static PyObject *
h_instances_utilization(PN_FASTCALL_PARAMS)
{
    return utilization(module, args, nargs, kwnames, UTIL_INSTANCES);
}

static PyObject *
h_processes_utilization(PN_FASTCALL_PARAMS)
{
    return utilization(module, args, nargs, kwnames, UTIL_PROCESSES);
}

/* --- buffer sizes by pointer ---------------------------------------------------------------- */

/* The metadata calls: a first call with size 0 must answer INSUFFICIENT_SIZE and the size
 * (anything else is raised, as nvidia-ml-py does, even SUCCESS), then a call with that
 * size.  The buffer is never smaller than the struct, nor than what NVML asked for. */
typedef nvmlReturn_t (*sized_fn)(void *fn, void *target, void *buf, unsigned int *size);

static nvmlReturn_t call_vgpu_meta(void *fn, void *t, void *buf, unsigned int *size)
{ return ((pfn_nvmlVgpuInstanceGetMetadata)fn)(*(unsigned int *)t, buf, size); }
static nvmlReturn_t call_pgpu_meta(void *fn, void *t, void *buf, unsigned int *size)
{ return ((pfn_nvmlDeviceGetVgpuMetadata)fn)(*(nvmlDevice_t *)t, buf, size); }
static nvmlReturn_t call_pgpu_string(void *fn, void *t, void *buf, unsigned int *size)
{ return ((pfn_nvmlDeviceGetPgpuMetadataString)fn)(*(nvmlDevice_t *)t, buf, size); }

/* The bytes NVML wrote (a new PyMem buffer of at least `least` bytes, zeroed first) and
 * the size it reported; NULL with an exception set. */
static char *
sized_call(pn_state *st, sized_fn call, void *fn, void *target, size_t least, unsigned int *size)
{
    char *buf = PyMem_Calloc(1, least);
    if (buf == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    nvmlReturn_t rc;
    *size = 0;
    PN_NVML_CALL(rc, call(fn, target, buf, size));
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
        if (*size > least) {
            char *bigger = PyMem_Calloc(1, *size);
            if (bigger == NULL) {
                PyMem_Free(buf);
                PyErr_NoMemory();
                return NULL;
            }
            PyMem_Free(buf);
            buf = bigger;
        }
        PN_NVML_CALL(rc, call(fn, target, buf, size));
        if (rc == NVML_SUCCESS)
            return buf;
    }
    PyMem_Free(buf);
    pn_raise(st, rc);
    return NULL;
}

static PyObject *
h_device_vgpu_metadata(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceGetVgpuMetadata";
    UNPACK(fname, 1, 1, "handle");
    nvmlDevice_t dev;
    unsigned int size;
    if (arg_device(st, argv[0], fname, &dev) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetVgpuMetadata, pfn_nvmlDeviceGetVgpuMetadata, fn);
    char *buf = sized_call(st, call_pgpu_meta, (void *)fn, &dev, sizeof(pn_nvmlVgpuPgpuMetadata_t), &size);
    if (buf == NULL)
        return NULL;
    PyObject *out = pn_struct_new(st, PN_STRUCT_pn_nvmlVgpuPgpuMetadata_t, buf);
    PyMem_Free(buf);
    return out;
}

static PyObject *
h_instance_metadata(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuInstanceGetMetadata";
    UNPACK(fname, 1, 1, "vgpuInstance");
    unsigned int inst, size;
    if (pn_arg_u32(argv[0], fname, "vgpuInstance", &inst) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuInstanceGetMetadata, pfn_nvmlVgpuInstanceGetMetadata, fn);
    char *buf = sized_call(st, call_vgpu_meta, (void *)fn, &inst, sizeof(pn_nvmlVgpuMetadata_t), &size);
    if (buf == NULL)
        return NULL;
    PyObject *out = pn_struct_new(st, PN_STRUCT_pn_nvmlVgpuMetadata_t, buf);
    PyMem_Free(buf);
    return out;
}

/* nvmlDeviceGetPgpuMetadataString(handle) -> (string, size NVML reported) */
static PyObject *
h_pgpu_metadata_string(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceGetPgpuMetadataString";
    UNPACK(fname, 1, 1, "handle");
    nvmlDevice_t dev;
    unsigned int size;
    if (arg_device(st, argv[0], fname, &dev) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetPgpuMetadataString, pfn_nvmlDeviceGetPgpuMetadataString, fn);
    size_t least = NVML_VGPU_PGPU_METADATA_OPAQUE_DATA_SIZE;
    char *buf = sized_call(st, call_pgpu_string, (void *)fn, &dev, least, &size);
    if (buf == NULL)
        return NULL;
    /* bytes: nvidia-ml-py's @convertStrBytes decodes a bytes result, not one inside a tuple */
    PyObject *s = PyBytes_FromStringAndSize(buf, (Py_ssize_t)strnlen(buf, size > least ? size : least));
    PyMem_Free(buf);
    return s ? Py_BuildValue("(NI)", s, size) : NULL;
}

/* nvmlVgpuInstanceGetVmID(vgpuInstance) -> (bytes, NVML_VGPU_VM_ID_*): bytes, as
 * nvidia-ml-py's (see above).  nvidia-ml-py tells NVML its buffer has
 * NVML_GRID_LICENSE_BUFFER_SIZE bytes: ours has that many. */
static PyObject *
h_instance_vm_id(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuInstanceGetVmID";
    UNPACK(fname, 1, 1, "vgpuInstance");
    unsigned int inst, type = 0;
    char buf[NVML_GRID_LICENSE_BUFFER_SIZE];
    nvmlReturn_t rc;
    if (pn_arg_u32(argv[0], fname, "vgpuInstance", &inst) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuInstanceGetVmID, pfn_nvmlVgpuInstanceGetVmID, fn);
    memset(buf, 0, sizeof buf);
    PN_NVML_CALL(rc, fn(inst, buf, sizeof buf, &type));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return Py_BuildValue("(y#I)", buf, (Py_ssize_t)strnlen(buf, sizeof buf), type);
}

/* Strings of a type or an instance whose buffer size NVML takes by pointer; nvidia-ml-py
 * offers a buffer of `cap` bytes. */
typedef nvmlReturn_t (*id_string_fn)(unsigned int id, unsigned char *buf, unsigned int *size);

static PyObject *
id_string(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname,
          const char *argname, int sym, unsigned int cap)
{
    const char *const names[] = {argname, NULL};
    PyObject *argv[1];
    pn_state *st = pn_get_state(module);
    unsigned int id;
    if (pn_unpack(fname, args, nargs, kwnames, names, 1, 1, argv) < 0 ||
        pn_arg_u32(argv[0], fname, argname, &id) < 0)
        return NULL;
    id_string_fn fn = (id_string_fn)st->syms[sym];
    if (fn == NULL && (fn = (id_string_fn)pn_resolve(st, sym)) == NULL)
        return NULL;
    char buf[128];
    unsigned int size = cap;
    nvmlReturn_t rc;
    memset(buf, 0, sizeof buf);
    PN_NVML_CALL(rc, fn(id, (unsigned char *)buf, &size));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_decode(buf, cap);
}

static PyObject *
h_type_class(PN_FASTCALL_PARAMS)
{
    return id_string(module, args, nargs, kwnames, "nvmlVgpuTypeGetClass", "vgpuTypeId", PN_SYM_nvmlVgpuTypeGetClass,
                     NVML_DEVICE_NAME_BUFFER_SIZE);
}

static PyObject *
h_type_name(PN_FASTCALL_PARAMS)
{
    return id_string(module, args, nargs, kwnames, "nvmlVgpuTypeGetName", "vgpuTypeId", PN_SYM_nvmlVgpuTypeGetName,
                     NVML_DEVICE_NAME_BUFFER_SIZE);
}

static PyObject *
h_instance_pci_id(PN_FASTCALL_PARAMS)
{
    return id_string(module, args, nargs, kwnames, "nvmlVgpuInstanceGetGpuPciId", "vgpuInstance",
                     PN_SYM_nvmlVgpuInstanceGetGpuPciId, NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE);
}

/* --- a C parameter that is no Python argument, or an input inside a struct ------------------ */

/* nvmlVgpuTypeGetResolution(vgpuTypeId) -> (xdim, ydim) of display 0, as nvidia-ml-py asks. */
static PyObject *
h_type_resolution(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuTypeGetResolution";
    UNPACK(fname, 1, 1, "vgpuTypeId");
    unsigned int id, x = 0, y = 0;
    nvmlReturn_t rc;
    if (pn_arg_u32(argv[0], fname, "vgpuTypeId", &id) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuTypeGetResolution, pfn_nvmlVgpuTypeGetResolution, fn);
    PN_NVML_CALL(rc, fn(id, 0, &x, &y));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return Py_BuildValue("(II)", x, y);
}

/* nvmlVgpuTypeGetMaxInstancesPerGpuInstance(vgpuTypeId): the id goes in the struct. */
static PyObject *
h_type_max_per_gi(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuTypeGetMaxInstancesPerGpuInstance";
    UNPACK(fname, 1, 1, "vgpuTypeId");
    nvmlVgpuTypeMaxInstance_v1_t m;
    nvmlReturn_t rc;
    memset(&m, 0, sizeof m);
    if (pn_arg_u32(argv[0], fname, "vgpuTypeId", &m.vgpuTypeId) < 0)
        return NULL;
    m.version = nvmlVgpuTypeMaxInstance_v1;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuTypeGetMaxInstancesPerGpuInstance, pfn_nvmlVgpuTypeGetMaxInstancesPerGpuInstance, fn);
    PN_NVML_CALL(rc, fn(&m));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromUnsignedLong(m.maxInstancePerGI);
}

/* --- placements ---------------------------------------------------------------------------- */

/* nvmlDeviceGetVgpuType{Supported,Creatable}Placements(handle, vgpuTypeId, [mode=0,] version=1):
 * as nvidia-ml-py: the type's maximum instance count first (nvmlVgpuTypeGetMaxInstances),
 * then a v1 or v2 list with room for that many ids.  The result's placementIds points
 * into memory the result keeps (the struct object holds it).  A version other than 1 or 2
 * is NVMLError_ArgumentVersionMismatch (nvidia-ml-py's Creatable fails with
 * UnboundLocalError there). */
static PyObject *
placements(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int supported)
{
    static const char *const names_s[] = {"handle", "vgpuTypeId", "mode", "version", NULL};
    static const char *const names_c[] = {"handle", "vgpuTypeId", "version", NULL};
    const char *fname = supported ? "nvmlDeviceGetVgpuTypeSupportedPlacements" : "nvmlDeviceGetVgpuTypeCreatablePlacements";
    PyObject *argv[4] = {NULL, NULL, NULL, NULL};
    pn_state *st = pn_get_state(module);
    int nmax = supported ? 4 : 3;
    if (pn_unpack(fname, args, nargs, kwnames, supported ? names_s : names_c, 2, nmax, argv) < 0)
        return NULL;
    PyObject *vobj = supported ? argv[3] : argv[2], *mobj = supported ? argv[2] : NULL;
    nvmlDevice_t dev;
    unsigned int type, mode = 0, version = 1, max = 0;
    nvmlReturn_t rc;
    if (arg_device(st, argv[0], fname, &dev) < 0 || pn_arg_u32(argv[1], fname, "vgpuTypeId", &type) < 0 ||
        (mobj && pn_arg_u32(mobj, fname, "mode", &mode) < 0) ||
        (vobj && pn_arg_u32(vobj, fname, "version", &version) < 0))
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuTypeGetMaxInstances, pfn_nvmlVgpuTypeGetMaxInstances, get_max);
    PN_NVML_CALL(rc, get_max(dev, type, &max));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    if (version != 1 && version != 2)
        return pn_raise(st, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    int sym = supported ? PN_SYM_nvmlDeviceGetVgpuTypeSupportedPlacements : PN_SYM_nvmlDeviceGetVgpuTypeCreatablePlacements;
    pfn_nvmlDeviceGetVgpuTypeSupportedPlacements fn = (pfn_nvmlDeviceGetVgpuTypeSupportedPlacements)st->syms[sym];
    if (fn == NULL && (fn = pn_resolve(st, sym)) == NULL)
        return NULL;
    /* the ids live in a bytes object that the result keeps */
    PyObject *keep = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)max * (Py_ssize_t)sizeof(unsigned int));
    if (keep == NULL)
        return NULL;
    memset(PyBytes_AS_STRING(keep), 0, PyBytes_GET_SIZE(keep));
    unsigned int *ids = max ? (unsigned int *)PyBytes_AS_STRING(keep) : NULL;
    union { nvmlVgpuPlacementList_v1_t v1; nvmlVgpuPlacementList_v2_t v2; } list;
    memset(&list, 0, sizeof list);
    if (version == 2) {
        list.v2.version = VgpuPlacementList_v2;
        list.v2.count = max;
        list.v2.mode = mode;
        list.v2.placementIds = ids;
    }
    else {
        list.v1.version = VgpuPlacementList_v1;
        list.v1.placementIds = ids;
    }
    PN_NVML_CALL(rc, fn(dev, type, &list.v2));
    if (rc != NVML_SUCCESS) {
        Py_DECREF(keep);
        return pn_raise(st, rc);
    }
    PyObject *out = pn_struct_new(st, version == 2 ? PN_STRUCT_nvmlVgpuPlacementList_v2_t : PN_STRUCT_nvmlVgpuPlacementList_v1_t,
                                  &list);
    if (out == NULL) {
        Py_DECREF(keep);
        return NULL;
    }
    /* an owning struct: it keeps the ids alive */
    int kept = pn_struct_keep(out, keep);
    Py_DECREF(keep);
    if (kept < 0)
        Py_CLEAR(out);
    return out;
}

static PyObject *
h_supported_placements(PN_FASTCALL_PARAMS)
{
    return placements(module, args, nargs, kwnames, 1);
}

static PyObject *
h_creatable_placements(PN_FASTCALL_PARAMS)
{
    return placements(module, args, nargs, kwnames, 0);
}

/* --- the caller's structs ------------------------------------------------------------------ */

/* The scheduler's v2 calls (not in driver 580): the handle is checked first, then the
 * entry point is looked up (NVMLError_FunctionNotFound where the driver lacks it, before
 * the struct is looked at, as nvidia-ml-py), then the struct.  The getters fill the
 * caller's struct and return it. */
static PyObject *
sched_v2(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, const char *fname,
         const char *argname, int sym, int sidx, int returns_struct)
{
    const char *const names[] = {"handle", argname, NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    void *data;
    nvmlReturn_t rc;
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 || arg_device(st, argv[0], fname, &dev) < 0)
        return NULL;
    nvmlReturn_t (*fn)(nvmlDevice_t, void *) = st->syms[sym];
    if (fn == NULL && (fn = pn_resolve(st, sym)) == NULL)
        return NULL;
    if (pn_arg_struct(st, argv[1], sidx, fname, argname, &data) < 0)
        return NULL;
    PN_NVML_CALL(rc, fn(dev, data));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    if (!returns_struct)
        return success();
    Py_INCREF(argv[1]);
    return argv[1];
}

static PyObject *
h_sched_state_v2(PN_FASTCALL_PARAMS)
{
    return sched_v2(module, args, nargs, kwnames, "nvmlDeviceGetVgpuSchedulerState_v2", "c_vgpu_sched_state_info_v2",
                    PN_SYM_nvmlDeviceGetVgpuSchedulerState_v2, PN_STRUCT_pn_nvmlVgpuSchedulerStateInfo_v2_t, 1);
}

static PyObject *
h_sched_log_v2(PN_FASTCALL_PARAMS)
{
    return sched_v2(module, args, nargs, kwnames, "nvmlDeviceGetVgpuSchedulerLog_v2", "c_vgpu_sched_log_info_v2",
                    PN_SYM_nvmlDeviceGetVgpuSchedulerLog_v2, PN_STRUCT_pn_nvmlVgpuSchedulerLogInfo_v2_t, 1);
}

static PyObject *
h_set_sched_state_v2(PN_FASTCALL_PARAMS)
{
    return sched_v2(module, args, nargs, kwnames, "nvmlDeviceSetVgpuSchedulerState_v2", "sched_state_v2",
                    PN_SYM_nvmlDeviceSetVgpuSchedulerState_v2, PN_STRUCT_pn_nvmlVgpuSchedulerState_v2_t, 0);
}

/* nvmlDeviceSetVgpuSchedulerState(handle, sched_state): a c_nvmlVgpuSchedulerSetState_t. */
static PyObject *
h_set_sched_state(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceSetVgpuSchedulerState";
    UNPACK(fname, 2, 2, "handle", "sched_state");
    nvmlDevice_t dev;
    void *data;
    nvmlReturn_t rc;
    if (arg_device(st, argv[0], fname, &dev) < 0 ||
        pn_arg_struct(st, argv[1], PN_STRUCT_nvmlVgpuSchedulerSetState_t, fname, "sched_state", &data) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetVgpuSchedulerState, pfn_nvmlDeviceSetVgpuSchedulerState, fn);
    PN_NVML_CALL(rc, fn(dev, data));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

/* nvmlGetVgpuVersion(supported=None, current=None): with neither, the two ranges as
 * [(min, max), (min, max)]; else both c_nvmlVgpuVersion_t objects, filled, and
 * NVML_SUCCESS. */
static PyObject *
h_get_vgpu_version(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlGetVgpuVersion";
    UNPACK(fname, 0, 2, "supported", "current");
    nvmlVgpuVersion_t mine[2];
    void *sup = &mine[0], *cur = &mine[1];
    int user = (argv[0] != NULL && argv[0] != Py_None) || (argv[1] != NULL && argv[1] != Py_None);
    nvmlReturn_t rc;
    memset(mine, 0, sizeof mine);
    if (user && (pn_arg_struct(st, argv[0] ? argv[0] : Py_None, PN_STRUCT_nvmlVgpuVersion_t, fname, "supported", &sup) < 0 ||
                 pn_arg_struct(st, argv[1] ? argv[1] : Py_None, PN_STRUCT_nvmlVgpuVersion_t, fname, "current", &cur) < 0))
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlGetVgpuVersion, pfn_nvmlGetVgpuVersion, fn);
    PN_NVML_CALL(rc, fn(sup, cur));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    if (user)
        return success();
    return Py_BuildValue("[(II)(II)]", mine[0].minVersion, mine[0].maxVersion, mine[1].minVersion, mine[1].maxVersion);
}

static PyObject *
h_set_vgpu_version(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlSetVgpuVersion";
    UNPACK(fname, 1, 1, "vgpuVersion");
    void *data;
    nvmlReturn_t rc;
    if (pn_arg_struct(st, argv[0], PN_STRUCT_nvmlVgpuVersion_t, fname, "vgpuVersion", &data) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlSetVgpuVersion, pfn_nvmlSetVgpuVersion, fn);
    PN_NVML_CALL(rc, fn(data));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

/* nvmlGetVgpuCompatibility(vgpuMetadata, pgpuMetadata): the metadata objects the getters gave. */
static PyObject *
h_vgpu_compatibility(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlGetVgpuCompatibility";
    UNPACK(fname, 2, 2, "vgpuMetadata", "pgpuMetadata");
    void *vm, *pm;
    nvmlReturn_t rc;
    if (pn_arg_struct(st, argv[0], PN_STRUCT_pn_nvmlVgpuMetadata_t, fname, "vgpuMetadata", &vm) < 0 ||
        pn_arg_struct(st, argv[1], PN_STRUCT_pn_nvmlVgpuPgpuMetadata_t, fname, "pgpuMetadata", &pm) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlGetVgpuCompatibility, pfn_nvmlGetVgpuCompatibility, fn);
    nvmlVgpuPgpuCompatibility_t c;
    memset(&c, 0, sizeof c);
    PN_NVML_CALL(rc, fn(vm, pm, &c));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_struct_new(st, PN_STRUCT_nvmlVgpuPgpuCompatibility_t, &c);
}

/* --- setters and actions: NVML_SUCCESS --------------------------------------------------- */

static PyObject *
h_set_vgpu_capabilities(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceSetVgpuCapabilities";
    UNPACK(fname, 3, 3, "handle", "capability", "state");
    nvmlDevice_t dev;
    unsigned int cap, state;
    nvmlReturn_t rc;
    if (arg_device(st, argv[0], fname, &dev) < 0 || pn_arg_u32(argv[1], fname, "capability", &cap) < 0 ||
        pn_arg_u32(argv[2], fname, "state", &state) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetVgpuCapabilities, pfn_nvmlDeviceSetVgpuCapabilities, fn);
    PN_NVML_CALL(rc, fn(dev, cap, state));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

static PyObject *
h_set_heterogeneous_mode(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceSetVgpuHeterogeneousMode";
    UNPACK(fname, 2, 2, "handle", "heterogeneous_mode");
    nvmlDevice_t dev;
    nvmlVgpuHeterogeneousMode_v1_t m;
    nvmlReturn_t rc;
    memset(&m, 0, sizeof m);
    if (arg_device(st, argv[0], fname, &dev) < 0 || pn_arg_u32(argv[1], fname, "heterogeneous_mode", &m.mode) < 0)
        return NULL;
    m.version = VgpuHeterogeneousMode_v1;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceSetVgpuHeterogeneousMode, pfn_nvmlDeviceSetVgpuHeterogeneousMode, fn);
    PN_NVML_CALL(rc, fn(dev, &m));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

static PyObject *
h_force_gsp_unload(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlDeviceVgpuForceGspUnload";
    UNPACK(fname, 1, 1, "handle");
    nvmlDevice_t dev;
    nvmlReturn_t rc;
    if (arg_device(st, argv[0], fname, &dev) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceVgpuForceGspUnload, pfn_nvmlDeviceVgpuForceGspUnload, fn);
    PN_NVML_CALL(rc, fn(dev));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

static PyObject *
h_clear_accounting_pids(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuInstanceClearAccountingPids";
    UNPACK(fname, 1, 1, "vgpuInstance");
    unsigned int inst;
    nvmlReturn_t rc;
    if (pn_arg_u32(argv[0], fname, "vgpuInstance", &inst) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuInstanceClearAccountingPids, pfn_nvmlVgpuInstanceClearAccountingPids, fn);
    PN_NVML_CALL(rc, fn(inst));
    return rc == NVML_SUCCESS ? success() : pn_raise(st, rc);
}

/* nvmlVgpuInstanceSetEncoderCapacity: nvidia-ml-py returns NVML's return code, unchecked. */
static PyObject *
h_set_encoder_capacity(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuInstanceSetEncoderCapacity";
    UNPACK(fname, 2, 2, "vgpuInstance", "encoder_capacity");
    unsigned int inst, cap;
    nvmlReturn_t rc;
    if (pn_arg_u32(argv[0], fname, "vgpuInstance", &inst) < 0 || pn_arg_u32(argv[1], fname, "encoder_capacity", &cap) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuInstanceSetEncoderCapacity, pfn_nvmlVgpuInstanceSetEncoderCapacity, fn);
    PN_NVML_CALL(rc, fn(inst, cap));
    return PyLong_FromLong(rc);
}

/* --- nvidia-ml-py's result shape: ctypes objects ---------------------------------------------- */

/* nvmlVgpuInstanceGetAccountingPids(vgpuInstance) -> (c_uint count, (c_uint * count) pids),
 * the ctypes objects nvidia-ml-py returns.  With no pids (the size query succeeds) ours
 * returns them empty; nvidia-ml-py raises NVMLError(NVML_SUCCESS) there. */
static PyObject *
h_accounting_pids(PN_FASTCALL_PARAMS)
{
    static const char fname[] = "nvmlVgpuInstanceGetAccountingPids";
    UNPACK(fname, 1, 1, "vgpuInstance");
    unsigned int inst, count = 0;
    nvmlReturn_t rc;
    if (pn_arg_u32(argv[0], fname, "vgpuInstance", &inst) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlVgpuInstanceGetAccountingPids, pfn_nvmlVgpuInstanceGetAccountingPids, fn);
    PN_NVML_CALL(rc, fn(inst, &count, NULL));
    unsigned int *pids = NULL;
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE) {
        unsigned int cap = count;
        if ((pids = PyMem_Calloc(cap ? cap : 1, sizeof *pids)) == NULL)
            return PyErr_NoMemory();
        PN_NVML_CALL(rc, fn(inst, &count, pids));
        if (count > cap)
            count = cap;
    }
    else if (rc == NVML_SUCCESS)
        count = 0;
    if (rc != NVML_SUCCESS) {
        PyMem_Free(pids);
        return pn_raise(st, rc);
    }
    PyObject *out = NULL, *ctypes = PyImport_ImportModule("ctypes");
    PyObject *c_uint = ctypes ? PyObject_GetAttrString(ctypes, "c_uint") : NULL;
    PyObject *n = c_uint ? PyObject_CallFunction(c_uint, "I", count) : NULL;
    PyObject *len = n ? PyLong_FromUnsignedLong(count) : NULL;
    PyObject *arrtype = len ? PyNumber_Multiply(c_uint, len) : NULL;
    PyObject *items = arrtype ? PyTuple_New(count) : NULL;
    for (unsigned int i = 0; items != NULL && i < count; i++) {
        PyObject *v = PyLong_FromUnsignedLong(pids[i]);
        if (v == NULL)
            Py_CLEAR(items);
        else
            PyTuple_SET_ITEM(items, i, v);
    }
    PyObject *arr = items ? PyObject_Call(arrtype, items, NULL) : NULL;
    if (arr != NULL)
        out = PyTuple_Pack(2, n, arr);
    Py_XDECREF(arr);
    Py_XDECREF(items);
    Py_XDECREF(arrtype);
    Py_XDECREF(len);
    Py_XDECREF(n);
    Py_XDECREF(c_uint);
    Py_XDECREF(ctypes);
    PyMem_Free(pids);
    return out;
}

#define M(name, fn, sig, doc) \
    {name, (PyCFunction)(void (*)(void))fn, METH_FASTCALL | METH_KEYWORDS, name sig "\n--\n\n" doc}

PyMethodDef pn_hand_vgpu_methods[] = {
    M("nvmlDeviceGetVgpuInstancesUtilizationInfo", h_instances_utilization, "(handle, timeStamp)",
      "Utilization samples of each vGPU instance newer than timeStamp: a list of c_nvmlVgpuInstanceUtilizationInfo_v1_t."),
    M("nvmlDeviceGetVgpuProcessesUtilizationInfo", h_processes_utilization, "(handle, timeStamp)",
      "Utilization samples of the processes in vGPUs newer than timeStamp: a list of c_nvmlVgpuProcessUtilizationInfo_v1_t."),
    M("nvmlDeviceGetVgpuMetadata", h_device_vgpu_metadata, "(handle)", "The physical GPU's vGPU metadata: c_nvmlVgpuPgpuMetadata_t."),
    M("nvmlDeviceGetPgpuMetadataString", h_pgpu_metadata_string, "(handle)",
      "The physical GPU's metadata and its size: (bytes, int)."),
    M("nvmlVgpuInstanceGetVmID", h_instance_vm_id, "(vgpuInstance)", "The vGPU's VM id and its kind: (bytes, NVML_VGPU_VM_ID_*)."),
    M("nvmlDeviceGetVgpuTypeSupportedPlacements", h_supported_placements, "(handle, vgpuTypeId, mode=0, version=1)",
      "Where instances of a vGPU type can be placed: c_nvmlVgpuPlacementList_v1_t (or _v2_t)."),
    M("nvmlDeviceGetVgpuTypeCreatablePlacements", h_creatable_placements, "(handle, vgpuTypeId, version=1)",
      "Where instances of a vGPU type can be created now: c_nvmlVgpuPlacementList_v1_t (or _v2_t)."),
    M("nvmlDeviceSetVgpuCapabilities", h_set_vgpu_capabilities, "(handle, capability, state)",
      "Enable or disable a NVML_DEVICE_VGPU_CAP_*; NVML_SUCCESS."),
    M("nvmlDeviceSetVgpuHeterogeneousMode", h_set_heterogeneous_mode, "(handle, heterogeneous_mode)",
      "NVML_VGPU_PGPU_HETEROGENEOUS_MODE or _HOMOGENEOUS_MODE; NVML_SUCCESS."),
    M("nvmlDeviceSetVgpuSchedulerState", h_set_sched_state, "(handle, sched_state)",
      "Set the vGPU scheduler from a c_nvmlVgpuSchedulerSetState_t; NVML_SUCCESS."),
    M("nvmlDeviceGetVgpuSchedulerState_v2", h_sched_state_v2, "(handle, c_vgpu_sched_state_info_v2)",
      "Fill a c_nvmlVgpuSchedulerStateInfo_v2_t (engineId set) and return it."),
    M("nvmlDeviceGetVgpuSchedulerLog_v2", h_sched_log_v2, "(handle, c_vgpu_sched_log_info_v2)",
      "Fill a c_nvmlVgpuSchedulerLogInfo_v2_t (engineId set) and return it."),
    M("nvmlDeviceSetVgpuSchedulerState_v2", h_set_sched_state_v2, "(handle, sched_state_v2)",
      "Set the vGPU scheduler of an engine from a c_nvmlVgpuSchedulerState_v2_t; NVML_SUCCESS."),
    M("nvmlDeviceVgpuForceGspUnload", h_force_gsp_unload, "(handle)", "Unload the GSP firmware of vGPUs; NVML_SUCCESS."),
    M("nvmlGetVgpuVersion", h_get_vgpu_version, "(supported=None, current=None)",
      "[(min, max) supported, (min, max) current]; or fill two c_nvmlVgpuVersion_t and return NVML_SUCCESS."),
    M("nvmlSetVgpuVersion", h_set_vgpu_version, "(vgpuVersion)", "Set the host's vGPU version range; NVML_SUCCESS."),
    M("nvmlGetVgpuCompatibility", h_vgpu_compatibility, "(vgpuMetadata, pgpuMetadata)",
      "Whether a vGPU (its metadata) can run on a physical GPU (its metadata): c_nvmlVgpuPgpuCompatibility_t."),
    M("nvmlVgpuTypeGetClass", h_type_class, "(vgpuTypeId)", "The vGPU type's class, e.g. 'Compute'."),
    M("nvmlVgpuTypeGetName", h_type_name, "(vgpuTypeId)", "The vGPU type's name, e.g. 'GRID H100-4C'."),
    M("nvmlVgpuTypeGetResolution", h_type_resolution, "(vgpuTypeId)", "(xdim, ydim) of the type's display 0."),
    M("nvmlVgpuTypeGetMaxInstancesPerGpuInstance", h_type_max_per_gi, "(vgpuTypeId)",
      "How many instances of the type a GPU instance can hold."),
    M("nvmlVgpuInstanceGetGpuPciId", h_instance_pci_id, "(vgpuInstance)", "The vGPU's PCI id in the VM."),
    M("nvmlVgpuInstanceGetMetadata", h_instance_metadata, "(vgpuInstance)", "The vGPU's metadata: c_nvmlVgpuMetadata_t."),
    M("nvmlVgpuInstanceGetAccountingPids", h_accounting_pids, "(vgpuInstance)",
      "(c_uint count, c_uint array of pids): the processes with accounting data, as nvidia-ml-py's ctypes objects."),
    M("nvmlVgpuInstanceClearAccountingPids", h_clear_accounting_pids, "(vgpuInstance)",
      "Clear the vGPU's accounting data; NVML_SUCCESS."),
    M("nvmlVgpuInstanceSetEncoderCapacity", h_set_encoder_capacity, "(vgpuInstance, encoder_capacity)",
      "Set the vGPU's encoder capacity (0..100); returns NVML's return code (not raised), as nvidia-ml-py."),
    {NULL, NULL, 0, NULL},
};
