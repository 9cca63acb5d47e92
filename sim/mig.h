/* The MIG model's interface between its files (sim/entry_points_mig*.c): the GPU
 * instance record, the lock over the instances, and the entry points' common frame. */
#ifndef SIM_MIG_H
#define SIM_MIG_H

#include "sim.h"

/* Between the MIG files only: not exported beside NVML's entry points. */
#pragma GCC visibility push(hidden)

typedef struct {
    int alive;
    unsigned int dev, id, profile_id, start, size, slices;
    /* vGPU on the GI, as set (a profile gives the values before any set) */
    int hetero_set, sched_set;
    unsigned int hetero_mode, sched_policy, sched_arr, sched_avg, sched_timeslice;
} mig_gi;

/* The lock over the instances, taken with the state brought up to date (no instances from
 * another profile, nor on a GPU whose MIG mode reads off). */
void sim_mig_lock(void);
void sim_mig_unlock(void);
/* A live GPU instance, or INVALID_ARGUMENT; the error injected under `key`, if any.  Called
 * with the lock held. */
nvmlReturn_t sim_mig_gi(nvmlGpuInstance_t h, const char *key, mig_gi **out);
/* A non-negative number member of a profile object, 0 where absent. */
unsigned int sim_mig_num(const cJSON *o, const char *key);

#pragma GCC visibility pop

/* An entry point's frame: ENTER() checks init and takes the lock, LEAVE(code) ends with a
 * code, EXIT() is the one way out (it releases the lock). */
#define ENTER()                                   \
    if (!sim_initialized())                       \
        return NVML_ERROR_UNINITIALIZED;          \
    sim_mig_lock();                               \
    nvmlReturn_t rc = NVML_SUCCESS
#define LEAVE(code) do { rc = (code); goto out; } while (0)
#define EXIT()                                    \
out:                                              \
    sim_mig_unlock();                             \
    return rc

#endif
