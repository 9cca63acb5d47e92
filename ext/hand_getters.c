/* Hand-written C of the `getters` family (spec/functions_getters.nvml): what no spec
 * line can describe.
 *
 *   pn_copy_to_buffer   refargs=: nvidia-ml-py's optional output objects (a c_uint(), a
 *                       struct) receive what NVML wrote, through the buffer protocol
 *   pn_post_nonzero     nvmlDeviceOnSameBoard: nvidia-ml-py returns (onSameBoard != 0)
 *   wrappers (pn_hand_getters_methods), each for the reason above it: an input travels
 *   inside the output struct, NVML takes a buffer without its length or a size in
 *   bytes, or the call is a size query and a second call that NVML may answer
 *   differently as time passes.
 */
#include "pynvml.h"

#include <string.h>

int pn_copy_to_buffer(PyObject *dst, const void *src, size_t size, const char *fname, const char *argname);
PyObject *pn_post_nonzero(pn_state *st, PyObject *result);

/* Copy an output into the caller's object: a writable buffer of at least `size` bytes
 * (our struct objects, ctypes instances).  Anything else is a TypeError or ValueError.
 * With src NULL, only checks (before the NVML call). */
int
pn_copy_to_buffer(PyObject *dst, const void *src, size_t size, const char *fname, const char *argname)
{
    Py_buffer view;
    if (!PyObject_CheckBuffer(dst)) {
        PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be None or a writable object of %zu bytes "
                     "(a ctypes instance or a pynvml struct), not %.100s", fname, argname, size,
                     Py_TYPE(dst)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(dst, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        if (PyErr_ExceptionMatches(PyExc_BufferError)) {   /* read-only (bytes): a wrong argument */
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s(): argument '%s' must be writable, not %.100s", fname, argname,
                         Py_TYPE(dst)->tp_name);
        }
        return -1;
    }
    if ((size_t)view.len < size) {
        PyErr_Format(PyExc_ValueError, "%s(): argument '%s' holds %zd bytes, the output needs %zu",
                     fname, argname, view.len, size);
        PyBuffer_Release(&view);
        return -1;
    }
    if (src != NULL)
        memcpy(view.buf, src, size);
    PyBuffer_Release(&view);
    return 0;
}

PyObject *
pn_post_nonzero(pn_state *st, PyObject *result)
{
    (void)st;
    if (result == NULL)
        return NULL;
    int nonzero = PyObject_IsTrue(result);
    Py_DECREF(result);
    if (nonzero < 0)
        return NULL;
    return PyBool_FromLong(nonzero);
}

/* ---------------------------------------------------------------------------------- */

#define GETTER_ARGS PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames

/* nvmlDeviceGetTemperatureV1(handle, sensor): the sensor goes in the struct's sensorType. */
static PyObject *
temperature_v1(pn_state *st, const char *fname, PyObject *handle, PyObject *sensor)
{
    nvmlDevice_t dev;
    nvmlTemperature_v1_t t;
    memset(&t, 0, sizeof t);
    if (pn_arg_handle(st, handle, PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0 ||
        pn_arg_u32(sensor, fname, "sensor", &t.sensorType) < 0)
        return NULL;
    t.version = nvmlTemperature_v1;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetTemperatureV, pfn_nvmlDeviceGetTemperatureV, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &t));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return PyLong_FromLong(t.temperature);
}

static PyObject *
h_nvmlDeviceGetTemperatureV1(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "sensor", NULL};
    PyObject *argv[2];
    if (pn_unpack("nvmlDeviceGetTemperatureV1", args, nargs, kwnames, names, 2, 2, argv) < 0)
        return NULL;
    return temperature_v1(pn_get_state(module), "nvmlDeviceGetTemperatureV1", argv[0], argv[1]);
}

/* nvmlDeviceGetTemperatureV(handle, sensor, version=nvmlTemperature_v1): another version
 * is NVMLError(ARGUMENT_VERSION_MISMATCH) before NVML is called, as nvidia-ml-py does. */
static PyObject *
h_nvmlDeviceGetTemperatureV(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "sensor", "version", NULL};
    PyObject *argv[3];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    unsigned int sensor;
    if (pn_unpack("nvmlDeviceGetTemperatureV", args, nargs, kwnames, names, 2, 3, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, "nvmlDeviceGetTemperatureV", "handle", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], "nvmlDeviceGetTemperatureV", "sensor", &sensor) < 0)
        return NULL;      /* wrong arguments first, then the version */
    if (argv[2] != NULL) {
        unsigned int v;
        if (pn_arg_u32(argv[2], "nvmlDeviceGetTemperatureV", "version", &v) < 0)
            return NULL;
        if (v != nvmlTemperature_v1)
            return pn_raise(st, NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    }
    return temperature_v1(st, "nvmlDeviceGetTemperatureV", argv[0], argv[1]);
}

/* nvmlDeviceGetSupportedPerformanceStates(device): NVML takes the array's size in bytes
 * and pads it with NVML_PSTATE_UNKNOWN, which nvidia-ml-py leaves out. */
static PyObject *
h_nvmlDeviceGetSupportedPerformanceStates(GETTER_ARGS)
{
    static const char *const names[] = {"device", NULL};
    PyObject *argv[1];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    if (pn_unpack("nvmlDeviceGetSupportedPerformanceStates", args, nargs, kwnames, names, 1, 1, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, "nvmlDeviceGetSupportedPerformanceStates", "device",
                      (void **)&dev) < 0)
        return NULL;
    unsigned int pstates[NVML_MAX_GPU_PERF_PSTATES];
    for (int i = 0; i < NVML_MAX_GPU_PERF_PSTATES; i++)
        pstates[i] = NVML_PSTATE_UNKNOWN;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetSupportedPerformanceStates, pfn_nvmlDeviceGetSupportedPerformanceStates, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, pstates, (unsigned int)sizeof pstates));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    PyObject *out = PyList_New(0);
    for (int i = 0; out != NULL && i < NVML_MAX_GPU_PERF_PSTATES; i++) {
        if (pstates[i] == NVML_PSTATE_UNKNOWN)
            continue;
        PyObject *v = PyLong_FromUnsignedLong(pstates[i]);
        if (v == NULL || PyList_Append(out, v) < 0)
            Py_CLEAR(out);
        Py_XDECREF(v);
    }
    return out;
}

/* nvmlDeviceGetGspFirmwareVersion(handle, version=None): NVML takes a buffer without its
 * length (NVML_GSP_FIRMWARE_VERSION_BUF_SIZE).  Given a buffer of the caller's (as
 * ctypes.create_string_buffer(64)), it is written and NVML_SUCCESS returned, as
 * nvidia-ml-py does; else the version as bytes (nvidia-ml-py's too). */
static PyObject *
h_nvmlDeviceGetGspFirmwareVersion(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "version", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    const char *fname = "nvmlDeviceGetGspFirmwareVersion";
    if (pn_unpack(fname, args, nargs, kwnames, names, 1, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0)
        return NULL;
    int user = argv[1] != NULL && argv[1] != Py_None;
    unsigned char buf[NVML_GSP_FIRMWARE_VERSION_BUF_SIZE];
    if (user && pn_copy_to_buffer(argv[1], NULL, sizeof buf, fname, "version") < 0)
        return NULL;
    memset(buf, 0, sizeof buf);
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetGspFirmwareVersion, pfn_nvmlDeviceGetGspFirmwareVersion, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, buf));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    buf[sizeof buf - 1] = 0;
    if (user)
        return pn_copy_to_buffer(argv[1], buf, sizeof buf, fname, "version") < 0 ? NULL : PyLong_FromLong(0);
    /* bytes, as nvidia-ml-py returns (ctypes' c_char array .value; no @convertStrBytes there) */
    return PyBytes_FromString((const char *)buf);
}

/* nvmlSystemGetDriverBranch(): the struct (version word set) and its branch buffer's size. */
static PyObject *
h_nvmlSystemGetDriverBranch(GETTER_ARGS)
{
    pn_state *st = pn_get_state(module);
    if (pn_unpack("nvmlSystemGetDriverBranch", args, nargs, kwnames, NULL, 0, 0, NULL) < 0)
        return NULL;
    nvmlSystemDriverBranchInfo_v1_t b;
    memset(&b, 0, sizeof b);
    b.version = SystemDriverBranchInfo_v1;
    PN_RESOLVE(st, PN_SYM_nvmlSystemGetDriverBranch, pfn_nvmlSystemGetDriverBranch, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(&b, NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_struct_new(st, PN_STRUCT_nvmlSystemDriverBranchInfo_v1_t, &b);
}

/* nvmlDeviceGetAccountingStats_v2(handle, pid): the pid goes in the struct. */
static PyObject *
h_nvmlDeviceGetAccountingStats_v2(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "pid", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    pn_nvmlAccountingStats_v2_t s;
    memset(&s, 0, sizeof s);
    const char *fname = "nvmlDeviceGetAccountingStats_v2";
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "pid", &s.pid) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetAccountingStats_v2, pfn_nvmlDeviceGetAccountingStats_v2, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, &s));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_struct_new(st, PN_STRUCT_pn_nvmlAccountingStats_v2_t, &s);
}

/* nvmlDeviceGetConfComputeGpuAttestationReport(device, c_nonce): the nonce (32 bytes:
 * bytes-like, or a sequence of 32 ints 0..255, as nvidia-ml-py's c_uint8 array takes)
 * goes in the struct. */
static PyObject *
h_nvmlDeviceGetConfComputeGpuAttestationReport(GETTER_ARGS)
{
    static const char *const names[] = {"device", "c_nonce", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    const char *fname = "nvmlDeviceGetConfComputeGpuAttestationReport";
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0)
        return NULL;
    nvmlConfComputeGpuAttestationReport_t *r = PyMem_Calloc(1, sizeof *r);
    if (r == NULL)
        return PyErr_NoMemory();
    PyObject *seq = PyUnicode_Check(argv[1]) ? NULL
                    : pn_arg_tuple(argv[1], "c_nonce must be a sequence of 32 ints 0..255 or 32 bytes");
    if (seq == NULL) {
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_TypeError, "%s(): c_nonce must be 32 bytes, not str", fname);
        PyMem_Free(r);
        return NULL;
    }
    if (PyTuple_GET_SIZE(seq) != NVML_CC_GPU_CEC_NONCE_SIZE) {
        PyErr_Format(PyExc_ValueError, "%s(): c_nonce must hold %d bytes, not %zd", fname,
                     NVML_CC_GPU_CEC_NONCE_SIZE, PyTuple_GET_SIZE(seq));
        goto fail;
    }
    for (int i = 0; i < NVML_CC_GPU_CEC_NONCE_SIZE; i++) {
        unsigned long long b;
        if (pn_arg_u64_range(PyTuple_GET_ITEM(seq, i), fname, "c_nonce", 255, &b) < 0)
            goto fail;
        r->nonce[i] = (unsigned char)b;
    }
    Py_CLEAR(seq);
    /* the nonce's items may have run code that shut NVML down: the handle again */
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0)
        goto fail;
    {
        pfn_nvmlDeviceGetConfComputeGpuAttestationReport fn =
            st->syms[PN_SYM_nvmlDeviceGetConfComputeGpuAttestationReport];
        if (fn == NULL && (fn = pn_resolve(st, PN_SYM_nvmlDeviceGetConfComputeGpuAttestationReport)) == NULL)
            goto fail;   /* (not PN_RESOLVE: r is to be freed) */
        nvmlReturn_t rc;
        PN_NVML_CALL(rc, fn(dev, r));
        PyObject *out = rc == NVML_SUCCESS ? pn_struct_new(st, PN_STRUCT_nvmlConfComputeGpuAttestationReport_t, r)
                                           : pn_raise(st, rc);
        PyMem_Free(r);
        return out;
    }
fail:
    Py_XDECREF(seq);
    PyMem_Free(r);
    return NULL;
}

/* nvmlDeviceGetHandleByUUIDV(uuid, type): an nvmlUUID_t of that type.  ASCII: the UUID
 * string (str or bytes, at most 40 bytes); BINARY: its 16 bytes (bytes-like); another
 * type: the value left empty, for NVML to judge, as nvidia-ml-py leaves it. */
static PyObject *
h_nvmlDeviceGetHandleByUUIDV(GETTER_ARGS)
{
    static const char *const names[] = {"uuid", "type", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    const char *fname = "nvmlDeviceGetHandleByUUIDV";
    nvmlUUID_v1_t u;
    memset(&u, 0, sizeof u);
    u.version = nvmlUUID_v1;
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_u32(argv[1], fname, "type", &u.type) < 0)
        return NULL;
    if (!PyUnicode_Check(argv[0]) && !PyObject_CheckBuffer(argv[0])) {
        PyErr_Format(PyExc_TypeError, "%s(): uuid must be str or bytes-like, not %.100s", fname,
                     Py_TYPE(argv[0])->tp_name);
        return NULL;
    }
    if (u.type != NVML_UUID_TYPE_BINARY) {      /* a string: checked whatever the type */
        const char *s;
        if (pn_arg_cstr(argv[0], fname, "uuid", &s) < 0)
            return NULL;
        if (u.type == NVML_UUID_TYPE_ASCII) {
            if (strlen(s) >= sizeof u.value.str) {
                PyErr_Format(PyExc_ValueError, "%s(): uuid is longer than %zu bytes", fname, sizeof u.value.str - 1);
                return NULL;
            }
            strcpy(u.value.str, s);
        }
    } else {
        Py_buffer view;
        if (PyUnicode_Check(argv[0]) || PyObject_GetBuffer(argv[0], &view, PyBUF_SIMPLE) < 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "%s(): a binary uuid is bytes-like, not %.100s", fname,
                         Py_TYPE(argv[0])->tp_name);
            return NULL;
        }
        if ((size_t)view.len < sizeof u.value.bytes) {
            PyBuffer_Release(&view);
            PyErr_Format(PyExc_ValueError, "%s(): a binary uuid holds %zu bytes", fname, sizeof u.value.bytes);
            return NULL;
        }
        memcpy(u.value.bytes, view.buf, sizeof u.value.bytes);
        PyBuffer_Release(&view);
    }
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetHandleByUUIDV, pfn_nvmlDeviceGetHandleByUUIDV, fn);
    nvmlDevice_t dev = NULL;
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(&u, &dev));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    return pn_handle_new(st, PN_HANDLE_Device, dev);
}

/* The process lists NVML fills through a struct holding their count and array: a size
 * query (SUCCESS: none, []), then the array.  A process list can grow between the calls:
 * asked again, a few times, with room to spare.  `call` points the struct `s` at arr and
 * makes NVML's call; *count is the struct's count; the entries are of struct sidx. */
typedef nvmlReturn_t (*list_call)(void *fn, nvmlDevice_t dev, void *s, void *arr);

static PyObject *
process_list(pn_state *st, list_call call, void *fn, nvmlDevice_t dev, void *s, unsigned int *count, int sidx,
             size_t size)
{
    void *arr = NULL;
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, call(fn, dev, s, NULL));
    for (int tries = 0; rc == NVML_ERROR_INSUFFICIENT_SIZE && tries < 8; tries++) {
        unsigned int cap = *count * 2 + 5;
        PyMem_Free(arr);
        if ((arr = PyMem_Calloc(cap, size)) == NULL)
            return PyErr_NoMemory();
        *count = cap;
        PN_NVML_CALL(rc, call(fn, dev, s, arr));
        if (rc == NVML_SUCCESS && *count > cap)
            *count = cap;      /* never read past what we allocated */
    }
    PyObject *out = NULL;
    if (rc != NVML_SUCCESS)
        out = pn_raise(st, rc);
    else if (arr == NULL)
        out = PyList_New(0);
    else
        out = pn_struct_list(st, sidx, arr, size, *count);
    PyMem_Free(arr);
    return out;
}

static nvmlReturn_t
call_detail_list(void *fn, nvmlDevice_t dev, void *s, void *arr)
{
    ((nvmlProcessDetailList_v1_t *)s)->procArray = arr;
    return ((pfn_nvmlDeviceGetRunningProcessDetailList)fn)(dev, s);
}

static nvmlReturn_t
call_utilization_info(void *fn, nvmlDevice_t dev, void *s, void *arr)
{
    ((nvmlProcessesUtilizationInfo_v1_t *)s)->procUtilArray = arr;
    return ((pfn_nvmlDeviceGetProcessesUtilizationInfo)fn)(dev, s);
}

/* nvmlDeviceGetRunningProcessDetailList(handle, version, mode): the version and mode go
 * in the struct; a process list (above). */
static PyObject *
h_nvmlDeviceGetRunningProcessDetailList(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "version", "mode", NULL};
    PyObject *argv[3];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    nvmlProcessDetailList_v1_t l;
    memset(&l, 0, sizeof l);
    const char *fname = "nvmlDeviceGetRunningProcessDetailList";
    if (pn_unpack(fname, args, nargs, kwnames, names, 3, 3, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "version", &l.version) < 0 ||
        pn_arg_u32(argv[2], fname, "mode", &l.mode) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetRunningProcessDetailList, pfn_nvmlDeviceGetRunningProcessDetailList, fn);
    return process_list(st, call_detail_list, (void *)fn, dev, &l, &l.numProcArrayEntries,
                        PN_STRUCT_nvmlProcessDetail_v1_t, sizeof(nvmlProcessDetail_v1_t));
}

/* nvmlDeviceGetProcessesUtilizationInfo(handle, timeStamp): the samples newer than
 * timeStamp, a process list (above).  nvidia-ml-py raises NVMLError(ret) unless the query
 * answers INSUFFICIENT_SIZE: NVMLError_NotFound where NVML has no samples, and NVMLError(0)
 * where the query succeeds (no samples either); ours returns [] there. */
static PyObject *
h_nvmlDeviceGetProcessesUtilizationInfo(GETTER_ARGS)
{
    static const char *const names[] = {"handle", "timeStamp", NULL};
    PyObject *argv[2];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    nvmlProcessesUtilizationInfo_v1_t info;
    memset(&info, 0, sizeof info);
    const char *fname = "nvmlDeviceGetProcessesUtilizationInfo";
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0 ||
        pn_arg_u64(argv[1], fname, "timeStamp", &info.lastSeenTimeStamp) < 0)
        return NULL;
    info.version = ProcessesUtilizationInfo_v1;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetProcessesUtilizationInfo, pfn_nvmlDeviceGetProcessesUtilizationInfo, fn);
    return process_list(st, call_utilization_info, (void *)fn, dev, &info, &info.processSamplesCount,
                        PN_STRUCT_nvmlProcessUtilizationInfo_v1_t, sizeof(nvmlProcessUtilizationInfo_v1_t));
}

/* nvmlDeviceGetSamples(device, sampling_type, timeStamp): a count query, then the samples
 * newer than timeStamp: (sampleValueType, [c_nvmlSample_t, ...]).  A sample may appear
 * between the two calls: NVML fills what room there is (the count says how much), so
 * the second call gets room to spare. */
static PyObject *
h_nvmlDeviceGetSamples(GETTER_ARGS)
{
    static const char *const names[] = {"device", "sampling_type", "timeStamp", NULL};
    PyObject *argv[3];
    pn_state *st = pn_get_state(module);
    nvmlDevice_t dev;
    unsigned int type, vtype = 0, count = 0;
    unsigned long long ts;
    const char *fname = "nvmlDeviceGetSamples";
    if (pn_unpack(fname, args, nargs, kwnames, names, 3, 3, argv) < 0 ||
        pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "device", (void **)&dev) < 0 ||
        pn_arg_u32(argv[1], fname, "sampling_type", &type) < 0 ||
        pn_arg_u64(argv[2], fname, "timeStamp", &ts) < 0)
        return NULL;
    PN_RESOLVE(st, PN_SYM_nvmlDeviceGetSamples, pfn_nvmlDeviceGetSamples, fn);
    nvmlReturn_t rc;
    PN_NVML_CALL(rc, fn(dev, type, ts, &vtype, &count, NULL));
    if (rc != NVML_SUCCESS)
        return pn_raise(st, rc);
    unsigned int cap = count + 16;
    nvmlSample_t *arr = PyMem_Calloc(cap, sizeof *arr);
    if (arr == NULL)
        return PyErr_NoMemory();
    count = cap;
    PN_NVML_CALL(rc, fn(dev, type, ts, &vtype, &count, arr));
    PyObject *out = NULL;
    if (rc != NVML_SUCCESS) {
        out = pn_raise(st, rc);
    } else {
        PyObject *list = pn_struct_list(st, PN_STRUCT_nvmlSample_t, arr, sizeof *arr, count < cap ? count : cap);
        out = list ? Py_BuildValue("(kN)", (unsigned long)vtype, list) : NULL;
    }
    PyMem_Free(arr);
    return out;
}

#define M(name, doc) {#name, (PyCFunction)(void (*)(void))h_##name, METH_FASTCALL | METH_KEYWORDS, doc}
PyMethodDef pn_hand_getters_methods[] = {
    M(nvmlDeviceGetTemperatureV, "nvmlDeviceGetTemperatureV(handle, sensor, version=nvmlTemperature_v1)\n--\n\n"
      "The sensor's temperature (nvmlDeviceGetTemperatureV with an nvmlTemperature_v1_t)."),
    M(nvmlDeviceGetTemperatureV1, "nvmlDeviceGetTemperatureV1(handle, sensor)\n--\n\n"
      "The sensor's temperature (nvmlDeviceGetTemperatureV)."),
    M(nvmlDeviceGetSupportedPerformanceStates, "nvmlDeviceGetSupportedPerformanceStates(device)\n--\n\n"
      "The supported P-states, NVML_PSTATE_UNKNOWN left out."),
    M(nvmlDeviceGetGspFirmwareVersion, "nvmlDeviceGetGspFirmwareVersion(handle, version=None)\n--\n\n"
      "The GSP firmware version (bytes); given a writable buffer of 64 bytes, written there and 0 returned."),
    M(nvmlSystemGetDriverBranch, "nvmlSystemGetDriverBranch()\n--\n\n"
      "The driver branch, a c_nvmlSystemDriverBranchInfo_v1_t."),
    M(nvmlDeviceGetAccountingStats_v2, "nvmlDeviceGetAccountingStats_v2(handle, pid)\n--\n\n"
      "The process's accounting statistics, a c_nvmlAccountingStats_v2_t."),
    M(nvmlDeviceGetConfComputeGpuAttestationReport,
      "nvmlDeviceGetConfComputeGpuAttestationReport(device, c_nonce)\n--\n\n"
      "The GPU's attestation report for a 32-byte nonce."),
    M(nvmlDeviceGetHandleByUUIDV, "nvmlDeviceGetHandleByUUIDV(uuid, type)\n--\n\n"
      "The device of an ASCII (NVML_UUID_TYPE_ASCII) or binary (NVML_UUID_TYPE_BINARY) UUID."),
    M(nvmlDeviceGetRunningProcessDetailList, "nvmlDeviceGetRunningProcessDetailList(handle, version, mode)\n--\n\n"
      "The running processes of a mode, a list of c_nvmlProcessDetail_v1_t."),
    M(nvmlDeviceGetProcessesUtilizationInfo, "nvmlDeviceGetProcessesUtilizationInfo(handle, timeStamp)\n--\n\n"
      "Per-process utilization samples newer than timeStamp."),
    M(nvmlDeviceGetSamples, "nvmlDeviceGetSamples(device, sampling_type, timeStamp)\n--\n\n"
      "(sampleValueType, [c_nvmlSample_t, ...]): the samples newer than timeStamp."),
    {NULL, NULL, 0, NULL},
};
