/* The simulated GPUs: the profile they are read from, NVML's init refcount, the device
 * handles, and the lookups and JSON readers that the entry points share.
 *
 * The profile is loaded by the first nvmlInit*: the file PYNVML_SIM_PROFILE names, or
 * the built-in one (profiles/default.json, linked in by incbin.S).  A later first
 * nvmlInit (after the last nvmlShutdown) reloads it only if that source changed (another
 * path, or the file's size or time): so a thread still inside a call while others
 * shut down and re-initialize keeps reading a profile that stays in memory.  A handle
 * is the address of a sim_device in our own array, so any other pointer is recognized,
 * without being read, and answered INVALID_ARGUMENT.  The faults a profile injects
 * (faults.c) are read with it, and their counters start again when it is reloaded.
 */
#include "sim.h"

#include <pthread.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


/* An entry point finds its data by name among a device's members (a few hundred):
 * cJSON looks them up one by one, so each profile object the entry points read is
 * indexed once, when loaded, in an open-addressing hash table of its members (the
 * first of a repeated name wins, as with cJSON's own lookup). */
struct sim_key_index {
    unsigned int mask;
    struct { const char *name; const cJSON *value; } slots[];
};

static unsigned int
name_hash(const char *s)
{
    unsigned int h = 2166136261u;   /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static struct sim_key_index *
index_build(const cJSON *obj)
{
    int n = cJSON_IsObject(obj) ? cJSON_GetArraySize(obj) : 0;
    unsigned int size = 16;
    while (size < 2u * (unsigned int)n)
        size *= 2;
    struct sim_key_index *ix = calloc(1, sizeof *ix + size * sizeof ix->slots[0]);
    if (ix == NULL)
        return NULL;   /* lookups fall back to cJSON's */
    ix->mask = size - 1;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj) {
        if (m->string == NULL)
            continue;
        unsigned int h = name_hash(m->string) & ix->mask;
        while (ix->slots[h].name != NULL && strcmp(ix->slots[h].name, m->string) != 0)
            h = (h + 1) & ix->mask;
        if (ix->slots[h].name == NULL) {
            ix->slots[h].name = m->string;
            ix->slots[h].value = m;
        }
    }
    return ix;
}

static const cJSON *
index_get(const struct sim_key_index *ix, const cJSON *obj, const char *name)
{
    if (ix == NULL)
        return cJSON_GetObjectItemCaseSensitive(obj, name);
    unsigned int h = name_hash(name) & ix->mask;
    while (ix->slots[h].name != NULL) {
        if (strcmp(ix->slots[h].name, name) == 0)
            return ix->slots[h].value;
        h = (h + 1) & ix->mask;
    }
    return NULL;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_key_index *system_keys;
static int refcount;
static cJSON *profile;
static sim_device devices[SIM_MAX_DEVICES];
static unsigned int ndevices;
static unsigned long generation;   /* bumped each time a profile is (re)loaded */

/* What the loaded profile came from: "" for the built-in one. */
static char loaded_path[4096];
static struct stat loaded_stat;

static int
source_unchanged(const char *path)
{
    if (profile == NULL)
        return 0;
    if (path == NULL)
        return loaded_path[0] == '\0';
    struct stat now;
    return strcmp(path, loaded_path) == 0 && stat(path, &now) == 0 &&
           now.st_size == loaded_stat.st_size && now.st_mtim.tv_sec == loaded_stat.st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == loaded_stat.st_mtim.tv_nsec && now.st_ino == loaded_stat.st_ino;
}

/* What a reload replaced, kept for calls that may still read it: a call that began
 * before the reload keeps its pointers into the old profile, its key indexes and its
 * fault rules (one may sleep in a "delay_ms" fault for up to an hour).  They are freed
 * at a later load, once retired for RETIRE_GRACE_NS and no call is, or was that long
 * ago, inside a delay (sim_delays_quiet): any other call spends microseconds here. */
#define RETIRE_GRACE_NS 1000000000ll
struct retired {
    struct retired *next;
    long long when_ns;
    cJSON *profile;
    sim_fault_plan *plan;
    unsigned int nkeys;
    struct sim_key_index *keys[SIM_MAX_DEVICES + 1];
};
static struct retired *retired;

static long long
now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000ll + t.tv_nsec;
}

static void
free_retired(void)
{
    if (!sim_delays_quiet(RETIRE_GRACE_NS))
        return;
    struct retired **pp = &retired;
    while (*pp != NULL) {
        struct retired *r = *pp;
        if (now_ns() - r->when_ns < RETIRE_GRACE_NS) {
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        cJSON_Delete(r->profile);
        sim_faults_free(r->plan);
        for (unsigned int i = 0; i < r->nkeys; i++)
            free(r->keys[i]);
        free(r);
    }
}

/* The problems of the last load that failed, for pynvmlSimLastLoadError (one a line). */
static char load_errors[8192];

static nvmlReturn_t
load_profile(void)
{
    const char *path = getenv("PYNVML_SIM_PROFILE");
    if (path != NULL && *path == '\0')
        path = NULL;
    if (source_unchanged(path))
        return NVML_SUCCESS;
    free_retired();
    struct retired *old = calloc(1, sizeof *old);
    if (old == NULL)
        return NVML_ERROR_MEMORY;
    load_errors[0] = '\0';
    cJSON *p = NULL;
    sim_fault_plan *plan = NULL;
    struct stat st;
    if (sim_profile_load(path, &p, &st, load_errors, sizeof load_errors) != 0) {
        fputs(load_errors, stderr);
        free(old);
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(p, "devices");
    unsigned int n = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, devs) {
        if (n == SIM_MAX_DEVICES)
            break;
        n++;
    }
    /* the faults are read before anything changes: a profile with bad ones is refused */
    if (sim_faults_parse(p, n, &plan) != NVML_SUCCESS) {
        snprintf(load_errors, sizeof load_errors, "simulated NVML: the profile %s has bad faults\n",
                 path ? path : "(built in)");
        cJSON_Delete(p);
        free(old);
        return NVML_ERROR_DRIVER_NOT_LOADED;
    }
    for (unsigned int i = 0; i < ndevices; i++)
        old->keys[old->nkeys++] = devices[i].keys;
    old->keys[old->nkeys++] = system_keys;
    ndevices = 0;
    cJSON_ArrayForEach(d, devs) {
        if (ndevices == n)
            break;
        devices[ndevices].index = ndevices;
        devices[ndevices].data = (cJSON *)d;
        devices[ndevices].keys = index_build(d);
        ndevices++;
    }
    system_keys = index_build(cJSON_GetObjectItemCaseSensitive(p, "system"));
    old->plan = sim_faults_apply(plan, devices);
    old->profile = profile;   /* the previous source's: replaced only when the source changed */
    old->when_ns = now_ns();
    sim_clock_reset();   /* moving values start again with the profile */
    old->next = retired;
    retired = old;
    profile = p;
    __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
    snprintf(loaded_path, sizeof loaded_path, "%s", path ? path : "");
    if (path == NULL)
        memset(&loaded_stat, 0, sizeof loaded_stat);
    else
        loaded_stat = st;
    return NVML_SUCCESS;
}

/* Exported: the problems that made the last nvmlInit refuse its profile ("" if none). */
__attribute__((visibility("default"))) const char *
pynvmlSimLastLoadError(void)
{
    return load_errors;
}

nvmlReturn_t
sim_init(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;
    pthread_mutex_lock(&lock);
    if (refcount == 0)
        rc = load_profile();
    if (rc == NVML_SUCCESS)
        refcount++;
    pthread_mutex_unlock(&lock);
    return rc;
}

nvmlReturn_t
sim_shutdown(void)
{
    nvmlReturn_t rc = NVML_SUCCESS;
    pthread_mutex_lock(&lock);
    if (refcount == 0)
        rc = NVML_ERROR_UNINITIALIZED;
    else
        --refcount;   /* the devices stay: calls check the refcount first */
    pthread_mutex_unlock(&lock);
    return rc;
}

int
sim_initialized(void)
{
    return __atomic_load_n(&refcount, __ATOMIC_ACQUIRE) > 0;
}

unsigned int
sim_device_count(void)
{
    return ndevices;
}

sim_device *
sim_device_at(unsigned int i)
{
    return i < ndevices ? &devices[i] : NULL;
}

sim_device *
sim_device_of(nvmlDevice_t d)
{
    uintptr_t p = (uintptr_t)d, base = (uintptr_t)devices;
    if (p < base || p >= base + ndevices * sizeof devices[0] || (p - base) % sizeof devices[0])
        return NULL;
    return (sim_device *)d;
}

/* Which load of a profile the devices come from: state kept beside the profile (the MIG
 * instances of entry_points_mig.c) starts afresh when this changes. */
unsigned long
sim_profile_generation(void)
{
    return __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
}

/* The whole profile (its "units" list, and state the entry points keep in it). */
cJSON *
sim_profile_root(void)
{
    return profile;
}

int
sim_profile_captured(void)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(profile, "captured");
    return cJSON_IsNumber(c) && c->valuedouble >= 1;
}

const cJSON *
sim_system(void)
{
    return cJSON_GetObjectItemCaseSensitive(profile, "system");
}

nvmlReturn_t
sim_error_of(const cJSON *j)
{
    if (!cJSON_IsObject(j))
        return NVML_SUCCESS;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (e == NULL)
        return NVML_SUCCESS;
    if (cJSON_IsNumber(e))
        return (nvmlReturn_t)e->valueint;
    if (cJSON_IsString(e)) {
        for (const sim_named_code *c = sim_error_codes; c->name; c++) {
            if (strcmp(c->name, e->valuestring) == 0 ||
                (strncmp(c->name, "NVML_ERROR_", 11) == 0 && strcmp(c->name + 11, e->valuestring) == 0))
                return c->code;
        }
    }
    return NVML_ERROR_UNKNOWN;
}

/* --- entry-point helpers -------------------------------------------------------- */

nvmlReturn_t
sim_begin_system(sim_call *c, const char *key)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    c->dev = NULL;
    nvmlReturn_t rc = sim_system_enter(key);
    if (rc != NVML_SUCCESS)
        return rc;
    c->value = index_get(system_keys, sim_system(), key);
    if (c->value == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    return sim_error_of(c->value);
}

nvmlReturn_t
sim_begin_device(sim_call *c, const char *key, nvmlDevice_t d)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc;
    if ((c->dev = sim_device_of(d)) != NULL) {
        rc = sim_device_enter(c->dev, key);   /* lost, or a fault injected */
    } else if ((c->dev = sim_mig_device_of(d)) != NULL) {
        /* a MIG device: its GPU's loss and faults apply (the MIG devices' own records
         * carry no fault state) */
        sim_device *gpu = sim_device_at(c->dev->index);
        rc = gpu != NULL ? sim_device_enter(gpu, key) : NVML_SUCCESS;
    } else {
        return NVML_ERROR_INVALID_ARGUMENT;   /* neither a GPU nor a MIG device of one */
    }
    if (rc != NVML_SUCCESS)
        return rc;
    sim_moving_device(c->dev);
    c->value = index_get(c->dev->keys, c->dev->data, key);
    if (c->value == NULL)
        return NVML_ERROR_NOT_SUPPORTED;
    return sim_error_of(c->value);
}

static nvmlReturn_t
descend(sim_call *c, const char *k)
{
    c->value = cJSON_GetObjectItemCaseSensitive(c->value, k);
    if (c->value == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return sim_error_of(c->value);
}

nvmlReturn_t
sim_key_u64(sim_call *c, unsigned long long k)
{
    char buf[24], *p = buf + sizeof buf;   /* k in decimal, without snprintf's cost */
    *--p = '\0';
    do
        *--p = (char)('0' + k % 10);
    while ((k /= 10) != 0);
    return descend(c, p);
}

nvmlReturn_t
sim_key_device(sim_call *c, nvmlDevice_t d)
{
    sim_device *other = sim_device_of(d);
    if (other == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return sim_key_u64(c, other->index);
}

nvmlReturn_t
sim_key_str(sim_call *c, const char *s)
{
    if (s == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return descend(c, s);
}

nvmlReturn_t
sim_check_object(const cJSON *j)
{
    nvmlReturn_t rc = sim_error_of(j);
    if (rc != NVML_SUCCESS)
        return rc;
    return cJSON_IsObject(j) ? NVML_SUCCESS : NVML_ERROR_UNKNOWN;
}

/* Scalars: a missing value leaves the output as it was; a non-number is a profile bug,
 * answered NVML_ERROR_UNKNOWN.  Numbers are doubles in cJSON: 64-bit values above 2^53
 * may also be written as strings ("18446744073709551615", "0xFFFF..."). */
static nvmlReturn_t
get_number(const cJSON *j, long double *out, int *is_str, unsigned long long *u)
{
    nvmlReturn_t rc = sim_error_of(j);
    if (rc != NVML_SUCCESS)
        return rc;
    *is_str = 0;
    if (cJSON_IsNumber(j)) {
        *out = (long double)j->valuedouble;
        return NVML_SUCCESS;
    }
    if (cJSON_IsBool(j)) {
        *out = cJSON_IsTrue(j);
        return NVML_SUCCESS;
    }
    if (sim_is_moving(j)) {   /* a function of the clock (moving.c) */
        double d;
        if ((rc = sim_moving_value(j, &d)) != NVML_SUCCESS)
            return rc;
        *out = (long double)d;
        *is_str = -1;   /* a moving value: integer types round it */
        return NVML_SUCCESS;
    }
    if (cJSON_IsString(j)) {
        char *end;
        *u = strtoull(j->valuestring, &end, 0);
        if (*end == '\0' && end != j->valuestring) {
            *is_str = 1;
            return NVML_SUCCESS;
        }
    }
    return NVML_ERROR_UNKNOWN;
}

/* A number that does not fit the C type (a moving value gone out of range; fixed ones are
 * refused at load) answers UNKNOWN rather than wrap (or be undefined, for a double). */
#define SIM_GETTER(NAME, TYPE, LO, HI, INTEGRAL)                        \
    nvmlReturn_t NAME(const cJSON *j, void *out)                        \
    {                                                                   \
        if (j == NULL)                                                  \
            return NVML_SUCCESS;                                        \
        long double v = 0;                                              \
        unsigned long long u = 0;                                       \
        int is_str;                                                     \
        nvmlReturn_t rc = get_number(j, &v, &is_str, &u);               \
        if (rc != NVML_SUCCESS)                                         \
            return rc;                                                  \
        if (is_str < 0 && INTEGRAL)                                     \
            v = nearbyintl(v);                                          \
        if (is_str <= 0 && !(v >= (LO) && v <= (HI)))                   \
            return NVML_ERROR_UNKNOWN;                                  \
        TYPE t = is_str > 0 ? (TYPE)u : (TYPE)v;                        \
        memcpy(out, &t, sizeof t);                                      \
        return NVML_SUCCESS;                                            \
    }

SIM_GETTER(sim_get_u8, unsigned char, 0, 255, 1)
SIM_GETTER(sim_get_u16, unsigned short, 0, 65535, 1)
SIM_GETTER(sim_get_u32, unsigned int, 0, 4294967295.0L, 1)
SIM_GETTER(sim_get_i32, int, -2147483648.0L, 2147483647.0L, 1)
SIM_GETTER(sim_get_u64, unsigned long long, 0, 18446744073709551615.0L, 1)
SIM_GETTER(sim_get_i64, long long, -9223372036854775808.0L, 9223372036854775807.0L, 1)
SIM_GETTER(sim_get_ulong, unsigned long, 0, 18446744073709551615.0L, 1)
SIM_GETTER(sim_get_f64, double, -1.7976931348623157e308L, 1.7976931348623157e308L, 0)

nvmlReturn_t
sim_get_chars(const cJSON *j, char *buf, size_t cap)
{
    if (j == NULL)
        return NVML_SUCCESS;
    if (!cJSON_IsString(j))
        return NVML_ERROR_UNKNOWN;
    snprintf(buf, cap, "%s", j->valuestring);
    return NVML_SUCCESS;
}

static int alive(const cJSON *e);

/* Fills at most n items of arr from the JSON array j (none when j is absent); with
 * only_alive, the items that exist now by the simulator's clock (see alive()). */
static nvmlReturn_t
fill_items(const cJSON *j, void *arr, size_t n, size_t elsize, sim_fill_fn fill, int only_alive)
{
    if (j == NULL)
        return NVML_SUCCESS;
    if (!cJSON_IsArray(j))
        return NVML_ERROR_UNKNOWN;
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, j) {
        if (i == n)
            break;
        if (only_alive && !alive(e))
            continue;
        nvmlReturn_t rc = fill(e, (char *)arr + i * elsize);
        if (rc != NVML_SUCCESS)
            return rc;
        i++;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t
sim_get_array(const cJSON *j, void *arr, size_t n, size_t elsize, sim_fill_fn fill)
{
    return fill_items(j, arr, n, elsize, fill, 0);
}

nvmlReturn_t
sim_fill_device(const cJSON *j, void *dst)
{
    if (!cJSON_IsNumber(j) || j->valueint < 0 || (unsigned int)j->valueint >= ndevices)
        return NVML_ERROR_UNKNOWN;
    *(nvmlDevice_t *)dst = (nvmlDevice_t)&devices[j->valueint];
    return NVML_SUCCESS;
}

/* The data of output idx of nout: the value itself when there is one output. */
static const cJSON *
output(sim_call *c, int idx, int nout)
{
    if (nout == 1)
        return c->value;
    return cJSON_GetArrayItem(c->value, idx);
}

nvmlReturn_t
sim_out(sim_call *c, int idx, int nout, void *dst, sim_fill_fn fill)
{
    const cJSON *j = output(c, idx, nout);
    if (j == NULL)
        return NVML_ERROR_UNKNOWN;
    return fill(j, dst);
}

nvmlReturn_t
sim_out_chars(sim_call *c, int idx, int nout, char *buf, unsigned int len)
{
    const cJSON *j = output(c, idx, nout);
    nvmlReturn_t rc = sim_error_of(j);
    if (rc != NVML_SUCCESS)
        return rc;
    if (!cJSON_IsString(j))
        return NVML_ERROR_UNKNOWN;
    if (buf == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(j->valuestring) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(buf, j->valuestring, strlen(j->valuestring) + 1);
    return NVML_SUCCESS;
}

/* An item of an array output exists now unless its "_from_ms" is still to come or its
 * "_until_ms" has passed, by the simulator's clock (moving.c): a process that starts and
 * exits, in a list of running processes. */
static int
alive(const cJSON *e)
{
    if (!cJSON_IsObject(e))
        return 1;
    const cJSON *from = cJSON_GetObjectItemCaseSensitive(e, "_from_ms");
    const cJSON *until = cJSON_GetObjectItemCaseSensitive(e, "_until_ms");
    if (from == NULL && until == NULL)
        return 1;
    double t = sim_clock_ms();
    return !(cJSON_IsNumber(from) && t < from->valuedouble) && !(cJSON_IsNumber(until) && t >= until->valuedouble);
}

static unsigned int
alive_count(const cJSON *arr)
{
    unsigned int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) n += (unsigned int)alive(e);
    return n;
}

nvmlReturn_t
sim_count(sim_call *c, int idx, int nout, unsigned int *count, int arr_null, int query_ok, unsigned int *n)
{
    const cJSON *j = output(c, idx, nout);
    nvmlReturn_t rc = sim_error_of(j);
    if (rc != NVML_SUCCESS)
        return rc;
    if (!cJSON_IsArray(j))
        return NVML_ERROR_UNKNOWN;
    *n = alive_count(j);
    if (arr_null && *count == 0) {
        /* A size query. */
        *count = *n;
        return (*n == 0 || query_ok) ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (query_ok && *count == 0)   /* such calls want the count they were told (seen on the H100) */
        return NVML_ERROR_INVALID_ARGUMENT;
    if (*count < *n || arr_null) {
        *count = *n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    return SIM_PROCEED;
}

nvmlReturn_t
sim_out_array(sim_call *c, int idx, int nout, void *arr, unsigned int n, size_t elsize, sim_fill_fn fill)
{
    /* the items alive now, as sim_count counted them */
    return fill_items(output(c, idx, nout), arr, n, elsize, fill, 1);
}
