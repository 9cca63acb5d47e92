/* The simulated NVML's setters: what the generated setter entry points call (codegen/
 * emit_sim.py, emit_setter; the options sets= clears= copies= checks= of
 * spec/functions_setters.nvml), and the setters that fit no such pattern.
 *
 * STATE.  A setter writes into the in-memory profile, where the getters read: after
 * nvmlDeviceSetPersistenceMode(h, 1), nvmlDeviceGetPersistenceMode(h) is 1.  The state
 * lives as long as the loaded profile: it survives nvmlShutdown and a later nvmlInit (as
 * a GPU's settings outlive an NVML session), and starts again from the profile when the
 * profile is loaded anew: a first nvmlInit with another PYNVML_SIM_PROFILE, or after
 * that file changed (device_model.c), or in a new process.
 *
 * A setter is supported where the data it writes exists: a target the profile lacks is
 * NOT_SUPPORTED (its top key) or INVALID_ARGUMENT (a key below, e.g. a fan the device
 * does not have), and a target that is {"error": CODE} answers CODE, so a getter made
 * NOT_SUPPORTED makes its setter so too.  The setter's own key may hold {"error": CODE}:
 * "nvmlDeviceSetPersistenceMode": {"error": "NO_PERMISSION"} is a non-root user.
 *
 * Writes are made in place (a number's value changes; a list's items are moved aside,
 * never freed), so a getter in another thread never reads freed memory; no member is
 * ever added to a profile object (a setter's data must be in the profile).
 * A path is a NULL-terminated list of keys: "#N" is item N of a list (a getter with
 * several outputs), "*" every key of an object (clears only).
 */
#include "sim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

void
sim_state_lock(void)
{
    pthread_mutex_lock(&state_lock);
}

void
sim_state_unlock(void)
{
    pthread_mutex_unlock(&state_lock);
}

nvmlReturn_t
sim_setter_begin(sim_call *c, const char *key, nvmlDevice_t d, int on_device)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    const cJSON *root;
    if (on_device) {
        if ((c->dev = sim_device_of(d)) == NULL)
            return NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = sim_device_enter(c->dev, key);   /* lost, or a fault injected */
        if (rc != NVML_SUCCESS)
            return rc;
        root = c->dev->data;
    } else {
        c->dev = NULL;
        nvmlReturn_t rc = sim_system_enter(key);
        if (rc != NVML_SUCCESS)
            return rc;
        root = sim_system();
    }
    c->value = root;
    return sim_error_of(cJSON_GetObjectItemCaseSensitive(root, key));
}

/* One step down: "#N" in a list, a key in an object. */
static cJSON *
child(const cJSON *j, const char *k)
{
    if (k[0] == '#')
        return cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(k + 1)) : NULL;
    return cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, k) : NULL;
}

/* The node at path below the call's root: NOT_SUPPORTED when the top key is missing,
 * INVALID_ARGUMENT when a key below it is, an {"error": CODE} on the way answers CODE. */
static nvmlReturn_t
find(const sim_call *c, const char *const *path, cJSON **out)
{
    cJSON *j = (cJSON *)c->value;
    for (int i = 0; path[i]; i++) {
        j = child(j, path[i]);
        if (j == NULL)
            return i == 0 ? NVML_ERROR_NOT_SUPPORTED : NVML_ERROR_INVALID_ARGUMENT;
        nvmlReturn_t rc = sim_error_of(j);
        if (rc != NVML_SUCCESS)
            return rc;
    }
    *out = j;
    return NVML_SUCCESS;
}

static int
number_of(const cJSON *j, double *v)
{
    if (cJSON_IsNumber(j))
        *v = j->valuedouble;
    else if (cJSON_IsBool(j))
        *v = cJSON_IsTrue(j);
    else if (cJSON_IsString(j)) {   /* a 64-bit value written as a string */
        char *end;
        *v = (double)strtoull(j->valuestring, &end, 0);
        return *end == '\0' && end != j->valuestring;
    } else
        return 0;
    return 1;
}

/* A number's value, in place (a bool or a numeric string becomes a number). */
static void
put_number(cJSON *j, double v)
{
    if (!cJSON_IsNumber(j)) {
        /* the old string stays allocated until the profile goes: a reader may hold it */
        j->type = (j->type & ~0xFF) | cJSON_Number;
        j->valuestring = NULL;
    }
    cJSON_SetNumberValue(j, v);
}

nvmlReturn_t
sim_check_within(sim_call *c, double v, const char *const *path)
{
    cJSON *j;
    nvmlReturn_t rc = find(c, path, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    double lo, hi;
    if (!number_of(cJSON_GetArrayItem(j, 0), &lo) || !number_of(cJSON_GetArrayItem(j, 1), &hi))
        return NVML_ERROR_UNKNOWN;   /* a profile bug: [min, max] expected */
    return v < lo || v > hi ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
}

nvmlReturn_t
sim_check_among(sim_call *c, double v, const char *const *path)
{
    cJSON *j;
    nvmlReturn_t rc = find(c, path, &j);
    if (rc != NVML_SUCCESS)
        return rc == NVML_ERROR_NOT_SUPPORTED && path[1] ? NVML_ERROR_INVALID_ARGUMENT : rc;
    if (!cJSON_IsArray(j))
        return NVML_ERROR_UNKNOWN;
    const cJSON *e;
    double x;
    cJSON_ArrayForEach(e, j) {
        if (number_of(e, &x) && x == v)
            return NVML_SUCCESS;
    }
    return NVML_ERROR_INVALID_ARGUMENT;
}

static nvmlReturn_t
bound(sim_call *c, double v, const char *const *path, int upper)
{
    cJSON *j;
    nvmlReturn_t rc = find(c, path, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    double b;
    if (!number_of(j, &b))
        return NVML_ERROR_UNKNOWN;
    return (upper ? v > b : v < b) ? NVML_ERROR_INVALID_ARGUMENT : NVML_SUCCESS;
}

nvmlReturn_t
sim_check_atmost(sim_call *c, double v, const char *const *path)
{
    return bound(c, v, path, 1);
}

nvmlReturn_t
sim_check_atleast(sim_call *c, double v, const char *const *path)
{
    return bound(c, v, path, 0);
}

nvmlReturn_t
sim_check_exists(sim_call *c, const char *const *path)
{
    cJSON *j;
    return find(c, path, &j);
}

nvmlReturn_t
sim_optional(nvmlReturn_t rc)
{
    return rc == NVML_ERROR_NOT_SUPPORTED ? NVML_SUCCESS : rc;
}

nvmlReturn_t
sim_set_number(sim_call *c, int write, double v, const char *const *path)
{
    cJSON *j;
    nvmlReturn_t rc = find(c, path, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    double old;
    if (!number_of(j, &old))
        return NVML_ERROR_UNKNOWN;   /* a profile bug: a number expected there */
    if (write)
        put_number(j, v);
    return NVML_SUCCESS;
}

/* Items taken out of lists: kept, as a reader in another thread may hold one (never
 * freed: a list only empties, so they are at most what the profiles' lists held).  Not
 * kept in the profile, whose objects setters never add members to. */
static cJSON *removed;

static void
retire(cJSON *item)
{
    if (removed == NULL)
        removed = cJSON_CreateArray();
    if (removed == NULL || !cJSON_AddItemToArray(removed, item))
        return;   /* out of memory: leaked rather than freed under a reader */
}

static void
zero(cJSON *j, int empty_lists)
{
    if (empty_lists && cJSON_IsArray(j) && j->child && !cJSON_IsArray(j->child) && !cJSON_IsObject(j->child)) {
        /* a list of values (pids, pages): emptied */
        while (j->child)
            retire(cJSON_DetachItemViaPointer(j, j->child));
        return;
    }
    if (cJSON_IsArray(j) || cJSON_IsObject(j)) {
        if (sim_error_of(j) != NVML_SUCCESS)
            return;
        cJSON *e;
        cJSON_ArrayForEach(e, j) zero(e, empty_lists);
        return;
    }
    double v;
    if (number_of(j, &v))
        put_number(j, 0);
}

/* Zero what path names below j; under a "*", keys that some children lack are skipped. */
static void
clear_below(cJSON *j, const char *const *path, int empty_lists)
{
    if (path[0] == NULL) {
        zero(j, empty_lists);
        return;
    }
    if (strcmp(path[0], "*") == 0) {
        cJSON *e;
        cJSON_ArrayForEach(e, j) {
            if (sim_error_of(e) == NVML_SUCCESS)
                clear_below(e, path + 1, empty_lists);
        }
        return;
    }
    cJSON *e = child(j, path[0]);
    if (e != NULL && sim_error_of(e) == NVML_SUCCESS)
        clear_below(e, path + 1, empty_lists);
}

nvmlReturn_t
sim_clear(sim_call *c, int write, const char *const *path, int empty_lists)
{
    int wild = 0;
    for (int i = 0; path[i]; i++)
        wild |= strcmp(path[i], "*") == 0;
    cJSON *j;
    /* without a "*" every key must be there; with one, the top key */
    const char *top[2] = {path[0], NULL};
    nvmlReturn_t rc = find(c, wild ? top : path, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    if (write)
        clear_below(j, wild ? path + 1 : (const char *const[]){NULL}, empty_lists);
    return NVML_SUCCESS;
}

/* The numbers of src written into dst where dst has the same keys. */
static void
merge(const cJSON *src, cJSON *dst)
{
    double v;
    if (sim_error_of(src) != NVML_SUCCESS || sim_error_of(dst) != NVML_SUCCESS)
        return;   /* an error stays as it is */
    if (cJSON_IsObject(src) && cJSON_IsObject(dst)) {
        const cJSON *e;
        cJSON_ArrayForEach(e, src) {
            cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, e->string);
            if (d != NULL)
                merge(e, d);
        }
    } else if (cJSON_IsArray(src) && cJSON_IsArray(dst)) {
        int n = cJSON_GetArraySize(src);
        for (int i = 0; i < n; i++) {
            cJSON *d = cJSON_GetArrayItem(dst, i);
            if (d != NULL)
                merge(cJSON_GetArrayItem(src, i), d);
        }
    } else if (number_of(src, &v) && number_of(dst, &v)) {
        number_of(src, &v);
        put_number(dst, v);
    }
}

nvmlReturn_t
sim_copy(sim_call *c, int write, const char *const *src, const char *const *dst)
{
    cJSON *s, *d;
    nvmlReturn_t rc = find(c, src, &s);
    if (rc == NVML_SUCCESS)
        rc = find(c, dst, &d);
    if (rc == NVML_SUCCESS && write)
        merge(s, d);
    return rc;
}

/* --- entry points that fit no pattern ------------------------------------------------- */

/* Workload power profiles: the requested profiles are bits of a 255-bit mask
 * ("nvmlDeviceWorkloadPowerProfileGetCurrentProfiles": {"requestedProfilesMask":
 * {"mask": [8 words]}}); setting ORs the request's bits in, clearing takes them out.
 * A bit of a profile the device lacks (not in perfProfilesMask) is INVALID_ARGUMENT. */
static nvmlReturn_t
requested_profiles(nvmlDevice_t device, nvmlWorkloadPowerProfileRequestedProfiles_t *req, int set,
                   const char *key)
{
    sim_call c;
    nvmlReturn_t rc = sim_setter_begin(&c, key, device, 1);
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_versioned(req, nvmlWorkloadPowerProfileRequestedProfiles_v1)) != NVML_SUCCESS)
        return rc;
    cJSON *have, *want;
    sim_state_lock();
    rc = find(&c, (const char *const[]){"nvmlDeviceWorkloadPowerProfileGetCurrentProfiles", "perfProfilesMask",
                                        "mask", NULL}, &have);
    if (rc == NVML_SUCCESS)
        rc = find(&c, (const char *const[]){"nvmlDeviceWorkloadPowerProfileGetCurrentProfiles",
                                            "requestedProfilesMask", "mask", NULL}, &want);
    for (int i = 0; rc == NVML_SUCCESS && i < 8; i++) {
        double h, w;
        if (!number_of(cJSON_GetArrayItem(have, i), &h) || !number_of(cJSON_GetArrayItem(want, i), &w))
            rc = NVML_ERROR_UNKNOWN;   /* a profile bug: 8 words expected */
        else if (req->requestedProfilesMask.mask[i] & ~(unsigned int)h)
            rc = NVML_ERROR_INVALID_ARGUMENT;
    }
    for (int i = 0; rc == NVML_SUCCESS && i < 8; i++) {
        double w;
        number_of(cJSON_GetArrayItem(want, i), &w);
        unsigned int bits = (unsigned int)w, r = req->requestedProfilesMask.mask[i];
        put_number(cJSON_GetArrayItem(want, i), (double)(set ? bits | r : bits & ~r));
    }
    sim_state_unlock();
    return rc;
}

nvmlReturn_t
nvmlDeviceWorkloadPowerProfileSetRequestedProfiles(nvmlDevice_t device,
                                                   nvmlWorkloadPowerProfileRequestedProfiles_t *requestedProfiles)
{
    return requested_profiles(device, requestedProfiles, 1, "nvmlDeviceWorkloadPowerProfileSetRequestedProfiles");
}

nvmlReturn_t
nvmlDeviceWorkloadPowerProfileClearRequestedProfiles(nvmlDevice_t device,
                                                     nvmlWorkloadPowerProfileRequestedProfiles_t *requestedProfiles)
{
    return requested_profiles(device, requestedProfiles, 0, "nvmlDeviceWorkloadPowerProfileClearRequestedProfiles");
}

/* Drain state, removal and discovery name a GPU by its PCI address (pciInfo->busId, or
 * the short form), not by a handle.  The drain state is the device's
 * "nvmlDeviceQueryDrainState" (0 or 1); a removed GPU must have been drained first
 * (IN_USE otherwise), and stays in the simulator (removal is not modelled further). */
static nvmlReturn_t
by_pci(nvmlPciInfo_t *pciInfo, const char *key, sim_call *c)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (pciInfo == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    char busId[sizeof pciInfo->busId + 1];
    memcpy(busId, pciInfo->busId, sizeof pciInfo->busId);
    busId[sizeof pciInfo->busId] = '\0';
    nvmlDevice_t d;
    nvmlReturn_t rc = nvmlDeviceGetHandleByPciBusId_v2(busId, &d);
    if (rc != NVML_SUCCESS)
        return rc;
    return sim_setter_begin(c, key, d, 1);
}

nvmlReturn_t
nvmlDeviceQueryDrainState(nvmlPciInfo_t *pciInfo, unsigned int *currentState)
{
    sim_call c;
    cJSON *j;
    nvmlReturn_t rc = by_pci(pciInfo, "nvmlDeviceQueryDrainState", &c);
    if (rc == NVML_SUCCESS && currentState == NULL)
        rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS)
        rc = find(&c, (const char *const[]){"nvmlDeviceQueryDrainState", NULL}, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    return sim_get_u32(j, currentState);
}

nvmlReturn_t
nvmlDeviceModifyDrainState(nvmlPciInfo_t *pciInfo, unsigned int newState)
{
    sim_call c;
    nvmlReturn_t rc = by_pci(pciInfo, "nvmlDeviceModifyDrainState", &c);
    if (rc != NVML_SUCCESS)
        return rc;
    if (newState != NVML_FEATURE_DISABLED && newState != NVML_FEATURE_ENABLED)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_state_lock();
    rc = sim_set_number(&c, 1, newState, (const char *const[]){"nvmlDeviceQueryDrainState", NULL});
    sim_state_unlock();
    return rc;
}

nvmlReturn_t
nvmlDeviceRemoveGpu(nvmlPciInfo_t *pciInfo)
{
    sim_call c;
    cJSON *j;
    double drained = 0;
    nvmlReturn_t rc = by_pci(pciInfo, "nvmlDeviceRemoveGpu", &c);
    if (rc == NVML_SUCCESS)
        rc = find(&c, (const char *const[]){"nvmlDeviceQueryDrainState", NULL}, &j);
    if (rc != NVML_SUCCESS)
        return rc;
    return number_of(j, &drained) && drained == 1 ? NVML_SUCCESS : NVML_ERROR_IN_USE;
}

nvmlReturn_t
nvmlDeviceDiscoverGpus(nvmlPciInfo_t *pciInfo)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (pciInfo == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return sim_error_of(cJSON_GetObjectItemCaseSensitive(sim_system(), "nvmlDeviceDiscoverGpus"));
}

/* Affinity: the profile holds the mask's words (keyed by scope where the call has one);
 * the caller's words past them are zeroed.  A size of 0 is INVALID_ARGUMENT (the H100's). */
static nvmlReturn_t
affinity(nvmlDevice_t device, const char *key, unsigned int size, unsigned long *set, int scoped,
         unsigned int scope)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, key, device);
    if (rc == NVML_SUCCESS && scoped)
        rc = sim_key_u64(&c, scope);
    if (rc != NVML_SUCCESS)
        return rc;
    if (size == 0 || set == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (!cJSON_IsArray(c.value))
        return NVML_ERROR_UNKNOWN;
    memset(set, 0, size * sizeof *set);
    return sim_get_array(c.value, set, size, sizeof *set, sim_get_ulong);
}

nvmlReturn_t
nvmlDeviceGetCpuAffinity(nvmlDevice_t device, unsigned int cpuSetSize, unsigned long *cpuSet)
{
    return affinity(device, "nvmlDeviceGetCpuAffinity", cpuSetSize, cpuSet, 0, 0);
}

nvmlReturn_t
nvmlDeviceGetCpuAffinityWithinScope(nvmlDevice_t device, unsigned int cpuSetSize, unsigned long *cpuSet,
                                    unsigned int scope)
{
    return affinity(device, "nvmlDeviceGetCpuAffinityWithinScope", cpuSetSize, cpuSet, 1, scope);
}

nvmlReturn_t
nvmlDeviceGetMemoryAffinity(nvmlDevice_t device, unsigned int nodeSetSize, unsigned long *nodeSet,
                            unsigned int scope)
{
    return affinity(device, "nvmlDeviceGetMemoryAffinity", nodeSetSize, nodeSet, 1, scope);
}

/* Clearing field values: each requested field the device's "nvmlDeviceGetFieldValues"
 * object has is set to 0 (its "value", in place), and its entry's nvmlReturn is SUCCESS;
 * one it lacks is NOT_SUPPORTED in its entry, one holding an error answers that error. */
nvmlReturn_t
nvmlDeviceClearFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values)
{
    sim_call c;
    nvmlReturn_t rc = sim_setter_begin(&c, "nvmlDeviceClearFieldValues", device, 1);
    if (rc != NVML_SUCCESS)
        return rc;
    cJSON *fields;
    if ((rc = find(&c, (const char *const[]){"nvmlDeviceGetFieldValues", NULL}, &fields)) != NVML_SUCCESS)
        return rc;
    if (valuesCount < 0 || (valuesCount > 0 && values == NULL))
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_state_lock();
    for (int i = 0; i < valuesCount; i++) {
        nvmlFieldValue_t *v = &values[i];
        char key[32];
        snprintf(key, sizeof key, "%u:%u", v->fieldId, v->scopeId);
        cJSON *e = cJSON_GetObjectItemCaseSensitive(fields, key);
        if (e == NULL) {
            snprintf(key, sizeof key, "%u", v->fieldId);
            e = cJSON_GetObjectItemCaseSensitive(fields, key);
        }
        memset(&v->value, 0, sizeof v->value);
        v->nvmlReturn = e == NULL ? NVML_ERROR_NOT_SUPPORTED : sim_error_of(e);
        cJSON *val = e ? cJSON_GetObjectItemCaseSensitive(e, "value") : NULL;
        double old;
        if (v->nvmlReturn == NVML_SUCCESS && number_of(val, &old))
            put_number(val, 0);
    }
    sim_state_unlock();
    return NVML_SUCCESS;
}

/* The host name: a string, so no sets= (numbers only).  Written where the profile has
 * "nvmlDeviceGetHostname_v1": {"value": "..."}; the old string is kept (a reader may hold
 * it), as removed list items are.  Without that data the call succeeds and changes nothing. */
nvmlReturn_t
nvmlDeviceSetHostname_v1(nvmlDevice_t device, nvmlHostname_v1_t *hostname)
{
    sim_call c;
    nvmlReturn_t rc = sim_setter_begin(&c, "nvmlDeviceSetHostname_v1", device, 1);
    if (rc != NVML_SUCCESS)
        return rc;
    if (hostname == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    char name[sizeof hostname->value + 1];
    memcpy(name, hostname->value, sizeof hostname->value);
    name[sizeof hostname->value] = '\0';
    cJSON *v;
    rc = find(&c, (const char *const[]){"nvmlDeviceGetHostname_v1", "value", NULL}, &v);
    if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT)
        return NVML_SUCCESS;   /* no host name in the profile to change */
    if (rc != NVML_SUCCESS)
        return rc;
    if (!cJSON_IsString(v))
        return NVML_ERROR_UNKNOWN;
    char *copy = strdup(name);
    if (copy == NULL)
        return NVML_ERROR_MEMORY;
    sim_state_lock();
    cJSON *old = cJSON_CreateStringReference(v->valuestring);   /* keeps the old text reachable */
    if (old != NULL) {
        old->type &= ~cJSON_IsReference;   /* ... and owned: it is never freed (see retire) */
        retire(old);
    }
    v->valuestring = copy;
    sim_state_unlock();
    return NVML_SUCCESS;
}
