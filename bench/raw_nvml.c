/* Time raw NVML calls from C: the floor that any binding's per-call cost is measured against.
 *
 *   cc -O2 -Iinclude bench/raw_nvml.c -ldl -o build/bench/raw_nvml     (bench/run.py does this)
 *   PYNVML_LIBRARY=/path/to/libnvidia-ml.so.1 build/bench/raw_nvml [--quick] [--target-ms MS] [--runs R]
 *
 * dlopen()s $PYNVML_LIBRARY (a path) or libnvidia-ml.so.1, resolves each entry point with
 * dlsym, calls nvmlInitWithFlags(0) on device 0, and for each call measures ns per call: R runs
 * of N iterations each (N calibrated so that one run takes about MS milliseconds; the runs taken
 * round-robin over the calls after a short warm-up), the median run, clock_gettime(CLOCK_MONOTONIC).  Prints one JSON object {"entry point": ns} on stdout;
 * a call that fails gives null there and the reason on stderr.
 *
 *   raw_nvml --threads 1,2,4,8 [--seconds S] [--call nvmlDeviceGetPowerUsage]
 *
 * instead prints {"call": "...", "rates": {"1": calls/s, ...}}: total calls per second of one
 * call (PowerUsage, Temperature, Count_v2, the slower MemoryInfo or PcieThroughput, which
 * NVML answers after sampling for ~20 ms) from that many pthreads (each with its own output) for S seconds each; how far
 * NVML itself scales, to read the Python threads numbers against.  libpthread is dlopen()ed,
 * so the build needs no -pthread (on glibc >= 2.34 it is part of libc anyway).
 *
 *   raw_nvml --rss
 *
 * prints {"before_kib": N, "after_kib": M}: this process's VmRSS before dlopen and after
 * nvmlInit, what the NVML library itself adds to any process that uses it.
 *
 * Declarations: our own generated ones (include/nvml_decls.h: structs and pfn_* typedefs).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvml_decls.h"

typedef const char *(*pfn_errstr)(nvmlReturn_t);

static pfn_errstr error_string;
static nvmlDevice_t dev;

/* The calls, each as a static function so that one timing loop serves them all.  The
 * outputs go to globals (volatile sink below) so the compiler keeps every call. */
static pfn_nvmlDeviceGetCount_v2 p_count;
static pfn_nvmlDeviceGetHandleByIndex_v2 p_handle;
static pfn_nvmlDeviceGetName p_name;
static pfn_nvmlDeviceGetMemoryInfo p_mem;
static pfn_nvmlDeviceGetTemperature p_temp;
static pfn_nvmlDeviceGetUtilizationRates p_util;
static pfn_nvmlDeviceGetPowerUsage p_power;
static pfn_nvmlDeviceGetClockInfo p_clock;
static pfn_nvmlDeviceGetPciInfo_v3 p_pci;
static pfn_nvmlDeviceGetPcieThroughput p_pcie;   /* threads mode only: NVML samples for ~20 ms */

static unsigned int u_out;
static nvmlDevice_t h_out;
static char name_out[96]; /* NVML_DEVICE_NAME_V2_BUFFER_SIZE, what the bindings pass */
static nvmlMemory_t mem_out;
static nvmlUtilization_t util_out;
static nvmlPciInfo_t pci_out;

static nvmlReturn_t c_count(void) { return p_count(&u_out); }
static nvmlReturn_t c_handle(void) { return p_handle(0, &h_out); }
static nvmlReturn_t c_name(void) { return p_name(dev, name_out, sizeof name_out); }
static nvmlReturn_t c_mem(void) { return p_mem(dev, &mem_out); }
static nvmlReturn_t c_temp(void) { return p_temp(dev, 0, &u_out); }
static nvmlReturn_t c_util(void) { return p_util(dev, &util_out); }
static nvmlReturn_t c_power(void) { return p_power(dev, &u_out); }
static nvmlReturn_t c_clock(void) { return p_clock(dev, 0, &u_out); }
static nvmlReturn_t c_pci(void) { return p_pci(dev, &pci_out); }

struct bench {
    const char *name;   /* the C entry point */
    void **fn;          /* where its resolved pointer goes */
    nvmlReturn_t (*call)(void);
};

static struct bench benches[] = {
    {"nvmlDeviceGetCount_v2", (void **)&p_count, c_count},
    {"nvmlDeviceGetHandleByIndex_v2", (void **)&p_handle, c_handle},
    {"nvmlDeviceGetName", (void **)&p_name, c_name},
    {"nvmlDeviceGetMemoryInfo", (void **)&p_mem, c_mem},
    {"nvmlDeviceGetTemperature", (void **)&p_temp, c_temp},
    {"nvmlDeviceGetUtilizationRates", (void **)&p_util, c_util},
    {"nvmlDeviceGetPowerUsage", (void **)&p_power, c_power},
    {"nvmlDeviceGetClockInfo", (void **)&p_clock, c_clock},
    {"nvmlDeviceGetPciInfo_v3", (void **)&p_pci, c_pci},
};
#define NBENCH (sizeof benches / sizeof benches[0])

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ns per call of one run of n iterations; -1 if a call failed (rc in *rc). */
static double run_once(nvmlReturn_t (*call)(void), long n, nvmlReturn_t *rc)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        nvmlReturn_t r = call();
        if (r != 0) {
            *rc = r;
            return -1;
        }
    }
    return (now_ns() - t0) / (double)n;
}

static const char *err_name(nvmlReturn_t rc)
{
    const char *s = error_string ? error_string(rc) : NULL;
    return s ? s : "?";
}

/* --------------------------------------------------------------- threads mode */
typedef int (*pfn_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef int (*pfn_pthread_join)(pthread_t, void **);

static int thread_call;            /* 0 PowerUsage, 1 Temperature, 2 Count_v2, 3 MemoryInfo, 4 PcieThroughput */
static int go, stop, started;      /* accessed with __atomic builtins */

struct worker {
    long calls;
    double end_ns;
    nvmlReturn_t rc;
    char pad[64];                  /* keep workers' counters on their own cache lines */
};

static void *work(void *arg)
{
    struct worker *w = arg;
    unsigned int out;
    nvmlMemory_t mem;
    long n = 0;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
        ;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        for (int i = 0; i < 32; i++) {
            nvmlReturn_t r = thread_call == 0 ? p_power(dev, &out)
                           : thread_call == 1 ? p_temp(dev, 0, &out)
                           : thread_call == 2 ? p_count(&out)
                           : thread_call == 3 ? p_mem(dev, &mem) : p_pcie(dev, NVML_PCIE_UTIL_TX_BYTES, &out);
            if (r != 0) {
                w->rc = r;
                __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
                break;
            }
        }
        n += 32;
    }
    w->calls = n;
    w->end_ns = now_ns();
    return NULL;
}

static int run_threads(const char *list, double seconds, const char *call)
{
    static const char *const names[] = {"nvmlDeviceGetPowerUsage", "nvmlDeviceGetTemperature",
                                        "nvmlDeviceGetCount_v2", "nvmlDeviceGetMemoryInfo",
                                        "nvmlDeviceGetPcieThroughput"};
    void *fns[] = {(void *)p_power, (void *)p_temp, (void *)p_count, (void *)p_mem, (void *)p_pcie};
    thread_call = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(call, names[i]))
            thread_call = i;
    if (thread_call < 0 || fns[thread_call] == NULL) {
        fprintf(stderr, "raw_nvml: --call %s: not one of the four threads calls, or not found\n", call);
        return 1;
    }
    void *pt = dlopen("libpthread.so.0", RTLD_NOW | RTLD_GLOBAL);
    pfn_pthread_create create = (pfn_pthread_create)(pt ? dlsym(pt, "pthread_create") : NULL);
    pfn_pthread_join join = (pfn_pthread_join)(pt ? dlsym(pt, "pthread_join") : NULL);
    if (create == NULL || join == NULL) {
        fprintf(stderr, "raw_nvml: no pthread_create: %s\n", dlerror());
        return 1;
    }
    for (const char *q = list; *q; q++)
        if ((*q < '0' || *q > '9') && *q != ',') {
            fprintf(stderr, "raw_nvml: bad --threads list %s\n", list);
            return 2;
        }
    printf("{\"call\": \"%s\", \"rates\": {", call);
    const char *p = list;
    int first = 1;
    while (*p) {
        char *end;
        long n = strtol(p, &end, 10);
        if (end == p || n < 1 || n > 256) {
            fprintf(stderr, "raw_nvml: bad --threads list %s\n", list);
            return 2;
        }
        p = *end == ',' ? end + 1 : end;
        pthread_t tid[256];
        struct worker *ws = calloc((size_t)n, sizeof *ws);
        if (ws == NULL)
            return 1;
        go = stop = started = 0;
        for (long k = 0; k < n; k++)
            if (create(&tid[k], NULL, work, &ws[k]) != 0) {
                fprintf(stderr, "raw_nvml: pthread_create failed\n");
                return 1;
            }
        while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < n)
            ;
        double t0 = now_ns();
        __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
        struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
        nanosleep(&ts, NULL);
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        double total = 0, last = t0;
        nvmlReturn_t rc = 0;
        for (long k = 0; k < n; k++) {
            join(tid[k], NULL);
            total += (double)ws[k].calls;
            if (ws[k].end_ns > last)
                last = ws[k].end_ns;
            if (ws[k].rc)
                rc = ws[k].rc;
        }
        free(ws);
        if (rc) {
            fprintf(stderr, "raw_nvml: %s: %d %s\n", call, rc, err_name(rc));
            printf("%s\"%ld\": null", first ? "" : ", ", n);
        } else {
            printf("%s\"%ld\": %.0f", first ? "" : ", ", n, total / ((last - t0) / 1e9));
        }
        first = 0;
    }
    printf("}}\n");
    return 0;
}

/* Round-robin over the calls for about ms milliseconds: CPU clocks up, caches warm. */
static void warm_up(double ms)
{
    double t_end = now_ns() + ms * 1e6;
    while (now_ns() < t_end)
        for (size_t b = 0; b < NBENCH; b++)
            if (*benches[b].fn != NULL)
                for (int i = 0; i < 16; i++)
                    benches[b].call();
}

/* VmRSS of this process in KiB, or -1. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    if (f != NULL)
        fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    long rss_before = rss_kib();
    int rss_mode = 0;
    double target_ms = 20.0, seconds = 0.5;
    int runs = 7;
    const char *threads = NULL, *call = "nvmlDeviceGetPowerUsage";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            target_ms = 5.0;
            runs = 5;
        } else if (!strcmp(argv[i], "--target-ms") && i + 1 < argc) {
            target_ms = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = argv[++i];
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--call") && i + 1 < argc) {
            call = argv[++i];
        } else if (!strcmp(argv[i], "--rss")) {
            rss_mode = 1;
        } else {
            fprintf(stderr, "usage: %s [--quick] [--target-ms MS] [--runs R]\n"
                            "       %s --threads 1,2,4,8 [--seconds S] [--call NAME]\n"
                            "       %s --rss\n", argv[0], argv[0], argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 1000 || !(target_ms > 0) || !(seconds > 0 && seconds < 60)) {
        fprintf(stderr, "raw_nvml: bad --runs, --target-ms or --seconds\n");
        return 2;
    }

    const char *path = getenv("PYNVML_LIBRARY");
    if (path == NULL || *path == '\0')
        path = "libnvidia-ml.so.1";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "raw_nvml: dlopen(%s): %s\n", path, dlerror());
        return 1;
    }
    error_string = (pfn_errstr)dlsym(lib, "nvmlErrorString");
    pfn_nvmlInitWithFlags init = (pfn_nvmlInitWithFlags)dlsym(lib, "nvmlInitWithFlags");
    pfn_nvmlShutdown shutdown = (pfn_nvmlShutdown)dlsym(lib, "nvmlShutdown");
    if (init == NULL || shutdown == NULL) {
        fprintf(stderr, "raw_nvml: %s has no nvmlInitWithFlags/nvmlShutdown\n", path);
        return 1;
    }
    for (size_t b = 0; b < NBENCH; b++)
        *benches[b].fn = dlsym(lib, benches[b].name);
    p_pcie = (pfn_nvmlDeviceGetPcieThroughput)dlsym(lib, "nvmlDeviceGetPcieThroughput");

    nvmlReturn_t rc = init(0);
    if (rc != 0) {
        fprintf(stderr, "raw_nvml: nvmlInitWithFlags(0): %d %s\n", rc, err_name(rc));
        return 1;
    }
    if (rss_mode) {
        printf("{\"before_kib\": %ld, \"after_kib\": %ld}\n", rss_before, rss_kib());
        shutdown();
        return 0;
    }
    if (p_handle == NULL || (rc = p_handle(0, &dev)) != 0) {
        fprintf(stderr, "raw_nvml: nvmlDeviceGetHandleByIndex_v2(0) failed: %d %s\n", rc,
                p_handle ? err_name(rc) : "not found");
        shutdown();
        return 1;
    }

    if (threads != NULL) {
        int r = run_threads(threads, seconds, call);
        shutdown();
        return r;
    }

    warm_up(target_ms * 5);
    /* Calibrate every call, then take the runs round-robin over the calls, so that a burst of
     * noise from elsewhere on the machine spoils one run of several calls (which the median
     * drops), not every run of one call. */
    long n_of[NBENCH];
    const char *fail[NBENCH];
    double *samples = calloc(NBENCH * (size_t)runs, sizeof(double));
    if (samples == NULL)
        return 1;
    for (size_t b = 0; b < NBENCH; b++) {
        struct bench *bn = &benches[b];
        fail[b] = NULL;
        n_of[b] = 0;
        if (*bn->fn == NULL) {
            fprintf(stderr, "raw_nvml: %s: not found in %s\n", bn->name, path);
            fail[b] = "not found";
            continue;
        }
        /* double n until one run takes >= target/10, then scale to target */
        long n = 1;
        double per;
        rc = 0;
        for (;;) {
            per = run_once(bn->call, n, &rc);
            if (per < 0 || per * (double)n >= target_ms * 1e5 || n >= (1L << 30))
                break;
            n *= 2;
        }
        if (per < 0) {
            fprintf(stderr, "raw_nvml: %s: %d %s\n", bn->name, rc, err_name(rc));
            fail[b] = "failed";
            continue;
        }
        n = (long)(target_ms * 1e6 / (per > 0.1 ? per : 0.1));
        n_of[b] = n < 1 ? 1 : n;
    }
    for (int r = 0; r < runs; r++)
        for (size_t b = 0; b < NBENCH; b++) {
            if (fail[b])
                continue;
            double *sample = &samples[b * (size_t)runs + (size_t)r];
            if ((*sample = run_once(benches[b].call, n_of[b], &rc)) < 0) {
                fprintf(stderr, "raw_nvml: %s: %d %s\n", benches[b].name, rc, err_name(rc));
                fail[b] = "failed";
            }
        }
    printf("{");
    for (size_t b = 0; b < NBENCH; b++) {
        printf("%s\"%s\": ", b ? ", " : "", benches[b].name);
        if (fail[b]) {
            printf("null");
            continue;
        }
        double *s = &samples[b * (size_t)runs];
        qsort(s, (size_t)runs, sizeof(double), cmp_double);
        printf("%.2f", runs % 2 ? s[runs / 2] : (s[runs / 2 - 1] + s[runs / 2]) / 2);
    }
    printf("}\n");
    free(samples);
    shutdown();
    return 0;
}
