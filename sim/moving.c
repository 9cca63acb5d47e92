/* Values that move: any number a getter reads from the profile may instead be a function
 * of the simulator's clock (milliseconds since the profile was loaded):
 *
 *   {"sequence": [v0, v1, ...], "period_ms": P}      v[i] for i = t / P, over and over
 *                                                     (P: 1000 by default)
 *   {"steps": [[t0, v0], [t1, v1], ...]}              the last vi whose ti <= t (v0 before t0)
 *   {"ramp": [from, to], "over_ms": D}                from -> to linearly over D ms, then to
 *   {"sine": {"mean": M, "amplitude": A, "period_ms": P}}
 *   {"random_walk": {"start": S, "step": D, "every_ms": P, "min": LO, "max": HI, "seed": N}}
 *                                                     +-D each P ms (the same seed, the same walk)
 *   {"energy": {"start": E}}                          E plus the device's power (its
 *                                                     nvmlDeviceGetPowerUsage, mW, fixed or
 *                                                     moving) integrated over the clock, in mJ
 *
 * An item of a list output (a running process) may hold "_from_ms" and "_until_ms": it is
 * in the list only from, and until, those times (device_model.c).
 *
 * An integer getter reads the value rounded to the nearest integer; one that does not fit
 * its C type answers NVML_ERROR_UNKNOWN (the check at load refuses such fixed numbers).
 *
 * The clock runs with CLOCK_MONOTONIC from the load, until a test takes it over:
 * pynvmlSimAdvanceClock(ms) stops it and moves it on by ms (0: just stop it), so what a
 * test reads is decided by the test alone (pynvml._sim.advance_clock wraps it).
 */
#include "sim.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

static double origin_ms;            /* CLOCK_MONOTONIC at the load */
static int manual;                  /* the clock is the test's */
static double manual_ms;
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;

static double
mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void
sim_clock_reset(void)
{
    pthread_mutex_lock(&clock_lock);
    origin_ms = mono_ms();
    manual = 0;
    manual_ms = 0;
    pthread_mutex_unlock(&clock_lock);
}

double
sim_clock_ms(void)
{
    pthread_mutex_lock(&clock_lock);
    double t = manual ? manual_ms : mono_ms() - origin_ms;
    pthread_mutex_unlock(&clock_lock);
    return t;
}

static int
num(const cJSON *o, const char *key, double dflt, double *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (j == NULL) {
        *out = dflt;
        return 1;
    }
    if (!cJSON_IsNumber(j))
        return 0;
    *out = j->valuedouble;
    return 1;
}

static uint64_t
mix(uint64_t x)   /* splitmix64's finalizer */
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

int
sim_is_moving(const cJSON *j)
{
    static const char *const kinds[] = {"sequence", "steps", "ramp", "sine", "random_walk", "energy", NULL};
    if (!cJSON_IsObject(j))
        return 0;
    for (int i = 0; kinds[i]; i++)
        if (cJSON_GetObjectItemCaseSensitive(j, kinds[i]) != NULL)
            return 1;
    return 0;
}

/* The device whose call is being answered (sim_begin_device sets it): what an
 * "energy" value integrates the power of. */
static __thread const sim_device *calling_device;

void
sim_moving_device(const sim_device *d)
{
    calling_device = d;
}

static nvmlReturn_t value_at(const cJSON *j, double t, double *out, int depth);

/* E0 + the integral of the power (mW) from 0 to t (ms), in mJ: the trapezoid rule over at
 * most 1000 slices (exact for fixed power, steps and ramps up to the slicing). */
static nvmlReturn_t
energy_at(const cJSON *v, double t, double *out, int depth)
{
    double start;
    if (!num(v, "start", 0, &start) || calling_device == NULL || depth > 0)
        return NVML_ERROR_UNKNOWN;
    const cJSON *power = cJSON_GetObjectItemCaseSensitive(calling_device->data, "nvmlDeviceGetPowerUsage");
    double p0, p1, sum = 0;
    if (cJSON_IsNumber(power)) {
        *out = start + power->valuedouble * t / 1000.0;
        return NVML_SUCCESS;
    }
    if (!sim_is_moving(power) || value_at(power, 0, &p0, depth + 1) != NVML_SUCCESS)
        return NVML_ERROR_UNKNOWN;
    int slices = t <= 0 ? 0 : t < 1000 ? (int)ceil(t) : 1000;
    for (int i = 1; i <= slices; i++) {
        if (value_at(power, t * i / slices, &p1, depth + 1) != NVML_SUCCESS)
            return NVML_ERROR_UNKNOWN;
        sum += (p0 + p1) / 2 * (t / slices);
        p0 = p1;
    }
    *out = start + sum / 1000.0;
    return NVML_SUCCESS;
}

/* The value of a moving number now; NVML_ERROR_UNKNOWN for a malformed one. */
nvmlReturn_t
sim_moving_value(const cJSON *j, double *out)
{
    return value_at(j, sim_clock_ms(), out, 0);
}

static nvmlReturn_t
value_at(const cJSON *j, double t, double *out, int depth)
{
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "sequence")) != NULL) {
        double period;
        int n = cJSON_GetArraySize(v);
        if (!cJSON_IsArray(v) || n == 0 || !num(j, "period_ms", 1000, &period) || !(period > 0))
            return NVML_ERROR_UNKNOWN;
        const cJSON *e = cJSON_GetArrayItem(v, (int)fmod(floor(t / period), n));
        if (!cJSON_IsNumber(e))
            return NVML_ERROR_UNKNOWN;
        *out = e->valuedouble;
        return NVML_SUCCESS;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "steps")) != NULL) {
        const cJSON *step;
        int first = 1;
        cJSON_ArrayForEach(step, v) {
            const cJSON *at = cJSON_GetArrayItem(step, 0), *val = cJSON_GetArrayItem(step, 1);
            if (!cJSON_IsNumber(at) || !cJSON_IsNumber(val))
                return NVML_ERROR_UNKNOWN;
            if (first || at->valuedouble <= t)
                *out = val->valuedouble;
            first = 0;
        }
        return first ? NVML_ERROR_UNKNOWN : NVML_SUCCESS;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "ramp")) != NULL) {
        const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
        double over;
        if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !num(j, "over_ms", 1000, &over) || !(over > 0))
            return NVML_ERROR_UNKNOWN;
        double f = t >= over ? 1.0 : t / over;
        *out = a->valuedouble + (b->valuedouble - a->valuedouble) * f;
        return NVML_SUCCESS;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "sine")) != NULL) {
        double mean, amp, period;
        if (!num(v, "mean", 0, &mean) || !num(v, "amplitude", 0, &amp) || !num(v, "period_ms", 1000, &period) ||
            !(period > 0))
            return NVML_ERROR_UNKNOWN;
        *out = mean + amp * sin(2 * M_PI * t / period);
        return NVML_SUCCESS;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "energy")) != NULL)
        return energy_at(v, t, out, depth);
    if ((v = cJSON_GetObjectItemCaseSensitive(j, "random_walk")) != NULL) {
        double start, step, every, lo, hi, seed;
        if (!num(v, "start", 0, &start) || !num(v, "step", 1, &step) || !num(v, "every_ms", 1000, &every) ||
            !num(v, "min", -INFINITY, &lo) || !num(v, "max", INFINITY, &hi) || !num(v, "seed", 0, &seed) ||
            !(every > 0))
            return NVML_ERROR_UNKNOWN;
        double x = start, steps = floor(t / every);
        if (steps > 1e6)
            steps = 1e6;   /* a walk of a million steps is as good as a longer one */
        for (long long i = 1; i <= (long long)steps; i++) {
            x += (mix((uint64_t)seed * 0x100000001B3ull ^ (uint64_t)i) & 1) ? step : -step;
            x = x < lo ? lo : x > hi ? hi : x;
        }
        *out = x;
        return NVML_SUCCESS;
    }
    return NVML_ERROR_UNKNOWN;
}

/* --- control calls (exported) -------------------------------------------------------- */

/* Stop the clock (if it runs) and move it on by ms; the time now, in ms since the load. */
__attribute__((visibility("default"))) double
pynvmlSimAdvanceClock(double ms)
{
    pthread_mutex_lock(&clock_lock);
    if (!manual) {
        manual_ms = mono_ms() - origin_ms;
        manual = 1;
    }
    if (ms > 0)
        manual_ms += ms;
    double t = manual_ms;
    pthread_mutex_unlock(&clock_lock);
    return t;
}
