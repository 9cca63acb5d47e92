/* vGPU on a MIG GPU instance, in the simulated NVML: the heterogeneous mode, the scheduler's
 * state and log, and the id lists (active vGPUs, creatable types, a type's placements).
 *
 * Hand-written beside the MIG model (entry_points_mig.c, whose GPU instances these take)
 * because a setter changes what the getters then say for that instance alone: state,
 * not a profile's data.
 */
#include "mig.h"

#include <stdio.h>
#include <string.h>

/* --- vGPU on a GPU instance ----------------------------------------------------------------
 * What the device's entry under the getter's key says (absent: NOT_SUPPORTED, as on an H100
 * that is no vGPU host), until a setter changes it for that GI:
 *   "nvmlGpuInstanceGetVgpuHeterogeneousMode": {"mode": 0|1}
 *   "nvmlGpuInstanceGetVgpuSchedulerState": {"schedulerPolicy", "arrMode", "avgFactor", "timeslice"}
 *   "nvmlGpuInstanceGetVgpuSchedulerLog": {} (the state above, and no log entries)
 * The _v2 scheduler calls of nvidia-ml-py are not here: driver 580 exports none of them. */

static nvmlReturn_t
vgpu_entry(const mig_gi *gi, const char *key, const cJSON **out)
{
    *out = cJSON_GetObjectItemCaseSensitive(sim_device_at(gi->dev)->data, key);
    if (*out == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    return sim_error_of(*out);
}

nvmlReturn_t
nvmlGpuInstanceGetVgpuHeterogeneousMode(nvmlGpuInstance_t gpuInstance, nvmlVgpuHeterogeneousMode_v1_t *pHeterogeneousMode)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetVgpuHeterogeneousMode", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuHeterogeneousMode", &v)))
        goto out;
    if ((rc = sim_versioned(pHeterogeneousMode, VgpuHeterogeneousMode_v1)) != NVML_SUCCESS)
        goto out;
    pHeterogeneousMode->mode = gi->hetero_set ? gi->hetero_mode : sim_mig_num(v, "mode");
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceSetVgpuHeterogeneousMode(nvmlGpuInstance_t gpuInstance, nvmlVgpuHeterogeneousMode_v1_t *pHeterogeneousMode)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceSetVgpuHeterogeneousMode", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuHeterogeneousMode", &v)))
        goto out;
    if (pHeterogeneousMode == NULL || pHeterogeneousMode->mode > 1)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (pHeterogeneousMode->version != VgpuHeterogeneousMode_v1)
        LEAVE(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    gi->hetero_set = 1;
    gi->hetero_mode = pHeterogeneousMode->mode;
    EXIT();
}

/* The GI's scheduler state: policy, ARR mode, and its parameters. */
static void
sched_state(const mig_gi *gi, const cJSON *v, unsigned int *policy, nvmlVgpuSchedulerParams_t *params, unsigned int *arr)
{
    memset(params, 0, sizeof *params);
    if (gi->sched_set) {
        *policy = gi->sched_policy;
        *arr = gi->sched_arr;
        params->vgpuSchedDataWithARR.avgFactor = gi->sched_avg;
        params->vgpuSchedDataWithARR.timeslice = gi->sched_timeslice;
    }
    else {
        *policy = sim_mig_num(v, "schedulerPolicy");
        *arr = sim_mig_num(v, "arrMode");
        params->vgpuSchedDataWithARR.avgFactor = sim_mig_num(v, "avgFactor");
        params->vgpuSchedDataWithARR.timeslice = sim_mig_num(v, "timeslice");
    }
    if (!*arr) {   /* without ARR only the timeslice (the union's other member) */
        unsigned int ts = params->vgpuSchedDataWithARR.timeslice;
        memset(params, 0, sizeof *params);
        params->vgpuSchedData.timeslice = ts;
    }
}

nvmlReturn_t
nvmlGpuInstanceGetVgpuSchedulerState(nvmlGpuInstance_t gpuInstance, nvmlVgpuSchedulerStateInfo_v1_t *info)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetVgpuSchedulerState", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuSchedulerState", &v)))
        goto out;
    if ((rc = sim_versioned(info, nvmlVgpuSchedulerStateInfo_v1)) != NVML_SUCCESS)
        goto out;
    sched_state(gi, v, &info->schedulerPolicy, &info->schedulerParams, &info->arrMode);
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetVgpuSchedulerLog(nvmlGpuInstance_t gpuInstance, nvmlVgpuSchedulerLogInfo_v1_t *info)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v, *state;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetVgpuSchedulerLog", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuSchedulerLog", &v)))
        goto out;
    if ((rc = sim_versioned(info, nvmlVgpuSchedulerLogInfo_v1)) != NVML_SUCCESS)
        goto out;
    state = cJSON_GetObjectItemCaseSensitive(sim_device_at(gi->dev)->data, "nvmlGpuInstanceGetVgpuSchedulerState");
    sched_state(gi, state, &info->schedulerPolicy, &info->schedulerParams, &info->arrMode);
    info->entriesCount = 0;   /* no vGPU has run */
    memset(info->logEntries, 0, sizeof info->logEntries);
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceSetVgpuSchedulerState(nvmlGpuInstance_t gpuInstance, nvmlVgpuSchedulerState_v1_t *state)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceSetVgpuSchedulerState", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuSchedulerState", &v)))
        goto out;
    if (state == NULL || state->schedulerPolicy > NVML_VGPU_SCHEDULER_POLICY_FIXED_SHARE ||
        state->enableARRMode > 1)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (state->version != nvmlVgpuSchedulerState_v1)
        LEAVE(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    gi->sched_set = 1;
    gi->sched_policy = state->schedulerPolicy;
    gi->sched_arr = state->enableARRMode;
    if (state->enableARRMode) {   /* a frequency in Hz: one timeslice per period, in us */
        unsigned int f = state->schedulerParams.vgpuSchedDataWithARR.frequency;
        gi->sched_avg = state->schedulerParams.vgpuSchedDataWithARR.avgFactor;
        gi->sched_timeslice = f ? 1000000u / f : 0;
    }
    else {
        gi->sched_avg = 0;
        gi->sched_timeslice = state->schedulerParams.vgpuSchedData.timeslice;
    }
    EXIT();
}

/* Lists of ids a GI's vGPUs have: the device's entry under the function's key, a list of
 * ids; the caller's count says how many fit (a smaller one: INSUFFICIENT_SIZE and the
 * count needed; no ids at all: SUCCESS, as nvidia-ml-py expects). */
static nvmlReturn_t
id_list(const cJSON *ids, unsigned int *count, unsigned int *out)
{
    unsigned int n = 0;
    const cJSON *e;
    if (!cJSON_IsArray(ids))
        return NVML_ERROR_UNKNOWN;
    cJSON_ArrayForEach(e, ids) {
        unsigned int id = 0;
        nvmlReturn_t rc = sim_get_u32(e, &id);
        if (rc != NVML_SUCCESS)
            return rc;
        if (out != NULL && n < *count)
            out[n] = id;
        n++;
    }
    if (n > *count || (n > 0 && out == NULL)) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    *count = n;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlGpuInstanceGetActiveVgpus(nvmlGpuInstance_t gpuInstance, nvmlActiveVgpuInstanceInfo_v1_t *info)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetActiveVgpus", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetActiveVgpus", &v)))
        goto out;
    if ((rc = sim_versioned(info, nvmlActiveVgpuInstanceInfo_v1)) != NVML_SUCCESS)
        goto out;
    rc = id_list(v, &info->vgpuCount, info->vgpuInstances);
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetCreatableVgpus(nvmlGpuInstance_t gpuInstance, nvmlVgpuTypeIdInfo_v1_t *info)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetCreatableVgpus", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetCreatableVgpus", &v)))
        goto out;
    if ((rc = sim_versioned(info, nvmlVgpuTypeIdInfo_v1)) != NVML_SUCCESS)
        goto out;
    rc = id_list(v, &info->vgpuCount, info->vgpuTypeIds);
    EXIT();
}

/* "nvmlGpuInstanceGetVgpuTypeCreatablePlacements": {"<vgpuTypeId>": {"placementIds": [...],
 * "placementSize": N}}; a type it lacks is INVALID_ARGUMENT. */
nvmlReturn_t
nvmlGpuInstanceGetVgpuTypeCreatablePlacements(nvmlGpuInstance_t gpuInstance, nvmlVgpuCreatablePlacementInfo_v1_t *info)
{
    ENTER();
    mig_gi *gi;
    const cJSON *v;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetVgpuTypeCreatablePlacements", &gi)) ||
        (rc = vgpu_entry(gi, "nvmlGpuInstanceGetVgpuTypeCreatablePlacements", &v)))
        goto out;
    if ((rc = sim_versioned(info, nvmlVgpuCreatablePlacementInfo_v1)) != NVML_SUCCESS)
        goto out;
    char key[16];
    snprintf(key, sizeof key, "%u", info->vgpuTypeId);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(v, key);
    if (t == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if ((rc = sim_error_of(t)))
        goto out;
    info->placementSize = sim_mig_num(t, "placementSize");
    rc = id_list(cJSON_GetObjectItemCaseSensitive(t, "placementIds"), &info->count, info->placementIds);
    EXIT();
}

