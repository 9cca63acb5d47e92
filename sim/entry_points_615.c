/* The simulated NVML's hand-written entry points of NVML 13.615 (spec/functions_615.nvml)
 * that no generated one can be: their structs hold pointers NVML follows.  (The GPU
 * operational events keep event-set state: sim/entry_points_events.c.)
 *
 * MEMORY LIMITS.  A device's "nvmlDeviceGetMemoryLimits_v1" maps a cgroup path (the
 * struct's nameSpace) to {"softLimit", "hardLimit", "currentUsed"}:
 *     "nvmlDeviceGetMemoryLimits_v1": {"/sys/fs/cgroup/job1": {"softLimit": 0,
 *                                      "hardLimit": "18446744073709551615", "currentUsed": 0}}
 * A path it lacks is NOT_FOUND; no nameSpace (NULL or empty) INVALID_ARGUMENT; a path that is not
 * absolute OPERATING_SYSTEM (NVML cannot open it); no such key NOT_SUPPORTED.
 * nvmlDeviceSetMemoryLimits_v1 writes softLimit and hardLimit of a path (adding it,
 * currentUsed 0): soft above hard, or a limit above the device's memory
 * (nvmlDeviceGetMemoryInfo's total), is INVALID_ARGUMENT; soft 0 and hard
 * NVML_DEVICE_MEMORY_LIMIT_MAX clear the limits; "nvmlDeviceSetMemoryLimits_v1": {"error": ...}
 * makes it fail so (NO_PERMISSION: a user who is not root).
 *
 * NVLINK TELEMETRY.  A device's "nvmlDeviceGetNvLinkTelemetrySamples_v1" maps a link id to
 * a sample type to a list of samples (u64); the list's length is the link's supported
 * sampleCount.  The call checks every slot first, as nvml.h says, and answers
 * INVALID_ARGUMENT (writing nothing) for a NULL struct, telemetrySamples NULL with a
 * nonzero telemetryCount, a linkId of NVML_NVLINK_MAX_LINKS or more, a sampleType of
 * NVML_NVLINK_TELEMETRY_SAMPLE_TYPE_COUNT or more, a nonzero sampleCount with samples
 * NULL, or a sampleCount above what the link supports.  Then each slot gets its own
 * nvmlReturn: NOT_SUPPORTED for a link or type the profile lacks; with sampleCount 0 the
 * slot's sampleCount becomes the supported number (samples untouched); else sampleCount
 * samples are written.
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

#define MEMORY_LIMIT_MAX 0xFFFFFFFFFFFFFFFFull

nvmlReturn_t
nvmlDeviceGetMemoryLimits_v1(nvmlDevice_t device, nvmlGetMemoryLimits_v1_t *limits)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetMemoryLimits_v1", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (limits == NULL || limits->nameSpace == NULL || limits->nameSpace[0] == 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (limits->nameSpace[0] != '/')
        return NVML_ERROR_OPERATING_SYSTEM;
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(c.value, limits->nameSpace);
    if (ns == NULL)
        return NVML_ERROR_NOT_FOUND;
    if ((rc = sim_error_of(ns)) != NVML_SUCCESS)
        return rc;
    unsigned long long soft, hard, used;
    if ((rc = sim_get_u64(cJSON_GetObjectItemCaseSensitive(ns, "softLimit"), &soft)) ||
        (rc = sim_get_u64(cJSON_GetObjectItemCaseSensitive(ns, "hardLimit"), &hard)) ||
        (rc = sim_get_u64(cJSON_GetObjectItemCaseSensitive(ns, "currentUsed"), &used)))
        return rc;
    limits->softLimit = soft;
    limits->hardLimit = hard;
    limits->currentUsed = used;
    return NVML_SUCCESS;
}

/* A u64 as JSON: a number where a double holds it exactly, else a decimal string (as the
 * profiles write NVML_VALUE_NOT_AVAILABLE and other values past 2**53). */
static cJSON *
u64_json(unsigned long long v)
{
    if (v <= (1ull << 53))
        return cJSON_CreateNumber((double)v);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", v);
    return cJSON_CreateString(buf);
}

nvmlReturn_t
nvmlDeviceSetMemoryLimits_v1(nvmlDevice_t device, nvmlSetMemoryLimits_v1_t *limits)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetMemoryLimits_v1", device);
    if (rc != NVML_SUCCESS)
        return rc;
    /* the setter's own key may hold an error, as every setter's (a user who is not root) */
    if ((rc = sim_error_of(cJSON_GetObjectItemCaseSensitive(c.dev->data, "nvmlDeviceSetMemoryLimits_v1"))))
        return rc;
    if (limits == NULL || limits->nameSpace == NULL || limits->nameSpace[0] == 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (limits->nameSpace[0] != '/')
        return NVML_ERROR_OPERATING_SYSTEM;
    if (limits->hardLimit != MEMORY_LIMIT_MAX && limits->softLimit > limits->hardLimit)
        return NVML_ERROR_INVALID_ARGUMENT;
    /* no limit above the device's memory (MAX: no hard limit) */
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(c.dev->data, "nvmlDeviceGetMemoryInfo");
    unsigned long long total = 0;
    if (mem != NULL && sim_get_u64(cJSON_GetObjectItemCaseSensitive(mem, "total"), &total) == NVML_SUCCESS &&
        total > 0 && (limits->softLimit > total || (limits->hardLimit != MEMORY_LIMIT_MAX && limits->hardLimit > total)))
        return NVML_ERROR_INVALID_ARGUMENT;
    cJSON *all = (cJSON *)c.value, *ns = NULL;
    cJSON *soft = u64_json(limits->softLimit), *hard = u64_json(limits->hardLimit);
    sim_state_lock();
    ns = cJSON_GetObjectItemCaseSensitive(all, limits->nameSpace);
    if (ns == NULL || !cJSON_IsObject(ns)) {
        cJSON_DeleteItemFromObjectCaseSensitive(all, limits->nameSpace);
        ns = cJSON_AddObjectToObject(all, limits->nameSpace);
        if (ns != NULL)
            cJSON_AddNumberToObject(ns, "currentUsed", 0);
    }
    if (ns == NULL || soft == NULL || hard == NULL) {
        sim_state_unlock();
        cJSON_Delete(soft);
        cJSON_Delete(hard);
        return NVML_ERROR_MEMORY;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(ns, "softLimit");
    cJSON_DeleteItemFromObjectCaseSensitive(ns, "hardLimit");
    cJSON_AddItemToObject(ns, "softLimit", soft);
    cJSON_AddItemToObject(ns, "hardLimit", hard);
    sim_state_unlock();
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlDeviceGetNvLinkTelemetrySamples_v1(nvmlDevice_t device, nvmlNvlinkTelemetrySamples_v1_t *samples)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetNvLinkTelemetrySamples_v1", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (samples == NULL || (samples->telemetryCount > 0 && samples->telemetrySamples == NULL))
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned int i = 0; i < samples->telemetryCount; i++) {   /* the checks, before any write */
        const nvmlNvlinkTelemetrySample_v1_t *slot = &samples->telemetrySamples[i];
        if (slot->linkId >= NVML_NVLINK_MAX_LINKS || slot->sampleType >= NVML_NVLINK_TELEMETRY_SAMPLE_TYPE_COUNT ||
            (slot->sampleCount > 0 && slot->samples == NULL))
            return NVML_ERROR_INVALID_ARGUMENT;
        char key[16];
        snprintf(key, sizeof key, "%u", slot->linkId);
        const cJSON *link = cJSON_GetObjectItemCaseSensitive(c.value, key);
        snprintf(key, sizeof key, "%u", slot->sampleType);
        const cJSON *list = link ? cJSON_GetObjectItemCaseSensitive(link, key) : NULL;
        if (cJSON_IsArray(list) && slot->sampleCount > (unsigned int)cJSON_GetArraySize(list))
            return NVML_ERROR_INVALID_ARGUMENT;
    }
    for (unsigned int i = 0; i < samples->telemetryCount; i++) {
        nvmlNvlinkTelemetrySample_v1_t *slot = &samples->telemetrySamples[i];
        char key[16];
        snprintf(key, sizeof key, "%u", slot->linkId);
        const cJSON *link = cJSON_GetObjectItemCaseSensitive(c.value, key);
        snprintf(key, sizeof key, "%u", slot->sampleType);
        const cJSON *list = link ? cJSON_GetObjectItemCaseSensitive(link, key) : NULL;
        if (list == NULL) {
            slot->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        if ((slot->nvmlReturn = sim_error_of(list)) != NVML_SUCCESS)
            continue;
        if (!cJSON_IsArray(list)) {
            slot->nvmlReturn = NVML_ERROR_UNKNOWN;   /* a profile bug */
            continue;
        }
        unsigned int held = (unsigned int)cJSON_GetArraySize(list);
        if (slot->sampleCount == 0) {   /* the count query */
            slot->sampleCount = held;
            slot->nvmlReturn = NVML_SUCCESS;
            continue;
        }
        slot->nvmlReturn = sim_get_array(list, slot->samples, slot->sampleCount, sizeof *slot->samples, sim_get_u64);
    }
    return NVML_SUCCESS;
}
