/* Simulator entry points of the `getters` family (spec/functions_getters.nvml) that the
 * generator cannot write: the key is inside the caller's struct (a sensor, a pid, a
 * mode), NVML takes a size in bytes or a buffer without its length, a handle is found by
 * a UUID in two forms, or the data are made as time passes (samples).
 *
 * Profile data (a device's object, unless said):
 *   nvmlDeviceGetTemperatureV          {"SENSOR": celsius}; without it, nvmlDeviceGetTemperature's
 *                                      (not in a captured profile: sim.h, sim_profile_captured)
 *   nvmlDeviceGetSupportedPerformanceStates   [pstate, ...]
 *   nvmlDeviceGetGspFirmwareVersion    "version"
 *   nvmlSystemGetDriverBranch          (system) "branch"
 *   nvmlDeviceGetAccountingStats_v2    {"PID": {field: value}}; without it, FUNCTION_NOT_FOUND
 *                                      (the H100's driver 580 lacks the entry point)
 *   nvmlDeviceGetRunningProcessDetailList   {"MODE": [{pid, usedGpuMemory, ...}, ...]}
 *   nvmlDeviceGetProcessesUtilizationInfo   [{timeStamp, pid, smUtil, ...}, ...]: those newer
 *                                      than the caller's lastSeenTimeStamp; none: NOT_FOUND
 *   nvmlDeviceGetSamples               {"TYPE": {"valueType": T, "periodUs": P, "count": N,
 *                                      "values": [v, ...]}}: N samples, one every P us, the
 *                                      last at most P us old, values in turn from the list
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

nvmlReturn_t
nvmlDeviceGetTemperatureV(nvmlDevice_t device, nvmlTemperature_v1_t *temperature)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetTemperatureV", device);
    /* c.dev: the GPU, or a MIG device of one (sim_device_of(device) is NULL for those) */
    if (rc == NVML_ERROR_NOT_SUPPORTED && c.dev != NULL && !sim_profile_captured() &&
        cJSON_GetObjectItemCaseSensitive(c.dev->data, "nvmlDeviceGetTemperatureV") == NULL)
        rc = sim_begin_device(&c, "nvmlDeviceGetTemperature", device);   /* the same thermometers */
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_versioned(temperature, nvmlTemperature_v1)) != NVML_SUCCESS)
        return rc;
    if ((rc = sim_key_u64(&c, temperature->sensorType)))
        return rc;
    return sim_out(&c, 0, 1, &temperature->temperature, sim_get_i32);
}

nvmlReturn_t
nvmlDeviceGetSupportedPerformanceStates(nvmlDevice_t device, unsigned int *pstates, unsigned int size)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetSupportedPerformanceStates", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (pstates == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (!cJSON_IsArray(c.value))
        return NVML_ERROR_UNKNOWN;
    unsigned int n = (unsigned int)cJSON_GetArraySize(c.value), cap = size / sizeof *pstates;
    if (n > cap)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    for (unsigned int i = 0; i < cap; i++)
        pstates[i] = NVML_PSTATE_UNKNOWN;
    return sim_get_array(c.value, pstates, n, sizeof *pstates, sim_get_u32);
}

nvmlReturn_t
nvmlDeviceGetGspFirmwareVersion(nvmlDevice_t device, unsigned char *version)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetGspFirmwareVersion", device);
    if (rc != NVML_SUCCESS)
        return rc;
    return sim_out_chars(&c, 0, 1, (char *)version, NVML_GSP_FIRMWARE_VERSION_BUF_SIZE);
}

nvmlReturn_t
nvmlSystemGetDriverBranch(nvmlSystemDriverBranchInfo_v1_t *branchInfo, unsigned int length)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlSystemGetDriverBranch");
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_versioned(branchInfo, SystemDriverBranchInfo_v1)) != NVML_SUCCESS)
        return rc;
    if (length > sizeof branchInfo->branch)
        length = sizeof branchInfo->branch;
    return sim_out_chars(&c, 0, 1, branchInfo->branch, length);
}

nvmlReturn_t
nvmlDeviceGetAccountingStats_v2(nvmlDevice_t device, pn_nvmlAccountingStats_v2_t *stats)
{
    sim_call c;
    sim_device *d = sim_device_of(device);
    if (sim_initialized() && d != NULL &&
        cJSON_GetObjectItemCaseSensitive(d->data, "nvmlDeviceGetAccountingStats_v2") == NULL)
        return NVML_ERROR_FUNCTION_NOT_FOUND;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetAccountingStats_v2", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (stats == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (sim_key_u64(&c, stats->pid) != NVML_SUCCESS)
        return NVML_ERROR_NOT_FOUND;
    if ((rc = sim_check_object(c.value)))
        return rc;
#define F(name, get) if ((rc = get(cJSON_GetObjectItemCaseSensitive(c.value, #name), &stats->name))) return rc
    F(isRunning, sim_get_u32);
    F(gpuUtilization, sim_get_u32);
    F(memoryUtilization, sim_get_u32);
    F(maxMemoryUsage, sim_get_u64);
    F(sampleCount, sim_get_u32);
    F(sumGpuUtil, sim_get_u64);
    F(sumFbUtil, sim_get_u64);
    F(time, sim_get_u64);
    F(startTime, sim_get_u64);
#undef F
    return NVML_SUCCESS;
}

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as NVML's 16 binary bytes. */
static int
uuid_bytes(const char *s, unsigned char out[16])
{
    if (strncasecmp(s, "GPU-", 4) == 0)
        s += 4;
    int n = 0;
    for (; *s && n < 32; s++) {
        if (*s == '-')
            continue;
        int v;
        if (sscanf((char[]){s[0], 0}, "%1x", &v) != 1)
            return -1;
        out[n / 2] = (unsigned char)(n % 2 ? (out[n / 2] | v) : v << 4);
        n++;
    }
    return n == 32 ? 0 : -1;
}

nvmlReturn_t
nvmlDeviceGetHandleByUUIDV(nvmlUUID_v1_t *uuid, nvmlDevice_t *device)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (uuid == NULL || device == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (uuid->version != nvmlUUID_v1)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if (uuid->type != NVML_UUID_TYPE_ASCII && uuid->type != NVML_UUID_TYPE_BINARY)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned int i = 0; i < sim_device_count(); i++) {
        sim_device *d = sim_device_at(i);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->data, "nvmlDeviceGetUUID");
        if (!cJSON_IsString(v))
            continue;
        unsigned char b[16];
        int same = uuid->type == NVML_UUID_TYPE_ASCII
                   ? strncasecmp(v->valuestring, uuid->value.str, sizeof uuid->value.str) == 0
                   : uuid_bytes(v->valuestring, b) == 0 && memcmp(b, uuid->value.bytes, 16) == 0;
        if (same) {
            *device = (nvmlDevice_t)d;
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t
nvmlDeviceGetRunningProcessDetailList(nvmlDevice_t device, nvmlProcessDetailList_v1_t *plist)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetRunningProcessDetailList", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_versioned(plist, nvmlProcessDetailList_v1)) != NVML_SUCCESS)
        return rc;
    if (sim_key_u64(&c, plist->mode) != NVML_SUCCESS)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (!cJSON_IsArray(c.value))
        return NVML_ERROR_UNKNOWN;
    unsigned int n = (unsigned int)cJSON_GetArraySize(c.value);
    if (n == 0) {
        plist->numProcArrayEntries = 0;
        return NVML_SUCCESS;
    }
    if (plist->procArray == NULL || plist->numProcArrayEntries < n) {
        plist->numProcArrayEntries = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    for (unsigned int i = 0; i < n; i++) {
        const cJSON *e = cJSON_GetArrayItem(c.value, (int)i);
        nvmlProcessDetail_v1_t *p = &plist->procArray[i];
        memset(p, 0, sizeof *p);
        if ((rc = sim_check_object(e)))
            return rc;
#define F(name, get) if ((rc = get(cJSON_GetObjectItemCaseSensitive(e, #name), &p->name))) return rc
        F(pid, sim_get_u32);
        F(usedGpuMemory, sim_get_u64);
        F(gpuInstanceId, sim_get_u32);
        F(computeInstanceId, sim_get_u32);
        F(usedGpuCcProtectedMemory, sim_get_u64);
#undef F
    }
    plist->numProcArrayEntries = n;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlDeviceGetProcessesUtilizationInfo(nvmlDevice_t device, nvmlProcessesUtilizationInfo_v1_t *info)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetProcessesUtilizationInfo", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_versioned(info, ProcessesUtilizationInfo_v1)) != NVML_SUCCESS)
        return rc;
    if (!cJSON_IsArray(c.value))
        return NVML_ERROR_UNKNOWN;
    unsigned int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, c.value) {
        unsigned long long ts = 0;
        if ((rc = sim_get_u64(cJSON_GetObjectItemCaseSensitive(e, "timeStamp"), &ts)))
            return rc;
        if (ts <= info->lastSeenTimeStamp)
            continue;
        if (info->procUtilArray != NULL && n < info->processSamplesCount) {
            nvmlProcessUtilizationInfo_v1_t *p = &info->procUtilArray[n];
            memset(p, 0, sizeof *p);
            p->timeStamp = ts;
#define F(name) if ((rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(e, #name), &p->name))) return rc
            F(pid); F(smUtil); F(memUtil); F(encUtil); F(decUtil); F(jpgUtil); F(ofaUtil);
#undef F
        }
        n++;
    }
    if (n == 0)
        return NVML_ERROR_NOT_FOUND;     /* no samples newer than lastSeenTimeStamp */
    if (info->procUtilArray == NULL || info->processSamplesCount < n) {
        info->processSamplesCount = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    info->processSamplesCount = n;
    return NVML_SUCCESS;
}

/* One sample's value as the union member its value type names. */
static nvmlReturn_t
sample_value(const cJSON *j, unsigned int vtype, nvmlValue_t *v)
{
    switch (vtype) {
    case NVML_VALUE_TYPE_DOUBLE: return sim_get_f64(j, &v->dVal);
    case NVML_VALUE_TYPE_UNSIGNED_INT: return sim_get_u32(j, &v->uiVal);
    case NVML_VALUE_TYPE_UNSIGNED_LONG: return sim_get_ulong(j, &v->ulVal);
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: return sim_get_u64(j, &v->ullVal);
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG: return sim_get_i64(j, &v->sllVal);
    case NVML_VALUE_TYPE_SIGNED_INT: return sim_get_i32(j, &v->siVal);
    default: return NVML_ERROR_UNKNOWN;
    }
}

nvmlReturn_t
nvmlDeviceGetSamples(nvmlDevice_t device, unsigned int type, unsigned long long lastSeenTimeStamp,
                     unsigned int *sampleValType, unsigned int *sampleCount, nvmlSample_t *samples)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetSamples", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (sampleValType == NULL || sampleCount == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if ((rc = sim_key_u64(&c, type)) || (rc = sim_check_object(c.value)))
        return rc;
    unsigned int vtype = 0, count = 0;
    unsigned long long period = 0;
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(c.value, "values");
    if ((rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(c.value, "valueType"), &vtype)) ||
        (rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(c.value, "count"), &count)) ||
        (rc = sim_get_u64(cJSON_GetObjectItemCaseSensitive(c.value, "periodUs"), &period)))
        return rc;
    if (period == 0 || !cJSON_IsArray(values) || cJSON_GetArraySize(values) == 0)
        return NVML_ERROR_UNKNOWN;
    /* Samples at whole multiples of the period: two calls in one period see the same ones. */
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned long long now = (unsigned long long)tv.tv_sec * 1000000ull + (unsigned long long)tv.tv_usec;
    unsigned long long last = now / period, first = last >= count ? last - count + 1 : 0;
    if (lastSeenTimeStamp / period + 1 > first)
        first = lastSeenTimeStamp / period + 1;
    unsigned int n = last >= first ? (unsigned int)(last - first + 1) : 0;
    *sampleValType = vtype;
    if (n == 0)
        return NVML_ERROR_NOT_FOUND;
    if (samples == NULL) {
        *sampleCount = n;
        return NVML_SUCCESS;
    }
    if (*sampleCount < n)             /* the oldest that fit are left out */
        first = last - *sampleCount + 1, n = *sampleCount;
    int nvalues = cJSON_GetArraySize(values);
    for (unsigned int i = 0; i < n; i++) {
        unsigned long long k = first + i;
        samples[i].timeStamp = k * period;
        memset(&samples[i].sampleValue, 0, sizeof samples[i].sampleValue);
        if ((rc = sample_value(cJSON_GetArrayItem(values, (int)(k % (unsigned long long)nvalues)), vtype,
                               &samples[i].sampleValue)))
            return rc;
    }
    *sampleCount = n;
    return NVML_SUCCESS;
}
