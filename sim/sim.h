/* The simulated NVML's internal interface.
 *
 *   device_model.c        the profile (JSON, through cJSON), the devices, init refcount,
 *                         and the helpers below that generated/entry_points.c calls
 *   profile_load.c        reading a profile (a file, or a built-in one by name) within limits
 *   profile_check.c       checking it against the schema generated from the spec, at load
 *   moving.c              values that move with the simulator's clock, and the clock
 *   faults.c              injected faults: calls failing after N calls, for M calls or at
 *                         random; devices lost part-way through a run; control calls
 *   entry_points_hand.c   the entry points that fit no pattern (init, handles, field values)
 *   entry_points_mig.c    MIG: GPU and compute instances, a model with state of its own
 *   entry_points_mig_vgpu.c  vGPU on a MIG GPU instance (mig.h: the MIG files' interface)
 *   entry_points_events.c event sets and their delivery, GPM samples and metrics, units;
 *                         and the simulator's control functions pynvmlSimFireEvent and
 *                         pynvmlSimFireSystemEvent (see that file)
 *   entry_points_getters.c the getters whose key is inside the caller's struct, or whose
 *                         data are made as time passes (samples); their profile shapes there
 *   entry_points_setters.c  the setters' runtime (generated setters write into the
 *                         profile, where getters read; the state lives as long as the
 *                         loaded profile: see that file) and the setters of no pattern
 *   generated/            one entry point per spec function, and a JSON reader per struct
 *
 * A profile is {"system": {...}, "devices": [{...}, ...]} (and "units": [{...}, ...] for
 * S-class units): each object maps an entry point's name to its data (see
 * codegen/emit_sim.py for the shape), and any value may be {"error": "NOT_SUPPORTED"}
 * (or a code) to make the call fail that way.  A device's "events" list holds events to
 * deliver (entry_points_events.c).
 *
 * Faults.  The system object and each device may hold "faults": entry point -> a fault
 * or a list of faults, each
 *     {"error": CODE, "delay_ms": D, "after": N, "count": M, "probability": P, "seed": S}
 * CODE is a return code's name ("GPU_IS_LOST", "NVML_ERROR_GPU_IS_LOST") or number.
 * Calls of that entry point are numbered from 0; call n is faulty when
 * n >= N (default 0), n < N + M (default: no end) and, where P (default 1) is below 1,
 * a draw from (S, n) is below P: the same seed gives the same calls failing, in every
 * run and whatever thread makes the call.  A faulty call takes D milliseconds (default 0:
 * a slow or hanging driver) and then answers CODE; with "delay_ms" and no "error" it
 * answers as it would have, only late.  pynvmlSimMaxConcurrentDelays() says how many
 * calls were inside such a delay at once (pynvml._sim.max_concurrent_delays).  The entry point "*" means every entry point
 * of that device (or of the system), with one counter shared by all.  Counted are the
 * calls that get as far as the check: NVML initialized, a valid handle, device not lost.
 *     "faults": {"nvmlDeviceGetPowerUsage": {"error": "GPU_IS_LOST", "after": 5},
 *                "nvmlDeviceGetTemperature": [{"error": "UNKNOWN", "probability": 0.3, "seed": 7},
 *                                             {"error": "TIMEOUT", "after": 2, "count": 1}]}
 * Device faults apply to the entry points that take that device's handle (or index, for
 * nvmlDeviceGetHandleByIndex*, and the device found, for the other handle lookups);
 * system faults to the others, nvmlInit* and nvmlShutdown included (keyed by the C
 * entry point's name: nvidia-ml-py's nvmlInit calls nvmlInitWithFlags).
 *
 * A lost device.  A device's "lost": true, or {"error": CODE}, makes every call on it
 * answer GPU_IS_LOST (or CODE) from the start; {"after": N[, "error": CODE]} lets the
 * first N calls on that device (any entry point, handle lookups by index included)
 * succeed and loses it from then on.  The control call pynvmlSimLoseDevice(index, code)
 * loses it at once (code 0: GPU_IS_LOST); pynvmlSimResetFaults() puts every counter and
 * device back as the profile starts them (pynvml._sim.lose_device / reset_faults wrap
 * them).  Counters start when the profile is loaded: at the first nvmlInit, and again
 * only when the profile's source changes (see device_model.c).
 *
 * A hand-written entry point gets all this by starting with sim_begin_device/system,
 * or, where it doesn't use them, with sim_device_enter/sim_system_enter (below); it
 * should not read "lost" or "faults" from the profile itself.
 *
 * Hidden entry points (an older driver) are not in the profile: they need a library
 * without those symbols, written by `python -m pynvml._sim hide` (src/pynvml/_sim/hide_symbols.py).
 * The library is linked -Bsymbolic and its helpers are hidden, so no call inside it
 * goes through a symbol lookup that hiding could break.
 */
#ifndef SIM_H
#define SIM_H

#define _GNU_SOURCE   /* POSIX and GNU declarations (struct stat's st_mtim, strcasecmp) under -std=c11 */

#define PN_DECLARE_PROTOTYPES
#include "nvml_decls.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Nothing below leaves the library: only the NVML entry points (declared above) and
 * the pynvmlSim* control calls are exported, and calls to these helpers are direct. */
#pragma GCC visibility push(hidden)

#define SIM_MAX_DEVICES 64

typedef struct sim_fault sim_fault;              /* faults.c */
typedef struct sim_fault_table sim_fault_table;
typedef struct sim_fault_plan sim_fault_plan;

typedef struct sim_device {
    unsigned int index;
    cJSON *data;
    /* faults.c's state, set when the profile is loaded (read atomically) */
    int lost;                      /* nonzero: the code every call answers */
    nvmlReturn_t lose_code;        /* what it answers once lost after lose_after calls */
    long long lose_after;          /* -1: not lost by counting */
    unsigned long long calls;      /* calls counted toward lose_after */
    sim_fault_table *faults;       /* NULL: none (the common case) */
    struct sim_key_index *keys;    /* device_model.c: data's members by name, hashed */
} sim_device;

typedef struct {
    const cJSON *value;     /* the call's data, one level down per keyed input */
    sim_device *dev;        /* NULL for a system call */
} sim_call;

typedef struct {
    const char *name;
    int code;
} sim_named_code;

typedef nvmlReturn_t (*sim_fill_fn)(const cJSON *j, void *dst);

#define SIM_PROCEED (-1)
#define SIM_UNUSED __attribute__((unused))

extern const sim_named_code sim_error_codes[];
extern const sim_fill_fn sim_struct_fillers[PN_NSTRUCTS];   /* a JSON reader per struct, by PN_STRUCT_* */

/* device_model.c: state */
nvmlReturn_t sim_init(void);
nvmlReturn_t sim_shutdown(void);
int sim_initialized(void);
unsigned int sim_device_count(void);
sim_device *sim_device_at(unsigned int i);
sim_device *sim_device_of(nvmlDevice_t d);   /* NULL if d is not one of ours */
const cJSON *sim_system(void);
unsigned long sim_profile_generation(void);  /* bumped by each profile (re)load */
cJSON *sim_profile_root(void);
/* the profile says "captured": FORMAT (python -m pynvml._sim capture wrote it): it holds
 * every getter that answered on the GPU, so an entry point falls back to no other's data
 * (nvmlDeviceGetTemperatureV to nvmlDeviceGetTemperature's) where it has none */
int sim_profile_captured(void);
nvmlReturn_t sim_error_of(const cJSON *j);   /* NVML_SUCCESS if j is not an error object */

/* entry_points_mig.c: GPU instances on device `dev` now (a MIG mode setter refuses to turn
 * MIG off under them).  Instances go when the device's nvmlDeviceGetMigMode reads off. */
unsigned int sim_mig_instance_count(unsigned int dev);
/* entry_points_mig.c: the MIG device (of a compute instance) a handle is, or NULL: the
 * generic device getters answer for it from data of its own (name, UUID, memory...). */
sim_device *sim_mig_device_of(nvmlDevice_t d);

/* device_model.c: what generated entry points call */
nvmlReturn_t sim_begin_system(sim_call *c, const char *key);
nvmlReturn_t sim_begin_device(sim_call *c, const char *key, nvmlDevice_t d);
nvmlReturn_t sim_begin_unit(sim_call *c, const char *key, nvmlUnit_t u);   /* entry_points_events.c */
nvmlReturn_t sim_key_u64(sim_call *c, unsigned long long k);
nvmlReturn_t sim_key_device(sim_call *c, nvmlDevice_t d);
nvmlReturn_t sim_key_str(sim_call *c, const char *s);
nvmlReturn_t sim_check_object(const cJSON *j);
nvmlReturn_t sim_get_u8(const cJSON *j, void *out);
nvmlReturn_t sim_get_u16(const cJSON *j, void *out);
nvmlReturn_t sim_get_u32(const cJSON *j, void *out);
nvmlReturn_t sim_get_i32(const cJSON *j, void *out);
nvmlReturn_t sim_get_u64(const cJSON *j, void *out);
nvmlReturn_t sim_get_i64(const cJSON *j, void *out);
nvmlReturn_t sim_get_ulong(const cJSON *j, void *out);
nvmlReturn_t sim_get_f64(const cJSON *j, void *out);
nvmlReturn_t sim_get_chars(const cJSON *j, char *buf, size_t cap);
nvmlReturn_t sim_get_array(const cJSON *j, void *arr, size_t n, size_t elsize, sim_fill_fn fill);
nvmlReturn_t sim_fill_device(const cJSON *j, void *dst);
nvmlReturn_t sim_out(sim_call *c, int idx, int nout, void *dst, sim_fill_fn fill);
nvmlReturn_t sim_out_chars(sim_call *c, int idx, int nout, char *buf, unsigned int len);
nvmlReturn_t sim_count(sim_call *c, int idx, int nout, unsigned int *count, int arr_null,
                       int query_ok, unsigned int *n);
nvmlReturn_t sim_out_array(sim_call *c, int idx, int nout, void *arr, unsigned int n,
                           size_t elsize, sim_fill_fn fill);

/* entry_points_setters.c: what generated setters call (sets= clears= copies= checks=) */
nvmlReturn_t sim_setter_begin(sim_call *c, const char *key, nvmlDevice_t d, int on_device);
void sim_state_lock(void);
void sim_state_unlock(void);
nvmlReturn_t sim_check_within(sim_call *c, double v, const char *const *path);
nvmlReturn_t sim_check_among(sim_call *c, double v, const char *const *path);
nvmlReturn_t sim_check_atmost(sim_call *c, double v, const char *const *path);
nvmlReturn_t sim_check_atleast(sim_call *c, double v, const char *const *path);
nvmlReturn_t sim_check_exists(sim_call *c, const char *const *path);
nvmlReturn_t sim_optional(nvmlReturn_t rc);   /* NOT_SUPPORTED (no such data) is no error */
nvmlReturn_t sim_set_number(sim_call *c, int write, double v, const char *const *path);
/* clear: every number below path becomes 0; with empty_lists, lists of values (a getter's
 * array output) are emptied, else a list is a getter's several outputs, each zeroed */
nvmlReturn_t sim_clear(sim_call *c, int write, const char *const *path, int empty_lists);
nvmlReturn_t sim_copy(sim_call *c, int write, const char *const *src, const char *const *dst);

/* profile_load.c: the profile `path` names (NULL: the built-in default; a built-in
 * profile's name: that one) read, parsed and checked (profile_check.c).  0 and *out, or
 * -1 and every problem found written to errors, one a line.  *st: the file's, for
 * noticing a change (zeroed for a built-in one). */
struct stat;
int sim_profile_load(const char *path, cJSON **out, struct stat *st, char *errors, size_t cap);
/* the same for a profile's text (`where` names it in the messages): what the fuzzer calls */
int sim_profile_parse(const char *text, const char *where, cJSON **out, char *errors, size_t cap);
/* profile_check.c: the problems of a parsed profile against the schema (the spec's,
 * generated), each "WHERE: $.json.path: what was expected" appended to errors; how many. */
int sim_profile_check(const cJSON *profile, const char *where, char *errors, size_t cap);

/* moving.c: numbers that are functions of the simulator's clock (ms since the load) */
void sim_clock_reset(void);
double sim_clock_ms(void);
int sim_is_moving(const cJSON *j);
nvmlReturn_t sim_moving_value(const cJSON *j, double *out);
void sim_moving_device(const sim_device *d);   /* the device a call answers for ("energy") */

/* faults.c: reading a profile's faults (before it replaces the previous profile), then
 * putting them in force on the devices */
nvmlReturn_t sim_faults_parse(const cJSON *profile, unsigned int ndevices, sim_fault_plan **out);
sim_fault_plan *sim_faults_apply(sim_fault_plan *plan, sim_device *devices);   /* the previous plan */
void sim_faults_free(sim_fault_plan *plan);
int sim_delays_quiet(long long grace_ns);
nvmlReturn_t sim_fault_hit(sim_fault_table *t, const char *name);
nvmlReturn_t sim_device_count_call(sim_device *d);

/* The fault checks every entry point makes (sim_begin_* make them; hand-written entry
 * points that don't use those call these): NVML_SUCCESS, or the code to answer.
 * sim_device_enter: d lost, or a fault of d's on `name`; sim_system_enter: a system
 * fault on `name`. */
nvmlReturn_t sim_system_enter(const char *name);

static inline nvmlReturn_t
sim_device_enter(sim_device *d, const char *name)
{
    int lost = __atomic_load_n(&d->lost, __ATOMIC_ACQUIRE);
    if (lost)
        return (nvmlReturn_t)lost;
    if (__atomic_load_n(&d->lose_after, __ATOMIC_RELAXED) >= 0) {
        nvmlReturn_t rc = sim_device_count_call(d);
        if (rc != NVML_SUCCESS)
            return rc;
    }
    sim_fault_table *t = __atomic_load_n(&d->faults, __ATOMIC_ACQUIRE);
    return t ? sim_fault_hit(t, name) : NVML_SUCCESS;
}

/* The checks of a versioned struct the caller passes (its first member is the version
 * word): INVALID_ARGUMENT without one, ARGUMENT_VERSION_MISMATCH unless it is `version`. */
static inline nvmlReturn_t
sim_versioned(const void *s, unsigned int version)
{
    if (s == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    return *(const unsigned int *)s == version ? NVML_SUCCESS : NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
}

#pragma GCC visibility pop

#endif
