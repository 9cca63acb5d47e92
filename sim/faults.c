/* Injected faults: entry points that fail after a number of calls, for a number of
 * calls, or at random (seeded, so a run can be repeated), and devices that are lost
 * part-way through a run.  The profile syntax is described in sim.h.
 *
 * The rules are read once, when a profile is loaded, into small tables hung on each
 * device (and one for the system): a call on a device without faults pays one pointer
 * test and one int load, so the simulator's common path (used by the benchmarks) stays
 * as fast as before.  Counters are atomics: threads calling at once each get their own
 * call number, and a random rule's verdict is a pure function of (seed, call number),
 * so a sequence of calls gets the same verdicts whatever thread makes it.
 *
 * The control calls (pynvmlSim*) are exported for tests and tools: ctypes finds them
 * in the loaded library (pynvml._sim.lose_device wraps them).  Their names keep them
 * apart from NVML's own namespace.
 */
#include "sim.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sim_fault {
    const char *name;            /* the entry point it applies to, or "*" for all */
    nvmlReturn_t code;           /* what a faulty call answers (SUCCESS: a delay only) */
    struct timespec delay;       /* how long a faulty call takes first (a slow driver) */
    unsigned long long after;    /* calls that succeed before the first fault */
    unsigned long long count;    /* calls that may fail from then on; ~0: all */
    double probability;          /* chance a call in that window fails (1: always) */
    uint64_t seed;
    unsigned long long calls;    /* calls seen so far (atomic) */
};

struct sim_fault_table {
    size_t n;
    sim_fault rules[];
};

/* What one profile asks for: parsed before the profile replaces the previous one. */
typedef struct {
    nvmlReturn_t lost;           /* lost from the start with that code; 0: not */
    long long lose_after;        /* lost after that many calls; -1: never */
    nvmlReturn_t lose_code;
    sim_fault_table *faults;
} device_plan;

struct sim_fault_plan {
    sim_fault_table *system;
    unsigned int ndevices;
    device_plan devices[];
};

static sim_fault_table *system_faults;
static sim_fault_plan *current;
static sim_device *plan_devices;   /* the devices the current plan was applied to */

/* --- reading the profile ----------------------------------------------------------- */

static int
bad(const char *where, const char *name, const char *why)
{
    fprintf(stderr, "simulated NVML: profile: %s, \"%s\": %s\n", where, name, why);
    return -1;
}

/* A non-negative integer member of o, or dflt where absent. */
static int
get_count(const cJSON *o, const char *key, unsigned long long dflt, unsigned long long *out,
          const char *where, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (j == NULL) {
        *out = dflt;
        return 0;
    }
    if (!cJSON_IsNumber(j) || j->valuedouble < 0 || j->valuedouble != floor(j->valuedouble) ||
        j->valuedouble > 9007199254740992.0)
        return bad(where, name, "\"after\", \"count\" and \"seed\" must be integers >= 0");
    *out = (unsigned long long)j->valuedouble;
    return 0;
}

/* The code of o's "error" member (name, NVML_ERROR_ name or number), or dflt. */
static int
get_code(const cJSON *o, nvmlReturn_t dflt, nvmlReturn_t *out, const char *where, const char *name)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
    if (e == NULL) {
        *out = dflt;
        return 0;
    }
    if (cJSON_IsString(e)) {
        for (const sim_named_code *c = sim_error_codes; c->name; c++)
            if (strcmp(c->name, e->valuestring) == 0 || strcmp(c->name + 5, e->valuestring) == 0 ||
                (strncmp(c->name, "NVML_ERROR_", 11) == 0 && strcmp(c->name + 11, e->valuestring) == 0)) {
                *out = c->code;
                return 0;
            }
        return bad(where, name, "\"error\" names no NVML return code");
    }
    if (cJSON_IsNumber(e) && e->valuedouble == floor(e->valuedouble)) {
        *out = (nvmlReturn_t)e->valueint;
        return 0;
    }
    return bad(where, name, "\"error\" must be a return code's name or number");
}

static int
only_keys(const cJSON *o, const char *const *keys, const char *where, const char *name)
{
    const cJSON *m;
    cJSON_ArrayForEach(m, o) {
        const char *const *k = keys;
        while (*k && strcmp(*k, m->string) != 0)
            k++;
        if (*k == NULL) {
            fprintf(stderr, "simulated NVML: profile: %s, \"%s\": unknown key \"%s\"\n", where, name,
                    m->string);
            return -1;
        }
    }
    return 0;
}

static int
parse_rule(const char *name, const cJSON *o, sim_fault *r, const char *where)
{
    static const char *const keys[] = {"error", "delay_ms", "after", "count", "probability", "seed", NULL};
    if (!cJSON_IsObject(o))
        return bad(where, name, "a fault is an object {\"error\": ..., \"after\": N, ...}");
    if (only_keys(o, keys, where, name) < 0)
        return -1;
    const cJSON *delay = cJSON_GetObjectItemCaseSensitive(o, "delay_ms");
    if (cJSON_GetObjectItemCaseSensitive(o, "error") == NULL && delay == NULL)
        return bad(where, name, "a fault needs an \"error\" or a \"delay_ms\"");
    memset(&r->delay, 0, sizeof r->delay);
    if (delay != NULL) {
        if (!cJSON_IsNumber(delay) || !(delay->valuedouble >= 0.0 && delay->valuedouble <= 3600e3))
            return bad(where, name, "\"delay_ms\" must be a number of milliseconds from 0 to 3600000");
        double ns = delay->valuedouble * 1e6;
        r->delay.tv_sec = (time_t)(ns / 1e9);
        r->delay.tv_nsec = (long)(ns - (double)r->delay.tv_sec * 1e9);
    }
    unsigned long long seed;
    if (get_code(o, delay != NULL ? NVML_SUCCESS : NVML_ERROR_UNKNOWN, &r->code, where, name) < 0 ||
        get_count(o, "after", 0, &r->after, where, name) < 0 ||
        get_count(o, "count", ~0ull, &r->count, where, name) < 0 ||
        get_count(o, "seed", 0, &seed, where, name) < 0)
        return -1;
    r->seed = seed;
    r->probability = 1.0;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "probability");
    if (p != NULL) {
        if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0.0 && p->valuedouble <= 1.0))
            return bad(where, name, "\"probability\" must be a number from 0 to 1");
        r->probability = p->valuedouble;
    }
    r->name = name;
    r->calls = 0;
    return 0;
}

/* A "faults" object: entry point (or "*") -> a rule, or a list of rules. */
static int
parse_table(const cJSON *faults, sim_fault_table **out, const char *where)
{
    *out = NULL;
    if (faults == NULL)
        return 0;
    if (!cJSON_IsObject(faults))
        return bad(where, "faults", "must be an object mapping entry points to faults");
    size_t n = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, faults) n += cJSON_IsArray(f) ? (size_t)cJSON_GetArraySize(f) : 1;
    if (n == 0)
        return 0;
    sim_fault_table *t = calloc(1, sizeof *t + n * sizeof t->rules[0]);
    if (t == NULL)
        return bad(where, "faults", "out of memory");
    cJSON_ArrayForEach(f, faults) {
        const cJSON *one = f;
        int many = cJSON_IsArray(f);
        if (many)
            one = f->child;
        for (; one != NULL; one = many ? one->next : NULL) {
            if (parse_rule(f->string, one, &t->rules[t->n], where) < 0) {
                free(t);
                return -1;
            }
            t->n++;
        }
    }
    *out = t;
    return 0;
}

/* "lost": true | {"error": CODE} (lost from the start) | {"after": N[, "error": CODE]} */
static int
parse_lost(const cJSON *lost, device_plan *dp, const char *where)
{
    static const char *const keys[] = {"error", "after", NULL};
    dp->lost = 0;
    dp->lose_after = -1;
    dp->lose_code = NVML_ERROR_GPU_IS_LOST;
    if (lost == NULL || cJSON_IsFalse(lost))
        return 0;
    if (cJSON_IsTrue(lost)) {
        dp->lost = NVML_ERROR_GPU_IS_LOST;
        return 0;
    }
    if (!cJSON_IsObject(lost))
        return bad(where, "lost", "must be true, false, {\"error\": ...} or {\"after\": N}");
    if (only_keys(lost, keys, where, "lost") < 0 ||
        get_code(lost, NVML_ERROR_GPU_IS_LOST, &dp->lose_code, where, "lost") < 0)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(lost, "after") == NULL) {
        dp->lost = dp->lose_code;
        return 0;
    }
    unsigned long long after;
    if (get_count(lost, "after", 0, &after, where, "lost") < 0)
        return -1;
    dp->lose_after = (long long)after;
    return 0;
}

void
sim_faults_free(sim_fault_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->system);
    for (unsigned int i = 0; i < plan->ndevices; i++)
        free(plan->devices[i].faults);
    free(plan);
}

nvmlReturn_t
sim_faults_parse(const cJSON *profile, unsigned int ndevices, sim_fault_plan **out)
{
    *out = NULL;
    sim_fault_plan *plan = calloc(1, sizeof *plan + ndevices * sizeof plan->devices[0]);
    if (plan == NULL)
        return NVML_ERROR_MEMORY;
    plan->ndevices = ndevices;
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(profile, "system");
    if (parse_table(cJSON_GetObjectItemCaseSensitive(sys, "faults"), &plan->system, "system") < 0)
        goto fail;
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(profile, "devices");
    for (unsigned int i = 0; i < ndevices; i++) {
        const cJSON *d = cJSON_GetArrayItem(devs, (int)i);
        char where[32];
        snprintf(where, sizeof where, "device %u", i);
        if (parse_lost(cJSON_GetObjectItemCaseSensitive(d, "lost"), &plan->devices[i], where) < 0 ||
            parse_table(cJSON_GetObjectItemCaseSensitive(d, "faults"), &plan->devices[i].faults, where) < 0)
            goto fail;
    }
    *out = plan;
    return NVML_SUCCESS;
fail:
    sim_faults_free(plan);
    return NVML_ERROR_DRIVER_NOT_LOADED;
}

/* Every counter to zero and every device as the profile has it at the start. */
static void
reset(sim_fault_plan *plan, sim_device *devices)
{
    if (plan->system)
        for (size_t k = 0; k < plan->system->n; k++)
            __atomic_store_n(&plan->system->rules[k].calls, 0, __ATOMIC_RELAXED);
    for (unsigned int i = 0; i < plan->ndevices; i++) {
        device_plan *dp = &plan->devices[i];
        sim_device *d = &devices[i];
        if (dp->faults)
            for (size_t k = 0; k < dp->faults->n; k++)
                __atomic_store_n(&dp->faults->rules[k].calls, 0, __ATOMIC_RELAXED);
        d->lose_code = dp->lose_code;
        __atomic_store_n(&d->lose_after, dp->lose_after, __ATOMIC_RELAXED);
        __atomic_store_n(&d->calls, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&d->lost, (int)dp->lost, __ATOMIC_RELEASE);
        __atomic_store_n(&d->faults, dp->faults, __ATOMIC_RELEASE);
    }
}

/* The previous plan is returned, not freed: a call may still be inside one of its rules
 * (a delay); device_model.c frees it with the profile it came with (see there). */
sim_fault_plan *
sim_faults_apply(sim_fault_plan *plan, sim_device *devices)
{
    reset(plan, devices);
    __atomic_store_n(&system_faults, plan->system, __ATOMIC_RELEASE);
    sim_fault_plan *old = current;
    current = plan;
    plan_devices = devices;
    return old;
}

/* --- the checks ------------------------------------------------------------------------ */

static uint64_t
mix64(uint64_t x)   /* splitmix64's finalizer: a good 64-bit hash of a counter */
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Calls inside a delay now (pynvmlSimDelaysNow), and the most there have been at once
 * since the last pynvmlSimMaxConcurrentDelays(): what shows, without timing anything,
 * that callers' threads overlap inside NVML (a binding that serialized them would leave
 * it at 1) and that Python code runs meanwhile. */
static unsigned int delays_now, delays_max;
static long long last_delay_end_ns;   /* CLOCK_MONOTONIC, when a delay last ended */

static long long
mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

/* No call inside a delay now, and none has left one for grace_ns: a call that is not
 * delayed spends microseconds in the simulator, so what such calls last read can go. */
int
sim_delays_quiet(long long grace_ns)
{
    if (__atomic_load_n(&delays_now, __ATOMIC_ACQUIRE) != 0)
        return 0;
    return mono_ns() - __atomic_load_n(&last_delay_end_ns, __ATOMIC_ACQUIRE) >= grace_ns;
}

static void
delay_call(struct timespec left)
{
    unsigned int now = __atomic_add_fetch(&delays_now, 1, __ATOMIC_ACQ_REL);
    unsigned int max = __atomic_load_n(&delays_max, __ATOMIC_RELAXED);
    while (now > max && !__atomic_compare_exchange_n(&delays_max, &max, now, 1, __ATOMIC_RELAXED,
                                                     __ATOMIC_RELAXED))
        ;
    while (nanosleep(&left, &left) != 0)   /* a signal: sleep what is left */
        ;
    __atomic_store_n(&last_delay_end_ns, mono_ns(), __ATOMIC_RELEASE);   /* before leaving the count */
    __atomic_sub_fetch(&delays_now, 1, __ATOMIC_ACQ_REL);
}

nvmlReturn_t
sim_fault_hit(sim_fault_table *t, const char *name)
{
    nvmlReturn_t rc = NVML_SUCCESS;
    for (size_t k = 0; k < t->n; k++) {
        sim_fault *r = &t->rules[k];
        if (r->name[0] != '*' && strcmp(r->name, name) != 0)
            continue;
        /* every matching rule counts the call, whether or not an earlier one fired */
        unsigned long long n = __atomic_fetch_add(&r->calls, 1, __ATOMIC_RELAXED);
        if (rc != NVML_SUCCESS || n < r->after || n - r->after >= r->count)
            continue;
        if (r->probability < 1.0) {
            double u = (double)(mix64(r->seed ^ mix64(n)) >> 11) * 0x1.0p-53;
            if (!(u < r->probability))
                continue;
        }
        if (r->delay.tv_sec != 0 || r->delay.tv_nsec != 0)
            delay_call(r->delay);
        rc = r->code;
    }
    return rc;
}

nvmlReturn_t
sim_system_enter(const char *name)
{
    sim_fault_table *t = __atomic_load_n(&system_faults, __ATOMIC_ACQUIRE);
    return t ? sim_fault_hit(t, name) : NVML_SUCCESS;
}

/* The slow half of sim_device_enter: a device that is lost after a number of calls. */
nvmlReturn_t
sim_device_count_call(sim_device *d)
{
    long long after = __atomic_load_n(&d->lose_after, __ATOMIC_RELAXED);
    if (after >= 0 && __atomic_fetch_add(&d->calls, 1, __ATOMIC_RELAXED) >= (unsigned long long)after) {
        __atomic_store_n(&d->lost, (int)d->lose_code, __ATOMIC_RELEASE);
        return d->lose_code;
    }
    return NVML_SUCCESS;
}

/* --- control calls (exported) ----------------------------------------------------------- */

#define SIM_EXPORT __attribute__((visibility("default")))

/* Device `index` answers `code` (0: NVML_ERROR_GPU_IS_LOST) to every call from now on. */
SIM_EXPORT int
pynvmlSimLoseDevice(unsigned int index, int code)
{
    sim_device *d = sim_device_at(index);
    if (d == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    __atomic_store_n(&d->lost, code ? code : (int)NVML_ERROR_GPU_IS_LOST, __ATOMIC_RELEASE);
    return NVML_SUCCESS;
}

/* The most calls that were inside a "delay_ms" fault at the same moment since the last
 * call of this (which starts the count again). */
SIM_EXPORT unsigned int
pynvmlSimMaxConcurrentDelays(void)
{
    return __atomic_exchange_n(&delays_max, __atomic_load_n(&delays_now, __ATOMIC_ACQUIRE), __ATOMIC_ACQ_REL);
}

/* The calls inside a "delay_ms" fault right now. */
SIM_EXPORT unsigned int
pynvmlSimDelaysNow(void)
{
    return __atomic_load_n(&delays_now, __ATOMIC_ACQUIRE);
}

/* Back to the profile's start: counters at zero, lost devices as the profile says. */
SIM_EXPORT int
pynvmlSimResetFaults(void)
{
    if (current == NULL)
        return NVML_ERROR_UNINITIALIZED;
    reset(current, plan_devices);
    return NVML_SUCCESS;
}
