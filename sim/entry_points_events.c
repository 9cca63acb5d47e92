/* The simulated NVML's events, GPM samples and S-class units: entry points that keep
 * state across calls (event sets with their queues, samples, the LED, GPM streaming),
 * which no generated entry point (a profile lookup) can.
 *
 * EVENTS.  nvmlEventSetCreate makes a set; nvmlDeviceRegisterEvents adds event types of
 * a device to it: types the device does not support (its nvmlDeviceGetSupportedEventTypes
 * value) are NOT_SUPPORTED.  An event reaches every set that registered its type on its
 * device, in two ways:
 *
 *   - from the profile: a device's "events" list, e.g.
 *         "events": [{"type": 8, "data": 79, "after_ms": 50},
 *                    {"type": "0x4", "data": 2, "after_ms": 200, "gpuInstanceId": 1}]
 *     each entry is queued on a set when its type is registered there, due after_ms
 *     after the registration (so a test can register, then wait for it);
 *   - from the test: the simulator exports a control function, not part of NVML,
 *         nvmlReturn_t pynvmlSimFireEvent(unsigned int deviceIndex,
 *                                        unsigned long long eventType,
 *                                        unsigned long long eventData);
 *     (ctypes.CDLL(<the simulator>).pynvmlSimFireEvent(0, 8, 79)): the event is queued,
 *     due now, on every set listening for it; SUCCESS even when none is (the event is
 *     lost, as on a GPU); INVALID_ARGUMENT for a device index it does not have.
 *     pynvmlSimFireSystemEvent(unsigned long long eventType, unsigned int gpuId) does
 *     the same for system event sets.
 *
 * nvmlEventSetWait(_v2) returns the earliest due event, waiting (on a condition variable,
 * no busy loop) up to timeoutms; NVML_ERROR_TIMEOUT when none comes.  A set freed while
 * a thread waits on it wakes that thread with INVALID_ARGUMENT; a freed or foreign set
 * pointer is recognized (sets are looked up in a list, never dereferenced unchecked) and
 * answered INVALID_ARGUMENT.  Profile errors: "nvmlEventSetCreate" (system) and
 * "nvmlDeviceRegisterEvents" (device) may be {"error": ...}.
 *
 * GPM.  A sample records the device (or GPU instance), and the time it was taken.  The
 * device's "nvmlGpmMetricsGet" object maps a metric id to its mean value; the simulated
 * counters are the integrals over time of that mean plus a triangle wave of +-15% (period
 * 2 s, a phase per metric), so the metrics of two samples are the counters' differences
 * over the time between them: they change from one interval to the next, and
 * percentages stay within 0..100.  A metric the object lacks is NOT_SUPPORTED in its
 * entry.  Sampling needs "nvmlGpmQueryDeviceSupport": {"isSupportedDevice": 1}; MIG
 * samples need "nvmlGpmMigSampleGet": {"<gpuInstanceId>": {}} (absent: NOT_SUPPORTED).
 * nvmlGpmSetStreamingEnabled writes "nvmlGpmQueryIfStreamingEnabled".
 *
 * UNITS.  The profile's top-level "units" list (absent: no units, as on an H100 server):
 * each unit maps the nvmlUnitGet* entry points to data as a device does, e.g.
 *     {"nvmlUnitGetUnitInfo": {"name": "S2075", ...}, "nvmlUnitGetDevices": [0, 1],
 *      "nvmlUnitGetTemperature": {"0": 30}, "nvmlUnitGetLedState": {"cause": "", "color": 0}}
 * nvmlUnitSetLedState writes the color into "nvmlUnitGetLedState".
 */
#include "sim.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_MAX_UNITS 64
#define SIM_MAX_EVENT_DEVICES 64   /* as device_model.c's SIM_MAX_DEVICES */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/* Write a number into the profile (state kept where the getters read it). */
static void
set_number(cJSON *obj, const char *key, double v)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsNumber(item))
        cJSON_SetNumberValue(item, v);
    else if (item != NULL)
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateNumber(v));
    else
        cJSON_AddNumberToObject(obj, key, v);
}

static nvmlReturn_t
device_begin(nvmlDevice_t device, sim_device **out, const char *key)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    sim_device *d = sim_device_of(device);
    if (d == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = sim_device_enter(d, key);   /* lost, or a fault injected */
    if (rc != NVML_SUCCESS)
        return rc;
    *out = d;
    return NVML_SUCCESS;
}

/* An optional {"error": ...} under key in obj. */
static nvmlReturn_t
injected(const cJSON *obj, const char *key)
{
    return sim_error_of(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* --- event sets ------------------------------------------------------------------------ */

typedef struct sim_event {
    struct sim_event *next;
    unsigned long long due_ns;
    unsigned int device;            /* device index; system events: the gpuId */
    unsigned long long type, data;
    unsigned int gi, ci;
    /* a GPU operational event (nvmlEventSetWait_v3's structured data), else 0 */
    int operational;
    unsigned int severity, log_level, category, code, xid;   /* xid 0: no legacy-Xid context */
    char module[16];
} sim_event;

typedef struct sim_evset {
    struct sim_evset *next;         /* the list of live sets */
    int system;                     /* a system event set */
    int dead;                       /* freed while a waiter held it */
    int refs;                       /* waiters inside nvmlEventSetWait */
    unsigned long long mask[SIM_MAX_EVENT_DEVICES];   /* registered types per device */
    unsigned long long sysmask;
    sim_event *queue;               /* by due time */
    sim_event last;                 /* what nvmlEventSetWait_v3 returned last: its contexts */
    int has_last;
} sim_evset;

static sim_evset *sets;
static pthread_cond_t changed;
static pthread_once_t cond_once = PTHREAD_ONCE_INIT;

static void
init_cond(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&changed, &a);
    pthread_condattr_destroy(&a);
}

/* The live set p points to, or NULL.  Lock held. */
static sim_evset *
find_set(const void *p, int system)
{
    for (sim_evset *s = sets; s != NULL; s = s->next)
        if (s == p && s->system == system)
            return s;
    return NULL;
}

static void
free_set(sim_evset *s)
{
    while (s->queue) {
        sim_event *e = s->queue;
        s->queue = e->next;
        free(e);
    }
    free(s);
}

/* Queue a copy of ev on s, in due order.  Lock held. */
static nvmlReturn_t
enqueue(sim_evset *s, const sim_event *ev)
{
    sim_event *e = malloc(sizeof *e);
    if (e == NULL)
        return NVML_ERROR_MEMORY;
    *e = *ev;
    sim_event **at = &s->queue;
    while (*at != NULL && (*at)->due_ns <= e->due_ns)
        at = &(*at)->next;
    e->next = *at;
    *at = e;
    return NVML_SUCCESS;
}

static nvmlReturn_t
create_set(int system, void **out)
{
    pthread_once(&cond_once, init_cond);
    sim_evset *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NVML_ERROR_MEMORY;
    s->system = system;
    pthread_mutex_lock(&lock);
    s->next = sets;
    sets = s;
    pthread_mutex_unlock(&lock);
    *out = s;
    return NVML_SUCCESS;
}

static nvmlReturn_t
free_set_handle(void *p, int system)
{
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(p, system);
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    for (sim_evset **at = &sets; *at != NULL; at = &(*at)->next) {
        if (*at == s) {
            *at = s->next;
            break;
        }
    }
    s->dead = 1;
    if (s->refs == 0)
        free_set(s);
    else
        pthread_cond_broadcast(&changed);   /* the waiters see it dead; the last one frees it */
    pthread_mutex_unlock(&lock);
    return NVML_SUCCESS;
}

/* Wait for the first due event of set p; *out gets it.  The lock is dropped while waiting. */
static nvmlReturn_t
wait_set(void *p, int system, unsigned int timeoutms, sim_event *out)
{
    pthread_once(&cond_once, init_cond);
    unsigned long long deadline = mono_ns() + (unsigned long long)timeoutms * 1000000ull;
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(p, system);
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    s->refs++;
    nvmlReturn_t rc;
    for (;;) {
        if (s->dead) {
            rc = NVML_ERROR_INVALID_ARGUMENT;
            break;
        }
        if (!sim_initialized()) {
            rc = NVML_ERROR_UNINITIALIZED;
            break;
        }
        unsigned long long now = mono_ns();
        if (s->queue != NULL && s->queue->due_ns <= now) {
            sim_event *e = s->queue;
            s->queue = e->next;
            *out = *e;
            free(e);
            rc = NVML_SUCCESS;
            break;
        }
        if (now >= deadline) {
            rc = NVML_ERROR_TIMEOUT;
            break;
        }
        unsigned long long wake = deadline;
        if (s->queue != NULL && s->queue->due_ns < wake)
            wake = s->queue->due_ns;
        struct timespec ts = {(time_t)(wake / 1000000000ull), (long)(wake % 1000000000ull)};
        pthread_cond_timedwait(&changed, &lock, &ts);
    }
    if (--s->refs == 0 && s->dead)
        free_set(s);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* An entry of a device's "events" list as an event due `after_ms` from now. */
static int
profile_event(const cJSON *j, unsigned int dev, unsigned long long now, sim_event *ev)
{
    unsigned long long type = 0, data = 0, after = 0;
    unsigned int gi = 0xFFFFFFFFu, ci = 0xFFFFFFFFu;
    if (!cJSON_IsObject(j) ||
        sim_get_u64(cJSON_GetObjectItemCaseSensitive(j, "type"), &type) != NVML_SUCCESS ||
        sim_get_u64(cJSON_GetObjectItemCaseSensitive(j, "data"), &data) != NVML_SUCCESS ||
        sim_get_u64(cJSON_GetObjectItemCaseSensitive(j, "after_ms"), &after) != NVML_SUCCESS ||
        sim_get_u32(cJSON_GetObjectItemCaseSensitive(j, "gpuInstanceId"), &gi) != NVML_SUCCESS ||
        sim_get_u32(cJSON_GetObjectItemCaseSensitive(j, "computeInstanceId"), &ci) != NVML_SUCCESS)
        return -1;
    memset(ev, 0, sizeof *ev);
    ev->due_ns = now + after * 1000000ull;
    ev->device = dev;
    ev->type = type;
    ev->data = data;
    ev->gi = gi;
    ev->ci = ci;
    return 0;
}

nvmlReturn_t
nvmlEventSetCreate(nvmlEventSet_t *set)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (set == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = injected(sim_system(), "nvmlEventSetCreate");
    if (rc != NVML_SUCCESS)
        return rc;
    return create_set(0, (void **)set);
}

nvmlReturn_t
nvmlDeviceRegisterEvents(nvmlDevice_t handle, unsigned long long eventTypes, nvmlEventSet_t eventSet)
{
    sim_device *d;
    nvmlReturn_t rc = device_begin(handle, &d, "nvmlDeviceRegisterEvents");
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = injected(d->data, "nvmlDeviceRegisterEvents")) != NVML_SUCCESS)
        return rc;
    unsigned long long supported = 0;
    const cJSON *sup = cJSON_GetObjectItemCaseSensitive(d->data, "nvmlDeviceGetSupportedEventTypes");
    if (sup == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    if ((rc = sim_get_u64(sup, &supported)) != NVML_SUCCESS)
        return rc;
    if (eventTypes & ~supported)
        return NVML_ERROR_NOT_SUPPORTED;
    if (d->index >= SIM_MAX_EVENT_DEVICES)
        return NVML_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(eventSet, 0);
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    unsigned long long added = eventTypes & ~s->mask[d->index];
    s->mask[d->index] |= eventTypes;
    /* the profile's events of the newly registered types, due after_ms from now */
    unsigned long long now = mono_ns();
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d->data, "events")) {
        sim_event ev;
        if (profile_event(e, d->index, now, &ev) < 0) {
            rc = NVML_ERROR_UNKNOWN;   /* a profile bug */
            break;
        }
        if ((ev.type & added) && (rc = enqueue(s, &ev)) != NVML_SUCCESS)
            break;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return rc;
}

static nvmlReturn_t
event_wait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms, int v2)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (data == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_event ev;
    nvmlReturn_t rc = wait_set(set, 0, timeoutms, &ev);
    if (rc != NVML_SUCCESS)
        return rc;
    data->device = (nvmlDevice_t)sim_device_at(ev.device);
    data->eventType = ev.type;
    data->eventData = ev.data;
    if (v2) {   /* the v1 struct ends before the instance ids */
        data->gpuInstanceId = ev.gi;
        data->computeInstanceId = ev.ci;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlEventSetWait_v2(nvmlEventSet_t eventSet, nvmlEventData_t *data, unsigned int timeoutms)
{
    return event_wait(eventSet, data, timeoutms, 1);
}

/* The older entry point, still exported by NVML: its nvmlEventData_t had no instance ids. */
nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms);
nvmlReturn_t
nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms)
{
    return event_wait(set, data, timeoutms, 0);
}

nvmlReturn_t
nvmlEventSetFree(nvmlEventSet_t eventSet)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    return free_set_handle(eventSet, 0);
}

/* --- GPU operational events (NVML 13.615) ----------------------------------------------
 *
 * nvmlEventSetRegisterGpuOperationalEvents_v1 registers the GPU its config's uuid names on
 * a set: that device's "operational_events" list (absent: NOT_SUPPORTED; no GPU of that
 * UUID: NOT_FOUND) is queued there as the "events" list is, each entry
 *     {"severity": 30, "logLevel": 50, "categoryId": 2, "moduleEventCode": 17,
 *      "sourceModule": "RM", "xid": 79, "after_ms": 0}
 * (all but after_ms optional, 0 by default) kept when its logLevel and severity reach the
 * config's minLogLevel and minSeverity.  nvmlEventSetWait_v3 returns the first due event of
 * either kind: an event bit as dataType NVML_EVENT_DATA_TYPE_NVML_EVENT, an operational one
 * as NVML_EVENT_DATA_TYPE_GPU_OPERATIONAL_EVENT with eventType 0 (nvmlEventTypeNone).  The
 * context calls read the event it returned last on that set: an operational event with an
 * "xid" has one context, a legacy Xid (4 bytes of data, the code little-endian); any other
 * event none.  An index past the count is INVALID_ARGUMENT. */

static unsigned long long op_instance;   /* the instanceId of the last operational event */

static int
operational_event(const cJSON *j, unsigned int dev, unsigned long long now, sim_event *ev)
{
    unsigned long long after = 0;
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(j) ||
        sim_get_u64(cJSON_GetObjectItemCaseSensitive(j, "after_ms"), &after) != NVML_SUCCESS)
        return -1;
    static const char *const keys[] = {"severity", "logLevel", "categoryId", "moduleEventCode", "xid"};
    unsigned int *dst[] = {&ev->severity, &ev->log_level, &ev->category, &ev->code, &ev->xid};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
        if (v != NULL && sim_get_u32(v, dst[i]) != NVML_SUCCESS)
            return -1;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "sourceModule");
    if (m != NULL && sim_get_chars(m, ev->module, sizeof ev->module) != NVML_SUCCESS)
        return -1;
    ev->operational = 1;
    ev->due_ns = now + after * 1000000ull;
    ev->device = dev;
    ev->gi = ev->ci = 0xFFFFFFFFu;
    return 0;
}

nvmlReturn_t
nvmlEventSetRegisterGpuOperationalEvents_v1(nvmlEventSet_t eventSet, nvmlGpuOperationalEventConfig_v1_t *config)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (config == NULL || memchr(config->uuid, 0, sizeof config->uuid) == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlDevice_t handle;
    nvmlReturn_t rc = nvmlDeviceGetHandleByUUID(config->uuid, &handle);
    if (rc != NVML_SUCCESS)
        return rc == NVML_ERROR_INVALID_ARGUMENT ? NVML_ERROR_NOT_FOUND : rc;
    sim_device *d;
    if ((rc = device_begin(handle, &d, "nvmlEventSetRegisterGpuOperationalEvents_v1")) != NVML_SUCCESS)
        return rc;
    if ((rc = injected(d->data, "nvmlEventSetRegisterGpuOperationalEvents_v1")) != NVML_SUCCESS)
        return rc;
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(d->data, "operational_events");
    if (list == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(eventSet, 0);
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    unsigned long long now = mono_ns();
    const cJSON *e;
    cJSON_ArrayForEach(e, list) {
        sim_event ev;
        if (operational_event(e, d->index, now, &ev) < 0) {
            rc = NVML_ERROR_UNKNOWN;   /* a profile bug */
            break;
        }
        if (ev.log_level >= config->minLogLevel && ev.severity >= config->minSeverity &&
            (rc = enqueue(s, &ev)) != NVML_SUCCESS)
            break;
    }
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return rc;
}

nvmlReturn_t
nvmlEventSetWait_v3(nvmlEventSet_t set, nvmlEventSetWait_v3_t *params)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (params == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_event ev;
    nvmlReturn_t rc = wait_set(set, 0, params->timeoutMs, &ev);
    if (rc != NVML_SUCCESS)
        return rc;
    unsigned int timeout = params->timeoutMs;
    memset(params, 0, sizeof *params);
    params->timeoutMs = timeout;
    nvmlDevice_t dev = (nvmlDevice_t)sim_device_at(ev.device);
    if (dev == NULL || nvmlDeviceGetUUID(dev, params->uuid, sizeof params->uuid) != NVML_SUCCESS)
        params->uuid[0] = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    params->timestampUsec = (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000u;
    params->gpuInstanceId = ev.gi;
    params->computeInstanceId = ev.ci;
    if (ev.operational) {
        params->dataType = NVML_EVENT_DATA_TYPE_GPU_OPERATIONAL_EVENT;
        memcpy(params->sourceModule, ev.module, sizeof params->sourceModule);
        params->instanceId = __atomic_add_fetch(&op_instance, 1, __ATOMIC_RELAXED);
        params->groupCursor = params->instanceId;
        params->severity = ev.severity;
        params->logLevel = ev.log_level;
        params->categoryId = ev.category;
        params->moduleEventCode = ev.code;
        params->groupSize = 1;
    } else {
        params->dataType = NVML_EVENT_DATA_TYPE_NVML_EVENT;
        params->eventType = ev.type;
        params->eventData = ev.data;
    }
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(set, 0);
    if (s != NULL) {
        s->last = ev;
        s->has_last = 1;
    }
    pthread_mutex_unlock(&lock);
    return NVML_SUCCESS;
}

/* The last event nvmlEventSetWait_v3 returned on set, and the number of its contexts. */
static nvmlReturn_t
last_event(nvmlEventSet_t set, const void *params, sim_event *out, unsigned int *count)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (params == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(set, 0);
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    if (s->has_last)
        *out = s->last;
    pthread_mutex_unlock(&lock);
    *count = out->operational && out->xid != 0 ? 1 : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlEventSetGetContextCount_v1(nvmlEventSet_t set, nvmlEventSetGetContextCount_v1_t *params)
{
    sim_event ev;
    unsigned int n;
    nvmlReturn_t rc = last_event(set, params, &ev, &n);
    if (rc == NVML_SUCCESS)
        params->count = n;
    return rc;
}

nvmlReturn_t
nvmlEventSetGetContextInfo_v1(nvmlEventSet_t set, nvmlEventSetGetContextInfo_v1_t *params)
{
    sim_event ev;
    unsigned int n;
    nvmlReturn_t rc = last_event(set, params, &ev, &n);
    if (rc != NVML_SUCCESS)
        return rc;
    if (params->index >= n)
        return NVML_ERROR_INVALID_ARGUMENT;
    params->nvmlGpuOperationalEventContextType = NVML_GPU_OPERATIONAL_EVENT_CONTEXT_TYPE_LEGACY_XID;
    params->sourceEventContextType = 1;
    params->dataSize = 4;
    params->dataFormatVersion = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlEventSetGetContextData_v1(nvmlEventSet_t set, nvmlEventSetGetContextData_v1_t *params)
{
    sim_event ev;
    unsigned int n;
    nvmlReturn_t rc = last_event(set, params, &ev, &n);
    if (rc != NVML_SUCCESS)
        return rc;
    if (params->index >= n)
        return NVML_ERROR_INVALID_ARGUMENT;
    /* the payload (the XID, 4 bytes): data NULL is the size query, which answers
     * INSUFFICIENT_SIZE with the size, as a buffer too small does (nvml.h) */
    unsigned int have = params->dataSize;
    params->dataSize = 4;
    if (params->data == NULL || have < 4)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    unsigned char *out = params->data;
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(ev.xid >> (8 * i));
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1(nvmlEventSet_t set,
                                                      nvmlEventSetGetGpuOperationalEventContextLegacyXid_v1_t *params)
{
    sim_event ev;
    unsigned int n;
    nvmlReturn_t rc = last_event(set, params, &ev, &n);
    if (rc != NVML_SUCCESS)
        return rc;
    if (params->index >= n)
        return NVML_ERROR_INVALID_ARGUMENT;
    params->xidCode = ev.xid;
    return NVML_SUCCESS;
}

/* The simulator's control: fire an event on a device (see the top of this file). */
nvmlReturn_t pynvmlSimFireEvent(unsigned int deviceIndex, unsigned long long eventType,
                               unsigned long long eventData) __attribute__((visibility("default")));
nvmlReturn_t
pynvmlSimFireEvent(unsigned int deviceIndex, unsigned long long eventType, unsigned long long eventData)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (sim_device_at(deviceIndex) == NULL || deviceIndex >= SIM_MAX_EVENT_DEVICES)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_event ev = {NULL, mono_ns(), deviceIndex, eventType, eventData, 0xFFFFFFFFu, 0xFFFFFFFFu};
    nvmlReturn_t rc = NVML_SUCCESS;
    pthread_once(&cond_once, init_cond);
    pthread_mutex_lock(&lock);
    for (sim_evset *s = sets; s != NULL && rc == NVML_SUCCESS; s = s->next)
        if (!s->system && (s->mask[deviceIndex] & eventType))
            rc = enqueue(s, &ev);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* --- system event sets ---------------------------------------------------------------- */

#define SYSTEM_EVENT_TYPES (nvmlSystemEventTypeGpuDriverUnbind | nvmlSystemEventTypeGpuDriverBind)

nvmlReturn_t
nvmlSystemEventSetCreate(nvmlSystemEventSetCreateRequest_v1_t *req)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_versioned(req, nvmlSystemEventSetCreateRequest_v1);
    if (rc != NVML_SUCCESS)
        return rc;
    rc = injected(sim_system(), "nvmlSystemEventSetCreate");
    if (rc != NVML_SUCCESS)
        return rc;
    return create_set(1, (void **)&req->set);
}

nvmlReturn_t
nvmlSystemEventSetFree(nvmlSystemEventSetFreeRequest_v1_t *req)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_versioned(req, nvmlSystemEventSetFreeRequest_v1);
    if (rc != NVML_SUCCESS)
        return rc;
    return free_set_handle(req->set, 1);
}

nvmlReturn_t
nvmlSystemRegisterEvents(nvmlSystemRegisterEventRequest_v1_t *req)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_versioned(req, nvmlSystemRegisterEventRequest_v1);
    if (rc != NVML_SUCCESS)
        return rc;
    if (req->eventTypes & ~(unsigned long long)SYSTEM_EVENT_TYPES)
        return NVML_ERROR_NOT_SUPPORTED;
    pthread_mutex_lock(&lock);
    sim_evset *s = find_set(req->set, 1);
    if (s != NULL)
        s->sysmask |= req->eventTypes;
    pthread_mutex_unlock(&lock);
    return s != NULL ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t
nvmlSystemEventSetWait(nvmlSystemEventSetWaitRequest_v1_t *req)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_versioned(req, nvmlSystemEventSetWaitRequest_v1);
    if (rc != NVML_SUCCESS)
        return rc;
    if (req->data == NULL || req->dataSize == 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    req->numEvent = 0;
    sim_event ev;
    rc = wait_set(req->set, 1, req->timeoutms, &ev);
    if (rc != NVML_SUCCESS)
        return rc;
    /* the first event, then whatever else is already due, up to dataSize */
    for (;;) {
        req->data[req->numEvent].eventType = ev.type;
        req->data[req->numEvent].gpuId = ev.device;
        req->numEvent++;
        if (req->numEvent == req->dataSize || wait_set(req->set, 1, 0, &ev) != NVML_SUCCESS)
            break;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t pynvmlSimFireSystemEvent(unsigned long long eventType, unsigned int gpuId)
    __attribute__((visibility("default")));
nvmlReturn_t
pynvmlSimFireSystemEvent(unsigned long long eventType, unsigned int gpuId)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    sim_event ev = {NULL, mono_ns(), gpuId, eventType, 0, 0, 0};
    nvmlReturn_t rc = NVML_SUCCESS;
    pthread_once(&cond_once, init_cond);
    pthread_mutex_lock(&lock);
    for (sim_evset *s = sets; s != NULL && rc == NVML_SUCCESS; s = s->next)
        if (s->system && (s->sysmask & eventType))
            rc = enqueue(s, &ev);
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    return rc;
}

/* --- GPM --------------------------------------------------------------------------------- */

typedef struct sim_sample {
    struct sim_sample *next;
    int taken;                  /* nvmlGpm(Mig)SampleGet filled it */
    unsigned int device;
    unsigned int gi;            /* 0xFFFFFFFF: the whole GPU */
    unsigned long long t_ns;    /* when it was taken */
} sim_sample;

static sim_sample *samples;

static sim_sample *
find_sample(const void *p)
{
    for (sim_sample *s = samples; s != NULL; s = s->next)
        if (s == p)
            return s;
    return NULL;
}

nvmlReturn_t
nvmlGpmSampleAlloc(nvmlGpmSample_t *gpmSample)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (gpmSample == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_sample *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NVML_ERROR_MEMORY;
    pthread_mutex_lock(&lock);
    s->next = samples;
    samples = s;
    pthread_mutex_unlock(&lock);
    *gpmSample = (nvmlGpmSample_t)s;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlGpmSampleFree(nvmlGpmSample_t gpmSample)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    pthread_mutex_lock(&lock);
    for (sim_sample **at = &samples; *at != NULL; at = &(*at)->next) {
        if (*at == (sim_sample *)gpmSample) {
            *at = (*at)->next;
            pthread_mutex_unlock(&lock);
            free(gpmSample);
            return NVML_SUCCESS;
        }
    }
    pthread_mutex_unlock(&lock);
    return NVML_ERROR_INVALID_ARGUMENT;
}

static nvmlReturn_t
gpm_supported(sim_device *d)
{
    unsigned int yes = 0;
    const cJSON *sup = cJSON_GetObjectItemCaseSensitive(d->data, "nvmlGpmQueryDeviceSupport");
    nvmlReturn_t rc = sim_error_of(sup);
    if (rc != NVML_SUCCESS)
        return rc;
    sim_get_u32(cJSON_GetObjectItemCaseSensitive(sup, "isSupportedDevice"), &yes);
    return yes ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

static nvmlReturn_t
take_sample(sim_device *d, unsigned int gi, nvmlGpmSample_t gpmSample)
{
    pthread_mutex_lock(&lock);
    sim_sample *s = find_sample(gpmSample);
    if (s != NULL) {
        s->taken = 1;
        s->device = d->index;
        s->gi = gi;
        s->t_ns = mono_ns();
    }
    pthread_mutex_unlock(&lock);
    return s != NULL ? NVML_SUCCESS : NVML_ERROR_INVALID_ARGUMENT;
}

nvmlReturn_t
nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t gpmSample)
{
    sim_device *d;
    nvmlReturn_t rc = device_begin(device, &d, "nvmlGpmSampleGet");
    if (rc == NVML_SUCCESS)
        rc = injected(d->data, "nvmlGpmSampleGet");
    if (rc == NVML_SUCCESS)
        rc = gpm_supported(d);
    return rc != NVML_SUCCESS ? rc : take_sample(d, 0xFFFFFFFFu, gpmSample);
}

nvmlReturn_t
nvmlGpmMigSampleGet(nvmlDevice_t device, unsigned int gpuInstanceId, nvmlGpmSample_t gpmSample)
{
    sim_device *d;
    nvmlReturn_t rc = device_begin(device, &d, "nvmlGpmMigSampleGet");
    if (rc == NVML_SUCCESS)
        rc = gpm_supported(d);
    if (rc != NVML_SUCCESS)
        return rc;
    sim_call c = {cJSON_GetObjectItemCaseSensitive(d->data, "nvmlGpmMigSampleGet"), d};
    if (c.value == NULL)
        return NVML_ERROR_NOT_SUPPORTED;    /* MIG off */
    if ((rc = sim_error_of(c.value)) != NVML_SUCCESS || (rc = sim_key_u64(&c, gpuInstanceId)) != NVML_SUCCESS)
        return rc;
    return take_sample(d, gpuInstanceId, gpmSample);
}

nvmlReturn_t
nvmlGpmSetStreamingEnabled(nvmlDevice_t device, unsigned int state)
{
    sim_device *d;
    nvmlReturn_t rc = device_begin(device, &d, "nvmlGpmSetStreamingEnabled");
    if (rc == NVML_SUCCESS)
        rc = injected(d->data, "nvmlGpmSetStreamingEnabled");
    if (rc == NVML_SUCCESS)
        rc = gpm_supported(d);
    if (rc != NVML_SUCCESS)
        return rc;
    if (state > 1)
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&lock);
    set_number(d->data, "nvmlGpmQueryIfStreamingEnabled", state);
    pthread_mutex_unlock(&lock);
    return NVML_SUCCESS;
}

/* The simulated counter of a metric at time t (seconds): the integral of its mean value
 * plus a triangle wave of amplitude A and period P (phase per metric).  The triangle's
 * integral over whole periods is 0; F below is its integral within one period. */
#define GPM_A 0.15
#define GPM_P 2.0

static double
counter(double mean, unsigned int id, double t)
{
    double x = t / GPM_P + (double)(id % 7) / 7.0;
    double u = x - (double)(long long)x;          /* frac, x >= 0 */
    double F = u < 0.5 ? 2 * u * u - u : 3 * u - 2 * u * u - 1;
    return mean * (t + GPM_A * GPM_P * F);
}

static int
is_percentage(unsigned int id)
{
    return (id >= 1 && id <= 13) || (id >= 30 && id <= 51) || (id >= 166 && id <= 169) ||
           (id >= 174 && id <= 209 && (id - 174) % 5 == 0);
}

static const struct { unsigned int id; const char *shortName, *longName, *unit; } metric_names[] = {
    {1, "gr_util", "graphics utilization", "%"},
    {2, "sm_util", "SM utilization", "%"},
    {3, "sm_occupancy", "SM occupancy", "%"},
    {4, "integer_util", "integer pipe utilization", "%"},
    {5, "any_tensor_util", "any tensor pipe utilization", "%"},
    {6, "dfma_tensor_util", "DFMA tensor pipe utilization", "%"},
    {7, "hmma_tensor_util", "HMMA tensor pipe utilization", "%"},
    {8, "dmma_tensor_util", "DMMA tensor pipe utilization", "%"},
    {9, "imma_tensor_util", "IMMA tensor pipe utilization", "%"},
    {10, "dram_bw_util", "DRAM bandwidth utilization", "%"},
    {11, "fp64_util", "FP64 pipe utilization", "%"},
    {12, "fp32_util", "FP32 pipe utilization", "%"},
    {13, "fp16_util", "FP16 pipe utilization", "%"},
    {20, "pcie_tx", "PCIe TX", "MiB/sec"},
    {21, "pcie_rx", "PCIe RX", "MiB/sec"},
    {60, "nvlink_total_rx", "NVLink total RX", "MiB/sec"},
    {61, "nvlink_total_tx", "NVLink total TX", "MiB/sec"},
};

nvmlReturn_t
nvmlGpmMetricsGet(pn_nvmlGpmMetricsGet_t *metricsGet)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_versioned(metricsGet, NVML_GPM_METRICS_GET_VERSION);
    if (rc != NVML_SUCCESS)
        return rc;
    if (metricsGet->numMetrics > 210)   /* nvml.h's NVML_GPM_METRIC_MAX, its array's size */
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&lock);
    sim_sample *s1 = find_sample(metricsGet->sample1), *s2 = find_sample(metricsGet->sample2);
    sim_sample a = s1 ? *s1 : (sim_sample){0}, b = s2 ? *s2 : (sim_sample){0};
    pthread_mutex_unlock(&lock);
    if (s1 == NULL || s2 == NULL || !a.taken || !b.taken || a.device != b.device || a.gi != b.gi ||
        b.t_ns <= a.t_ns)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_device *d = sim_device_at(a.device);
    if (d == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    sim_call c = {cJSON_GetObjectItemCaseSensitive(d->data, "nvmlGpmMetricsGet"), d};
    rc = sim_error_of(c.value);
    if (rc != NVML_SUCCESS)
        return rc;
    double t1 = (double)a.t_ns / 1e9, t2 = (double)b.t_ns / 1e9;
    for (unsigned int i = 0; i < metricsGet->numMetrics; i++) {
        nvmlGpmMetric_t *m = &metricsGet->metrics[i];
        char key[16];
        snprintf(key, sizeof key, "%u", m->metricId);
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(c.value, key);
        m->value = 0;
        memset(&m->metricInfo, 0, sizeof m->metricInfo);
        for (size_t k = 0; k < sizeof metric_names / sizeof metric_names[0]; k++) {
            if (metric_names[k].id == m->metricId) {
                m->metricInfo.shortName = (char *)metric_names[k].shortName;
                m->metricInfo.longName = (char *)metric_names[k].longName;
                m->metricInfo.unit = (char *)metric_names[k].unit;
            }
        }
        double mean = 0;
        if (j == NULL) {
            m->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        if ((m->nvmlReturn = sim_get_f64(j, &mean)) != NVML_SUCCESS)
            continue;
        double v = (counter(mean, m->metricId, t2) - counter(mean, m->metricId, t1)) / (t2 - t1);
        if (v < 0)
            v = 0;
        if (is_percentage(m->metricId) && v > 100)
            v = 100;
        m->value = v;
    }
    return NVML_SUCCESS;
}

/* --- units ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned int index;
} sim_unit;

static sim_unit units[SIM_MAX_UNITS];

static const cJSON *
unit_list(void)
{
    return cJSON_GetObjectItemCaseSensitive(sim_profile_root(), "units");
}

static unsigned int
unit_count(void)
{
    int n = cJSON_GetArraySize(unit_list());
    return n > SIM_MAX_UNITS ? SIM_MAX_UNITS : (unsigned int)n;
}

/* The profile object of unit u, or NULL when u is none of ours. */
static cJSON *
unit_data(nvmlUnit_t u)
{
    uintptr_t p = (uintptr_t)u, base = (uintptr_t)units;
    if (p < base || p >= base + SIM_MAX_UNITS * sizeof units[0] || (p - base) % sizeof units[0])
        return NULL;
    unsigned int i = (unsigned int)((p - base) / sizeof units[0]);
    return i < unit_count() ? cJSON_GetArrayItem(unit_list(), (int)i) : NULL;
}

nvmlReturn_t
sim_begin_unit(sim_call *c, const char *key, nvmlUnit_t u)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    const cJSON *data = unit_data(u);
    if (data == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    c->dev = NULL;
    c->value = cJSON_GetObjectItemCaseSensitive(data, key);
    if (c->value == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    return sim_error_of(c->value);
}

nvmlReturn_t
nvmlUnitGetCount(unsigned int *unitCount)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (unitCount == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = injected(sim_system(), "nvmlUnitGetCount");
    if (rc != NVML_SUCCESS)
        return rc;
    *unitCount = unit_count();
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlUnitGetHandleByIndex(unsigned int index, nvmlUnit_t *unit)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    if (unit == NULL || index >= unit_count())
        return NVML_ERROR_INVALID_ARGUMENT;
    units[index].index = index;
    *unit = (nvmlUnit_t)&units[index];
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlUnitSetLedState(nvmlUnit_t unit, unsigned int color)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    cJSON *data = unit_data(unit);
    if (data == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = injected(data, "nvmlUnitSetLedState");
    if (rc != NVML_SUCCESS)
        return rc;
    if (color != NVML_LED_COLOR_GREEN && color != NVML_LED_COLOR_AMBER)
        return NVML_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&lock);
    cJSON *led = cJSON_GetObjectItemCaseSensitive(data, "nvmlUnitGetLedState");
    if (!cJSON_IsObject(led)) {
        led = cJSON_CreateObject();
        if (cJSON_GetObjectItemCaseSensitive(data, "nvmlUnitGetLedState") != NULL)
            cJSON_ReplaceItemInObjectCaseSensitive(data, "nvmlUnitGetLedState", led);
        else
            cJSON_AddItemToObject(data, "nvmlUnitGetLedState", led);
    }
    set_number(led, "color", color);
    pthread_mutex_unlock(&lock);
    return NVML_SUCCESS;
}
