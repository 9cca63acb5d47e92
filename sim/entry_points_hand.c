/* Entry points of the simulated NVML that fit no generated pattern: init and shutdown
 * (the refcount, loading the profile), the error strings, finding devices (they are
 * looked up among the devices rather than read from one), and field values (an in/out
 * array with a return code per entry).  Each checks the faults a profile injects
 * (sim.h), as sim_begin_* do for the generated ones. */
#include "sim.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* How many times nvmlInit* and nvmlShutdown were called, whatever they answered: what
 * shows a binding's amortized init/shutdown (issue #19) without timing anything.  Read
 * with the control call pynvmlSimInitShutdownCalls (pynvml._sim.init_shutdown_calls()). */
static unsigned long long init_calls, shutdown_calls;

__attribute__((visibility("default"))) void
pynvmlSimInitShutdownCalls(unsigned long long *inits, unsigned long long *shutdowns)
{
    if (inits != NULL)
        *inits = __atomic_load_n(&init_calls, __ATOMIC_ACQUIRE);
    if (shutdowns != NULL)
        *shutdowns = __atomic_load_n(&shutdown_calls, __ATOMIC_ACQUIRE);
}

/* An injected fault on nvmlInit* fails it after the profile is loaded (the faults are
 * read with it), leaving the refcount as it was. */
static nvmlReturn_t
init(const char *name)
{
    __atomic_add_fetch(&init_calls, 1, __ATOMIC_ACQ_REL);
    nvmlReturn_t rc = sim_init();
    if (rc != NVML_SUCCESS)
        return rc;
    if ((rc = sim_system_enter(name)) != NVML_SUCCESS)
        sim_shutdown();
    return rc;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return init("nvmlInitWithFlags"); }
nvmlReturn_t nvmlInit_v2(void) { return init("nvmlInit_v2"); }
nvmlReturn_t nvmlInit(void) { return init("nvmlInit"); }

nvmlReturn_t
nvmlShutdown(void)
{
    __atomic_add_fetch(&shutdown_calls, 1, __ATOMIC_ACQ_REL);
    if (sim_initialized()) {
        nvmlReturn_t rc = sim_system_enter("nvmlShutdown");
        if (rc != NVML_SUCCESS)
            return rc;
    }
    return sim_shutdown();
}

const char *
nvmlErrorString(nvmlReturn_t result)
{
    static const sim_named_code messages[] = {
        {"Success", NVML_SUCCESS},
        {"Uninitialized", NVML_ERROR_UNINITIALIZED},
        {"Invalid Argument", NVML_ERROR_INVALID_ARGUMENT},
        {"Not Supported", NVML_ERROR_NOT_SUPPORTED},
        {"Insufficient Permissions", NVML_ERROR_NO_PERMISSION},
        {"Already Initialized", NVML_ERROR_ALREADY_INITIALIZED},
        {"Not Found", NVML_ERROR_NOT_FOUND},
        {"Insufficient Size", NVML_ERROR_INSUFFICIENT_SIZE},
        {"Insufficient External Power", NVML_ERROR_INSUFFICIENT_POWER},
        {"Driver Not Loaded", NVML_ERROR_DRIVER_NOT_LOADED},
        {"Timeout", NVML_ERROR_TIMEOUT},
        {"Interrupt Request Issue", NVML_ERROR_IRQ_ISSUE},
        {"NVML Shared Library Not Found", NVML_ERROR_LIBRARY_NOT_FOUND},
        {"Function Not Found", NVML_ERROR_FUNCTION_NOT_FOUND},
        {"Corrupted infoROM", NVML_ERROR_CORRUPTED_INFOROM},
        {"GPU is lost", NVML_ERROR_GPU_IS_LOST},
        {"GPU requires restart", NVML_ERROR_RESET_REQUIRED},
        {"The operating system has blocked the request.", NVML_ERROR_OPERATING_SYSTEM},
        {"RM has detected an NVML/RM version mismatch.", NVML_ERROR_LIB_RM_VERSION_MISMATCH},
        {"In use by another client", NVML_ERROR_IN_USE},
        {"Insufficient Memory", NVML_ERROR_MEMORY},
        {"No data", NVML_ERROR_NO_DATA},
        {"The requested vgpu operation is not available on target device, because ECC is enabled", NVML_ERROR_VGPU_ECC_NOT_SUPPORTED},
        {"Ran out of critical resources, other than memory", NVML_ERROR_INSUFFICIENT_RESOURCES},
        {"The requested frequency is not supported", NVML_ERROR_FREQ_NOT_SUPPORTED},
        {"The provided version is invalid/unsupported", NVML_ERROR_ARGUMENT_VERSION_MISMATCH},
        {"The requested functionality has been deprecated", NVML_ERROR_DEPRECATED},
        {"The system is not ready for the request", NVML_ERROR_NOT_READY},
        {"No GPUs were found", NVML_ERROR_GPU_NOT_FOUND},
        {"Resource not in correct state to perform requested operation", NVML_ERROR_INVALID_STATE},
        {"The requested reset type is not supported", NVML_ERROR_RESET_TYPE_NOT_SUPPORTED},
        {"Unknown Error", NVML_ERROR_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
        if (messages[i].code == result)
            return messages[i].name;
    return "Unknown Error";
}

static nvmlReturn_t
device_count(const char *name, unsigned int *deviceCount)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_system_enter(name);
    if (rc != NVML_SUCCESS)
        return rc;
    if (deviceCount == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    *deviceCount = sim_device_count();
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) { return device_count("nvmlDeviceGetCount_v2", deviceCount); }
nvmlReturn_t nvmlDeviceGetCount(unsigned int *deviceCount) { return device_count("nvmlDeviceGetCount", deviceCount); }

static nvmlReturn_t
handle_by_index(const char *name, unsigned int index, nvmlDevice_t *device)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    sim_device *d = sim_device_at(index);
    if (d == NULL || device == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = sim_device_enter(d, name);
    if (rc != NVML_SUCCESS)
        return rc;
    *device = (nvmlDevice_t)d;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index("nvmlDeviceGetHandleByIndex_v2", index, device);
}

nvmlReturn_t
nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device)
{
    return handle_by_index("nvmlDeviceGetHandleByIndex", index, device);
}

/* The device whose `key` (a string, or a string member `member` of an object; failing
 * that, `member2`) equals s; `name` is the entry point, for the faults: the system's,
 * then the device's found. */
static nvmlReturn_t
find_device(const char *name, const char *key, const char *member, const char *member2, const char *s,
            nvmlDevice_t *device)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    nvmlReturn_t rc = sim_system_enter(name);
    if (rc != NVML_SUCCESS)
        return rc;
    if (s == NULL || device == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    for (int pass = 0; pass < (member2 ? 2 : 1); pass++) {
        for (unsigned int i = 0; i < sim_device_count(); i++) {
            sim_device *d = sim_device_at(i);
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(d->data, key);
            if (member != NULL)
                v = cJSON_GetObjectItemCaseSensitive(v, pass ? member2 : member);
            if (cJSON_IsString(v) && strcasecmp(v->valuestring, s) == 0) {
                if ((rc = sim_device_enter(d, name)) != NVML_SUCCESS)
                    return rc;
                *device = (nvmlDevice_t)d;
                return NVML_SUCCESS;
            }
        }
    }
    return NVML_ERROR_NOT_FOUND;
}

nvmlReturn_t
nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device)
{
    return find_device("nvmlDeviceGetHandleByUUID", "nvmlDeviceGetUUID", NULL, NULL, uuid, device);
}

nvmlReturn_t
nvmlDeviceGetHandleBySerial(const char *serial, nvmlDevice_t *device)
{
    return find_device("nvmlDeviceGetHandleBySerial", "nvmlDeviceGetSerial", NULL, NULL, serial, device);
}

static nvmlReturn_t
handle_by_pci_bus_id(const char *name, const char *pciBusId, nvmlDevice_t *device)
{
    /* the short form, 0000:00:06.0 (busIdLegacy), works too */
    return find_device(name, "nvmlDeviceGetPciInfo_v3", "busId", "busIdLegacy", pciBusId, device);
}

nvmlReturn_t
nvmlDeviceGetHandleByPciBusId_v2(const char *pciBusId, nvmlDevice_t *device)
{
    return handle_by_pci_bus_id("nvmlDeviceGetHandleByPciBusId_v2", pciBusId, device);
}

nvmlReturn_t
nvmlDeviceGetHandleByPciBusId(const char *pciBusId, nvmlDevice_t *device)
{
    return handle_by_pci_bus_id("nvmlDeviceGetHandleByPciBusId", pciBusId, device);
}

nvmlReturn_t
nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index)
{
    if (!sim_initialized())
        return NVML_ERROR_UNINITIALIZED;
    sim_device *d = sim_device_of(device);
    if (d == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    nvmlReturn_t rc = sim_device_enter(d, "nvmlDeviceGetIndex");
    if (rc != NVML_SUCCESS)
        return rc;
    if (index == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    *index = d->index;
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlSystemGetProcessName(unsigned int pid, char *name, unsigned int length)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlSystemGetProcessName");
    if (rc != NVML_SUCCESS)
        return rc;
    if (name == NULL || length == 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (sim_key_u64(&c, pid) != NVML_SUCCESS)
        return NVML_ERROR_NOT_FOUND;
    return sim_out_chars(&c, 0, 1, name, length);
}

/* Field values: the device's "nvmlDeviceGetFieldValues" object maps a field id (or
 * "id:scope") to {"valueType": T, "value": V} or {"error": ...}; an id it lacks is
 * NOT_SUPPORTED in that entry's nvmlReturn, as on a real GPU. */
nvmlReturn_t
nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetFieldValues", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (valuesCount < 0 || (valuesCount > 0 && values == NULL))
        return NVML_ERROR_INVALID_ARGUMENT;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    for (int i = 0; i < valuesCount; i++) {
        nvmlFieldValue_t *v = &values[i];
        char key[32];
        snprintf(key, sizeof key, "%u:%u", v->fieldId, v->scopeId);
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(c.value, key);
        if (e == NULL) {
            snprintf(key, sizeof key, "%u", v->fieldId);
            e = cJSON_GetObjectItemCaseSensitive(c.value, key);
        }
        v->timestamp = (long long)tv.tv_sec * 1000000 + tv.tv_usec;
        v->latencyUsec = 0;
        memset(&v->value, 0, sizeof v->value);
        if (e == NULL) {
            v->nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
            continue;
        }
        v->nvmlReturn = sim_error_of(e);
        if (v->nvmlReturn != NVML_SUCCESS)
            continue;
        unsigned int type = 0;
        sim_get_u32(cJSON_GetObjectItemCaseSensitive(e, "valueType"), &type);
        v->valueType = type;
        const cJSON *val = cJSON_GetObjectItemCaseSensitive(e, "value");
        switch (type) {
        case NVML_VALUE_TYPE_DOUBLE: sim_get_f64(val, &v->value.dVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_INT: sim_get_u32(val, &v->value.uiVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_LONG: sim_get_ulong(val, &v->value.ulVal); break;
        case NVML_VALUE_TYPE_SIGNED_LONG_LONG: sim_get_i64(val, &v->value.sllVal); break;
        case NVML_VALUE_TYPE_SIGNED_INT: sim_get_i32(val, &v->value.siVal); break;
        case NVML_VALUE_TYPE_UNSIGNED_SHORT: sim_get_u16(val, &v->value.usVal); break;
        default: sim_get_u64(val, &v->value.ullVal); break;
        }
    }
    return NVML_SUCCESS;
}
