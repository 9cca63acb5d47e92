/* A "null" NVML for bench/run.py --null: the nine timed entry points (plus what
 * initialization and the report's header call) return fixed values at once, so that
 * `ours - raw C` is the binding's own cost and nothing else: no simulator look-up, no
 * driver, no cache pollution by either.  Built by run.py:
 *     cc -O2 -shared -fPIC -Iinclude bench/null_nvml.c -o build/bench/libnull_nvml.so
 * Not a simulator: every other entry point is absent (NVMLError_FunctionNotFound).
 */
#include <stdio.h>
#include <string.h>

#include "nvml_decls.h"

#define EXPORT __attribute__((visibility("default")))

static struct nvmlDevice_st { int unused; } the_device;   /* what the handle points to */

static nvmlReturn_t
copy_str(char *dst, unsigned int len, const char *src)
{
    if (dst == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > len)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dst, src, strlen(src) + 1);
    return NVML_SUCCESS;
}

#define CHECK_DEVICE(h, out) \
    if ((h) != &the_device) return NVML_ERROR_INVALID_ARGUMENT; \
    if ((out) == NULL) return NVML_ERROR_INVALID_ARGUMENT

EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) { (void)flags; return NVML_SUCCESS; }
EXPORT nvmlReturn_t nvmlInit_v2(void) { return NVML_SUCCESS; }
EXPORT nvmlReturn_t nvmlInit(void) { return NVML_SUCCESS; }
EXPORT nvmlReturn_t nvmlShutdown(void) { return NVML_SUCCESS; }
EXPORT const char *nvmlErrorString(nvmlReturn_t r) { return r == NVML_SUCCESS ? "Success" : "Null NVML error"; }

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n) { return copy_str(v, n, "0.0 (null NVML)"); }
EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *v, unsigned int n) { return copy_str(v, n, "0.0 (null NVML)"); }

EXPORT nvmlReturn_t
nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (count == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    *count = 1;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (device == NULL || index != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *device = &the_device;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetName(nvmlDevice_t h, char *name, unsigned int len)
{
    if (h != &the_device)
        return NVML_ERROR_INVALID_ARGUMENT;
    return copy_str(name, len, "NVIDIA H100 80GB HBM3 (null NVML)");
}

EXPORT nvmlReturn_t
nvmlDeviceGetMemoryInfo(nvmlDevice_t h, nvmlMemory_t *m)
{
    CHECK_DEVICE(h, m);
    m->total = 85520809984ull;
    m->free = 84952416256ull;
    m->used = 568393728ull;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetTemperature(nvmlDevice_t h, unsigned int sensor, unsigned int *t)
{
    CHECK_DEVICE(h, t);
    if (sensor != 0)
        return NVML_ERROR_INVALID_ARGUMENT;
    *t = 31;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetUtilizationRates(nvmlDevice_t h, nvmlUtilization_t *u)
{
    CHECK_DEVICE(h, u);
    u->gpu = 0;
    u->memory = 0;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetPowerUsage(nvmlDevice_t h, unsigned int *p)
{
    CHECK_DEVICE(h, p);
    *p = 69522;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetClockInfo(nvmlDevice_t h, unsigned int type, unsigned int *c)
{
    CHECK_DEVICE(h, c);
    *c = type == 0 ? 345 : 1593;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t
nvmlDeviceGetPciInfo_v3(nvmlDevice_t h, nvmlPciInfo_t *p)
{
    CHECK_DEVICE(h, p);
    memset(p, 0, sizeof *p);
    snprintf(p->busIdLegacy, sizeof p->busIdLegacy, "0000:00:06.0");
    snprintf(p->busId, sizeof p->busId, "00000000:00:06.0");
    p->bus = 0;
    p->device = 6;
    p->pciDeviceId = 0x233010DE;
    p->pciSubSystemId = 0x16C110DE;
    return NVML_SUCCESS;
}
