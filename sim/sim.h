/* The simulated NVML's internal interface.
 *
 *   device_model.c        the profile (JSON, through cJSON), the devices, init refcount,
 *                         and the helpers below that generated/entry_points.c calls
 *   entry_points_hand.c   the entry points that fit no pattern (init, handles, field values)
 *   entry_points_mig.c    MIG: GPU and compute instances, a model with state of its own
 *   entry_points_mig_vgpu.c  vGPU on a MIG GPU instance (mig.h: the MIG files' interface)
 *   entry_points_events.c event sets and their delivery, GPM samples and metrics, units;
 *                         and the simulator's control functions pn_sim_fire_event and
 *                         pn_sim_fire_system_event (see that file)
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
 */
#ifndef SIM_H
#define SIM_H

#define _GNU_SOURCE   /* POSIX and GNU declarations (struct stat's st_mtim, strcasecmp) under -std=c11 */

#define PN_DECLARE_PROTOTYPES
#include "nvml_decls.h"

#include <cjson/cJSON.h>
#include <stddef.h>

typedef struct sim_device {
    unsigned int index;
    cJSON *data;
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

#endif
