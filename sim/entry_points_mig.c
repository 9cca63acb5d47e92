/* MIG in the simulated NVML: GPU instances (GIs) and compute instances (CIs) that calls
 * create and destroy, and the MIG queries that must agree with them.
 *
 * Hand-written because this is state, not data: the generated entry points read a
 * profile's answer under their key, while here creating one instance changes what later
 * calls return (remaining capacity, instance lists, MIG device handles).
 *
 * The model (per device) comes from the profile:
 *   "mig": {"memorySlices": 8, "computeSlices": 7,
 *           "gpuInstanceProfiles": [{"profile": NVML_GPU_INSTANCE_PROFILE_*, "id": ..., the
 *               fields of nvmlGpuInstanceProfileInfo_v2_t ..., "placementSize": memory slices,
 *               "placements": [start, ...]}, ...]}
 *   "nvmlDeviceGetMigMode": [current, pending]   (instances need current == 1)
 * and the instances that exist when the profile is loaded (what capture writes):
 *   "mig": {..., "instances": [{"id": GI id, "profile": GI profile id, "start": memory slice,
 *               "computeInstances": [{"id": CI id, "profile": NVML_COMPUTE_INSTANCE_PROFILE_*,
 *                                     "start": compute slice, "device": {MIG device's getters}}]}]}
 * "device" holds the MIG device's answers, entry point by entry point, over the ones made
 * from its profile (name, UUID, memory...); an entry that fits no free place is left out.
 * A device without "mig" supports no MIG.  Any function's own key holding {"error": ...}
 * makes that function fail so (fault injection, as for every entry point).
 *
 * GI ids follow the placement as on A100/H100 (a buddy tree over the memory slices:
 * the whole GPU is 0, halves 1-2, quarters 3-6, eighths 7-14); CI ids are the lowest free.
 * Compute instance profiles are derived from the GI's slice count (1, 2, 3, 4 or 7
 * compute slices; as on the H100: a 4-slice GI has no 3-slice CI, a 7-slice GI two).
 * A MIG device handle (nvmlDevice_t of a CI) is the address of a slot in our own table,
 * recognized without being read, like the whole-GPU handles of device_model.c.
 *
 * Instances survive nvmlShutdown/nvmlInit as on a real GPU; loading another profile
 * (sim_profile_generation) starts from none.  One mutex guards the state.  vGPU on a GPU
 * instance is in entry_points_mig_vgpu.c (mig.h: what the two share).
 */
#include "sim.h"
#include "mig.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MIG_MAX_DEVICES 64
#define MIG_MAX_GI 15          /* GI ids 0..14: the buddy tree over 8 memory slices */
#define MIG_MAX_CI 8           /* CIs per GI: at most one per compute slice */
#define MIG_MAX_PLACEMENTS 32

typedef struct {
    int alive;
    unsigned int id, profile, start, size;  /* CI profile index == id; compute slices */
} mig_ci;


static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long state_generation;
static mig_gi gis[MIG_MAX_DEVICES][MIG_MAX_GI];
static mig_ci cis[MIG_MAX_DEVICES][MIG_MAX_GI][MIG_MAX_CI];
/* A MIG device: its handle is the address; its data (name, UUID, memory, attributes) is what
 * the generic device getters read, through sim_mig_device_of (device_model.c). */
static sim_device migdevs[MIG_MAX_DEVICES][MIG_MAX_GI][MIG_MAX_CI];

/* --- state and lookups (called with the lock held) ------------------------------------ */

static nvmlReturn_t mig_enabled(const sim_device *d);
static void load_instances(void);

/* No instances from another profile, nor on a GPU whose MIG mode is off now (a mode
 * change takes effect with a reset, which takes the instances with it). */
static void
fresh_state(void)
{
    unsigned long g = sim_profile_generation();
    if (g != state_generation) {
        memset(gis, 0, sizeof gis);
        memset(cis, 0, sizeof cis);
        state_generation = g;
        load_instances();
    }
    for (unsigned int d = 0; d < sim_device_count() && d < MIG_MAX_DEVICES; d++) {
        int any = 0;
        for (int g2 = 0; g2 < MIG_MAX_GI && !any; g2++)
            any = gis[d][g2].alive;
        if (any && mig_enabled(sim_device_at(d)) != NVML_SUCCESS) {
            memset(gis[d], 0, sizeof gis[d]);
            memset(cis[d], 0, sizeof cis[d]);
        }
    }
}

/* An index into `base` (an array of `n` elements of `size` bytes) for pointer p, or -1. */
static long
slot_of(const void *p, const void *base, size_t n, size_t size)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    if (a < b || a >= b + n * size || (a - b) % size)
        return -1;
    return (long)((a - b) / size);
}

/* Flat slot numbers, taken apart into [device][gi][ci] (no indexing past a row). */
static mig_gi *
gi_of(nvmlGpuInstance_t h)
{
    long i = slot_of(h, gis, MIG_MAX_DEVICES * MIG_MAX_GI, sizeof(mig_gi));
    if (i < 0)
        return NULL;
    mig_gi *gi = &gis[i / MIG_MAX_GI][i % MIG_MAX_GI];
    return gi->alive ? gi : NULL;
}

static mig_ci *
ci_at(long i, mig_gi **gi)
{
    long d = i / (MIG_MAX_GI * MIG_MAX_CI), g = (i / MIG_MAX_CI) % MIG_MAX_GI, k = i % MIG_MAX_CI;
    if (!cis[d][g][k].alive)
        return NULL;
    *gi = &gis[d][g];
    return &cis[d][g][k];
}

static mig_ci *
ci_of(nvmlComputeInstance_t h, mig_gi **gi)
{
    long i = slot_of(h, cis, MIG_MAX_DEVICES * MIG_MAX_GI * MIG_MAX_CI, sizeof(mig_ci));
    return i < 0 ? NULL : ci_at(i, gi);
}

/* The CI behind a MIG device handle, or NULL. */
static mig_ci *
migdev_of(nvmlDevice_t h, mig_gi **gi)
{
    long i = slot_of(h, migdevs, MIG_MAX_DEVICES * MIG_MAX_GI * MIG_MAX_CI, sizeof(sim_device));
    return i < 0 ? NULL : ci_at(i, gi);
}

static nvmlDevice_t
migdev_handle(const mig_gi *gi, const mig_ci *ci)
{
    return (nvmlDevice_t)&migdevs[gi->dev][gi - gis[gi->dev]][ci - cis[gi->dev][gi - gis[gi->dev]]];
}

sim_device *
sim_mig_device_of(nvmlDevice_t d)
{
    mig_gi *gi;
    pthread_mutex_lock(&lock);
    mig_ci *ci = NULL;
    if (sim_initialized()) {
        fresh_state();
        ci = migdev_of(d, &gi);
    }
    sim_device *md = ci != NULL ? (sim_device *)d : NULL;
    pthread_mutex_unlock(&lock);
    return md != NULL && md->data != NULL ? md : NULL;
}

/* The GPU lost, a fault injected on `key` (sim_device_enter), or the function's own key
 * holding an error, else NVML_SUCCESS. */
static nvmlReturn_t
injected(sim_device *d, const char *key)
{
    nvmlReturn_t rc = sim_device_enter(d, key);
    return rc != NVML_SUCCESS ? rc : sim_error_of(cJSON_GetObjectItemCaseSensitive(d->data, key));
}

unsigned int
sim_mig_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (unsigned int)v->valuedouble : 0;
}

#define num sim_mig_num

static const cJSON *
model(const sim_device *d)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(d->data, "mig");
    return cJSON_IsObject(m) ? m : NULL;
}

/* NVML_SUCCESS when MIG mode is on now; its error, or NOT_SUPPORTED (off, or no MIG). */
static nvmlReturn_t
mig_enabled(const sim_device *d)
{
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(d->data, "nvmlDeviceGetMigMode");
    nvmlReturn_t rc = sim_error_of(mode);
    if (rc != NVML_SUCCESS)
        return rc;
    if (model(d) == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    const cJSON *cur = cJSON_GetArrayItem(mode, 0);
    return cJSON_IsNumber(cur) && cur->valueint == NVML_DEVICE_MIG_ENABLE ? NVML_SUCCESS
                                                                          : NVML_ERROR_NOT_SUPPORTED;
}

/* A GI profile by NVML_GPU_INSTANCE_PROFILE_* (by_index) or by its id. */
static const cJSON *
gi_profile(const sim_device *d, unsigned int key, int by_index)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(model(d), "gpuInstanceProfiles")) {
        if (num(p, by_index ? "profile" : "id") == key)
            return p;
    }
    return NULL;
}

static unsigned int
gi_placements(const cJSON *prof, unsigned int *starts)
{
    unsigned int n = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(prof, "placements")) {
        if (n < MIG_MAX_PLACEMENTS && cJSON_IsNumber(s))
            starts[n++] = (unsigned int)s->valueint;
    }
    return n;
}

/* The GI id of a placement: its node in the buddy tree over the memory slices. */
static unsigned int
gi_id_of(unsigned int mem_slices, unsigned int start, unsigned int size)
{
    if (size == 0)
        return MIG_MAX_GI;
    return mem_slices / size - 1 + start / size;
}

static void
fill_gi_profile(const cJSON *p, nvmlGpuInstanceProfileInfo_v2_t *info, int v2)
{
    unsigned int version = info->version;
    memset(info, 0, v2 ? sizeof *info : sizeof(nvmlGpuInstanceProfileInfo_t));
    /* v1 is v2 without the version word in front and the name behind */
    nvmlGpuInstanceProfileInfo_t *v1 = v2 ? NULL : (nvmlGpuInstanceProfileInfo_t *)info;
#define SET(F) do { if (v2) info->F = num(p, #F); else v1->F = num(p, #F); } while (0)
    SET(id); SET(isP2pSupported); SET(sliceCount); SET(instanceCount); SET(multiprocessorCount);
    SET(copyEngineCount); SET(decoderCount); SET(encoderCount); SET(jpegCount); SET(ofaCount);
    SET(memorySizeMB);
#undef SET
    if (v2) {
        info->version = version;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        if (cJSON_IsString(name))
            snprintf(info->name, sizeof info->name, "%s", name->valuestring);
    }
}

static int
overlaps(unsigned int a, unsigned int an, unsigned int b, unsigned int bn)
{
    return a < b + bn && b < a + an;
}

/* Compute slices in use, GIs of a profile, and whether [start, start+size) is free. */
static unsigned int
gi_used_slices(unsigned int dev)
{
    unsigned int n = 0;
    for (int g = 0; g < MIG_MAX_GI; g++)
        if (gis[dev][g].alive)
            n += gis[dev][g].slices;
    return n;
}

static unsigned int
gi_count_of(unsigned int dev, unsigned int profile_id)
{
    unsigned int n = 0;
    for (int g = 0; g < MIG_MAX_GI; g++)
        n += gis[dev][g].alive && gis[dev][g].profile_id == profile_id;
    return n;
}

static int
gi_range_free(unsigned int dev, unsigned int start, unsigned int size)
{
    for (int g = 0; g < MIG_MAX_GI; g++)
        if (gis[dev][g].alive && overlaps(start, size, gis[dev][g].start, gis[dev][g].size))
            return 0;
    return 1;
}

/* How many more GIs of profile `p` fit now. */
static unsigned int
gi_capacity(const sim_device *d, const cJSON *p)
{
    unsigned int starts[MIG_MAX_PLACEMENTS], n = gi_placements(p, starts), size = num(p, "placementSize");
    unsigned int free_places = 0, slices = num(p, "sliceCount"), total = num(model(d), "computeSlices");
    for (unsigned int i = 0; i < n; i++)
        free_places += gi_range_free(d->index, starts[i], size);
    unsigned int used = gi_used_slices(d->index), have = gi_count_of(d->index, num(p, "id"));
    unsigned int by_slices = slices && total > used ? (total - used) / slices : 0;
    unsigned int by_count = num(p, "instanceCount") > have ? num(p, "instanceCount") - have : 0;
    unsigned int c = free_places;
    if (by_slices < c)
        c = by_slices;
    if (by_count < c)
        c = by_count;
    return c;
}

/* --- compute instance profiles, derived from the GI's slice count ----------------------- */

/* Compute slices of NVML_COMPUTE_INSTANCE_PROFILE_* `profile` in a GI of `gslices`
 * compute slices, or 0 where the GI has no such profile. */
static unsigned int
ci_slices(unsigned int profile, unsigned int gslices)
{
    static const unsigned int by_profile[] = {1, 2, 3, 4, 7, 8, 6, 1, 7};
    if (profile >= sizeof by_profile / sizeof by_profile[0] || profile >= 5)
        return 0;   /* 8-, 6-slice and the REV1/NVL variants: not on an H100 */
    unsigned int c = by_profile[profile];
    if (c > gslices || (c == 3 && gslices == 4) || (c == 7 && gslices != 7) || (c == 4 && gslices < 4))
        return 0;
    return c;
}

static unsigned int
ci_placements(unsigned int c, unsigned int gslices, unsigned int *starts)
{
    unsigned int n = 0;
    if (c == 3 && gslices == 7) {   /* as the 3g GIs: slices 0-2 and 4-6 */
        starts[n++] = 0;
        starts[n++] = 4;
        return n;
    }
    for (unsigned int s = 0; s + c <= gslices; s += c)
        starts[n++] = s;
    return n;
}

static unsigned int
ci_instance_count(unsigned int c, unsigned int gslices)
{
    return c == 3 && gslices == 7 ? 2 : gslices / c;
}

static int
ci_range_free(const mig_ci *list, unsigned int start, unsigned int size)
{
    for (int k = 0; k < MIG_MAX_CI; k++)
        if (list[k].alive && overlaps(start, size, list[k].start, list[k].size))
            return 0;
    return 1;
}

static unsigned int
ci_capacity(const mig_gi *gi, const mig_ci *list, unsigned int profile)
{
    unsigned int c = ci_slices(profile, gi->slices), starts[MIG_MAX_PLACEMENTS];
    if (c == 0)
        return 0;
    unsigned int n = ci_placements(c, gi->slices, starts), free_places = 0, have = 0;
    for (unsigned int i = 0; i < n; i++)
        free_places += ci_range_free(list, starts[i], c);
    for (int k = 0; k < MIG_MAX_CI; k++)
        have += list[k].alive && list[k].profile == profile;
    unsigned int limit = ci_instance_count(c, gi->slices);
    unsigned int by_count = limit > have ? limit - have : 0;
    return free_places < by_count ? free_places : by_count;
}

static const cJSON *
gi_profile_of(const mig_gi *gi)
{
    return gi_profile(sim_device_at(gi->dev), gi->profile_id, 0);
}

static void
fill_ci_profile(const mig_gi *gi, unsigned int profile, unsigned int c, nvmlComputeInstanceProfileInfo_v2_t *info, int v2)
{
    const cJSON *gp = gi_profile_of(gi);
    unsigned int version = info->version;
    memset(info, 0, v2 ? sizeof *info : sizeof(nvmlComputeInstanceProfileInfo_t));
    nvmlComputeInstanceProfileInfo_t *v1 = v2 ? NULL : (nvmlComputeInstanceProfileInfo_t *)info;
    unsigned int sms = num(gp, "multiprocessorCount");
    sms = c == gi->slices ? sms : (sms * c / gi->slices) & ~1u;   /* an even share of the GI's SMs */
#define SET(F, V) do { if (v2) info->F = (V); else v1->F = (V); } while (0)
    SET(id, profile);
    SET(sliceCount, c);
    SET(instanceCount, ci_instance_count(c, gi->slices));
    SET(multiprocessorCount, sms);
    SET(sharedCopyEngineCount, num(gp, "copyEngineCount"));
    SET(sharedDecoderCount, num(gp, "decoderCount"));
    SET(sharedEncoderCount, num(gp, "encoderCount"));
    SET(sharedJpegCount, num(gp, "jpegCount"));
    SET(sharedOfaCount, num(gp, "ofaCount"));
#undef SET
    if (v2) {
        info->version = version;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(gp, "name");
        const char *gname = cJSON_IsString(name) ? name->valuestring : "MIG ?";
        if (c == gi->slices)
            snprintf(info->name, sizeof info->name, "%s", gname);
        else   /* "MIG 1c.3g.40gb" */
            snprintf(info->name, sizeof info->name, "MIG %uc.%s", c,
                     strncmp(gname, "MIG ", 4) == 0 ? gname + 4 : gname);
    }
}

/* --- entry: checks shared by the entry points --------------------------------------------- */

void
sim_mig_lock(void)
{
    pthread_mutex_lock(&lock);
    fresh_state();
}

void
sim_mig_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

/* A whole GPU, not lost, without an error injected under `key`. */
static nvmlReturn_t
device_for(nvmlDevice_t device, const char *key, sim_device **out)
{
    sim_device *d = sim_device_of(device);
    if (d == NULL || d->index >= MIG_MAX_DEVICES)
        return NVML_ERROR_INVALID_ARGUMENT;
    *out = d;
    return injected(d, key);
}

nvmlReturn_t
sim_mig_gi(nvmlGpuInstance_t h, const char *key, mig_gi **out)
{
    mig_gi *gi = gi_of(h);
    if (gi == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    *out = gi;
    return injected(sim_device_at(gi->dev), key);
}

/* A whole GPU (device_for), then the caller's other arguments: INVALID_ARGUMENT unless
 * args_ok. */
static nvmlReturn_t
gpu_call(nvmlDevice_t device, const char *key, int args_ok, sim_device **d)
{
    nvmlReturn_t rc = device_for(device, key, d);
    if (rc == NVML_SUCCESS && !args_ok)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    return rc;
}

/* The queries on a GI profile by id: gpu_call, then a GPU with MIG (else NOT_SUPPORTED)
 * and a profile of that id (else INVALID_ARGUMENT). */
static nvmlReturn_t
gi_profile_call(nvmlDevice_t device, const char *key, int args_ok, unsigned int profileId, sim_device **d,
                const cJSON **p)
{
    nvmlReturn_t rc = gpu_call(device, key, args_ok, d);
    if (rc != NVML_SUCCESS)
        return rc;
    if (model(*d) == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    *p = gi_profile(*d, profileId, 0);
    return *p == NULL ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
}

/* The calls on a CI profile of a GI: the GI (sim_mig_gi), then the caller's other
 * arguments and the profile index (else INVALID_ARGUMENT), then the profile's compute
 * slices in this GI (none: NOT_SUPPORTED). */
static nvmlReturn_t
ci_profile_call(nvmlGpuInstance_t gpuInstance, const char *key, int args_ok, unsigned int profileId, mig_gi **gi,
                unsigned int *slices)
{
    nvmlReturn_t rc = sim_mig_gi(gpuInstance, key, gi);
    if (rc != NVML_SUCCESS)
        return rc;
    if (!args_ok || profileId >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT)
        return NVML_ERROR_INVALID_ARGUMENT;
    *slices = ci_slices(profileId, (*gi)->slices);
    return *slices == 0 ? NVML_ERROR_NOT_SUPPORTED : NVML_SUCCESS;
}

/* A live compute instance and its GI, with the caller's other arguments (args_ok), or
 * INVALID_ARGUMENT; then the error injected under `key`, if any. */
static nvmlReturn_t
ci_call(nvmlComputeInstance_t computeInstance, const char *key, int args_ok, mig_gi **gi, mig_ci **ci)
{
    *ci = ci_of(computeInstance, gi);
    if (*ci == NULL || !args_ok)
        return NVML_ERROR_INVALID_ARGUMENT;
    return injected(sim_device_at((*gi)->dev), key);
}

/* Whether a caller's placement (start, size) is one of a profile's `n` starts, whose
 * instances take `size` slices. */
static int
placement_valid(const unsigned int *starts, unsigned int n, unsigned int size, unsigned int start,
                unsigned int asked_size)
{
    unsigned int i = 0;
    while (i < n && starts[i] != start)
        i++;
    return i < n && asked_size == size;
}

/* --- GPU instance profiles -------------------------------------------------------------- */

static nvmlReturn_t
gi_profile_info(nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t *info, int v2,
                int by_id, const char *key)
{
    ENTER();
    sim_device *d;
    if ((rc = gpu_call(device, key, info != NULL && (by_id || profile < NVML_GPU_INSTANCE_PROFILE_COUNT), &d)))
        goto out;
    if (v2 && info->version != nvmlGpuInstanceProfileInfo_v2)
        LEAVE(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    if (model(d) == NULL)
        LEAVE(NVML_ERROR_NOT_SUPPORTED);
    const cJSON *p = gi_profile(d, profile, !by_id);
    if (p == NULL)   /* as the H100: an unknown id is invalid, a known index unsupported */
        LEAVE(by_id ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED);
    fill_gi_profile(p, info, v2);
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_t *info)
{
    return gi_profile_info(device, profile, (nvmlGpuInstanceProfileInfo_v2_t *)info, 0, 0,
                           "nvmlDeviceGetGpuInstanceProfileInfo");
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t device, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t *info)
{
    return gi_profile_info(device, profile, info, 1, 0, "nvmlDeviceGetGpuInstanceProfileInfoV");
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceProfileInfoByIdV(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstanceProfileInfo_v2_t *info)
{
    return gi_profile_info(device, profileId, info, 1, 1, "nvmlDeviceGetGpuInstanceProfileInfoByIdV");
}

nvmlReturn_t
nvmlDeviceGetGpuInstancePossiblePlacements_v2(nvmlDevice_t device, unsigned int profileId,
                                              nvmlGpuInstancePlacement_t *placements, unsigned int *count)
{
    ENTER();
    sim_device *d;
    const cJSON *p;
    if ((rc = gi_profile_call(device, "nvmlDeviceGetGpuInstancePossiblePlacements_v2", count != NULL, profileId, &d,
                              &p)))
        goto out;
    unsigned int starts[MIG_MAX_PLACEMENTS], n = gi_placements(p, starts);
    if (placements != NULL)   /* NVML trusts the array to hold them all, as documented */
        for (unsigned int i = 0; i < n; i++) {
            placements[i].start = starts[i];
            placements[i].size = num(p, "placementSize");
        }
    *count = n;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceRemainingCapacity(nvmlDevice_t device, unsigned int profileId, unsigned int *count)
{
    ENTER();
    sim_device *d;
    const cJSON *p;
    if ((rc = gi_profile_call(device, "nvmlDeviceGetGpuInstanceRemainingCapacity", count != NULL, profileId, &d, &p)))
        goto out;
    /* with MIG off the H100 answers as for an empty GPU: there are no instances then */
    *count = gi_capacity(d, p);
    EXIT();
}

/* --- GPU instances ------------------------------------------------------------------------ */

static nvmlReturn_t
create_gi(nvmlDevice_t device, unsigned int profileId, const nvmlGpuInstancePlacement_t *placement,
          nvmlGpuInstance_t *out_gi, const char *key)
{
    ENTER();
    sim_device *d;
    if ((rc = device_for(device, key, &d)) || (rc = mig_enabled(d)))
        goto out;
    const cJSON *p = gi_profile(d, profileId, 0);
    if (p == NULL || out_gi == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    unsigned int starts[MIG_MAX_PLACEMENTS], n = gi_placements(p, starts), size = num(p, "placementSize");
    if (placement != NULL && !placement_valid(starts, n, size, placement->start, placement->size))
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (gi_capacity(d, p) == 0)
        LEAVE(NVML_ERROR_INSUFFICIENT_RESOURCES);
    /* the asked placement, or the free one highest in memory (as the driver fills) */
    int chosen = -1;
    for (unsigned int i = 0; i < n; i++) {
        if (placement != NULL && starts[i] != placement->start)
            continue;
        if (gi_range_free(d->index, starts[i], size) && (chosen < 0 || starts[i] > starts[chosen]))
            chosen = (int)i;
    }
    if (chosen < 0)
        LEAVE(NVML_ERROR_INSUFFICIENT_RESOURCES);
    unsigned int id = gi_id_of(num(model(d), "memorySlices"), starts[chosen], size);
    if (id >= MIG_MAX_GI || gis[d->index][id].alive)
        LEAVE(NVML_ERROR_UNKNOWN);   /* a profile whose placements are no buddy tree */
    mig_gi *gi = &gis[d->index][id];
    memset(gi, 0, sizeof *gi);
    memset(cis[d->index][id], 0, sizeof cis[d->index][id]);
    gi->alive = 1;
    gi->dev = d->index;
    gi->id = id;
    gi->profile_id = profileId;
    gi->start = starts[chosen];
    gi->size = size;
    gi->slices = num(p, "sliceCount");
    *out_gi = (nvmlGpuInstance_t)gi;
    EXIT();
}

nvmlReturn_t
nvmlDeviceCreateGpuInstance(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstance)
{
    return create_gi(device, profileId, NULL, gpuInstance, "nvmlDeviceCreateGpuInstance");
}

nvmlReturn_t
nvmlDeviceCreateGpuInstanceWithPlacement(nvmlDevice_t device, unsigned int profileId,
                                         nvmlGpuInstancePlacement_t *placement, nvmlGpuInstance_t *gpuInstance)
{
    if (placement == NULL)
        return sim_initialized() ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_UNINITIALIZED;
    return create_gi(device, profileId, placement, gpuInstance, "nvmlDeviceCreateGpuInstanceWithPlacement");
}

nvmlReturn_t
nvmlGpuInstanceDestroy(nvmlGpuInstance_t gpuInstance)
{
    ENTER();
    mig_gi *gi;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceDestroy", &gi)))
        goto out;
    for (int k = 0; k < MIG_MAX_CI; k++)
        if (cis[gi->dev][gi->id][k].alive)
            LEAVE(NVML_ERROR_IN_USE);   /* its compute instances go first */
    gi->alive = 0;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetGpuInstances(nvmlDevice_t device, unsigned int profileId, nvmlGpuInstance_t *gpuInstances,
                          unsigned int *count)
{
    ENTER();
    sim_device *d;
    const cJSON *p;
    if ((rc = gi_profile_call(device, "nvmlDeviceGetGpuInstances", count != NULL && gpuInstances != NULL, profileId,
                              &d, &p)))
        goto out;
    /* NVML trusts the array to hold the profile's instanceCount; count is only written */
    unsigned int n = 0;
    for (int g = 0; g < MIG_MAX_GI; g++)
        if (gis[d->index][g].alive && gis[d->index][g].profile_id == profileId)
            gpuInstances[n++] = (nvmlGpuInstance_t)&gis[d->index][g];
    *count = n;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceById(nvmlDevice_t device, unsigned int id, nvmlGpuInstance_t *gpuInstance)
{
    ENTER();
    sim_device *d;
    if ((rc = gpu_call(device, "nvmlDeviceGetGpuInstanceById", gpuInstance != NULL, &d)))
        goto out;
    if (model(d) == NULL)
        LEAVE(NVML_ERROR_NOT_SUPPORTED);
    /* the H100 with MIG off answers NOT_FOUND: it has no instances then */
    if (id >= MIG_MAX_GI || !gis[d->index][id].alive)
        LEAVE(NVML_ERROR_NOT_FOUND);
    *gpuInstance = (nvmlGpuInstance_t)&gis[d->index][id];
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gpuInstance, nvmlGpuInstanceInfo_t *info)
{
    ENTER();
    mig_gi *gi;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetInfo", &gi)))
        goto out;
    if (info == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    memset(info, 0, sizeof *info);
    info->device = (nvmlDevice_t)sim_device_at(gi->dev);
    info->id = gi->id;
    info->profileId = gi->profile_id;
    info->placement.start = gi->start;
    info->placement.size = gi->size;
    EXIT();
}

/* --- compute instance profiles ------------------------------------------------------------ */

static nvmlReturn_t
ci_profile_info(nvmlGpuInstance_t gpuInstance, unsigned int profile, unsigned int engProfile,
                nvmlComputeInstanceProfileInfo_v2_t *info, int v2, const char *key)
{
    ENTER();
    mig_gi *gi;
    if ((rc = sim_mig_gi(gpuInstance, key, &gi)))
        goto out;
    if (info == NULL || profile >= NVML_COMPUTE_INSTANCE_PROFILE_COUNT ||
        engProfile >= NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_COUNT)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (v2 && info->version != nvmlComputeInstanceProfileInfo_v2)
        LEAVE(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
    unsigned int c = ci_slices(profile, gi->slices);
    if (c == 0)
        LEAVE(NVML_ERROR_NOT_SUPPORTED);
    fill_ci_profile(gi, profile, c, info, v2);
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstanceProfileInfo(nvmlGpuInstance_t gpuInstance, unsigned int profile,
                                             unsigned int engProfile, nvmlComputeInstanceProfileInfo_t *info)
{
    return ci_profile_info(gpuInstance, profile, engProfile, (nvmlComputeInstanceProfileInfo_v2_t *)info, 0,
                           "nvmlGpuInstanceGetComputeInstanceProfileInfo");
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstanceProfileInfoV(nvmlGpuInstance_t gpuInstance, unsigned int profile,
                                              unsigned int engProfile, nvmlComputeInstanceProfileInfo_v2_t *info)
{
    return ci_profile_info(gpuInstance, profile, engProfile, info, 1, "nvmlGpuInstanceGetComputeInstanceProfileInfoV");
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstancePossiblePlacements(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                                    nvmlComputeInstancePlacement_t *placements, unsigned int *count)
{
    ENTER();
    mig_gi *gi;
    unsigned int c, starts[MIG_MAX_PLACEMENTS];
    if ((rc = ci_profile_call(gpuInstance, "nvmlGpuInstanceGetComputeInstancePossiblePlacements", count != NULL,
                              profileId, &gi, &c)))
        goto out;
    unsigned int n = ci_placements(c, gi->slices, starts);
    if (placements != NULL)
        for (unsigned int i = 0; i < n; i++) {
            placements[i].start = starts[i];
            placements[i].size = c;
        }
    *count = n;
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstanceRemainingCapacity(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                                   unsigned int *count)
{
    ENTER();
    mig_gi *gi;
    unsigned int c;
    if ((rc = ci_profile_call(gpuInstance, "nvmlGpuInstanceGetComputeInstanceRemainingCapacity", count != NULL,
                              profileId, &gi, &c)))
        goto out;
    *count = ci_capacity(gi, cis[gi->dev][gi->id], profileId);
    EXIT();
}

/* --- compute instances -------------------------------------------------------------------- */

/* What the generic getters answer for the MIG device of a new CI: its name and UUID, the
 * GI's memory, the attributes of the slices; no processes; anything else NOT_SUPPORTED
 * (as much is on a real MIG device: utilization, clocks, power...). */
static void
migdev_data(const mig_gi *gi, const mig_ci *ci)
{
    sim_device *md = (sim_device *)migdev_handle(gi, ci);
    const sim_device *parent = sim_device_at(gi->dev);
    nvmlComputeInstanceProfileInfo_v2_t prof;
    memset(&prof, 0, sizeof prof);
    fill_ci_profile(gi, ci->profile, ci->size, &prof, 1);
    const cJSON *gp = gi_profile_of(gi);
    cJSON *j = cJSON_CreateObject();
    const cJSON *pname = cJSON_GetObjectItemCaseSensitive(parent->data, "nvmlDeviceGetName");
    const cJSON *puuid = cJSON_GetObjectItemCaseSensitive(parent->data, "nvmlDeviceGetUUID");
    char buf[160];
    snprintf(buf, sizeof buf, "%s %s", cJSON_IsString(pname) ? pname->valuestring : "GPU", prof.name);
    cJSON_AddStringToObject(j, "nvmlDeviceGetName", buf);
    /* a UUID of its own, the same for the same GPU, GI and CI */
    unsigned long long h = 1469598103934665603ULL;
    for (const char *p = cJSON_IsString(puuid) ? puuid->valuestring : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ (gi->id * 16u + ci->id)) * 1099511628211ULL;
    snprintf(buf, sizeof buf, "MIG-%08llx-%04llx-%04llx-%04llx-%012llx", h >> 32, (h >> 16) & 0xFFFF, h & 0xFFFF,
             (h >> 48) ^ gi->id, (h * 31 + ci->id) & 0xFFFFFFFFFFFFULL);
    cJSON_AddStringToObject(j, "nvmlDeviceGetUUID", buf);
    double total = (double)num(gp, "memorySizeMB") * 1048576.0;
    cJSON *mem = cJSON_AddObjectToObject(j, "nvmlDeviceGetMemoryInfo");
    cJSON_AddNumberToObject(mem, "total", total);
    cJSON_AddNumberToObject(mem, "free", total);
    cJSON_AddNumberToObject(mem, "used", 0);
    cJSON *mem2 = cJSON_AddObjectToObject(j, "nvmlDeviceGetMemoryInfo_v2");
    cJSON_AddNumberToObject(mem2, "total", total);
    cJSON_AddNumberToObject(mem2, "reserved", 0);
    cJSON_AddNumberToObject(mem2, "free", total);
    cJSON_AddNumberToObject(mem2, "used", 0);
    cJSON *attr = cJSON_AddObjectToObject(j, "nvmlDeviceGetAttributes_v2");
    cJSON_AddNumberToObject(attr, "multiprocessorCount", prof.multiprocessorCount);
    cJSON_AddNumberToObject(attr, "sharedCopyEngineCount", prof.sharedCopyEngineCount);
    cJSON_AddNumberToObject(attr, "sharedDecoderCount", prof.sharedDecoderCount);
    cJSON_AddNumberToObject(attr, "sharedEncoderCount", prof.sharedEncoderCount);
    cJSON_AddNumberToObject(attr, "sharedJpegCount", prof.sharedJpegCount);
    cJSON_AddNumberToObject(attr, "sharedOfaCount", prof.sharedOfaCount);
    cJSON_AddNumberToObject(attr, "gpuInstanceSliceCount", gi->slices);
    cJSON_AddNumberToObject(attr, "computeInstanceSliceCount", ci->size);
    cJSON_AddNumberToObject(attr, "memorySizeMB", num(gp, "memorySizeMB"));
    cJSON_AddArrayToObject(j, "nvmlDeviceGetComputeRunningProcesses_v3");
    cJSON_AddArrayToObject(j, "nvmlDeviceGetGraphicsRunningProcesses_v3");
    cJSON_AddArrayToObject(j, "nvmlDeviceGetMPSComputeRunningProcesses_v3");
    /* The slot's previous data goes (a handle of a destroyed MIG device is dead: NVML's
     * callers do not use one while another is made in its place). */
    cJSON_Delete(md->data);
    md->index = parent->index;
    md->data = j;
}

/* The instances a profile says exist (its device's "mig": {"instances"}), put in place
 * when the profile is loaded (fresh_state, the lock held): each as create_gi and create_ci
 * would make it at that place, under the id given where that one is free. */
static void
load_instances(void)
{
    for (unsigned int dn = 0; dn < sim_device_count() && dn < MIG_MAX_DEVICES; dn++) {
        const sim_device *d = sim_device_at(dn);
        const cJSON *g;
        if (mig_enabled(d) != NVML_SUCCESS)
            continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(model(d), "instances")) {
            const cJSON *p = gi_profile(d, num(g, "profile"), 0);
            unsigned int size = num(p, "placementSize"), start = num(g, "start");
            unsigned int id = cJSON_HasObjectItem(g, "id") ? num(g, "id")
                                                           : gi_id_of(num(model(d), "memorySlices"), start, size);
            if (p == NULL || id >= MIG_MAX_GI || gis[dn][id].alive || !gi_range_free(dn, start, size))
                continue;
            mig_gi *gi = &gis[dn][id];
            memset(gi, 0, sizeof *gi);
            gi->alive = 1;
            gi->dev = dn;
            gi->id = id;
            gi->profile_id = num(p, "id");
            gi->start = start;
            gi->size = size;
            gi->slices = num(p, "sliceCount");
            const cJSON *cj;
            cJSON_ArrayForEach(cj, cJSON_GetObjectItemCaseSensitive(g, "computeInstances")) {
                unsigned int profile = num(cj, "profile"), c = ci_slices(profile, gi->slices);
                unsigned int slot = num(cj, "id"), cstart = num(cj, "start");
                mig_ci *list = cis[dn][id];
                if (c == 0 || slot >= MIG_MAX_CI || list[slot].alive || !ci_range_free(list, cstart, c))
                    continue;
                mig_ci *ci = &list[slot];
                ci->alive = 1;
                ci->id = slot;
                ci->profile = profile;
                ci->start = cstart;
                ci->size = c;
                migdev_data(gi, ci);
                const cJSON *dev = cJSON_GetObjectItemCaseSensitive(cj, "device"), *m;
                if (!cJSON_IsObject(dev))
                    dev = NULL;
                cJSON *data = ((sim_device *)migdev_handle(gi, ci))->data;
                if (data == NULL)
                    continue;
                cJSON_ArrayForEach(m, dev) {
                    cJSON *copy = m->string != NULL ? cJSON_Duplicate(m, 1) : NULL;
                    if (copy == NULL)
                        continue;
                    if (cJSON_HasObjectItem(data, m->string))
                        cJSON_ReplaceItemInObjectCaseSensitive(data, m->string, copy);
                    else
                        cJSON_AddItemToObject(data, m->string, copy);
                }
            }
        }
    }
}

static nvmlReturn_t
create_ci(nvmlGpuInstance_t gpuInstance, unsigned int profileId, const nvmlComputeInstancePlacement_t *placement,
          nvmlComputeInstance_t *out_ci, const char *key)
{
    ENTER();
    mig_gi *gi;
    unsigned int c, starts[MIG_MAX_PLACEMENTS];
    if ((rc = ci_profile_call(gpuInstance, key, out_ci != NULL, profileId, &gi, &c)))
        goto out;
    unsigned int n = ci_placements(c, gi->slices, starts);
    mig_ci *list = cis[gi->dev][gi->id];
    if (placement != NULL && !placement_valid(starts, n, c, placement->start, placement->size))
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (ci_capacity(gi, list, profileId) == 0)
        LEAVE(NVML_ERROR_INSUFFICIENT_RESOURCES);
    int chosen = -1;   /* the asked placement, or the lowest free one */
    for (unsigned int i = 0; i < n && chosen < 0; i++)
        if ((placement == NULL || starts[i] == placement->start) && ci_range_free(list, starts[i], c))
            chosen = (int)i;
    if (chosen < 0)
        LEAVE(NVML_ERROR_INSUFFICIENT_RESOURCES);
    int slot = 0;
    while (slot < MIG_MAX_CI && list[slot].alive)
        slot++;
    if (slot == MIG_MAX_CI)
        LEAVE(NVML_ERROR_INSUFFICIENT_RESOURCES);
    mig_ci *ci = &list[slot];
    ci->alive = 1;
    ci->id = (unsigned int)slot;   /* the lowest free id */
    ci->profile = profileId;
    ci->start = starts[chosen];
    ci->size = c;
    migdev_data(gi, ci);
    *out_ci = (nvmlComputeInstance_t)ci;
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceCreateComputeInstance(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                     nvmlComputeInstance_t *computeInstance)
{
    return create_ci(gpuInstance, profileId, NULL, computeInstance, "nvmlGpuInstanceCreateComputeInstance");
}

nvmlReturn_t
nvmlGpuInstanceCreateComputeInstanceWithPlacement(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                                  nvmlComputeInstancePlacement_t *placement,
                                                  nvmlComputeInstance_t *computeInstance)
{
    if (placement == NULL)
        return sim_initialized() ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_UNINITIALIZED;
    return create_ci(gpuInstance, profileId, placement, computeInstance,
                     "nvmlGpuInstanceCreateComputeInstanceWithPlacement");
}

nvmlReturn_t
nvmlComputeInstanceDestroy(nvmlComputeInstance_t computeInstance)
{
    ENTER();
    mig_gi *gi;
    mig_ci *ci;
    if ((rc = ci_call(computeInstance, "nvmlComputeInstanceDestroy", 1, &gi, &ci)))
        goto out;
    ci->alive = 0;
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstances(nvmlGpuInstance_t gpuInstance, unsigned int profileId,
                                   nvmlComputeInstance_t *computeInstances, unsigned int *count)
{
    ENTER();
    mig_gi *gi;
    unsigned int c;
    if ((rc = ci_profile_call(gpuInstance, "nvmlGpuInstanceGetComputeInstances",
                              count != NULL && computeInstances != NULL, profileId, &gi, &c)))
        goto out;
    unsigned int n = 0;
    mig_ci *list = cis[gi->dev][gi->id];
    for (int k = 0; k < MIG_MAX_CI; k++)
        if (list[k].alive && list[k].profile == profileId)
            computeInstances[n++] = (nvmlComputeInstance_t)&list[k];
    *count = n;
    EXIT();
}

nvmlReturn_t
nvmlGpuInstanceGetComputeInstanceById(nvmlGpuInstance_t gpuInstance, unsigned int id,
                                      nvmlComputeInstance_t *computeInstance)
{
    ENTER();
    mig_gi *gi;
    if ((rc = sim_mig_gi(gpuInstance, "nvmlGpuInstanceGetComputeInstanceById", &gi)))
        goto out;
    if (computeInstance == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (id >= MIG_MAX_CI || !cis[gi->dev][gi->id][id].alive)
        LEAVE(NVML_ERROR_NOT_FOUND);
    *computeInstance = (nvmlComputeInstance_t)&cis[gi->dev][gi->id][id];
    EXIT();
}

nvmlReturn_t
nvmlComputeInstanceGetInfo_v2(nvmlComputeInstance_t computeInstance, nvmlComputeInstanceInfo_t *info)
{
    ENTER();
    mig_gi *gi;
    mig_ci *ci;
    if ((rc = ci_call(computeInstance, "nvmlComputeInstanceGetInfo_v2", info != NULL, &gi, &ci)))
        goto out;
    memset(info, 0, sizeof *info);
    info->device = (nvmlDevice_t)sim_device_at(gi->dev);
    info->gpuInstance = (nvmlGpuInstance_t)gi;
    info->id = ci->id;
    info->profileId = ci->profile;
    info->placement.start = ci->start;
    info->placement.size = ci->size;
    EXIT();
}

/* --- MIG device handles and the queries on them --------------------------------------------- */

/* The MIG devices of a GPU, in GI id then CI id order: the index'th, or NULL. */
static nvmlDevice_t
migdev_at(unsigned int dev, unsigned int index)
{
    for (int g = 0; g < MIG_MAX_GI; g++) {
        if (!gis[dev][g].alive)
            continue;
        for (int k = 0; k < MIG_MAX_CI; k++)
            if (cis[dev][g][k].alive && index-- == 0)
                return migdev_handle(&gis[dev][g], &cis[dev][g][k]);
    }
    return NULL;
}

/* The queries on a MIG device handle: its CI and GI, then the error injected under `key`;
 * for a whole GPU, device_for's error, else INVALID_ARGUMENT (a whole GPU is no MIG
 * device: the H100 says so). */
static nvmlReturn_t
migdev_call(nvmlDevice_t device, const char *key, mig_gi **gi, mig_ci **ci)
{
    sim_device *d;
    *ci = migdev_of(device, gi);
    if (*ci != NULL)
        return injected(sim_device_at((*gi)->dev), key);
    nvmlReturn_t rc = device_for(device, key, &d);
    return rc != NVML_SUCCESS ? rc : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t
nvmlDeviceIsMigDeviceHandle(nvmlDevice_t device, unsigned int *isMigDevice)
{
    ENTER();
    mig_gi *gi;
    sim_device *d;
    if (isMigDevice == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (migdev_of(device, &gi) != NULL) {
        *isMigDevice = 1;
        LEAVE(NVML_SUCCESS);
    }
    if ((rc = device_for(device, "nvmlDeviceIsMigDeviceHandle", &d)))
        goto out;
    *isMigDevice = 0;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t device, unsigned int *count)
{
    ENTER();
    sim_device *d;
    if ((rc = gpu_call(device, "nvmlDeviceGetMaxMigDeviceCount", count != NULL, &d)))
        goto out;
    /* one MIG device per compute slice with MIG on; 0 with it off (as the H100 says) */
    *count = mig_enabled(d) == NVML_SUCCESS ? num(model(d), "computeSlices") : 0;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t device, unsigned int index, nvmlDevice_t *migDevice)
{
    ENTER();
    sim_device *d;
    if ((rc = gpu_call(device, "nvmlDeviceGetMigDeviceHandleByIndex", migDevice != NULL, &d)))
        goto out;
    if (mig_enabled(d) != NVML_SUCCESS)
        LEAVE(NVML_ERROR_NOT_FOUND);   /* the H100 with MIG off, for every index */
    if (index >= num(model(d), "computeSlices"))
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    nvmlDevice_t h = migdev_at(d->index, index);
    if (h == NULL)
        LEAVE(NVML_ERROR_NOT_FOUND);
    *migDevice = h;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t migDevice, nvmlDevice_t *device)
{
    ENTER();
    mig_gi *gi;
    mig_ci *ci;
    if (device == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if ((rc = migdev_call(migDevice, "nvmlDeviceGetDeviceHandleFromMigDeviceHandle", &gi, &ci)))
        goto out;
    *device = (nvmlDevice_t)sim_device_at(gi->dev);
    EXIT();
}

/* nvmlDeviceGetGpuInstanceId / nvmlDeviceGetComputeInstanceId of a MIG device. */
static nvmlReturn_t
migdev_id(nvmlDevice_t device, unsigned int *id, int want_ci, const char *key)
{
    ENTER();
    mig_gi *gi;
    mig_ci *ci;
    if (id == NULL)
        LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if ((rc = migdev_call(device, key, &gi, &ci)))   /* a whole GPU has no instance id */
        goto out;
    *id = want_ci ? ci->id : gi->id;
    EXIT();
}

nvmlReturn_t
nvmlDeviceGetGpuInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return migdev_id(device, id, 0, "nvmlDeviceGetGpuInstanceId");
}

nvmlReturn_t
nvmlDeviceGetComputeInstanceId(nvmlDevice_t device, unsigned int *id)
{
    return migdev_id(device, id, 1, "nvmlDeviceGetComputeInstanceId");
}

/* For the MIG mode setter (another family's): how many GPU instances a device has, so
 * that turning MIG off under them can be refused (NVML_ERROR_IN_USE). */
unsigned int
sim_mig_instance_count(unsigned int dev)
{
    unsigned int n = 0;
    pthread_mutex_lock(&lock);
    fresh_state();
    for (int g = 0; dev < MIG_MAX_DEVICES && g < MIG_MAX_GI; g++)
        n += gis[dev][g].alive != 0;
    pthread_mutex_unlock(&lock);
    return n;
}
