/* The simulated nvmlDeviceReadPRMCounters_v1, by hand: its inputs travel inside the
 * caller's array (one counter id and port per element), which no generated entry point
 * reads.  A device's data:
 *     "nvmlDeviceReadPRMCounters_v1": {"<counterId>": {"valueType": T, "value": V}
 *                                                     or {"error": CODE}, ...}
 * A counter absent there answers NOT_SUPPORTED in its own status (the call succeeds),
 * an entry without valueType or value UNKNOWN;
 * the key absent, or {"error": ...} as the whole value, fails the call. */
#include "sim.h"

#include <stdio.h>
#include <string.h>

nvmlReturn_t
nvmlDeviceReadPRMCounters_v1(nvmlDevice_t device, pn_nvmlPRMCounterList_v1_t *list)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceReadPRMCounters_v1", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (list == NULL || (list->numCounters != 0 && list->counters == NULL))
        return NVML_ERROR_INVALID_ARGUMENT;
    for (unsigned int i = 0; i < list->numCounters; i++) {
        pn_nvmlPRMCounter_v1_t *ctr = &list->counters[i];
        char key[16];
        snprintf(key, sizeof key, "%u", ctr->counterId);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(c.value, key);
        memset(&ctr->outputValue, 0, sizeof ctr->outputValue);
        if (v == NULL) {
            ctr->outputValue.status = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        nvmlReturn_t e = sim_error_of(v);
        unsigned int type = 0;
        const cJSON *jt = cJSON_GetObjectItemCaseSensitive(v, "valueType");
        const cJSON *jv = cJSON_GetObjectItemCaseSensitive(v, "value");
        if (e == NVML_SUCCESS && (jt == NULL || jv == NULL))
            e = NVML_ERROR_UNKNOWN;         /* a malformed entry of the profile: both are needed */
        if (e == NVML_SUCCESS)
            e = sim_get_u32(jt, &type);
        if (e == NVML_SUCCESS)
            e = type == NVML_VALUE_TYPE_DOUBLE ? sim_get_f64(jv, &ctr->outputValue.outputValue.dVal)
                                               : sim_get_u64(jv, &ctr->outputValue.outputValue.ullVal);
        ctr->outputValue.status = e;
        ctr->outputValue.outputType = type;
    }
    return NVML_SUCCESS;
}
