/* The simulated NVML's vGPU entry points that fit no generated pattern (spec/functions_vgpu.nvml,
 * `simhand`): why each can't be generated is said above it.  In short: versioned structs that
 * carry the caller's array and count, buffer sizes passed by pointer, inputs read from inside
 * the caller's struct, and the setters, which change the profile in memory so that the
 * getters answer what was set.
 *
 * Profile data (keys are the C entry points; see sim/profiles/vgpu-host.json):
 *   device  nvmlDeviceGetVgpuInstancesUtilizationInfo   [sample, ...]  (samples newer than the
 *           nvmlDeviceGetVgpuProcessesUtilizationInfo   [sample, ...]   caller's lastSeenTimeStamp)
 *           nvmlDeviceGetVgpuMetadata                   {pgpu metadata fields}
 *           nvmlDeviceGetPgpuMetadataString             "string"
 *           nvmlDeviceGetVgpuType{Supported,Creatable}Placements
 *                                                       {"<vgpuTypeId>": {"placementSize": S,
 *                                                                         "placementIds": [...]}}
 *   system  nvmlVgpuTypeGetClass, nvmlVgpuTypeGetName   {"<vgpuTypeId>": "string"}
 *           nvmlVgpuTypeGetMaxInstancesPerGpuInstance   {"<vgpuTypeId>": N}
 *           nvmlVgpuInstanceGetGpuPciId                 {"<vgpuInstance>": "string"}
 *           nvmlVgpuInstanceGetMetadata                 {"<vgpuInstance>": {vgpu metadata fields}}
 *           nvmlGetVgpuCompatibility                    {compatibility fields}: the answer when the
 *                                                       guest's vGPU version is in the host's range
 *
 * Setters: a setter's own key may hold {"error": CODE} (e.g. NO_PERMISSION); otherwise it
 * works where its getter's data does (the getter's error, or NOT_SUPPORTED without data, is
 * the setter's answer) and writes there.  The simulator does not model "in use" refusals.
 * nvmlDeviceGetVgpuSchedulerState_v2, _Log_v2, SetVgpuSchedulerState_v2 and
 * nvmlDeviceVgpuForceGspUnload are not here on purpose: driver 580 does not have them.
 *
 * Changing the profile while other threads read it: numbers are changed in place; a value
 * of another JSON type is replaced by linking the new item where the old one was, and the
 * old one is kept (never freed), so that a reader that holds it, or is stepping through its
 * siblings, reads valid memory.  That leaks one item per key whose type a setter changes
 * (once: afterwards it is a number, or stays the array or object it became), and the
 * scheduler's parameters each time nvmlDeviceSetVgpuSchedulerState switches ARR on or off.
 */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- reading -------------------------------------------------------------------------- */

static nvmlReturn_t
fill(int sidx, const cJSON *j, void *dst)
{
    return sim_struct_fillers[sidx](j, dst);
}

static unsigned long long
u64_of(const cJSON *j, unsigned long long dflt)
{
    unsigned long long v = dflt;
    if (j != NULL && sim_get_u64(j, &v) != NVML_SUCCESS)
        v = dflt;
    return v;
}

/* A string at the call's value into buf, whose size NVML takes by pointer: too small
 * (or NULL with a size) answers INSUFFICIENT_SIZE and the size needed. */
static nvmlReturn_t
out_sized_string(sim_call *c, char *buf, unsigned int *size)
{
    if (!cJSON_IsString(c->value))
        return NVML_ERROR_UNKNOWN;
    if (size == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned int need = (unsigned int)strlen(c->value->valuestring) + 1;
    if (*size < need || buf == NULL) {
        *size = need;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(buf, c->value->valuestring, need);
    *size = need;
    return NVML_SUCCESS;
}

/* A struct at the call's value into a buffer whose size NVML takes by pointer (the vGPU
 * metadata calls): a smaller buffer answers INSUFFICIENT_SIZE and the size needed. */
static nvmlReturn_t
out_sized_struct(sim_call *c, int sidx, void *dst, size_t need, unsigned int *size)
{
    if (size == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (*size < need) {
        *size = (unsigned int)need;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (dst == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    *size = (unsigned int)need;
    return fill(sidx, c->value, dst);
}

/* --- utilization samples: a versioned struct carrying the caller's array ----------------- */

/* The samples of `node` newer than lastSeen (all of those that have no timeStamp) into
 * arr (room for *count), as NVML: a NULL array or too little room answers the count
 * needed with INSUFFICIENT_SIZE (SUCCESS when there are none). */
static nvmlReturn_t
newer_samples(const cJSON *node, unsigned long long lastSeen, void *arr, unsigned int *count,
              size_t elsize, int sidx)
{
    if (!cJSON_IsArray(node))
        return NVML_ERROR_UNKNOWN;
    unsigned int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, node) {
        if (u64_of(cJSON_GetObjectItemCaseSensitive(e, "timeStamp"), ~0ull) > lastSeen)
            n++;
    }
    if (arr == NULL || *count < n) {
        *count = n;
        return n == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
    }
    unsigned int i = 0;
    cJSON_ArrayForEach(e, node) {
        if (u64_of(cJSON_GetObjectItemCaseSensitive(e, "timeStamp"), ~0ull) <= lastSeen)
            continue;
        char *dst = (char *)arr + i * elsize;
        memset(dst, 0, elsize);
        nvmlReturn_t rc = fill(sidx, e, dst);
        if (rc != NVML_SUCCESS)
            return rc;
        i++;
    }
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlDeviceGetVgpuInstancesUtilizationInfo(nvmlDevice_t device, nvmlVgpuInstancesUtilizationInfo_v1_t *info)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetVgpuInstancesUtilizationInfo", device);
    if (rc != NVML_SUCCESS || (rc = sim_versioned(info, VgpuInstancesUtilizationInfo_v1)) != NVML_SUCCESS)
        return rc;
    rc = newer_samples(c.value, info->lastSeenTimeStamp, info->vgpuUtilArray, &info->vgpuInstanceCount,
                       sizeof *info->vgpuUtilArray, PN_STRUCT_nvmlVgpuInstanceUtilizationInfo_v1_t);
    info->sampleValType = NVML_VALUE_TYPE_UNSIGNED_INT;
    return rc;
}

nvmlReturn_t
nvmlDeviceGetVgpuProcessesUtilizationInfo(nvmlDevice_t device, nvmlVgpuProcessesUtilizationInfo_v1_t *info)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetVgpuProcessesUtilizationInfo", device);
    if (rc != NVML_SUCCESS || (rc = sim_versioned(info, VgpuProcessesUtilizationInfo_v1)) != NVML_SUCCESS)
        return rc;
    return newer_samples(c.value, info->lastSeenTimeStamp, info->vgpuProcUtilArray, &info->vgpuProcessCount,
                         sizeof *info->vgpuProcUtilArray, PN_STRUCT_nvmlVgpuProcessUtilizationInfo_v1_t);
}

/* --- metadata: buffer sizes by pointer ----------------------------------------------------- */

nvmlReturn_t
nvmlDeviceGetVgpuMetadata(nvmlDevice_t device, pn_nvmlVgpuPgpuMetadata_t *meta, unsigned int *bufferSize)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetVgpuMetadata", device);
    if (rc != NVML_SUCCESS)
        return rc;
    return out_sized_struct(&c, PN_STRUCT_pn_nvmlVgpuPgpuMetadata_t, meta, sizeof *meta, bufferSize);
}

nvmlReturn_t
nvmlVgpuInstanceGetMetadata(unsigned int vgpuInstance, pn_nvmlVgpuMetadata_t *meta, unsigned int *bufferSize)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlVgpuInstanceGetMetadata");
    if (rc == NVML_SUCCESS)
        rc = sim_key_u64(&c, vgpuInstance);
    if (rc != NVML_SUCCESS)
        return rc;
    return out_sized_struct(&c, PN_STRUCT_pn_nvmlVgpuMetadata_t, meta, sizeof *meta, bufferSize);
}

nvmlReturn_t
nvmlDeviceGetPgpuMetadataString(nvmlDevice_t device, unsigned char *pgpuMetadata, unsigned int *bufferSize)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetPgpuMetadataString", device);
    if (rc != NVML_SUCCESS)
        return rc;
    return out_sized_string(&c, (char *)pgpuMetadata, bufferSize);
}

/* --- strings whose size NVML takes by pointer ----------------------------------------------- */

static nvmlReturn_t
system_string(const char *key, unsigned int id, unsigned char *buf, unsigned int *size)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, key);
    if (rc == NVML_SUCCESS)
        rc = sim_key_u64(&c, id);
    if (rc != NVML_SUCCESS)
        return rc;
    return out_sized_string(&c, (char *)buf, size);
}

nvmlReturn_t
nvmlVgpuTypeGetClass(unsigned int vgpuTypeId, unsigned char *vgpuTypeClass, unsigned int *size)
{
    return system_string("nvmlVgpuTypeGetClass", vgpuTypeId, vgpuTypeClass, size);
}

nvmlReturn_t
nvmlVgpuTypeGetName(unsigned int vgpuTypeId, unsigned char *vgpuTypeName, unsigned int *size)
{
    return system_string("nvmlVgpuTypeGetName", vgpuTypeId, vgpuTypeName, size);
}

nvmlReturn_t
nvmlVgpuInstanceGetGpuPciId(unsigned int vgpuInstance, unsigned char *vgpuPciId, unsigned int *length)
{
    return system_string("nvmlVgpuInstanceGetGpuPciId", vgpuInstance, vgpuPciId, length);
}

/* --- an input inside the caller's struct ---------------------------------------------------- */

nvmlReturn_t
nvmlVgpuTypeGetMaxInstancesPerGpuInstance(nvmlVgpuTypeMaxInstance_v1_t *p)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlVgpuTypeGetMaxInstancesPerGpuInstance");
    if (rc != NVML_SUCCESS || (rc = sim_versioned(p, nvmlVgpuTypeMaxInstance_v1)) != NVML_SUCCESS)
        return rc;
    if ((rc = sim_key_u64(&c, p->vgpuTypeId)) != NVML_SUCCESS)
        return rc;
    return sim_get_u32(c.value, &p->maxInstancePerGI);
}

/* Placements: v1 and v2 lists (the version word says which; nvidia-ml-py passes either).
 * v2 carries the room of the caller's array in `count`; v1 has no room field (NVML fills as
 * many as the type can have on the GPU, nvmlVgpuTypeGetMaxInstances), so the simulator
 * writes no more than that.  v2's mode (0 heterogeneous, 1 homogeneous) is checked, and
 * the same placements are answered for both. */
static nvmlReturn_t
placements(const char *key, nvmlDevice_t device, unsigned int vgpuTypeId, void *list)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, key, device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (list == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned int version = *(unsigned int *)list;
    if (version != VgpuPlacementList_v1 && version != VgpuPlacementList_v2)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    if ((rc = sim_key_u64(&c, vgpuTypeId)) != NVML_SUCCESS)
        return rc;
    if ((rc = sim_check_object(c.value)) != NVML_SUCCESS)
        return rc;
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c.value, "placementIds");
    if (!cJSON_IsArray(ids))
        return NVML_ERROR_UNKNOWN;
    unsigned int n = (unsigned int)cJSON_GetArraySize(ids), size = 0;
    if ((rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(c.value, "placementSize"), &size)) != NVML_SUCCESS)
        return rc;
    unsigned int *out;
    if (version == VgpuPlacementList_v2) {
        nvmlVgpuPlacementList_v2_t *l = list;
        if (l->mode > NVML_VGPU_PGPU_HOMOGENEOUS_MODE)
            return NVML_ERROR_INVALID_ARGUMENT;
        if (l->count < n || l->placementIds == NULL) {
            l->count = n;
            return NVML_ERROR_INSUFFICIENT_SIZE;
        }
        out = l->placementIds;
        l->count = n;
        l->placementSize = size;
    }
    else {
        nvmlVgpuPlacementList_v1_t *l = list;
        sim_call m;
        unsigned int room = n;
        if (sim_begin_device(&m, "nvmlVgpuTypeGetMaxInstances", device) == NVML_SUCCESS &&
            sim_key_u64(&m, vgpuTypeId) == NVML_SUCCESS)
            sim_get_u32(m.value, &room);
        if (n > room)
            n = room;
        if (l->placementIds == NULL && n > 0)
            return NVML_ERROR_INVALID_ARGUMENT;
        out = l->placementIds;
        l->count = n;
        l->placementSize = size;
    }
    unsigned int i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, ids) {
        if (i == n)
            break;
        if ((rc = sim_get_u32(e, &out[i++])) != NVML_SUCCESS)
            return rc;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlDeviceGetVgpuTypeSupportedPlacements(nvmlDevice_t device, unsigned int vgpuTypeId, nvmlVgpuPlacementList_v2_t *p)
{
    return placements("nvmlDeviceGetVgpuTypeSupportedPlacements", device, vgpuTypeId, p);
}

nvmlReturn_t
nvmlDeviceGetVgpuTypeCreatablePlacements(nvmlDevice_t device, unsigned int vgpuTypeId, nvmlVgpuPlacementList_v2_t *p)
{
    return placements("nvmlDeviceGetVgpuTypeCreatablePlacements", device, vgpuTypeId, p);
}

/* Compatibility of a guest's vGPU with this host: computed from the two metadata structs
 * (the guest's vGPU version must be within the host's supported range), answered with
 * the profile's compatibility when it is. */
nvmlReturn_t
nvmlGetVgpuCompatibility(pn_nvmlVgpuMetadata_t *vgpuMetadata, pn_nvmlVgpuPgpuMetadata_t *pgpuMetadata,
                         nvmlVgpuPgpuCompatibility_t *compat)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlGetVgpuCompatibility");
    if (rc != NVML_SUCCESS)
        return rc;
    if (vgpuMetadata == NULL || pgpuMetadata == NULL || compat == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned int v = vgpuMetadata->guestVgpuVersion;
    if (v < pgpuMetadata->hostSupportedVgpuRange.minVersion || v > pgpuMetadata->hostSupportedVgpuRange.maxVersion) {
        compat->vgpuVmCompatibility = NVML_VGPU_VM_COMPATIBILITY_NONE;
        compat->compatibilityLimitCode = NVML_VGPU_COMPATIBILITY_LIMIT_GUEST_DRIVER;
        return NVML_SUCCESS;
    }
    return fill(PN_STRUCT_nvmlVgpuPgpuCompatibility_t, c.value, compat);
}

/* --- setters ------------------------------------------------------------------------------ */

/* Put `item` under `key` in obj: appended when absent, else linked where the old item is,
 * the old one kept (see the top of the file). */
static void
put(cJSON *obj, const char *key, cJSON *item)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (old == NULL) {
        cJSON_AddItemToObject(obj, key, item);
        return;
    }
    item->string = strdup(old->string);
    item->prev = old->prev;
    item->next = old->next;
    if (obj->child == old)
        obj->child = item;
    else
        old->prev->next = item;
    if (old->next != NULL)
        old->next->prev = item;
    else
        obj->child->prev = item;    /* cJSON: the first item's prev is the last item */
}

static void
set_number(cJSON *obj, const char *key, double v)
{
    cJSON *old = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(old))
        cJSON_SetNumberValue(old, v);
    else
        put(obj, key, cJSON_CreateNumber(v));
}

/* A setter's own profile entry (an injected error) and its getter's data, which it writes:
 * NULL with *rc set when the setter answers without writing. */
static cJSON *
setter_target(const cJSON *data, const char *setter, const char *getter, nvmlReturn_t *rc)
{
    *rc = sim_error_of(cJSON_GetObjectItemCaseSensitive(data, setter));
    if (*rc != NVML_SUCCESS)
        return NULL;
    cJSON *g = cJSON_GetObjectItemCaseSensitive(data, getter);
    if (g == NULL) {
        *rc = NVML_ERROR_NOT_SUPPORTED;
        return NULL;
    }
    if ((*rc = sim_error_of(g)) != NVML_SUCCESS)
        return NULL;
    return g;
}

static nvmlReturn_t
begin_device_setter(sim_device **dev, nvmlDevice_t device, const char *key)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if ((*dev = sim_device_of(device)) == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return sim_device_enter(*dev, key);   /* lost, or a fault injected */
}

nvmlReturn_t
nvmlDeviceSetVgpuCapabilities(nvmlDevice_t device, unsigned int capability, unsigned int state)
{
    sim_device *d;
    nvmlReturn_t rc = begin_device_setter(&d, device, "nvmlDeviceSetVgpuCapabilities");
    if (rc != NVML_SUCCESS)
        return rc;
    if (capability >= NVML_DEVICE_VGPU_CAP_COUNT || state > NVML_FEATURE_ENABLED)
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&set_lock);
    cJSON *caps = setter_target(d->data, "nvmlDeviceSetVgpuCapabilities", "nvmlDeviceGetVgpuCapabilities", &rc);
    if (caps != NULL) {
        char key[16];
        snprintf(key, sizeof key, "%u", capability);
        rc = sim_error_of(cJSON_GetObjectItemCaseSensitive(caps, key));   /* a capability it lacks */
        if (rc == NVML_SUCCESS)
            set_number(caps, key, state);
    }
    pthread_mutex_unlock(&set_lock);
    return rc;
}

nvmlReturn_t
nvmlDeviceSetVgpuHeterogeneousMode(nvmlDevice_t device, nvmlVgpuHeterogeneousMode_v1_t *mode)
{
    sim_device *d;
    nvmlReturn_t rc = begin_device_setter(&d, device, "nvmlDeviceSetVgpuHeterogeneousMode");
    if (rc != NVML_SUCCESS || (rc = sim_versioned(mode, VgpuHeterogeneousMode_v1)) != NVML_SUCCESS)
        return rc;
    if (mode->mode > NVML_VGPU_PGPU_HOMOGENEOUS_MODE)
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&set_lock);
    cJSON *g = setter_target(d->data, "nvmlDeviceSetVgpuHeterogeneousMode", "nvmlDeviceGetVgpuHeterogeneousMode", &rc);
    if (g != NULL)
        set_number(g, "mode", mode->mode);
    pthread_mutex_unlock(&set_lock);
    return rc;
}

/* The scheduler: the policy must be one the capabilities list, ARR only where supported, a
 * frequency or timeslice (0: keep the current one) within the capabilities' range.  The
 * state read back has ARR's timeslice in ns from the frequency in Hz (1e9 / frequency). */
nvmlReturn_t
nvmlDeviceSetVgpuSchedulerState(nvmlDevice_t device, nvmlVgpuSchedulerSetState_t *s)
{
    sim_device *d;
    nvmlReturn_t rc = begin_device_setter(&d, device, "nvmlDeviceSetVgpuSchedulerState");
    if (rc != NVML_SUCCESS)
        return rc;
    if (s == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlVgpuSchedulerCapabilities_t caps;
    memset(&caps, 0, sizeof caps);
    const cJSON *cj = cJSON_GetObjectItemCaseSensitive(d->data, "nvmlDeviceGetVgpuSchedulerCapabilities");
    int have_caps = cj != NULL && fill(PN_STRUCT_nvmlVgpuSchedulerCapabilities_t, cj, &caps) == NVML_SUCCESS;
    int known = !have_caps && s->schedulerPolicy >= NVML_VGPU_SCHEDULER_POLICY_BEST_EFFORT &&
                s->schedulerPolicy <= NVML_VGPU_SCHEDULER_POLICY_FIXED_SHARE;
    for (int i = 0; have_caps && i < NVML_SUPPORTED_VGPU_SCHEDULER_POLICY_COUNT; i++)
        known |= s->schedulerPolicy != 0 && caps.supportedSchedulers[i] == s->schedulerPolicy;
    if (!known)
        return NVML_ERROR_INVALID_ARGUMENT;
    unsigned int arr = s->enableARRMode == NVML_VGPU_SCHEDULER_ARR_ENABLE;
    if (s->enableARRMode > NVML_VGPU_SCHEDULER_ARR_ENABLE)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (arr && have_caps && !caps.isArrModeSupported)
        return NVML_ERROR_NOT_SUPPORTED;
    unsigned int freq = s->schedulerParams.vgpuSchedDataWithARR.frequency;
    unsigned int avg = s->schedulerParams.vgpuSchedDataWithARR.avgFactor;
    unsigned int ts = s->schedulerParams.vgpuSchedData.timeslice;
    if (have_caps && arr && ((freq && (freq < caps.minFrequencyForARR || freq > caps.maxFrequencyForARR)) ||
                             (avg && (avg < caps.minAvgFactorForARR || avg > caps.maxAvgFactorForARR))))
        return NVML_ERROR_INVALID_ARGUMENT;
    if (have_caps && !arr && ts && (ts < caps.minTimeslice || ts > caps.maxTimeslice))
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&set_lock);
    cJSON *g = setter_target(d->data, "nvmlDeviceSetVgpuSchedulerState", "nvmlDeviceGetVgpuSchedulerState", &rc);
    if (g != NULL) {
        /* the union's members overlap: the new params hold only the member of the new mode */
        nvmlVgpuSchedulerGetState_t cur;
        memset(&cur, 0, sizeof cur);
        fill(PN_STRUCT_nvmlVgpuSchedulerGetState_t, g, &cur);
        int was_arr = cur.arrMode == NVML_VGPU_SCHEDULER_ARR_ENABLE;
        unsigned int cur_ts = was_arr ? cur.schedulerParams.vgpuSchedDataWithARR.timeslice
                                      : cur.schedulerParams.vgpuSchedData.timeslice;
        unsigned int cur_avg = was_arr ? cur.schedulerParams.vgpuSchedDataWithARR.avgFactor : 0;
        const char *member = arr ? "vgpuSchedDataWithARR" : "vgpuSchedData";
        cJSON *params = cJSON_GetObjectItemCaseSensitive(g, "schedulerParams");
        cJSON *m = cJSON_GetObjectItemCaseSensitive(params, member);
        if (!cJSON_IsObject(params) || cJSON_GetArraySize(params) != 1 || !cJSON_IsObject(m)) {
            /* another mode's member, or none: new params (the old stay allocated, see the top) */
            params = cJSON_CreateObject();
            m = cJSON_AddObjectToObject(params, member);
            put(g, "schedulerParams", params);
        }
        if (arr) {
            set_number(m, "avgFactor", avg ? avg : cur_avg);
            set_number(m, "timeslice", freq ? 1000000000u / freq : cur_ts);
        }
        else
            set_number(m, "timeslice", ts ? ts : cur_ts);
        set_number(g, "schedulerPolicy", s->schedulerPolicy);
        set_number(g, "arrMode", s->enableARRMode);
    }
    pthread_mutex_unlock(&set_lock);
    return rc;
}

/* The host's vGPU version range: within the supported one (NOT_SUPPORTED otherwise). */
nvmlReturn_t
nvmlSetVgpuVersion(nvmlVgpuVersion_t *v)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (v == NULL || v->minVersion > v->maxVersion)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc;
    pthread_mutex_lock(&set_lock);
    cJSON *g = setter_target(sim_system(), "nvmlSetVgpuVersion", "nvmlGetVgpuVersion", &rc);
    cJSON *supported = cJSON_GetArrayItem(g, 0), *current = cJSON_GetArrayItem(g, 1);
    nvmlVgpuVersion_t range = {0, 0};
    if (g != NULL && (!cJSON_IsObject(current) || fill(PN_STRUCT_nvmlVgpuVersion_t, supported, &range)))
        rc = NVML_ERROR_UNKNOWN;
    else if (g != NULL && (v->minVersion < range.minVersion || v->maxVersion > range.maxVersion))
        rc = NVML_ERROR_NOT_SUPPORTED;
    else if (g != NULL) {
        set_number(current, "minVersion", v->minVersion);
        set_number(current, "maxVersion", v->maxVersion);
    }
    pthread_mutex_unlock(&set_lock);
    return rc;
}

/* An instance's entry of a system getter keyed by instance id: INVALID_ARGUMENT for an
 * instance it does not know, as the getters answer. */
static cJSON *
instance_target(unsigned int vgpuInstance, const char *setter, const char *getter, char *key, nvmlReturn_t *rc)
{
    cJSON *g = setter_target(sim_system(), setter, getter, rc);
    if (g == NULL)
        return NULL;
    snprintf(key, 16, "%u", vgpuInstance);
    cJSON *e = cJSON_GetObjectItemCaseSensitive(g, key);
    if (e == NULL)
        *rc = NVML_ERROR_INVALID_ARGUMENT;
    else
        *rc = sim_error_of(e);
    return *rc == NVML_SUCCESS ? g : NULL;
}

nvmlReturn_t
nvmlVgpuInstanceSetEncoderCapacity(unsigned int vgpuInstance, unsigned int encoderCapacity)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (encoderCapacity > 100)      /* a percentage of the encoder */
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc;
    char key[16];
    pthread_mutex_lock(&set_lock);
    cJSON *g = instance_target(vgpuInstance, "nvmlVgpuInstanceSetEncoderCapacity",
                               "nvmlVgpuInstanceGetEncoderCapacity", key, &rc);
    if (g != NULL)
        set_number(g, key, encoderCapacity);
    pthread_mutex_unlock(&set_lock);
    return rc;
}

/* Clearing: the instance's pids list empties, and their accounting stats go. */
nvmlReturn_t
nvmlVgpuInstanceClearAccountingPids(unsigned int vgpuInstance)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc;
    char key[16];
    pthread_mutex_lock(&set_lock);
    cJSON *g = instance_target(vgpuInstance, "nvmlVgpuInstanceClearAccountingPids",
                               "nvmlVgpuInstanceGetAccountingPids", key, &rc);
    if (g != NULL) {
        if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, key)) != 0)
            put(g, key, cJSON_CreateArray());
        cJSON *stats = (cJSON *)cJSON_GetObjectItemCaseSensitive(sim_system(), "nvmlVgpuInstanceGetAccountingStats");
        cJSON *mine = cJSON_GetObjectItemCaseSensitive(stats, key);
        if (cJSON_IsObject(mine) && mine->child != NULL && sim_error_of(mine) == NVML_SUCCESS)
            put(stats, key, cJSON_CreateObject());
    }
    pthread_mutex_unlock(&set_lock);
    return rc;
}
