/* The nvidia-smi query engine behind pynvml.smi.
 *
 * One table (items[] below) says, for every field that `nvidia-smi --query-gpu` accepts
 * and for every element of `nvidia-smi -q -x`, which NVML call(s) give its value
 * (`src`), how the value is written (`fmt`: csv text with and without units, the XML
 * text, a Python value for the dict API), its names, its unit, and where it goes in the
 * XML document and in pynvml.smi's nested dict.  The Python layer (src/pynvml/smi.py)
 * only picks items by name and lays the answers out.
 *
 * A query runs in two phases per device.  Planning gathers the distinct NVML calls the
 * chosen items need (a call is a `kind` and an argument: nvmlDeviceGetMemoryInfo once,
 * however many of memory.used/free/total/reserved are asked; nvmlDeviceGetClockInfo
 * once per clock type; every NVML_FI_* field in one nvmlDeviceGetFieldValues call).
 * Fetching makes those calls with the GIL released and keeps each answer and its
 * nvmlReturn_t.  Rendering then turns answers into text or Python values with the GIL.
 *
 * NVML is reached through the module's loader: entry points declared in the spec go
 * through pn_state.syms, the others (not yet in spec/functions.nvml) through dlsym on
 * the same library handle.  A missing entry point reads as NVML_ERROR_FUNCTION_NOT_FOUND
 * and is shown as nvidia-smi shows an unsupported value.
 *
 * Python interface (module-private, used by pynvml.smi):
 *   _smi_items()                     -> tuple of per-item metadata tuples (see smi_items)
 *   _smi_query(items, devices, mode) -> (global values, [values per device])
 *       mode 0: csv text, 1: csv text without units, 2: XML text, 3: Python values
 */
#include "pynvml.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

extern const char *const pn_sym_names[PN_NSYMS];

/* ------------------------------------------------------------------------------------
 * Entry points.  Structs that the spec does not declare yet are declared here, laid
 * out as in nvml.h of CUDA 13.0 (sizes checked below against the reference ABI).
 * ---------------------------------------------------------------------------------- */

typedef struct { unsigned int version, domain, bus, device, pciDeviceId, pciSubSystemId, baseClass, subClass;
                 char busId[32]; } smi_pciext_t;
typedef struct { unsigned int version, value; } smi_verval_t;        /* addressing mode, margin temp, dram enc... */
typedef struct { unsigned int version; unsigned long long aggregateUncParity, aggregateUncSecDed, aggregateCor,
                 volatileUncParity, volatileUncSecDed, volatileCor, aggregateUncBucketL2, aggregateUncBucketSm,
                 aggregateUncBucketPcie, aggregateUncBucketMcu, aggregateUncBucketOther;
                 unsigned int bThresholdExceeded; } smi_sram_t;
typedef struct { unsigned int max, high, partial, low, none; } smi_rowhist_t;
typedef struct { unsigned int version; unsigned char clusterUuid[16]; nvmlReturn_t status; unsigned int cliqueId;
                 unsigned char state; unsigned int healthMask; unsigned char healthSummary; } smi_fabric_t;
typedef struct { unsigned int version; unsigned char ibGuid[16]; unsigned char chassisSerialNumber[16];
                 unsigned char slotNumber, trayIndex, hostId, peerType, moduleId; } smi_platform_t;
typedef struct { unsigned int version; unsigned long long value; } smi_pdi_t;
typedef struct { unsigned int version, channel, tpc; } smi_repair_t;
typedef struct { unsigned int sessionsCount, averageFPS, averageLatency; } smi_fbc_t;
typedef struct { unsigned int type, fwVersion; } smi_bridge_info_t;
typedef struct { unsigned char bridgeCount; smi_bridge_info_t info[128]; } smi_bridge_t;
typedef struct { unsigned int version; unsigned int perf[8], requested[8], enforced[8]; } smi_workload_t;
typedef struct { unsigned int gpuUtilization, memoryUtilization; unsigned long long maxMemoryUsage, time, startTime;
                 unsigned int isRunning, reserved[5]; } smi_acct_t;
typedef struct { unsigned int corrActive, corrInactive, uncActive, uncInactive, pending, failure; } smi_remap2_t;

_Static_assert(sizeof(smi_pciext_t) == 64, "nvmlPciInfoExt_v1_t");
_Static_assert(sizeof(smi_sram_t) == 104, "nvmlEccSramErrorStatus_v1_t");
_Static_assert(sizeof(smi_fabric_t) == 40, "nvmlGpuFabricInfo_v3_t");
_Static_assert(offsetof(smi_fabric_t, healthSummary) == 36, "nvmlGpuFabricInfo_v3_t");
_Static_assert(sizeof(smi_platform_t) == 44, "nvmlPlatformInfo_v2_t");
_Static_assert(offsetof(smi_platform_t, moduleId) == 40, "nvmlPlatformInfo_v2_t");
_Static_assert(sizeof(smi_pdi_t) == 16, "nvmlPdi_v1_t");
_Static_assert(sizeof(smi_bridge_t) == 1028, "nvmlBridgeChipHierarchy_t");
_Static_assert(sizeof(smi_workload_t) == 100, "nvmlWorkloadPowerProfileCurrentProfiles_v1_t");
_Static_assert(sizeof(smi_acct_t) == 56, "nvmlAccountingStats_t");

#define VER(type, v) ((unsigned int)(sizeof(type) | ((v) << 24)))

/* Every entry point the engine calls, by name.  `idx` is the spec's PN_SYM_* index + 1
 * (found on first use; -1: not in the spec, then `ptr` caches dlsym for `lib`). */
typedef struct {
    const char *name;
    int idx;
    void *lib;
    void *ptr;
} smi_sym;

enum {
    SY_DrvVer, SY_CudaVer, SY_Count, SY_Handle, SY_VgpuDrvCap,
    /* (dev, char *, unsigned int) */
    SY_Name, SY_Serial, SY_UUID, SY_Vbios, SY_BoardPart, SY_InforomImg,
    /* (dev, unsigned int *) */
    SY_Index, SY_Minor, SY_PcieGenCur, SY_PcieGenMax, SY_PcieGenGpuMax, SY_PcieWidthCur, SY_PcieWidthMax,
    SY_DisplayMode, SY_DisplayActive, SY_Persistence, SY_ComputeMode, SY_Fan, SY_Pstate, SY_PowerState,
    SY_PowerUsage, SY_PowerMgmt, SY_PowerLimit, SY_PowerDefault, SY_PowerEnforced, SY_BoardId, SY_MultiGpu,
    SY_Brand, SY_Arch, SY_Replay, SY_AcctMode, SY_AcctBuf, SY_ModuleId, SY_HostVgpu, SY_Virt,
    SY_RetiredPending,
    /* (dev, unsigned int *, unsigned int *) */
    SY_Ecc, SY_Mig, SY_Gom, SY_DrvModel, SY_Gsp, SY_AutoBoost, SY_PowerConstraints, SY_CudaCap,
    SY_EncUtil, SY_DecUtil, SY_JpgUtil, SY_OfaUtil,
    SY_EncStats, SY_Remap,
    /* (dev, unsigned int, unsigned int *) */
    SY_ClockInfo, SY_MaxClock, SY_AppClock, SY_DefAppClock, SY_BoostClock, SY_Temp, SY_TempThresh,
    SY_PcieTput, SY_VgpuCap,
    /* (dev, unsigned long long *) */
    SY_EvtCur, SY_EvtSup,
    /* the rest */
    SY_Inforom, SY_GspVer, SY_MemErr, SY_TotalEcc, SY_Pci, SY_PciExt, SY_Mem2, SY_Mem, SY_Bar1, SY_ProtMem,
    SY_Util, SY_FV, SY_Margin, SY_AddrMode, SY_DramEnc, SY_Sram, SY_RowHist, SY_C2c, SY_Fabric, SY_Platform,
    SY_Hostname, SY_Pdi, SY_Repair, SY_Unrepair, SY_Fbc, SY_Bridge, SY_Bbx, SY_Caps, SY_Workload, SY_Retired,
    SY_Validate, SY_SupMem, SY_SupGr, SY_Procs, SY_GProcs, SY_ProcName, SY_AcctPids, SY_AcctStats, SY_Remap2,
    SY_VgpuHetero,
    SY_N
};

static smi_sym syms[SY_N] = {
    [SY_DrvVer] = {"nvmlSystemGetDriverVersion"}, [SY_CudaVer] = {"nvmlSystemGetCudaDriverVersion"},
    [SY_Count] = {"nvmlDeviceGetCount_v2"}, [SY_Handle] = {"nvmlDeviceGetHandleByIndex_v2"},
    [SY_VgpuDrvCap] = {"nvmlGetVgpuDriverCapabilities"},
    [SY_Name] = {"nvmlDeviceGetName"}, [SY_Serial] = {"nvmlDeviceGetSerial"}, [SY_UUID] = {"nvmlDeviceGetUUID"},
    [SY_Vbios] = {"nvmlDeviceGetVbiosVersion"}, [SY_BoardPart] = {"nvmlDeviceGetBoardPartNumber"},
    [SY_InforomImg] = {"nvmlDeviceGetInforomImageVersion"},
    [SY_Index] = {"nvmlDeviceGetIndex"}, [SY_Minor] = {"nvmlDeviceGetMinorNumber"},
    [SY_PcieGenCur] = {"nvmlDeviceGetCurrPcieLinkGeneration"},
    [SY_PcieGenMax] = {"nvmlDeviceGetMaxPcieLinkGeneration"},
    [SY_PcieGenGpuMax] = {"nvmlDeviceGetGpuMaxPcieLinkGeneration"},
    [SY_PcieWidthCur] = {"nvmlDeviceGetCurrPcieLinkWidth"}, [SY_PcieWidthMax] = {"nvmlDeviceGetMaxPcieLinkWidth"},
    [SY_DisplayMode] = {"nvmlDeviceGetDisplayMode"}, [SY_DisplayActive] = {"nvmlDeviceGetDisplayActive"},
    [SY_Persistence] = {"nvmlDeviceGetPersistenceMode"}, [SY_ComputeMode] = {"nvmlDeviceGetComputeMode"},
    [SY_Fan] = {"nvmlDeviceGetFanSpeed"}, [SY_Pstate] = {"nvmlDeviceGetPerformanceState"},
    [SY_PowerState] = {"nvmlDeviceGetPowerState"}, [SY_PowerUsage] = {"nvmlDeviceGetPowerUsage"},
    [SY_PowerMgmt] = {"nvmlDeviceGetPowerManagementMode"}, [SY_PowerLimit] = {"nvmlDeviceGetPowerManagementLimit"},
    [SY_PowerDefault] = {"nvmlDeviceGetPowerManagementDefaultLimit"},
    [SY_PowerEnforced] = {"nvmlDeviceGetEnforcedPowerLimit"}, [SY_BoardId] = {"nvmlDeviceGetBoardId"},
    [SY_MultiGpu] = {"nvmlDeviceGetMultiGpuBoard"}, [SY_Brand] = {"nvmlDeviceGetBrand"},
    [SY_Arch] = {"nvmlDeviceGetArchitecture"}, [SY_Replay] = {"nvmlDeviceGetPcieReplayCounter"},
    [SY_AcctMode] = {"nvmlDeviceGetAccountingMode"}, [SY_AcctBuf] = {"nvmlDeviceGetAccountingBufferSize"},
    [SY_ModuleId] = {"nvmlDeviceGetModuleId"}, [SY_HostVgpu] = {"nvmlDeviceGetHostVgpuMode"},
    [SY_Virt] = {"nvmlDeviceGetVirtualizationMode"}, [SY_RetiredPending] = {"nvmlDeviceGetRetiredPagesPendingStatus"},
    [SY_Ecc] = {"nvmlDeviceGetEccMode"}, [SY_Mig] = {"nvmlDeviceGetMigMode"},
    [SY_Gom] = {"nvmlDeviceGetGpuOperationMode"}, [SY_DrvModel] = {"nvmlDeviceGetDriverModel_v2"},
    [SY_Gsp] = {"nvmlDeviceGetGspFirmwareMode"}, [SY_AutoBoost] = {"nvmlDeviceGetAutoBoostedClocksEnabled"},
    [SY_PowerConstraints] = {"nvmlDeviceGetPowerManagementLimitConstraints"},
    [SY_CudaCap] = {"nvmlDeviceGetCudaComputeCapability"},
    [SY_EncUtil] = {"nvmlDeviceGetEncoderUtilization"}, [SY_DecUtil] = {"nvmlDeviceGetDecoderUtilization"},
    [SY_JpgUtil] = {"nvmlDeviceGetJpgUtilization"}, [SY_OfaUtil] = {"nvmlDeviceGetOfaUtilization"},
    [SY_EncStats] = {"nvmlDeviceGetEncoderStats"}, [SY_Remap] = {"nvmlDeviceGetRemappedRows"},
    [SY_ClockInfo] = {"nvmlDeviceGetClockInfo"}, [SY_MaxClock] = {"nvmlDeviceGetMaxClockInfo"},
    [SY_AppClock] = {"nvmlDeviceGetApplicationsClock"}, [SY_DefAppClock] = {"nvmlDeviceGetDefaultApplicationsClock"},
    [SY_BoostClock] = {"nvmlDeviceGetMaxCustomerBoostClock"}, [SY_Temp] = {"nvmlDeviceGetTemperature"},
    [SY_TempThresh] = {"nvmlDeviceGetTemperatureThreshold"}, [SY_PcieTput] = {"nvmlDeviceGetPcieThroughput"},
    [SY_VgpuCap] = {"nvmlDeviceGetVgpuCapabilities"},
    [SY_EvtCur] = {"nvmlDeviceGetCurrentClocksEventReasons"}, [SY_EvtSup] = {"nvmlDeviceGetSupportedClocksEventReasons"},
    [SY_Inforom] = {"nvmlDeviceGetInforomVersion"}, [SY_GspVer] = {"nvmlDeviceGetGspFirmwareVersion"},
    [SY_MemErr] = {"nvmlDeviceGetMemoryErrorCounter"}, [SY_TotalEcc] = {"nvmlDeviceGetTotalEccErrors"},
    [SY_Pci] = {"nvmlDeviceGetPciInfo_v3"}, [SY_PciExt] = {"nvmlDeviceGetPciInfoExt"},
    [SY_Mem2] = {"nvmlDeviceGetMemoryInfo_v2"}, [SY_Mem] = {"nvmlDeviceGetMemoryInfo"},
    [SY_Bar1] = {"nvmlDeviceGetBAR1MemoryInfo"}, [SY_ProtMem] = {"nvmlDeviceGetConfComputeProtectedMemoryUsage"},
    [SY_Util] = {"nvmlDeviceGetUtilizationRates"}, [SY_FV] = {"nvmlDeviceGetFieldValues"},
    [SY_Margin] = {"nvmlDeviceGetMarginTemperature"}, [SY_AddrMode] = {"nvmlDeviceGetAddressingMode"},
    [SY_DramEnc] = {"nvmlDeviceGetDramEncryptionMode"}, [SY_Sram] = {"nvmlDeviceGetSramEccErrorStatus"},
    [SY_RowHist] = {"nvmlDeviceGetRowRemapperHistogram"}, [SY_C2c] = {"nvmlDeviceGetC2cModeInfoV"},
    [SY_Fabric] = {"nvmlDeviceGetGpuFabricInfoV"}, [SY_Platform] = {"nvmlDeviceGetPlatformInfo"},
    [SY_Hostname] = {"nvmlDeviceGetHostname_v1"}, [SY_Pdi] = {"nvmlDeviceGetPdi"},
    [SY_Repair] = {"nvmlDeviceGetRepairStatus"}, [SY_Unrepair] = {"nvmlDeviceGetUnrepairableMemoryFlag_v1"},
    [SY_Fbc] = {"nvmlDeviceGetFBCStats"}, [SY_Bridge] = {"nvmlDeviceGetBridgeChipInfo"},
    [SY_Bbx] = {"nvmlDeviceGetLastBBXFlushTime"}, [SY_Caps] = {"nvmlDeviceGetCapabilities"},
    [SY_Workload] = {"nvmlDeviceWorkloadPowerProfileGetCurrentProfiles"}, [SY_Retired] = {"nvmlDeviceGetRetiredPages"},
    [SY_Validate] = {"nvmlDeviceValidateInforom"}, [SY_SupMem] = {"nvmlDeviceGetSupportedMemoryClocks"},
    [SY_SupGr] = {"nvmlDeviceGetSupportedGraphicsClocks"}, [SY_Procs] = {"nvmlDeviceGetComputeRunningProcesses_v3"},
    [SY_GProcs] = {"nvmlDeviceGetGraphicsRunningProcesses_v3"}, [SY_ProcName] = {"nvmlSystemGetProcessName"},
    [SY_AcctPids] = {"nvmlDeviceGetAccountingPids"}, [SY_AcctStats] = {"nvmlDeviceGetAccountingStats"},
    [SY_Remap2] = {"nvmlDeviceGetRemappedRows_v2"}, [SY_VgpuHetero] = {"nvmlDeviceGetVgpuHeterogeneousMode"},
};

/* The last entry point this thread looked up: run_device's per-call timing names a
 * fetch by it (bench/smi_bench.py's breakdown). */
static _Thread_local int last_sym = -1;

/* May run without the GIL: every shared word written here is written whole. */
static void *
getsym(pn_state *st, int s)
{
    smi_sym *e = &syms[s];
    last_sym = s;
    void *lib = st->lib;
    if (lib == NULL)
        return NULL;
    int idx = __atomic_load_n(&e->idx, __ATOMIC_ACQUIRE);
    if (idx == 0) {
        idx = -1;
        for (int i = 0; i < PN_NSYMS; i++)
            if (strcmp(pn_sym_names[i], e->name) == 0) {
                idx = i + 1;
                break;
            }
        __atomic_store_n(&e->idx, idx, __ATOMIC_RELEASE);
    }
    if (idx > 0) {
        void *p = __atomic_load_n(&st->syms[idx - 1], __ATOMIC_ACQUIRE);
        if (p == NULL) {
            p = dlsym(lib, e->name);
            if (p != NULL)
                __atomic_store_n(&st->syms[idx - 1], p, __ATOMIC_RELEASE);
        }
        return p;
    }
    if (__atomic_load_n(&e->lib, __ATOMIC_ACQUIRE) != lib) {
        __atomic_store_n(&e->ptr, dlsym(lib, e->name), __ATOMIC_RELEASE);
        __atomic_store_n(&e->lib, lib, __ATOMIC_RELEASE);
    }
    return __atomic_load_n(&e->ptr, __ATOMIC_ACQUIRE);
}

typedef nvmlReturn_t (*fn_str)(nvmlDevice_t, char *, unsigned int);
typedef nvmlReturn_t (*fn_u32)(nvmlDevice_t, unsigned int *);
typedef nvmlReturn_t (*fn_u32x2)(nvmlDevice_t, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_u32x3)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_u32x4)(nvmlDevice_t, unsigned int *, unsigned int *, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_u32a)(nvmlDevice_t, unsigned int, unsigned int *);
typedef nvmlReturn_t (*fn_u64)(nvmlDevice_t, unsigned long long *);
typedef nvmlReturn_t (*fn_ptr)(nvmlDevice_t, void *);
typedef nvmlReturn_t (*fn_ptr2)(nvmlDevice_t, void *, void *);
typedef nvmlReturn_t (*fn_dev)(nvmlDevice_t);
typedef nvmlReturn_t (*fn_inforom)(nvmlDevice_t, unsigned int, char *, unsigned int);
typedef nvmlReturn_t (*fn_gspver)(nvmlDevice_t, char *);
typedef nvmlReturn_t (*fn_memerr)(nvmlDevice_t, unsigned int, unsigned int, unsigned int, unsigned long long *);
typedef nvmlReturn_t (*fn_totalecc)(nvmlDevice_t, unsigned int, unsigned int, unsigned long long *);
typedef nvmlReturn_t (*fn_fv)(nvmlDevice_t, int, nvmlFieldValue_t *);
typedef nvmlReturn_t (*fn_bbx)(nvmlDevice_t, unsigned long long *, unsigned long *);
typedef nvmlReturn_t (*fn_retired)(nvmlDevice_t, unsigned int, unsigned int *, unsigned long long *);
typedef nvmlReturn_t (*fn_list)(nvmlDevice_t, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_grlist)(nvmlDevice_t, unsigned int, unsigned int *, unsigned int *);
typedef nvmlReturn_t (*fn_procs)(nvmlDevice_t, unsigned int *, nvmlProcessInfo_t *);
typedef nvmlReturn_t (*fn_procname)(unsigned int, char *, unsigned int);
typedef nvmlReturn_t (*fn_acct)(nvmlDevice_t, unsigned int, smi_acct_t *);
typedef nvmlReturn_t (*fn_sysstr)(char *, unsigned int);
typedef nvmlReturn_t (*fn_sysint)(int *);
typedef nvmlReturn_t (*fn_count)(unsigned int *);
typedef nvmlReturn_t (*fn_handle)(unsigned int, nvmlDevice_t *);
typedef nvmlReturn_t (*fn_drvcap)(unsigned int, unsigned int *);

/* ------------------------------------------------------------------------------------
 * Fetches: one NVML call (kind, arg) and what it answered.
 * ---------------------------------------------------------------------------------- */

enum {
    K_NONE, K_TIME, K_DRVVER, K_CUDAVER, K_COUNT, K_VGPUDRV,
    K_STR,      /* arg: SY_*, (dev, char *, len) */
    K_U32,      /* arg: SY_*, (dev, unsigned int *) */
    K_U32X2,    /* arg: SY_* */
    K_U32X3, K_U32X4,
    K_U32A,     /* arg: SY_* << 8 | argument */
    K_U64,      /* arg: SY_* */
    K_INFOROM,  /* arg: object */
    K_GSPVER, K_MEMERR /* arg: type << 8 | counter << 4 | location */, K_TOTALECC /* type << 4 | counter */,
    K_PCI, K_PCIEXT, K_MEM, K_BAR1, K_PROTMEM, K_UTIL,
    K_FV,       /* arg: field id | scope << 16 */
    K_MARGIN, K_ADDRMODE, K_DRAMENC, K_SRAM, K_ROWHIST, K_C2C, K_FABRIC, K_PLATFORM, K_HOSTNAME, K_PDI,
    K_REPAIR, K_UNREPAIR, K_FBC, K_BRIDGE, K_BBX, K_CAPS, K_WORKLOAD, K_RETIRED /* arg: cause */,
    K_VALIDATE, K_SUPCLK, K_PROCS, K_ACCT, K_REMAP2, K_VGPUHETERO,
    K_DEPRECATED,   /* no call: NVML_ERROR_DEPRECATED */
    K_NA,           /* no call: not available through NVML */
};

typedef struct {
    unsigned short kind;
    unsigned int arg;
    int rc;
    unsigned long long v[12];
    double d;
    char s[128];
    void *blob;         /* lists: malloc'ed, freed with the device context */
    unsigned int n;
    long long ns;       /* how long the fetch took, when the query is timed per call */
    int sym;            /* the last entry point it looked up (-1: none) */
} fetch_t;

typedef struct {
    nvmlDevice_t dev;
    int rc;             /* getting the handle */
    fetch_t *f;
    unsigned int nf, cap;
    long long fv_ns;    /* how long the field-values batch took, when timed */
} devctx;

static fetch_t *
find(devctx *dc, unsigned short kind, unsigned int arg)
{
    for (unsigned int i = 0; i < dc->nf; i++)
        if (dc->f[i].kind == kind && dc->f[i].arg == arg)
            return &dc->f[i];
    return NULL;
}

static int
need(devctx *dc, unsigned short kind, unsigned int arg)
{
    if (kind == K_NONE || find(dc, kind, arg) != NULL)
        return 0;
    if (dc->nf == dc->cap) {
        unsigned int cap = dc->cap ? dc->cap * 2 : 64;
        fetch_t *nf = realloc(dc->f, cap * sizeof *nf);
        if (nf == NULL)
            return -1;
        dc->f = nf;
        dc->cap = cap;
    }
    fetch_t *f = &dc->f[dc->nf++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->arg = arg;
    f->rc = NVML_ERROR_UNKNOWN;
    return 0;
}

static void
devctx_free(devctx *dc)
{
    for (unsigned int i = 0; i < dc->nf; i++)
        free(dc->f[i].blob);
    free(dc->f);
    dc->f = NULL;
    dc->nf = dc->cap = 0;
}

#define CALL(TYPE, S, ...)                                   \
    do {                                                     \
        TYPE fn_ = (TYPE)getsym(st, (S));                    \
        f->rc = fn_ ? fn_(__VA_ARGS__) : NVML_ERROR_FUNCTION_NOT_FOUND; \
    } while (0)

static unsigned long long
fv_integer(const nvmlFieldValue_t *v, double *d)
{
    *d = 0;
    switch (v->valueType) {
    case NVML_VALUE_TYPE_DOUBLE: *d = v->value.dVal; return (unsigned long long)(v->value.dVal < 0 ? 0 : v->value.dVal);
    case NVML_VALUE_TYPE_UNSIGNED_INT: *d = v->value.uiVal; return v->value.uiVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG: *d = (double)v->value.ulVal; return v->value.ulVal;
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG: *d = (double)v->value.sllVal; return (unsigned long long)v->value.sllVal;
    case NVML_VALUE_TYPE_SIGNED_INT: *d = v->value.siVal; return (unsigned long long)(long long)v->value.siVal;
    case NVML_VALUE_TYPE_UNSIGNED_SHORT: *d = v->value.usVal; return v->value.usVal;
    default: *d = (double)v->value.ullVal; return v->value.ullVal;
    }
}

/* Lists keep their items in a malloc'ed array of unsigned long long:
 *   K_SUPCLK:  [nmem, then per memory clock: mhz, rc, ngr, gr...]
 *   K_RETIRED: [addresses...] (n of them)
 *   K_PROCS:   [pid, used bytes (or ~0), gi, ci, type] * n, names in a parallel char[n][64] after them
 *   K_ACCT:    [pid, rc, gpuUtil, memUtil, maxMem, time, isRunning] * n */
#define PROC_W 5
#define ACCT_W 7

static void
fetch_supclk(pn_state *st, nvmlDevice_t dev, fetch_t *f)
{
    fn_list mem = (fn_list)getsym(st, SY_SupMem);
    fn_grlist gr = (fn_grlist)getsym(st, SY_SupGr);
    if (mem == NULL || gr == NULL) {
        f->rc = NVML_ERROR_FUNCTION_NOT_FOUND;
        return;
    }
    unsigned int clocks[64], n = 64;
    f->rc = mem(dev, &n, clocks);
    if (f->rc != NVML_SUCCESS)
        return;
    size_t cap = 1 + (size_t)n * (3 + 512);
    unsigned long long *out = calloc(cap, sizeof *out);
    if (out == NULL) {
        f->rc = NVML_ERROR_MEMORY;
        return;
    }
    size_t k = 0;
    out[k++] = n;
    for (unsigned int i = 0; i < n; i++) {
        unsigned int g[512], ng = 512;
        nvmlReturn_t rc = gr(dev, clocks[i], &ng, g);
        out[k++] = clocks[i];
        out[k++] = (unsigned long long)rc;
        if (rc != NVML_SUCCESS)
            ng = 0;
        out[k++] = ng;
        for (unsigned int j = 0; j < ng; j++)
            out[k++] = g[j];
    }
    f->blob = out;
    f->n = (unsigned int)k;
}

static void
fetch_procs(pn_state *st, nvmlDevice_t dev, fetch_t *f)
{
    fn_procs c = (fn_procs)getsym(st, SY_Procs), g = (fn_procs)getsym(st, SY_GProcs);
    fn_procname pname = (fn_procname)getsym(st, SY_ProcName);
    if (c == NULL) {
        f->rc = NVML_ERROR_FUNCTION_NOT_FOUND;
        return;
    }
    nvmlProcessInfo_t cp[64], gp[64];
    unsigned int nc = 64, ng = 64;
    f->rc = c(dev, &nc, cp);
    if (f->rc != NVML_SUCCESS)
        return;
    if (g == NULL || g(dev, &ng, gp) != NVML_SUCCESS)
        ng = 0;
    unsigned int n = nc + ng;
    if (n == 0)
        return;
    unsigned long long *out = calloc((size_t)n * PROC_W + (size_t)n * 64 / sizeof(unsigned long long) + 1, sizeof *out);
    if (out == NULL) {
        f->rc = NVML_ERROR_MEMORY;
        return;
    }
    char *names = (char *)(out + (size_t)n * PROC_W);
    unsigned int k = 0;
    for (unsigned int i = 0; i < nc + ng; i++) {
        const nvmlProcessInfo_t *p = i < nc ? &cp[i] : &gp[i - nc];
        unsigned int type = i < nc ? 1 : 2;
        /* a process both compute and graphics shows once, as C+G */
        int merged = 0;
        for (unsigned int j = 0; j < k; j++)
            if (out[j * PROC_W] == p->pid) {
                out[j * PROC_W + 4] |= type;
                merged = 1;
            }
        if (merged)
            continue;
        unsigned long long *r = &out[k * PROC_W];
        r[0] = p->pid;
        r[1] = p->usedGpuMemory;
        r[2] = p->gpuInstanceId;
        r[3] = p->computeInstanceId;
        r[4] = type;
        if (pname == NULL || pname(p->pid, names + (size_t)k * 64, 64) != NVML_SUCCESS)
            snprintf(names + (size_t)k * 64, 64, "%s", "N/A");
        k++;
    }
    f->blob = out;
    f->n = k;
    f->v[0] = n;     /* the names start after n rows */
}

static void
fetch_acct(pn_state *st, nvmlDevice_t dev, fetch_t *f)
{
    fn_list pids = (fn_list)getsym(st, SY_AcctPids);
    fn_acct stats = (fn_acct)getsym(st, SY_AcctStats);
    if (pids == NULL || stats == NULL) {
        f->rc = NVML_ERROR_FUNCTION_NOT_FOUND;
        return;
    }
    unsigned int p[256], n = 256;
    f->rc = pids(dev, &n, p);
    if (f->rc != NVML_SUCCESS || n == 0)
        return;
    unsigned long long *out = calloc((size_t)n * ACCT_W, sizeof *out);
    if (out == NULL) {
        f->rc = NVML_ERROR_MEMORY;
        return;
    }
    for (unsigned int i = 0; i < n; i++) {
        smi_acct_t a;
        memset(&a, 0, sizeof a);
        nvmlReturn_t rc = stats(dev, p[i], &a);
        unsigned long long *r = &out[(size_t)i * ACCT_W];
        r[0] = p[i];
        r[1] = (unsigned long long)rc;
        r[2] = a.gpuUtilization;
        r[3] = a.memoryUtilization;
        r[4] = a.maxMemoryUsage;
        r[5] = a.time;
        r[6] = a.isRunning;
    }
    f->blob = out;
    f->n = n;
}

/* Runs one fetch: no Python here (the GIL is released). */
static void
run_fetch(pn_state *st, nvmlDevice_t dev, fetch_t *f)
{
    unsigned int a = 0, b = 0, c = 0, d = 0;
    unsigned long long u = 0;
    switch (f->kind) {
    case K_TIME: {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        f->v[0] = (unsigned long long)tv.tv_sec;
        f->v[1] = (unsigned long long)tv.tv_usec;
        f->rc = NVML_SUCCESS;
        break;
    }
    case K_DRVVER:
        CALL(fn_sysstr, SY_DrvVer, f->s, sizeof f->s);
        break;
    case K_CUDAVER: {
        int v = 0;
        CALL(fn_sysint, SY_CudaVer, &v);
        f->v[0] = (unsigned long long)v;
        break;
    }
    case K_COUNT:
        CALL(fn_count, SY_Count, &a);
        f->v[0] = a;
        break;
    case K_VGPUDRV:
        CALL(fn_drvcap, SY_VgpuDrvCap, f->arg, &a);
        f->v[0] = a;
        break;
    case K_STR:
        CALL(fn_str, (int)f->arg, dev, f->s, sizeof f->s);
        break;
    case K_U32:
        CALL(fn_u32, (int)f->arg, dev, &a);
        f->v[0] = a;
        break;
    case K_U32X2:
        CALL(fn_u32x2, (int)f->arg, dev, &a, &b);
        f->v[0] = a;
        f->v[1] = b;
        break;
    case K_U32X3:
        CALL(fn_u32x3, (int)f->arg, dev, &a, &b, &c);
        f->v[0] = a;
        f->v[1] = b;
        f->v[2] = c;
        break;
    case K_U32X4:
        CALL(fn_u32x4, (int)f->arg, dev, &a, &b, &c, &d);
        f->v[0] = a;
        f->v[1] = b;
        f->v[2] = c;
        f->v[3] = d;
        break;
    case K_U32A:
        CALL(fn_u32a, (int)(f->arg >> 8), dev, f->arg & 0xFF, &a);
        f->v[0] = a;
        break;
    case K_U64:
        CALL(fn_u64, (int)f->arg, dev, &u);
        f->v[0] = u;
        break;
    case K_INFOROM:
        CALL(fn_inforom, SY_Inforom, dev, f->arg, f->s, sizeof f->s);
        break;
    case K_GSPVER: {
        char buf[128] = {0};   /* NVML_GSP_FIRMWARE_VERSION_BUF_SIZE is 64 */
        CALL(fn_gspver, SY_GspVer, dev, buf);
        snprintf(f->s, sizeof f->s, "%s", buf);
        break;
    }
    case K_MEMERR:
        CALL(fn_memerr, SY_MemErr, dev, f->arg >> 8, (f->arg >> 4) & 0xF, f->arg & 0xF, &u);
        f->v[0] = u;
        break;
    case K_TOTALECC:
        CALL(fn_totalecc, SY_TotalEcc, dev, f->arg >> 4, f->arg & 0xF, &u);
        f->v[0] = u;
        break;
    case K_PCI: {
        nvmlPciInfo_t p;
        memset(&p, 0, sizeof p);
        CALL(fn_ptr, SY_Pci, dev, &p);
        f->v[0] = p.domain;
        f->v[1] = p.bus;
        f->v[2] = p.device;
        f->v[3] = p.pciDeviceId;
        f->v[4] = p.pciSubSystemId;
        snprintf(f->s, sizeof f->s, "%.*s", (int)sizeof p.busId, p.busId);
        break;
    }
    case K_PCIEXT: {
        smi_pciext_t p;
        memset(&p, 0, sizeof p);
        p.version = VER(smi_pciext_t, 1);
        CALL(fn_ptr, SY_PciExt, dev, &p);
        f->v[0] = p.baseClass;
        f->v[1] = p.subClass;
        break;
    }
    case K_MEM: {
        /* v2 has `reserved` (and `used` without it); v1 where v2 is missing */
        nvmlMemory_v2_t m2;
        memset(&m2, 0, sizeof m2);
        m2.version = VER(nvmlMemory_v2_t, 2);
        CALL(fn_ptr, SY_Mem2, dev, &m2);
        if (f->rc == NVML_SUCCESS) {
            f->v[0] = m2.total;
            f->v[1] = m2.reserved;
            f->v[2] = m2.used;
            f->v[3] = m2.free;
            f->v[4] = NVML_SUCCESS;
            break;
        }
        nvmlMemory_t m;
        memset(&m, 0, sizeof m);
        CALL(fn_ptr, SY_Mem, dev, &m);
        f->v[0] = m.total;
        f->v[2] = m.used;
        f->v[3] = m.free;
        f->v[4] = NVML_ERROR_NOT_SUPPORTED;   /* no reserved */
        break;
    }
    case K_BAR1: {
        nvmlBAR1Memory_t m;
        memset(&m, 0, sizeof m);
        CALL(fn_ptr, SY_Bar1, dev, &m);
        f->v[0] = m.bar1Total;
        f->v[1] = m.bar1Used;
        f->v[2] = m.bar1Free;
        break;
    }
    case K_PROTMEM: {
        nvmlMemory_t m;
        memset(&m, 0, sizeof m);
        CALL(fn_ptr, SY_ProtMem, dev, &m);
        f->v[0] = m.total;
        f->v[1] = m.used;
        f->v[2] = m.free;
        break;
    }
    case K_UTIL: {
        nvmlUtilization_t m;
        memset(&m, 0, sizeof m);
        CALL(fn_ptr, SY_Util, dev, &m);
        f->v[0] = m.gpu;
        f->v[1] = m.memory;
        break;
    }
    case K_MARGIN: case K_ADDRMODE: case K_VGPUHETERO: {
        smi_verval_t m = {VER(smi_verval_t, 1), 0};
        CALL(fn_ptr, f->kind == K_MARGIN ? SY_Margin : f->kind == K_ADDRMODE ? SY_AddrMode : SY_VgpuHetero, dev, &m);
        f->v[0] = m.value;
        break;
    }
    case K_UNREPAIR: {
        smi_verval_t m = {VER(smi_verval_t, 1), 0};
        CALL(fn_ptr, SY_Unrepair, dev, &m);
        f->v[0] = m.value;
        break;
    }
    case K_DRAMENC: {
        smi_verval_t cur = {VER(smi_verval_t, 1), 0}, pend = {VER(smi_verval_t, 1), 0};
        CALL(fn_ptr2, SY_DramEnc, dev, &cur, &pend);
        f->v[0] = cur.value;
        f->v[1] = pend.value;
        break;
    }
    case K_SRAM: {
        smi_sram_t m;
        memset(&m, 0, sizeof m);
        m.version = VER(smi_sram_t, 1);
        CALL(fn_ptr, SY_Sram, dev, &m);
        f->v[0] = m.aggregateUncParity;
        f->v[1] = m.aggregateUncSecDed;
        f->v[2] = m.aggregateCor;
        f->v[3] = m.volatileUncParity;
        f->v[4] = m.volatileUncSecDed;
        f->v[5] = m.volatileCor;
        f->v[6] = m.aggregateUncBucketL2;
        f->v[7] = m.aggregateUncBucketSm;
        f->v[8] = m.aggregateUncBucketPcie;
        f->v[9] = m.aggregateUncBucketMcu;
        f->v[10] = m.aggregateUncBucketOther;
        f->v[11] = m.bThresholdExceeded;
        break;
    }
    case K_ROWHIST: {
        smi_rowhist_t m;
        memset(&m, 0, sizeof m);
        CALL(fn_ptr, SY_RowHist, dev, &m);
        f->v[0] = m.max;
        f->v[1] = m.high;
        f->v[2] = m.partial;
        f->v[3] = m.low;
        f->v[4] = m.none;
        break;
    }
    case K_C2C:
        CALL(fn_u32, SY_C2c, dev, &a);   /* nvmlC2cModeInfo_v1_t is one unsigned int */
        f->v[0] = a;
        break;
    case K_FABRIC: {
        smi_fabric_t m;
        memset(&m, 0, sizeof m);
        m.version = VER(smi_fabric_t, 3);
        CALL(fn_ptr, SY_Fabric, dev, &m);
        f->v[0] = m.state;
        f->v[1] = (unsigned long long)(unsigned int)m.status;
        f->v[2] = m.cliqueId;
        f->v[3] = m.healthMask;
        f->v[4] = m.healthSummary;
        memcpy(f->s, m.clusterUuid, 16);
        break;
    }
    case K_PLATFORM: {
        smi_platform_t m;
        memset(&m, 0, sizeof m);
        m.version = VER(smi_platform_t, 2);
        CALL(fn_ptr, SY_Platform, dev, &m);
        f->v[0] = m.slotNumber;
        f->v[1] = m.trayIndex;
        f->v[2] = m.hostId;
        f->v[3] = m.peerType;
        f->v[4] = m.moduleId;
        u = 0;
        for (int i = 0; i < 8; i++)
            u = (u << 8) | m.ibGuid[i];
        f->v[5] = u;
        memcpy(f->s, m.chassisSerialNumber, 16);
        f->s[16] = '\0';
        break;
    }
    case K_HOSTNAME: {
        char buf[64] = {0};
        CALL(fn_ptr, SY_Hostname, dev, buf);
        snprintf(f->s, sizeof f->s, "%.*s", 64, buf);
        break;
    }
    case K_PDI: {
        smi_pdi_t m = {VER(smi_pdi_t, 1), 0};
        CALL(fn_ptr, SY_Pdi, dev, &m);
        f->v[0] = m.value;
        break;
    }
    case K_REPAIR: {
        smi_repair_t m = {VER(smi_repair_t, 1), 0, 0};
        CALL(fn_ptr, SY_Repair, dev, &m);
        f->v[0] = m.channel;
        f->v[1] = m.tpc;
        break;
    }
    case K_FBC: {
        smi_fbc_t m = {0, 0, 0};
        CALL(fn_ptr, SY_Fbc, dev, &m);
        f->v[0] = m.sessionsCount;
        f->v[1] = m.averageFPS;
        f->v[2] = m.averageLatency;
        break;
    }
    case K_BRIDGE: {
        smi_bridge_t *m = calloc(1, sizeof *m);
        if (m == NULL) {
            f->rc = NVML_ERROR_MEMORY;
            break;
        }
        CALL(fn_ptr, SY_Bridge, dev, m);
        f->v[0] = m->bridgeCount;
        f->v[1] = m->info[0].type;
        f->v[2] = m->info[0].fwVersion;
        free(m);
        break;
    }
    case K_BBX: {
        unsigned long dur = 0;
        CALL(fn_bbx, SY_Bbx, dev, &u, &dur);
        f->v[0] = u;
        f->v[1] = dur;
        break;
    }
    case K_CAPS: {
        smi_verval_t m = {VER(smi_verval_t, 1), 0};
        CALL(fn_ptr, SY_Caps, dev, &m);
        f->v[0] = m.value;
        break;
    }
    case K_WORKLOAD: {
        smi_workload_t m;
        memset(&m, 0, sizeof m);
        m.version = VER(smi_workload_t, 1);
        CALL(fn_ptr, SY_Workload, dev, &m);
        for (int i = 0; i < 4; i++) {
            f->v[i] = m.requested[2 * i] | ((unsigned long long)m.requested[2 * i + 1] << 32);
            f->v[4 + i] = m.enforced[2 * i] | ((unsigned long long)m.enforced[2 * i + 1] << 32);
        }
        break;
    }
    case K_RETIRED: {
        fn_retired fn = (fn_retired)getsym(st, SY_Retired);
        if (fn == NULL) {
            f->rc = NVML_ERROR_FUNCTION_NOT_FOUND;
            break;
        }
        unsigned int n = 0;
        f->rc = fn(dev, f->arg, &n, NULL);
        if (f->rc == NVML_ERROR_INSUFFICIENT_SIZE || (f->rc == NVML_SUCCESS && n > 0)) {
            unsigned long long *pages = calloc(n + 1, sizeof *pages);
            if (pages == NULL) {
                f->rc = NVML_ERROR_MEMORY;
                break;
            }
            f->rc = fn(dev, f->arg, &n, pages);
            f->blob = pages;
        }
        f->n = f->rc == NVML_SUCCESS ? n : 0;
        f->v[0] = f->n;
        break;
    }
    case K_VALIDATE:
        CALL(fn_dev, SY_Validate, dev);
        break;
    case K_SUPCLK:
        fetch_supclk(st, dev, f);
        break;
    case K_PROCS:
        fetch_procs(st, dev, f);
        break;
    case K_ACCT:
        fetch_acct(st, dev, f);
        break;
    case K_REMAP2: {
        /* nvmlDeviceGetRemappedRows_v2 (driver 580; not in CUDA 13.0's nvml.h): the
         * struct as nvidia-ml-py 13.610 lays it out, with room to spare */
        unsigned int m[16] = {0};
        CALL(fn_ptr, SY_Remap2, dev, m);
        for (int i = 0; i < 6; i++)
            f->v[i] = m[i];
        break;
    }
    case K_DEPRECATED:
        f->rc = NVML_ERROR_DEPRECATED;
        break;
    case K_NA:
        f->rc = NVML_ERROR_NOT_SUPPORTED;
        break;
    default:
        f->rc = NVML_ERROR_UNKNOWN;
    }
}

/* All of a device's fetches, NVML_FI_* fields in one nvmlDeviceGetFieldValues call. */
static long long
mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The calls NVML takes long over because it samples or checks something first
 * (nvmlDeviceGetPcieThroughput ~20 ms a direction, nvmlDeviceValidateInforom ~69 ms, on
 * an H200): each is a job of its own in the fetch phase, beside the device's other calls. */
static int
is_slow(const fetch_t *f)
{
    return f->kind == K_VALIDATE || (f->kind == K_U32A && (f->arg >> 8) == SY_PcieTput);
}

static void
run_one(pn_state *st, devctx *dc, fetch_t *f, int timed)
{
    f->sym = -1;
    if (f->kind == K_TIME || f->kind == K_DRVVER || f->kind == K_CUDAVER || f->kind == K_COUNT ||
        f->kind == K_VGPUDRV || dc->rc == NVML_SUCCESS) {
        long long t0 = timed ? mono_ns() : 0;
        last_sym = -1;
        run_fetch(st, dc->dev, f);
        if (timed) {
            f->ns = mono_ns() - t0;
            f->sym = last_sym;
        }
    } else
        f->rc = dc->rc;
}

/* timed: also note each fetch's time and entry point (f->ns, f->sym) and the batch's.
 * skip_slow: leave the slow fetches (is_slow) to jobs of their own (fetch_devices). */
static void
run_device(pn_state *st, devctx *dc, int timed, int skip_slow)
{
    unsigned int nfv = 0;
    for (unsigned int i = 0; i < dc->nf; i++) {
        fetch_t *f = &dc->f[i];
        if (skip_slow && is_slow(f))
            continue;   /* another thread's: not even f->sym is ours to write */
        if (f->kind == K_FV) {
            f->sym = -1;
            nfv++;
            continue;
        }
        run_one(st, dc, f, timed);
    }
    if (nfv == 0)
        return;
    nvmlFieldValue_t *fv = calloc(nfv, sizeof *fv);
    nvmlReturn_t rc = NVML_ERROR_MEMORY;
    fn_fv fn = (fn_fv)getsym(st, SY_FV);
    unsigned int k = 0;
    if (fv != NULL) {
        for (unsigned int i = 0; i < dc->nf; i++)
            if (dc->f[i].kind == K_FV) {
                fv[k].fieldId = dc->f[i].arg & 0xFFFF;
                fv[k].scopeId = dc->f[i].arg >> 16;
                k++;
            }
        long long t0 = timed ? mono_ns() : 0;
        rc = dc->rc != NVML_SUCCESS ? dc->rc : fn == NULL ? NVML_ERROR_FUNCTION_NOT_FOUND : fn(dc->dev, (int)nfv, fv);
        if (timed)
            dc->fv_ns = mono_ns() - t0;
    }
    k = 0;
    for (unsigned int i = 0; i < dc->nf; i++) {
        fetch_t *f = &dc->f[i];
        if (f->kind != K_FV)
            continue;
        if (rc != NVML_SUCCESS)
            f->rc = rc;
        else {
            f->rc = (int)fv[k].nvmlReturn;
            f->v[0] = fv_integer(&fv[k], &f->d);
            f->v[1] = fv[k].valueType;
        }
        k++;
    }
    free(fv);
}

/* The fetch phase of many devices (their handles already looked up): a job for each
 * device's calls but the slow ones, and one for each slow call, run by pn_run_jobs
 * (batch.c) on threads of their own, so that the devices and the slow samplers overlap.
 * No Python: the GIL is released. */
typedef struct {
    devctx *dc;
    int slow;           /* -1: the device's other calls; else the index of a slow fetch */
} fjob;

typedef struct {
    pn_state *st;
    fjob *jobs;
    int timed;
} fjobs;

static void
fetch_job(void *arg, size_t i)
{
    fjobs *J = arg;
    fjob *j = &J->jobs[i];
    if (j->slow < 0)
        run_device(J->st, j->dc, J->timed, 1);
    else
        run_one(J->st, j->dc, &j->dc->f[j->slow], J->timed);
}

/* Whether threads pay: starting one costs ~10-30 us, a slow call costs milliseconds and
 * a device's calls on a real GPU tens of microseconds each.  Without a slow call, a few
 * fetches per device stay on the calling thread (a one-field poll of two GPUs). */
#define PARALLEL_MIN_FETCHES 16

static void
fetch_devices(pn_state *st, devctx *dcs, size_t ndev, int timed)
{
    size_t nslow = 0, nfetch = 0, k = 0;
    for (size_t d = 0; d < ndev; d++) {
        nfetch += dcs[d].nf;
        for (unsigned int i = 0; i < dcs[d].nf; i++)
            nslow += is_slow(&dcs[d].f[i]);
    }
    fjob *jobs = malloc((ndev + nslow ? ndev + nslow : 1) * sizeof *jobs);
    if (jobs == NULL) {   /* no memory for the list: one device after the other */
        for (size_t d = 0; d < ndev; d++)
            run_device(st, &dcs[d], timed, 0);
        return;
    }
    /* the slow calls first: the first threads started take them */
    for (size_t d = 0; d < ndev; d++)
        for (unsigned int i = 0; i < dcs[d].nf; i++)
            if (is_slow(&dcs[d].f[i]))
                jobs[k++] = (fjob){&dcs[d], (int)i};
    for (size_t d = 0; d < ndev; d++)
        jobs[k++] = (fjob){&dcs[d], -1};
    fjobs J = {st, jobs, timed};
    pn_run_jobs(k, fetch_job, &J, k > 1 && (nslow > 0 || nfetch >= PARALLEL_MIN_FETCHES * ndev));
    free(jobs);
}

/* ------------------------------------------------------------------------------------
 * Items.
 * ---------------------------------------------------------------------------------- */

typedef struct {
    unsigned char kind;
    unsigned char slot;
    unsigned int arg;
} src_t;

typedef struct {
    const char *names;  /* csv names, the canonical one first, aliases after, space-separated */
    const char *unit;   /* csv header unit ("[MiB]") and value suffix (" MiB") */
    const char *xml;    /* XML path, '/'-separated */
    const char *xsuf;   /* XML (and dict unit) suffix when it is not " "+unit; "" for none */
    const char *dict;   /* dict path; NULL: the XML path */
    const char *dunit;  /* "key=value": the unit entry beside the value in the dict */
    unsigned char fmt, xfmt;
    unsigned short flags;
    unsigned long long param;
    src_t src[3];
    const char *help;
} smi_item;

enum {  /* flags */
    FL_GLOBAL = 1,       /* system-wide (top level of the XML and the dict) */
    FL_NOFULL = 2,       /* not an element of nvidia-smi -q -x (still in XmlDeviceQuery(filter)) */
    FL_BLOCK = 4,        /* XML text on its own line inside the element */
    FL_NAPLAIN = 8,      /* csv shows a missing value as "N/A", not "[N/A]" */
    FL_ANYNA = 16,       /* any error shows as N/A */
    FL_FALLBACK = 32,    /* src[1] stands in where src[0] fails */
    FL_GATE = 64,        /* src[2] must succeed (an NVML_FI_* value: with a non-zero integer) */
    FL_LIST = 128,       /* a list (XML children, dict list): no csv */
    FL_GATEFV = 256,     /* src[2] gate: a field value that succeeds, any value */
};

enum {  /* value formats */
    F_STR, F_U, F_I, F_MIB, F_FBMIB, F_MW, F_W, F_ENABLED, F_YESNO, F_ONOFF, F_ACTIVE, F_HEX, F_HEXN, F_HEXL,
    F_PSTATE, F_COMPUTEMODE, F_GOM, F_DRVMODEL, F_ADDRMODE, F_ARCH, F_BRAND, F_VIRT, F_HOSTVGPU,
    F_RECOVERY, F_PEER, F_FAB_STATE, F_FAB_STATUS, F_FAB_CLIQUE, F_FAB_UUID, F_FAB_SUMMARY, F_FAB_BIT,
    F_FAB_INCORRECT, F_CUDACAP, F_CUDAVER, F_TIME_CSV, F_TIME_XML, F_VALIDATE, F_TLIMIT, F_NS_US,
    F_MIGDEV, F_PLATX, F_PLATSTR, F_PLATGUID, F_SUPPORTED, F_BRIDGE_TYPE, F_BRIDGE_FW,
    F_ATOMICS, F_PROFILES, F_EGM, F_BBXTIME, F_BBXDUR, F_RETIRED_LIST,
    F_SUPCLK, F_PROCS, F_ACCT, F_MEMREQ, F_VGPUHETERO, F_BAR1FREE,
};

#define S0 {K_NONE, 0, 0}
#define SRC(k, a, s) {k, s, a}
#define U32(sy) SRC(K_U32, SY_##sy, 0)
#define U32X(sy, s) SRC(K_U32X2, SY_##sy, s)
#define U32A(sy, a) SRC(K_U32A, (SY_##sy << 8) | (a), 0)
#define FV(id, scope) SRC(K_FV, (id) | ((scope) << 16), 0)
#define MEMERR(t, c, l) SRC(K_MEMERR, ((t) << 8) | ((c) << 4) | (l), 0)

/* Power smoothing values are shown where the GPU has preset profiles
 * (NVML_FI_PWR_SMOOTHING_MAX_NUM_PRESET_PROFILES), as nvidia-smi does. */
#define PSM_GATE FV(259, 0)
/* Module power: shown where the module scope answers NVML_FI_DEV_POWER_AVERAGE. */
#define MOD_GATE FV(185, 1)

static const smi_item items[] = {
    /* --- system ------------------------------------------------------------------- */
    {"timestamp", NULL, "timestamp", NULL, NULL, NULL, F_TIME_CSV, F_TIME_XML, FL_GLOBAL, 0,
     {SRC(K_TIME, 0, 0)}, "The time of the query, local, as YYYY/MM/DD HH:MM:SS.msec."},
    {"driver_version", NULL, "driver_version", NULL, NULL, NULL, F_STR, 0, FL_GLOBAL, 0, {SRC(K_DRVVER, 0, 0)},
     "The version of the installed NVIDIA display driver."},
    {NULL, NULL, "cuda_version", NULL, NULL, NULL, F_CUDAVER, 0, FL_GLOBAL, 0, {SRC(K_CUDAVER, 0, 0)}, NULL},
    {"count", NULL, "attached_gpus", NULL, "count", NULL, F_U, 0, FL_GLOBAL, 0, {SRC(K_COUNT, 0, 0)},
     "The number of NVIDIA GPUs in the system."},
    {"vgpu_driver_capability.heterogenous_multivGPU", NULL, "vgpu_driver_capability/heterogenous_multivGPU", NULL,
     NULL, NULL, F_YESNO, 0, FL_GLOBAL | FL_NOFULL, 0, {SRC(K_VGPUDRV, 0, 0)},
     "Whether the driver can run vGPUs of different types on one GPU."},

    /* --- identity ------------------------------------------------------------------- */
    {"name gpu_name", NULL, "product_name", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_STR, SY_Name, 0)},
     "The official product name of the GPU."},
    {NULL, NULL, "product_brand", NULL, NULL, NULL, F_BRAND, 0, 0, 0, {U32(Brand)}, NULL},
    {NULL, NULL, "product_architecture", NULL, NULL, NULL, F_ARCH, 0, 0, 0, {U32(Arch)}, NULL},
    {"display_mode", NULL, "display_mode", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_DEPRECATED, 0, 0)},
     "Deprecated by the driver: see display_attached."},
    {"display_attached", NULL, "display_attached", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {U32(DisplayMode)},
     "Whether a physical display is connected to one of the GPU's connectors."},
    {"display_active", NULL, "display_active", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32(DisplayActive)},
     "Whether a display is initialized on the GPU (memory allocated on it for a display)."},
    {"persistence_mode", NULL, "persistence_mode", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32(Persistence)},
     "Whether persistence mode is on: the driver stays loaded with no client (Linux only)."},
    {"addressing_mode", NULL, "addressing_mode", NULL, NULL, NULL, F_ADDRMODE, 0, 0, 0, {SRC(K_ADDRMODE, 0, 0)},
     "How the GPU addresses system memory: None, HMM or ATS."},
    {"mig.mode.current", NULL, "mig_mode/current_mig", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32X(Mig, 0)},
     "The MIG (Multi-Instance GPU) mode in effect."},
    {"mig.mode.pending", NULL, "mig_mode/pending_mig", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32X(Mig, 1)},
     "The MIG mode the GPU takes after its next reset."},
    {NULL, NULL, "mig_devices", NULL, NULL, NULL, F_MIGDEV, 0, FL_BLOCK, 0, {U32X(Mig, 0)}, NULL},
    {"accounting.mode", NULL, "accounting_mode", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32(AcctMode)},
     "Whether per-process accounting is on."},
    {"accounting.buffer_size", NULL, "accounting_mode_buffer_size", NULL, NULL, NULL, F_U, 0, 0, 0, {U32(AcctBuf)},
     "How many processes the accounting buffer holds before the oldest are dropped."},
    {"driver_model.current", NULL, "driver_model/current_dm", NULL, NULL, NULL, F_DRVMODEL, 0, 0, 0,
     {U32X(DrvModel, 0)}, "The driver model in use (Windows only): WDDM, TCC or MCDM."},
    {"driver_model.pending", NULL, "driver_model/pending_dm", NULL, NULL, NULL, F_DRVMODEL, 0, 0, 0,
     {U32X(DrvModel, 1)}, "The driver model after the next reboot (Windows only)."},
    {"serial gpu_serial", NULL, "serial", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_STR, SY_Serial, 0)},
     "The serial number printed on the board."},
    {"uuid gpu_uuid", NULL, "uuid", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_STR, SY_UUID, 0)},
     "The GPU's globally unique, immutable identifier."},
    {NULL, NULL, "pdi", NULL, NULL, NULL, F_HEXL, 0, 0, 16, {SRC(K_PDI, 0, 0)}, NULL},
    {NULL, NULL, "minor_number", NULL, NULL, NULL, F_U, 0, 0, 0, {U32(Minor)}, NULL},
    {"index", NULL, "index", NULL, NULL, NULL, F_U, 0, FL_NOFULL, 0, {U32(Index)},
     "The NVML index of the GPU (the order NVML enumerates GPUs in)."},
    {"vbios_version", NULL, "vbios_version", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_STR, SY_Vbios, 0)},
     "The version of the GPU's BIOS."},
    {NULL, NULL, "multigpu_board", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {U32(MultiGpu)}, NULL},
    {NULL, NULL, "board_id", NULL, NULL, NULL, F_HEXL, 0, 0, 0, {U32(BoardId)}, NULL},
    {NULL, NULL, "board_part_number", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_STR, SY_BoardPart, 0)}, NULL},
    {NULL, NULL, "gpu_part_number", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_NA, 0, 0)}, NULL},
    {NULL, NULL, "gpu_fru_part_number", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_NA, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/chassis_serial_number", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 0), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/slot_number", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 1), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/tray_index", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 2), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/host_id", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 3), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/peer_type", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 4), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {NULL, NULL, "platformInfo/module_id", NULL, NULL, NULL, F_U, 0, 0, 0, {U32(ModuleId)}, NULL},
    {NULL, NULL, "platformInfo/gpu_fabric_guid", NULL, NULL, NULL, F_PLATX, 0, 0, 0,
     {SRC(K_PLATFORM, 0, 6), S0, SRC(K_FABRIC, 0, 0)}, NULL},
    {"inforom.img inforom.image", NULL, "inforom_version/img_version", NULL, NULL, NULL, F_STR, 0, 0, 0,
     {SRC(K_STR, SY_InforomImg, 0)}, "The version of the infoROM image."},
    {"inforom.oem", NULL, "inforom_version/oem_object", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_INFOROM, 0, 0)},
     "The version of the OEM object in the infoROM."},
    {"inforom.ecc", NULL, "inforom_version/ecc_object", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_INFOROM, 1, 0)},
     "The version of the ECC object in the infoROM."},
    {"inforom.pwr inforom.power", NULL, "inforom_version/pwr_object", NULL, NULL, NULL, F_STR, 0, 0, 0,
     {SRC(K_INFOROM, 2, 0)}, "The version of the power management object in the infoROM."},
    {"inforom.checksum_validation", NULL, "inforom_version/checksum_validation", NULL, NULL, NULL, F_VALIDATE, 0,
     FL_NOFULL, 0, {SRC(K_VALIDATE, 0, 0)}, "Whether the infoROM's checksum is valid: valid or invalid."},
    {NULL, NULL, "inforom_bbx_flush/latest_timestamp", NULL, NULL, NULL, F_BBXTIME, 0, FL_ANYNA, 0,
     {SRC(K_BBX, 0, 0)}, NULL},
    {NULL, NULL, "inforom_bbx_flush/latest_duration", NULL, NULL, NULL, F_BBXDUR, 0, FL_ANYNA, 0,
     {SRC(K_BBX, 0, 1)}, NULL},
    {"gom.current gpu_operation_mode.current", NULL, "gpu_operation_mode/current_gom", NULL, NULL, NULL, F_GOM, 0,
     0, 0, {U32X(Gom, 0)}, "The GPU operation mode in effect: All On, Compute or Low Double Precision."},
    {"gom.pending gpu_operation_mode.pending", NULL, "gpu_operation_mode/pending_gom", NULL, NULL, NULL, F_GOM, 0,
     0, 0, {U32X(Gom, 1)}, "The GPU operation mode after the next reboot."},
    {"c2c.mode", NULL, "c2c_mode", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {SRC(K_C2C, 0, 0)},
     "Whether the chip-to-chip (C2C) link to the CPU is on."},
    {NULL, NULL, "gpu_virtualization_mode/virtualization_mode", NULL, NULL, NULL, F_VIRT, 0, 0, 0, {U32(Virt)}, NULL},
    {NULL, NULL, "gpu_virtualization_mode/host_vgpu_mode", NULL, NULL, NULL, F_HOSTVGPU, 0, 0, 0, {U32(HostVgpu)},
     NULL},
    {NULL, NULL, "gpu_virtualization_mode/vgpu_heterogeneous_mode", NULL, NULL, NULL, F_VGPUHETERO, 0, 0, 0,
     {SRC(K_VGPUHETERO, 0, 0)}, NULL},
    {"gpu_recovery_action", NULL, "gpu_recovery_action", NULL, NULL, NULL, F_RECOVERY, 0, 0, 0, {FV(230, 0)},
     "What the GPU needs to recover: None, Reset, Reboot, Drain P2P or Drain and Reset."},
    {NULL, NULL, "gsp_firmware_version", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_GSPVER, 0, 0)}, NULL},
    {NULL, NULL, "ibmnpu/relaxed_ordering_mode", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_NA, 0, 0)}, NULL},

    /* --- PCI ------------------------------------------------------------------------ */
    {"pci.bus", NULL, "pci/pci_bus", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 2, {SRC(K_PCI, 0, 1)},
     "The PCI bus number, in hex."},
    {"pci.device", NULL, "pci/pci_device", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 2, {SRC(K_PCI, 0, 2)},
     "The PCI device number, in hex."},
    {"pci.domain", NULL, "pci/pci_domain", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 4, {SRC(K_PCI, 0, 0)},
     "The PCI domain number, in hex."},
    {"pci.baseClass", NULL, "pci/pci_base_class", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 0, {SRC(K_PCIEXT, 0, 0)},
     "The PCI base class code, in hex."},
    {"pci.subClass", NULL, "pci/pci_sub_class", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 0, {SRC(K_PCIEXT, 0, 1)},
     "The PCI sub-class code, in hex."},
    {"pci.device_id", NULL, "pci/pci_device_id", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 8, {SRC(K_PCI, 0, 3)},
     "The PCI vendor and device id, in hex (device id high, vendor id low)."},
    {"pci.bus_id gpu_bus_id", NULL, "pci/pci_bus_id", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_PCI, 0, 0)},
     "The PCI bus id, domain:bus:device.function, in hex."},
    {"pci.sub_device_id", NULL, "pci/pci_sub_system_id", NULL, NULL, NULL, F_HEX, F_HEXN, 0, 8, {SRC(K_PCI, 0, 4)},
     "The PCI sub-system id, in hex."},
    {"pcie.link.gen.max", NULL, "pci/pci_gpu_link_info/pcie_gen/max_link_gen", NULL, NULL, NULL, F_U, 0, 0, 0,
     {U32(PcieGenMax)}, "The highest PCIe generation the GPU and the system can use together."},
    {"pcie.link.gen.current", NULL, "pci/pci_gpu_link_info/pcie_gen/current_link_gen", NULL, NULL, NULL, F_U, 0, 0,
     0, {U32(PcieGenCur)}, "The PCIe generation the link runs at now (lower while the GPU idles)."},
    {"pcie.link.gen.gpucurrent", NULL, "pci/pci_gpu_link_info/pcie_gen/device_current_link_gen", NULL, NULL, NULL,
     F_U, 0, 0, 0, {U32(PcieGenCur)}, "The PCIe generation the GPU's end of the link runs at now."},
    {"pcie.link.gen.gpumax", NULL, "pci/pci_gpu_link_info/pcie_gen/max_device_link_gen", NULL, NULL, NULL, F_U, 0,
     0, 0, {U32(PcieGenGpuMax)}, "The highest PCIe generation the GPU supports."},
    {"pcie.link.gen.hostmax", NULL, "pci/pci_gpu_link_info/pcie_gen/max_host_link_gen", NULL, NULL, NULL, F_U, 0, 0,
     0, {SRC(K_NA, 0, 0)}, "The highest PCIe generation of the host's end of the link (not available through NVML)."},
    {"pcie.link.width.max", NULL, "pci/pci_gpu_link_info/link_widths/max_link_width", "x", NULL, NULL, F_U, 0, 0, 0,
     {U32(PcieWidthMax)}, "The widest PCIe link the GPU and the system can use together, in lanes."},
    {"pcie.link.width.current", NULL, "pci/pci_gpu_link_info/link_widths/current_link_width", "x", NULL, NULL, F_U,
     0, 0, 0, {U32(PcieWidthCur)}, "The PCIe link width in use now, in lanes."},
    {NULL, NULL, "pci/pci_bridge_chip/bridge_chip_type", NULL, NULL, NULL, F_BRIDGE_TYPE, 0, 0, 0,
     {SRC(K_BRIDGE, 0, 0)}, NULL},
    {NULL, NULL, "pci/pci_bridge_chip/bridge_chip_fw", NULL, NULL, NULL, F_BRIDGE_FW, 0, 0, 0,
     {SRC(K_BRIDGE, 0, 0)}, NULL},
    {NULL, NULL, "pci/replay_counter", NULL, NULL, NULL, F_U, 0, 0, 0, {U32(Replay)}, NULL},
    {NULL, NULL, "pci/replay_rollover_counter", NULL, NULL, NULL, F_U, 0, 0, 0, {FV(95, 0)}, NULL},
    {NULL, NULL, "pci/tx_util", " KB/s", NULL, "tx_util_unit=KB/s", F_U, 0, 0, 0, {U32A(PcieTput, 0)}, NULL},
    {NULL, NULL, "pci/rx_util", " KB/s", NULL, "rx_util_unit=KB/s", F_U, 0, 0, 0, {U32A(PcieTput, 1)}, NULL},
    {NULL, NULL, "pci/atomic_caps_outbound", NULL, NULL, NULL, F_ATOMICS, 0, 0, 0, {FV(228, 0)}, NULL},
    {NULL, NULL, "pci/atomic_caps_inbound", NULL, NULL, NULL, F_ATOMICS, 0, 0, 0, {FV(229, 0)}, NULL},

    /* --- fan, performance ------------------------------------------------------------ */
    {"fan.speed", "%", "fan_speed", NULL, NULL, "fan_speed_unit=%", F_U, 0, 0, 0, {U32(Fan)},
     "The fan speed the fan is asked to run at, in percent of its maximum."},
    {"pstate", NULL, "performance_state", NULL, NULL, NULL, F_PSTATE, 0, 0, 0, {U32(Pstate)},
     "The performance state, from P0 (maximum performance) to P12 (minimum)."},
    {"clocks_event_reasons.supported clocks_throttle_reasons.supported", NULL,
     "clocks_event_reasons/clocks_event_reasons_supported", NULL, "clocks_throttle/supported", NULL, F_HEX, 0,
     FL_NOFULL, 16, {SRC(K_U64, SY_EvtSup, 0)}, "The bitmask of the clock event reasons this GPU reports."},
    {"clocks_event_reasons.active clocks_throttle_reasons.active", NULL,
     "clocks_event_reasons/clocks_event_reasons_active", NULL, "clocks_throttle/active", NULL, F_HEX, 0, FL_NOFULL,
     16, {SRC(K_U64, SY_EvtCur, 0)}, "The bitmask of the clock event reasons active now."},
#define EVT(csv, xml, dict, bit, help)                                                                       \
    {"clocks_event_reasons." csv " clocks_throttle_reasons." csv, NULL, "clocks_event_reasons/" xml, NULL,       \
     "clocks_throttle/clocks_throttle_reason_" dict, NULL, F_ACTIVE, 0, 0, bit,                                  \
     {SRC(K_U64, SY_EvtCur, 0), SRC(K_U64, SY_EvtSup, 0)}, help}
    EVT("gpu_idle", "clocks_event_reason_gpu_idle", "gpu_idle", 0x1,
        "Nothing runs on the GPU, so its clocks are low."),
    EVT("applications_clocks_setting", "clocks_event_reason_applications_clocks_setting",
        "applications_clocks_setting", 0x2, "Clocks are held down by the applications clocks setting."),
    EVT("sw_power_cap", "clocks_event_reason_sw_power_cap", "sw_power_cap", 0x4,
        "Clocks are lowered to keep power under the power limit (software power capping)."),
    EVT("hw_slowdown", "clocks_event_reason_hw_slowdown", "hw_slowdown", 0x8,
        "Hardware slows the clocks down (too hot, power brake, or power supply trouble)."),
    EVT("hw_thermal_slowdown", "clocks_event_reason_hw_thermal_slowdown", "hw_thermal_slowdown", 0x40,
        "Hardware slows the clocks down because the GPU is too hot."),
    EVT("hw_power_brake_slowdown", "clocks_event_reason_hw_power_brake_slowdown", "hw_power_brake_slowdown", 0x80,
        "An external power brake (e.g. the power supply) slows the clocks down."),
    EVT("sync_boost", "clocks_event_reason_sync_boost", "sync_boost", 0x10,
        "Clocks follow the other GPUs of a sync boost group."),
    EVT("sw_thermal_slowdown", "clocks_event_reason_sw_thermal_slowdown", "sw_thermal_slowdown", 0x20,
        "Clocks are lowered to keep the GPU under its maximum operating temperature."),
#undef EVT
    {NULL, NULL, "clocks_event_reasons/clocks_event_reason_display_clocks_setting", NULL,
     "clocks_throttle/clocks_throttle_reason_display_clocks_setting", NULL, F_ACTIVE, 0, 0, 0x100,
     {SRC(K_U64, SY_EvtCur, 0), SRC(K_U64, SY_EvtSup, 0)}, NULL},
#define EVC(csv, xml, fid, help)                                                                          \
    {"clocks_event_reasons_counters." csv, "us", "clocks_event_reasons_counters/clocks_event_reasons_counters_" xml, \
     NULL, NULL, "unit=us", F_NS_US, 0, 0, 0, {FV(fid, 0)}, help}
    EVC("sw_power_cap", "sw_power_cap", 74, "Time the clocks were lowered by software power capping, in us."),
    EVC("sync_boost", "sync_boost", 76, "Time the clocks were held by sync boost, in us."),
    EVC("sw_thermal_slowdown", "sw_therm_slowdown", 269, "Time the clocks were lowered for temperature by software, in us."),
    EVC("hw_thermal_slowdown", "hw_therm_slowdown", 270, "Time the hardware slowed the clocks for temperature, in us."),
    EVC("hw_power_brake_slowdown", "hw_power_brake", 271, "Time an external power brake slowed the clocks, in us."),
#undef EVC
    {NULL, NULL, "sparse_operation_mode", NULL, NULL, NULL, F_STR, 0, 0, 0, {SRC(K_NA, 0, 0)}, NULL},

    /* --- memory ---------------------------------------------------------------------- */
    {"memory.total", "MiB", "fb_memory_usage/total", NULL, NULL, "unit=MiB", F_FBMIB, 0, 0, 0, {SRC(K_MEM, 0, 0)},
     "Total GPU memory installed, in MiB."},
    {"memory.reserved", "MiB", "fb_memory_usage/reserved", NULL, NULL, "unit=MiB", F_MEMREQ, 0, 0, 0,
     {SRC(K_MEM, 0, 1)}, "GPU memory the system keeps for itself, in MiB."},
    {"memory.used", "MiB", "fb_memory_usage/used", NULL, NULL, "unit=MiB", F_FBMIB, 0, 0, 0, {SRC(K_MEM, 0, 2)},
     "GPU memory allocated by processes, in MiB."},
    {"memory.free", "MiB", "fb_memory_usage/free", NULL, NULL, "unit=MiB", F_FBMIB, 0, 0, 0, {SRC(K_MEM, 0, 3)},
     "GPU memory free to allocate, in MiB."},
    {NULL, "MiB", "bar1_memory_usage/total", NULL, NULL, "unit=MiB", F_MIB, 0, 0, 0, {SRC(K_BAR1, 0, 0)}, NULL},
    {NULL, "MiB", "bar1_memory_usage/used", NULL, NULL, "unit=MiB", F_MIB, 0, 0, 0, {SRC(K_BAR1, 0, 1)}, NULL},
    /* free as total less used, each in whole MiB, as nvidia-smi shows it */
    {NULL, "MiB", "bar1_memory_usage/free", NULL, NULL, "unit=MiB", F_BAR1FREE, 0, 0, 0, {SRC(K_BAR1, 0, 2)}, NULL},
    {"protected_memory.total", "MiB", "cc_protected_memory_usage/total", NULL, NULL, "unit=MiB", F_MIB, 0, 0, 0,
     {SRC(K_PROTMEM, 0, 0)}, "Total memory protected for confidential computing, in MiB."},
    {"protected_memory.used", "MiB", "cc_protected_memory_usage/used", NULL, NULL, "unit=MiB", F_MIB, 0, 0, 0,
     {SRC(K_PROTMEM, 0, 1)}, "Protected memory in use, in MiB."},
    {"protected_memory.free", "MiB", "cc_protected_memory_usage/free", NULL, NULL, "unit=MiB", F_MIB, 0, 0, 0,
     {SRC(K_PROTMEM, 0, 2)}, "Protected memory free, in MiB."},
    {"compute_mode", NULL, "compute_mode", NULL, NULL, NULL, F_COMPUTEMODE, 0, 0, 0, {U32(ComputeMode)},
     "The compute mode: Default, Exclusive_Thread, Prohibited or Exclusive_Process."},
    {"compute_cap", NULL, "compute_cap", NULL, NULL, NULL, F_CUDACAP, 0, FL_NOFULL, 0, {U32X(CudaCap, 0)},
     "The CUDA compute capability, major.minor."},

    /* --- utilization ----------------------------------------------------------------- */
    {"utilization.gpu", "%", "utilization/gpu_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {SRC(K_UTIL, 0, 0)},
     "Percent of the last sample period in which a kernel ran on the GPU."},
    {"utilization.memory", "%", "utilization/memory_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {SRC(K_UTIL, 0, 1)},
     "Percent of the last sample period in which device memory was read or written."},
    {"utilization.encoder", "%", "utilization/encoder_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {U32X(EncUtil, 0)},
     "Video encoder utilization, in percent."},
    {"utilization.decoder", "%", "utilization/decoder_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {U32X(DecUtil, 0)},
     "Video decoder utilization, in percent."},
    {"utilization.jpeg", "%", "utilization/jpeg_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {U32X(JpgUtil, 0)},
     "JPEG decoder utilization, in percent."},
    {"utilization.ofa", "%", "utilization/ofa_util", NULL, NULL, "unit=%", F_U, 0, 0, 0, {U32X(OfaUtil, 0)},
     "Optical flow accelerator utilization, in percent."},
    {"encoder.stats.sessionCount", NULL, "encoder_stats/session_count", NULL, NULL, NULL, F_U, 0, 0, 0,
     {SRC(K_U32X3, SY_EncStats, 0)}, "The number of encoder sessions running on the GPU."},
    {"encoder.stats.averageFps", NULL, "encoder_stats/average_fps", NULL, NULL, NULL, F_U, 0, 0, 0,
     {SRC(K_U32X3, SY_EncStats, 1)}, "The average frames per second of all encoder sessions."},
    {"encoder.stats.averageLatency", NULL, "encoder_stats/average_latency", NULL, NULL, NULL, F_U, 0, 0, 0,
     {SRC(K_U32X3, SY_EncStats, 2)}, "The average latency of all encoder sessions, in us."},
    {NULL, NULL, "fbc_stats/session_count", NULL, NULL, NULL, F_U, 0, 0, 0, {SRC(K_FBC, 0, 0)}, NULL},
    {NULL, NULL, "fbc_stats/average_fps", NULL, NULL, NULL, F_U, 0, 0, 0, {SRC(K_FBC, 0, 1)}, NULL},
    {NULL, NULL, "fbc_stats/average_latency", NULL, NULL, NULL, F_U, 0, 0, 0, {SRC(K_FBC, 0, 2)}, NULL},

    /* --- ECC --------------------------------------------------------------------------- */
    {"dramEncryption.mode.current", NULL, "dram_encryption_mode/current_dram_encryption", NULL, NULL, NULL,
     F_ENABLED, 0, 0, 0, {SRC(K_DRAMENC, 0, 0)}, "Whether DRAM encryption is on."},
    {"dramEncryption.mode.pending", NULL, "dram_encryption_mode/pending_dram_encryption", NULL, NULL, NULL,
     F_ENABLED, 0, 0, 0, {SRC(K_DRAMENC, 0, 1)}, "Whether DRAM encryption is on after the next reboot."},
    {"ecc.mode.current", NULL, "ecc_mode/current_ecc", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32X(Ecc, 0)},
     "Whether ECC is on."},
    {"ecc.mode.pending", NULL, "ecc_mode/pending_ecc", NULL, NULL, NULL, F_ENABLED, 0, 0, 0, {U32X(Ecc, 1)},
     "Whether ECC is on after the next reboot."},
    /* ECC counts as nvidia-smi -q -x shows them (shared with their csv fields) */
    {"ecc.errors.corrected.volatile.sram", NULL, "ecc_errors/volatile/sram_correctable", NULL,
     "ecc_errors/volatile/single_bit/sram", NULL, F_U, 0, 0, 0, {MEMERR(0, 0, 7)},
     "Corrected SRAM errors since the driver loaded."},
    {"ecc.errors.uncorrected.volatile.sram.parity", NULL, "ecc_errors/volatile/sram_uncorrectable_parity", NULL,
     "ecc_errors/volatile/double_bit/sram_parity", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 3)},
     "Uncorrected SRAM parity errors since the driver loaded."},
    {"ecc.errors.uncorrected.volatile.sram.secded", NULL, "ecc_errors/volatile/sram_uncorrectable_secded", NULL,
     "ecc_errors/volatile/double_bit/sram_secded", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 4)},
     "Uncorrected SRAM SEC-DED errors since the driver loaded."},
    {"ecc.errors.corrected.volatile.dram", NULL, "ecc_errors/volatile/dram_correctable", NULL,
     "ecc_errors/volatile/single_bit/dram", NULL, F_U, 0, 0, 0, {MEMERR(0, 0, 2)},
     "Corrected DRAM errors since the driver loaded."},
    {"ecc.errors.uncorrected.volatile.dram", NULL, "ecc_errors/volatile/dram_uncorrectable", NULL,
     "ecc_errors/volatile/double_bit/dram", NULL, F_U, 0, 0, 0, {MEMERR(1, 0, 2)},
     "Uncorrected DRAM errors since the driver loaded."},
    {"ecc.errors.corrected.aggregate.sram", NULL, "ecc_errors/aggregate/sram_correctable", NULL,
     "ecc_errors/aggregate/single_bit/sram", NULL, F_U, 0, 0, 0, {MEMERR(0, 1, 7)},
     "Corrected SRAM errors over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.parity", NULL, "ecc_errors/aggregate/sram_uncorrectable_parity", NULL,
     "ecc_errors/aggregate/double_bit/sram_parity", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 0)},
     "Uncorrected SRAM parity errors over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.secded", NULL, "ecc_errors/aggregate/sram_uncorrectable_secded", NULL,
     "ecc_errors/aggregate/double_bit/sram_secded", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 1)},
     "Uncorrected SRAM SEC-DED errors over the GPU's life."},
    {"ecc.errors.corrected.aggregate.dram", NULL, "ecc_errors/aggregate/dram_correctable", NULL,
     "ecc_errors/aggregate/single_bit/dram", NULL, F_U, 0, 0, 0, {MEMERR(0, 1, 2)},
     "Corrected DRAM errors over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.dram", NULL, "ecc_errors/aggregate/dram_uncorrectable", NULL,
     "ecc_errors/aggregate/double_bit/dram", NULL, F_U, 0, 0, 0, {MEMERR(1, 1, 2)},
     "Uncorrected DRAM errors over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.thresholdExceeded", NULL, "ecc_errors/aggregate/sram_threshold_exceeded",
     NULL, "ecc_errors/aggregate/double_bit/sram_threshold_exceeded", NULL, F_YESNO, 0, 0, 0, {SRC(K_SRAM, 0, 11)},
     "Whether uncorrected SRAM errors passed the threshold that calls for attention."},
    {"ecc.errors.uncorrected.aggregate.sram.l2", NULL, "ecc_errors/aggregate_uncorrectable_sram_sources/sram_l2",
     NULL, "ecc_errors/aggregate/double_bit/sram_l2", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 6)},
     "Uncorrected SRAM errors in the L2 cache over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.sm", NULL, "ecc_errors/aggregate_uncorrectable_sram_sources/sram_sm",
     NULL, "ecc_errors/aggregate/double_bit/sram_sm", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 7)},
     "Uncorrected SRAM errors in the SMs over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.mcu", NULL,
     "ecc_errors/aggregate_uncorrectable_sram_sources/sram_microcontroller", NULL,
     "ecc_errors/aggregate/double_bit/sram_mcu", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 9)},
     "Uncorrected SRAM errors in microcontrollers over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.pcie", NULL, "ecc_errors/aggregate_uncorrectable_sram_sources/sram_pcie",
     NULL, "ecc_errors/aggregate/double_bit/sram_pcie", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 8)},
     "Uncorrected SRAM errors in the PCIe block over the GPU's life."},
    {"ecc.errors.uncorrected.aggregate.sram.other", NULL, "ecc_errors/aggregate_uncorrectable_sram_sources/sram_other",
     NULL, "ecc_errors/aggregate/double_bit/sram_other", NULL, F_U, 0, 0, 0, {SRC(K_SRAM, 0, 10)},
     "Uncorrected SRAM errors elsewhere over the GPU's life."},
    {NULL, NULL, "ecc_errors/channel_repair_pending", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {SRC(K_REPAIR, 0, 0)}, NULL},
    {NULL, NULL, "ecc_errors/tpc_repair_pending", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {SRC(K_REPAIR, 0, 1)}, NULL},
    {NULL, NULL, "ecc_errors/unrepairable_memory", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {SRC(K_UNREPAIR, 0, 0)}, NULL},
    /* ECC counts of the query fields that nvidia-smi -q -x no longer shows */
#define ECC(kind, k, ct, ctn, et, etn, loc, help)                                                        \
    {"ecc.errors." kind "." ctn "." k, NULL, "ecc_errors/" ctn "/" etn "/" k, NULL, NULL, NULL, F_U, 0,       \
     FL_NOFULL, 0, {MEMERR(et, ct, loc)}, help}
#define ECC8(kind, ct, ctn, et, etn, when)                                                                \
    ECC(kind, "device_memory", ct, ctn, et, etn, 2, "Errors " kind " in device memory " when "."),            \
    ECC(kind, "register_file", ct, ctn, et, etn, 3, "Errors " kind " in register files " when "."),           \
    ECC(kind, "l1_cache", ct, ctn, et, etn, 0, "Errors " kind " in L1 caches " when "."),                      \
    ECC(kind, "l2_cache", ct, ctn, et, etn, 1, "Errors " kind " in the L2 cache " when "."),                   \
    ECC(kind, "texture_memory", ct, ctn, et, etn, 4, "Parity errors " kind " in texture memory " when "."),    \
    ECC(kind, "cbu", ct, ctn, et, etn, 6, "Errors " kind " in the CBU " when "."),                             \
    {"ecc.errors." kind "." ctn ".total", NULL, "ecc_errors/" ctn "/" etn "/total", NULL, NULL, NULL, F_U, 0,  \
     FL_NOFULL, 0, {SRC(K_TOTALECC, (et << 4) | ct, 0)}, "All errors " kind " " when "."}
    ECC8("corrected", 0, "volatile", 0, "single_bit", "since the driver loaded"),
    ECC8("corrected", 1, "aggregate", 0, "single_bit", "over the GPU's life"),
    ECC8("uncorrected", 0, "volatile", 1, "double_bit", "since the driver loaded"),
    ECC8("uncorrected", 1, "aggregate", 1, "double_bit", "over the GPU's life"),
#undef ECC8
    {"ecc.errors.uncorrected.volatile.sram", NULL, "ecc_errors/volatile/double_bit/sram", NULL, NULL, NULL, F_U, 0,
     FL_NOFULL, 0, {MEMERR(1, 0, 7)}, "Uncorrected SRAM errors since the driver loaded."},
    {"ecc.errors.uncorrected.aggregate.sram", NULL, "ecc_errors/aggregate/double_bit/sram", NULL, NULL, NULL, F_U, 0,
     FL_NOFULL, 0, {MEMERR(1, 1, 7)}, "Uncorrected SRAM errors over the GPU's life."},
#undef ECC

    /* --- retired pages, remapped rows ---------------------------------------------------- */
    {"retired_pages.single_bit_ecc.count retired_pages.sbe", NULL,
     "retired_pages/multiple_single_bit_retirement/retired_count", NULL, NULL, NULL, F_U, 0, 0, 0,
     {SRC(K_RETIRED, 0, 0)}, "Pages retired after multiple single bit ECC errors."},
    {NULL, NULL, "retired_pages/multiple_single_bit_retirement/retired_pagelist", NULL,
     "retired_pages/multiple_single_bit_retirement/retired_page_addresses", NULL, F_RETIRED_LIST, 0, FL_LIST, 0,
     {SRC(K_RETIRED, 0, 0)}, NULL},
    {"retired_pages.double_bit.count retired_pages.dbe", NULL, "retired_pages/double_bit_retirement/retired_count",
     NULL, NULL, NULL, F_U, 0, 0, 0, {SRC(K_RETIRED, 1, 0)}, "Pages retired after a double bit ECC error."},
    {NULL, NULL, "retired_pages/double_bit_retirement/retired_pagelist", NULL,
     "retired_pages/double_bit_retirement/retired_page_addresses", NULL, F_RETIRED_LIST, 0, FL_LIST, 0,
     {SRC(K_RETIRED, 1, 0)}, NULL},
    {NULL, NULL, "retired_pages/pending_blacklist", NULL, NULL, NULL, F_YESNO, 0, 0, 0, {U32(RetiredPending)}, NULL},
    {"retired_pages.pending", NULL, "retired_pages/pending_retirement", NULL, NULL, NULL, F_YESNO, 0, 0, 0,
     {U32(RetiredPending)}, "Whether a page waits to be retired at the next reset."},
    {"remapped_rows.correctable remapped_rows.sbe", NULL, "remapped_rows/remapped_row_corr", NULL, NULL, NULL, F_U, 0,
     0, 0, {SRC(K_U32X4, SY_Remap, 0)}, "Rows remapped after correctable errors."},
    {"remapped_rows.correctable_inactive", NULL, "remapped_rows/remapped_row_corr_inactive", NULL, NULL, NULL, F_U, 0,
     0, 0, {SRC(K_REMAP2, 0, 1)}, "Rows remapped after correctable errors that are not in use (yet)."},
    {"remapped_rows.uncorrectable remapped_rows.dbe", NULL, "remapped_rows/remapped_row_unc", NULL, NULL, NULL, F_U,
     0, 0, 0, {SRC(K_U32X4, SY_Remap, 1)}, "Rows remapped after uncorrectable errors."},
    {"remapped_rows.uncorrectable_inactive", NULL, "remapped_rows/remapped_row_unc_inactive", NULL, NULL, NULL, F_U,
     0, 0, 0, {SRC(K_REMAP2, 0, 3)}, "Rows remapped after uncorrectable errors that are not in use (yet)."},
    {"remapped_rows.pending", NULL, "remapped_rows/remapped_row_pending", NULL, NULL, NULL, F_YESNO, 0, 0, 0,
     {SRC(K_U32X4, SY_Remap, 2)}, "Whether a remapping waits for the next GPU reset."},
    {"remapped_rows.failure", NULL, "remapped_rows/remapped_row_failure", NULL, NULL, NULL, F_YESNO, 0, 0, 0,
     {SRC(K_U32X4, SY_Remap, 3)}, "Whether a remapping failed."},
#define HIST(k, s, help)                                                                                   \
    {"remapped_rows.histogram." k, NULL, "remapped_rows/row_remapper_histogram/row_remapper_histogram_" k,     \
     " bank(s)", NULL, "unit=bank(s)", F_U, 0, 0, 0, {SRC(K_ROWHIST, 0, s)}, help}
    HIST("max", 0, "Memory banks with all their spare rows left."),
    HIST("high", 1, "Memory banks with most of their spare rows left."),
    HIST("partial", 2, "Memory banks with some of their spare rows left."),
    HIST("low", 3, "Memory banks with few spare rows left."),
    HIST("none", 4, "Memory banks with no spare rows left."),
#undef HIST

    /* --- temperature ----------------------------------------------------------------- */
    {"temperature.gpu", NULL, "temperature/gpu_temp", " C", NULL, "unit=C", F_U, 0, 0, 0, {U32A(Temp, 0)},
     "The GPU core temperature, in degrees C."},
    {NULL, NULL, "temperature/gpu_temp_max_threshold", " C", NULL, "unit=C", F_U, 0, FL_NOFULL, 0,
     {U32A(TempThresh, 0)}, NULL},
    {NULL, NULL, "temperature/gpu_temp_slow_threshold", " C", NULL, "unit=C", F_U, 0, FL_NOFULL, 0,
     {U32A(TempThresh, 1)}, NULL},
    {"temperature.gpu.tlimit", NULL, "temperature/gpu_temp_tlimit", " C", NULL, "unit=C", F_I, 0, 0, 0,
     {SRC(K_MARGIN, 0, 0)}, "Degrees C left before the GPU slows down for temperature (its margin)."},
    {NULL, NULL, "temperature/gpu_temp_max_tlimit_threshold", " C", NULL, "unit=C", F_TLIMIT, 0, 0, 0,
     {U32A(TempThresh, 3), U32A(TempThresh, 0)}, NULL},
    {NULL, NULL, "temperature/gpu_temp_slow_tlimit_threshold", " C", NULL, "unit=C", F_TLIMIT, 0, 0, 0,
     {U32A(TempThresh, 3), U32A(TempThresh, 1)}, NULL},
    {NULL, NULL, "temperature/gpu_temp_max_gpu_tlimit_threshold", " C", NULL, "unit=C", F_TLIMIT, 0, 0, 0,
     {U32A(TempThresh, 3), U32A(TempThresh, 3)}, NULL},
    {NULL, NULL, "temperature/gpu_target_temperature", " C", NULL, "unit=C", F_U, 0, FL_ANYNA, 0, {U32A(TempThresh, 7)},
     NULL},
    {"temperature.memory", NULL, "temperature/memory_temp", " C", NULL, "unit=C", F_U, 0, 0, 0, {FV(82, 0)},
     "The HBM memory temperature, in degrees C."},
    {NULL, NULL, "temperature/gpu_temp_max_mem_tlimit_threshold", " C", NULL, "unit=C", F_TLIMIT, 0, 0, 0,
     {U32A(TempThresh, 2), U32A(TempThresh, 2)}, NULL},
    {NULL, NULL, "supported_gpu_target_temp/gpu_target_temp_min", " C", NULL, "unit=C", F_U, 0, FL_ANYNA, 0,
     {U32A(TempThresh, 4)}, NULL},
    {NULL, NULL, "supported_gpu_target_temp/gpu_target_temp_max", " C", NULL, "unit=C", F_U, 0, FL_ANYNA, 0,
     {U32A(TempThresh, 6)}, NULL},

    /* --- power ------------------------------------------------------------------------- */
    {"power.management", NULL, "gpu_power_readings/power_management", NULL, "power_readings/power_management", NULL,
     F_ENABLED, 0, FL_NOFULL, 0, {U32(PowerMgmt)}, "Whether power management (a power limit) is on."},
    {NULL, NULL, "gpu_power_readings/power_state", NULL, "power_readings/power_state", NULL, F_PSTATE, 0, 0, 0,
     {U32(Pstate)}, NULL},
    {"power.draw", "W", "gpu_power_readings/power_draw", NULL, "power_readings/power_draw", "unit=W", F_MW, 0,
     FL_NOFULL | FL_FALLBACK, 0, {FV(185, 0), U32(PowerUsage)},
     "The GPU's power draw averaged over the last second, in W."},
    {"power.draw.average gpu.power.draw.average", "W", "gpu_power_readings/average_power_draw", NULL,
     "power_readings/average_power_draw", "unit=W", F_MW, 0, FL_FALLBACK, 0, {FV(185, 0), U32(PowerUsage)},
     "The GPU's power draw averaged over the last second, in W."},
    {"power.draw.instant gpu.power.draw.instant", "W", "gpu_power_readings/instant_power_draw", NULL,
     "power_readings/instant_power_draw", "unit=W", F_MW, 0, 0, 0, {FV(186, 0)},
     "The GPU's power draw now, in W."},
    {"enforced.power.limit gpu.power.current_limit", "W", "gpu_power_readings/current_power_limit", NULL,
     "power_readings/enforced_power_limit", "unit=W", F_MW, 0, 0, 0, {U32(PowerEnforced)},
     "The power limit in force (the lowest of all limits), in W."},
    {"power.limit gpu.power.requested_limit", "W", "gpu_power_readings/requested_power_limit", NULL,
     "power_readings/power_limit", "unit=W", F_MW, 0, 0, 0, {U32(PowerLimit)},
     "The power limit set by software, in W."},
    {"power.default_limit gpu.power.default_limit", "W", "gpu_power_readings/default_power_limit", NULL,
     "power_readings/default_power_limit", "unit=W", F_MW, 0, 0, 0, {U32(PowerDefault)},
     "The power limit after a driver reload, in W."},
    {"power.min_limit gpu.power.min_limit", "W", "gpu_power_readings/min_power_limit", NULL,
     "power_readings/min_power_limit", "unit=W", F_MW, 0, 0, 0, {U32X(PowerConstraints, 0)},
     "The lowest power limit that can be set, in W."},
    {"power.max_limit gpu.power.max_limit", "W", "gpu_power_readings/max_power_limit", NULL,
     "power_readings/max_power_limit", "unit=W", F_MW, 0, 0, 0, {U32X(PowerConstraints, 1)},
     "The highest power limit that can be set, in W."},
    {NULL, "W", "gpu_memory_power_readings/average_power_draw", NULL, NULL, "unit=W", F_MW, 0, 0, 0, {FV(185, 2)},
     NULL},
    {NULL, "W", "gpu_memory_power_readings/instant_power_draw", NULL, NULL, "unit=W", F_MW, 0, 0, 0, {FV(186, 2)},
     NULL},
    {NULL, NULL, "module_power_readings/power_state", NULL, NULL, NULL, F_PSTATE, 0, 0, 0, {U32(Pstate)}, NULL},
#define MOD(csv, xml, fid, help)                                                                             \
    {csv, "W", "module_power_readings/" xml, NULL, NULL, "unit=W", F_MW, 0, FL_GATEFV, 0,                       \
     {FV(fid, 1), S0, MOD_GATE}, help}
    MOD("module.power.draw.average", "average_power_draw", 185,
        "The power draw of the whole module (GPU, memory, CPU...) averaged over the last second, in W."),
    MOD("module.power.draw.instant", "instant_power_draw", 186, "The power draw of the whole module now, in W."),
    MOD("module.enforced.power.limit module.power.current_limit", "current_power_limit", 190,
        "The module's power limit in force, in W."),
    MOD("module.power.limit module.power.requested_limit", "requested_power_limit", 192,
        "The module's power limit set by software, in W."),
    MOD("module.power.default_limit", "default_power_limit", 189, "The module's default power limit, in W."),
    MOD("module.power.min_limit", "min_power_limit", 187, "The lowest module power limit that can be set, in W."),
    MOD("module.power.max_limit", "max_power_limit", 188, "The highest module power limit that can be set, in W."),
#undef MOD
    {NULL, NULL, "power_smoothing", NULL, "power_smoothing/state", NULL, F_ENABLED, 0, FL_GATE, 0,
     {FV(251, 0), S0, PSM_GATE}, NULL},
#define PSM(csv, unit, fid, fmt, help)                                                                       \
    {"power_smoothing." csv, unit, "power_smoothing/" csv, NULL, NULL, NULL, fmt, 0,                            \
     FL_NOFULL | FL_GATE, 0, {FV(fid, 0), S0, PSM_GATE}, help}
    PSM("delayed_power_smoothing_supported", NULL, 280, F_SUPPORTED,
        "Whether the GPU can delay power smoothing."),
    PSM("primary_power_floor", "W", 275, F_W, "The primary power floor, in W."),
    PSM("secondary_power_floor", "W", 276, F_W, "The secondary power floor, in W."),
    PSM("min_primary_floor_activation_offset", "W", 277, F_W,
        "The smallest primary floor activation offset, in W."),
    PSM("min_primary_floor_activation_point", "W", 278, F_W, "The smallest primary floor activation point, in W."),
    PSM("window_multiplier", "ms", 279, F_U, "The power smoothing window multiplier, in ms."),
    PSM("curr_profile.secondary_power_floor", "W", 281, F_W,
        "The secondary power floor of the current profile, in W."),
    PSM("curr_profile.primary_floor_act_window_multiplier", NULL, 282, F_U,
        "The primary floor activation window multiplier of the current profile."),
    PSM("curr_profile.primary_floor_tar_window_multiplier", NULL, 283, F_U,
        "The primary floor target window multiplier of the current profile."),
    PSM("curr_profile.primary_floor_act_offset", "W", 284, F_W,
        "The primary floor activation offset of the current profile, in W."),
    PSM("admin_override.secondary_power_floor", "W", 285, F_W,
        "The secondary power floor set by the administrator, in W."),
    PSM("admin_override.primary_floor_act_window_multiplier", NULL, 286, F_U,
        "The primary floor activation window multiplier set by the administrator."),
    PSM("admin_override.primary_floor_tar_window_multiplier", NULL, 287, F_U,
        "The primary floor target window multiplier set by the administrator."),
    PSM("admin_override.primary_floor_act_offset", "W", 288, F_W,
        "The primary floor activation offset set by the administrator, in W."),
#undef PSM
    {NULL, NULL, "power_profiles/power_profile_requested_profiles", NULL, NULL, NULL, F_PROFILES, 0, FL_ANYNA, 0,
     {SRC(K_WORKLOAD, 0, 0)}, NULL},
    {NULL, NULL, "power_profiles/power_profile_enforced_profiles", NULL, NULL, NULL, F_PROFILES, 0, FL_ANYNA, 4,
     {SRC(K_WORKLOAD, 0, 4)}, NULL},

    /* --- clocks ------------------------------------------------------------------------ */
#define CLK(csv, xml, dict, sy, type, help)                                                                   \
    {csv, "MHz", xml, NULL, dict, "unit=MHz", F_U, 0, 0, 0, {U32A(sy, type)}, help}
    CLK("clocks.current.graphics clocks.gr", "clocks/graphics_clock", NULL, ClockInfo, 0,
        "The graphics (shader) clock now, in MHz."),
    CLK("clocks.current.sm clocks.sm", "clocks/sm_clock", NULL, ClockInfo, 1, "The SM clock now, in MHz."),
    CLK("clocks.current.memory clocks.mem", "clocks/mem_clock", NULL, ClockInfo, 2, "The memory clock now, in MHz."),
    CLK("clocks.current.video clocks.video", "clocks/video_clock", NULL, ClockInfo, 3,
        "The video encoder/decoder clock now, in MHz."),
    CLK("clocks.applications.graphics clocks.applications.gr", "applications_clocks/graphics_clock", NULL, AppClock, 0,
        "The graphics clock applications run at, in MHz."),
    CLK("clocks.applications.memory clocks.applications.mem", "applications_clocks/mem_clock", NULL, AppClock, 2,
        "The memory clock applications run at, in MHz."),
    CLK("clocks.default_applications.graphics clocks.default_applications.gr",
        "default_applications_clocks/graphics_clock", NULL, DefAppClock, 0,
        "The default graphics clock applications run at, in MHz."),
    CLK("clocks.default_applications.memory clocks.default_applications.mem", "default_applications_clocks/mem_clock",
        NULL, DefAppClock, 2, "The default memory clock applications run at, in MHz."),
    {NULL, "MHz", "deferred_clocks/mem_clock", NULL, NULL, "unit=MHz", F_U, 0, 0, 0, {SRC(K_NA, 0, 0)}, NULL},
    CLK("clocks.max.graphics clocks.max.gr", "max_clocks/graphics_clock", NULL, MaxClock, 0,
        "The highest graphics clock, in MHz."),
    CLK("clocks.max.sm", "max_clocks/sm_clock", NULL, MaxClock, 1, "The highest SM clock, in MHz."),
    CLK("clocks.max.memory clocks.max.mem", "max_clocks/mem_clock", NULL, MaxClock, 2,
        "The highest memory clock, in MHz."),
    CLK(NULL, "max_clocks/video_clock", NULL, MaxClock, 3, NULL),
    CLK(NULL, "max_customer_boost_clocks/graphics_clock", NULL, BoostClock, 0, NULL),
#undef CLK
    {NULL, NULL, "clock_policy/auto_boost", NULL, NULL, NULL, F_ONOFF, 0, 0, 0, {U32X(AutoBoost, 0)}, NULL},
    {NULL, NULL, "clock_policy/auto_boost_default", NULL, NULL, NULL, F_ONOFF, 0, 0, 0, {U32X(AutoBoost, 1)}, NULL},
    {"gsp.mode.current", NULL, "gsp_mode/current", NULL, NULL, NULL, F_ENABLED, 0, FL_NOFULL, 0, {U32X(Gsp, 0)},
     "Whether the GPU System Processor (GSP) firmware runs the GPU."},
    {"gsp.mode.default", NULL, "gsp_mode/default", NULL, NULL, NULL, F_ENABLED, 0, FL_NOFULL, 0, {U32X(Gsp, 1)},
     "Whether GSP firmware is used by default."},

    /* --- fabric ------------------------------------------------------------------------ */
#define FAB(csv, xml, fmt, param, help)                                                                      \
    {"fabric." csv, NULL, "fabric/" xml, NULL, NULL, NULL, fmt, 0, FL_NAPLAIN | FL_ANYNA, param,                 \
     {SRC(K_FABRIC, 0, 0)}, help}
    FAB("state", "state", F_FAB_STATE, 0, "The state of the GPU's registration with the NVLink fabric."),
    FAB("status", "status", F_FAB_STATUS, 0, "The outcome of the fabric registration."),
    FAB("cliqueId", "cliqueId", F_FAB_CLIQUE, 0, "The fabric clique the GPU belongs to."),
    FAB("clusterUuid", "clusterUuid", F_FAB_UUID, 0, "The UUID of the fabric cluster the GPU belongs to."),
    FAB("health.summary", "health/summary", F_FAB_SUMMARY, 0, "The fabric health: Healthy, Unhealthy or Limited Capacity."),
    FAB("health.bandwidth", "health/bandwidth", F_FAB_BIT, 0, "Whether the fabric bandwidth is degraded."),
    FAB("health.route_recovery_in_progress", "health/route_recovery_in_progress", F_FAB_BIT, 2,
        "Whether the fabric is recovering a route."),
    FAB("health.route_unhealthy", "health/route_unhealthy", F_FAB_BIT, 4, "Whether a fabric route is unhealthy."),
    FAB("health.access_timeout_recovery", "health/access_timeout_recovery", F_FAB_BIT, 6,
        "Whether the fabric is recovering from an access timeout."),
    FAB("health.incorrect_configuration", "health/incorrect_configuration", F_FAB_INCORRECT, 8,
        "What is wrong with the fabric configuration, if anything."),
    FAB("health.partition_assigned", "health/partition_assigned", F_FAB_BIT, 12,
        "Whether the GPU is assigned to a fabric partition."),
#undef FAB
    {NULL, NULL, "supported_clocks", NULL, NULL, NULL, F_SUPCLK, 0, FL_LIST, 0, {SRC(K_SUPCLK, 0, 0)}, NULL},
    {NULL, NULL, "processes", NULL, NULL, NULL, F_PROCS, 0, FL_LIST, 0, {SRC(K_PROCS, 0, 0)}, NULL},
    {NULL, NULL, "accounted_processes", NULL, NULL, NULL, F_ACCT, 0, FL_LIST, 0, {SRC(K_ACCT, 0, 0)}, NULL},
    {NULL, NULL, "capabilities/egm", NULL, NULL, NULL, F_EGM, 0, 0, 0, {SRC(K_CAPS, 0, 0)}, NULL},

    /* --- query fields with no element in nvidia-smi -q -x --------------------------------- */
#define VCAP(csv, cap, fmt, help)                                                                            \
    {"vgpu_device_capability." csv, NULL, "vgpu_device_capability/" csv, NULL, NULL, NULL, fmt, 0, FL_NOFULL, 0, \
     {U32A(VgpuCap, cap)}, help}
    VCAP("fractional_multiVgpu", 0, F_YESNO, "Whether fractional vGPU profiles can share the GPU."),
    VCAP("heterogeneous_timeSlice_profile", 1, F_YESNO,
         "Whether time-sliced vGPUs of different profiles can share the GPU."),
    VCAP("heterogeneous_timeSlice_sizes", 2, F_YESNO,
         "Whether time-sliced vGPUs of different framebuffer sizes can share the GPU."),
    VCAP("homogeneous_placements", 9, F_YESNO, "Whether vGPUs of one type must use homogeneous placements."),
    VCAP("mig_timeSlicing", 10, F_YESNO, "Whether MIG-backed vGPUs can be time-sliced."),
    VCAP("mig_timeSlicing_mode", 11, F_ENABLED, "Whether time-slicing of MIG-backed vGPUs is on."),
#undef VCAP
#define PLAT(csv, slot, fmt, help)                                                                           \
    {"platform." csv, NULL, "platform/" csv, NULL, NULL, NULL, fmt, 0, FL_NOFULL, 0, {SRC(K_PLATFORM, 0, slot)},  \
     help}
    PLAT("chassis_serial_number", 0, F_PLATSTR, "The serial number of the chassis the GPU is in."),
    PLAT("slot_number", 0, F_U, "The chassis slot the GPU's tray is in."),
    PLAT("tray_index", 1, F_U, "The index of the GPU's compute tray."),
    PLAT("host_id", 2, F_U, "The index of the GPU's host within its tray."),
    PLAT("peer_type", 3, F_PEER, "How the GPU reaches its peers: Direct Connected, or through a switch."),
    PLAT("module_id", 4, F_U, "The GPU's module id within its node."),
    PLAT("gpu_fabric_guid", 5, F_PLATGUID, "The GUID of the GPU on the fabric."),
#undef PLAT
    {"hostname", NULL, "hostname", NULL, NULL, NULL, F_STR, 0, FL_NOFULL, 0, {SRC(K_HOSTNAME, 0, 0)},
     "The host name recorded in the GPU (set with nvidia-smi --set-hostname)."},
};

#define NITEMS ((int)(sizeof items / sizeof items[0]))

/* ------------------------------------------------------------------------------------
 * Rendering.
 * ---------------------------------------------------------------------------------- */

enum { M_CSV, M_CSV_NOUNITS, M_XML, M_PY };
enum { T_STR, T_U, T_I, T_D };

typedef struct {
    int rc;
    int type;
    unsigned long long u;
    long long i;
    double d;
    char buf[160];
} sval;

static const char *
err_text(int rc)
{
    switch (rc) {
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_INSUFFICIENT_POWER: return "Insufficient External Power";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT: return "Timeout";
    case NVML_ERROR_IRQ_ISSUE: return "Interrupt Request Issue";
    case NVML_ERROR_CORRUPTED_INFOROM: return "Corrupted infoROM";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_RESET_REQUIRED: return "GPU requires reset";
    case NVML_ERROR_OPERATING_SYSTEM: return "Operating System Error";
    case NVML_ERROR_IN_USE: return "In use by another client";
    case NVML_ERROR_MEMORY: return "Insufficient Memory";
    case NVML_ERROR_NO_DATA: return "No data";
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument version mismatch";
    case NVML_ERROR_DEPRECATED: return "Requested functionality has been deprecated";
    case NVML_ERROR_NOT_READY: return "Not Ready";
    case NVML_ERROR_GPU_NOT_FOUND: return "GPU not found";
    case NVML_ERROR_INVALID_STATE: return "Invalid state";
    default: return "Unknown Error";
    }
}

static int
is_na(int rc)
{
    return rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_FUNCTION_NOT_FOUND;
}

#define SETS(o, ...) ((o)->type = T_STR, snprintf((o)->buf, sizeof (o)->buf, __VA_ARGS__))

static const char *
pick(const char *const *names, size_t n, unsigned long long v)
{
    return v < n && names[v] ? names[v] : "Unknown";
}
#define PICK(arr, v) pick(arr, sizeof arr / sizeof arr[0], v)

static const char *const brand_names[] = {
    "Unknown", "Quadro", "Tesla", "NVS", "Grid", "GeForce", "Titan", "NVIDIA Virtual Applications",
    "NVIDIA Virtual PC", "NVIDIA Virtual Compute Server", "NVIDIA RTX Virtual Workstation", "NVIDIA Cloud Gaming",
    "Quadro RTX", "NVIDIA RTX", "NVIDIA", "GeForce RTX", "Titan RTX",
    /* NVML 13.615's (nvml.h 13.4 names them so; driver 580's nvidia-smi has none of them) */
    "NVIDIA Deep Learning Accelerator", "NVIDIA RTX Virtual Game Dev", "NVIDIA NPU",
};
static const char *const arch_names[] = {
    NULL, NULL, "Kepler", "Maxwell", "Pascal", "Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper", "Blackwell",
    NULL, NULL, "Rubin",
};
static const char *const compute_mode_names[] = {"Default", "Exclusive_Thread", "Prohibited", "Exclusive_Process"};
static const char *const gom_names[] = {"All On", "Compute", "Low Double Precision"};
static const char *const drvmodel_names[] = {"WDDM", "TCC", "MCDM"};
static const char *const addrmode_names[] = {"None", "HMM", "ATS"};
static const char *const virt_names[] = {"None", "Pass-Through", "VGPU", "Host VGPU", "Host VSGA"};
static const char *const hostvgpu_names[] = {"Non SR-IOV", "SR-IOV"};
static const char *const recovery_names[] = {"None", "Reset", "Reboot", "Drain P2P", "Drain and Reset"};
static const char *const peer_names[] = {"Direct Connected", "Switch Connected"};
static const char *const fab_state_names[] = {"N/A", "Not Started", "In Progress", "Completed"};
static const char *const fab_summary_names[] = {"N/A", "Healthy", "Unhealthy", "Limited Capacity"};
static const char *const fab_incorrect_names[] = {
    "N/A", "None", "Incorrect SysGuid", "Incorrect Chassis Serial Number", "No Partition", "Insufficient NVLinks",
    "Incompatible GPU Firmware", "Invalid Location",
};

static const fetch_t *
src_of(devctx *g, devctx *dc, const src_t *s)
{
    switch (s->kind) {
    case K_TIME: case K_DRVVER: case K_CUDAVER: case K_COUNT: case K_VGPUDRV:
        return find(g, s->kind, s->arg);
    default:
        return dc ? find(dc, s->kind, s->arg) : NULL;
    }
}

/* The value of item it (a plain value: lists are rendered elsewhere). */
static void
eval(const smi_item *it, devctx *g, devctx *dc, int mode, sval *o)
{
    memset(o, 0, sizeof *o);
    const fetch_t *f = src_of(g, dc, &it->src[0]);
    if (f == NULL) {
        o->rc = NVML_ERROR_UNKNOWN;
        return;
    }
    if ((it->flags & FL_FALLBACK) && f->rc != NVML_SUCCESS) {
        const fetch_t *f2 = src_of(g, dc, &it->src[1]);
        if (f2 != NULL)
            f = f2;
    }
    if (it->flags & (FL_GATE | FL_GATEFV)) {
        const fetch_t *gate = src_of(g, dc, &it->src[2]);
        int ok = gate != NULL && gate->rc == NVML_SUCCESS;
        if (ok && (it->flags & FL_GATE))
            ok = gate->v[1] != NVML_VALUE_TYPE_DOUBLE && gate->v[0] != 0;
        if (!ok) {
            o->rc = (gate && gate->rc != NVML_SUCCESS && !is_na(gate->rc)) ? gate->rc : NVML_ERROR_NOT_SUPPORTED;
            return;
        }
    }
    o->rc = f->rc;
    unsigned int slot = it->src[0].slot;
    unsigned long long v = f->v[slot < 12 ? slot : 0];
    /* the dict writes as the XML does, but for the time (with its date and milliseconds) */
    int fmt = (mode >= M_XML && it->xfmt && !(mode == M_PY && it->xfmt == F_TIME_XML)) ? it->xfmt : it->fmt;

    /* formats that read the error themselves */
    switch (fmt) {
    case F_VALIDATE:
        if (f->rc == NVML_SUCCESS)
            SETS(o, "valid");
        else if (f->rc == NVML_ERROR_CORRUPTED_INFOROM) {
            o->rc = NVML_SUCCESS;
            SETS(o, "invalid");
        }
        return;
    case F_STR:
        if (f->kind == K_DEPRECATED)
            o->rc = NVML_ERROR_DEPRECATED;
        if (o->rc == NVML_SUCCESS)
            SETS(o, "%s", f->s);
        return;
    case F_MEMREQ:   /* reserved: only from nvmlDeviceGetMemoryInfo_v2 */
        if (o->rc == NVML_SUCCESS && f->v[4] != NVML_SUCCESS)
            o->rc = (int)f->v[4];
        if (o->rc == NVML_SUCCESS) {
            o->type = T_U;
            /* rounded up: an H200's 615.06 MiB showed as 616 (its free 143155.94 as 143156) */
            o->u = (v + (1ull << 20) - 1) >> 20;
        }
        return;
    case F_FAB_STATE: case F_FAB_STATUS: case F_FAB_CLIQUE: case F_FAB_UUID: case F_FAB_SUMMARY: case F_FAB_BIT:
    case F_FAB_INCORRECT:
        if (o->rc != NVML_SUCCESS)
            return;
        if (f->v[0] == 0) {         /* NVML_GPU_FABRIC_STATE_NOT_SUPPORTED */
            o->rc = NVML_ERROR_NOT_SUPPORTED;
            return;
        }
        break;
    case F_PLATX: {
        const fetch_t *fab = src_of(g, dc, &it->src[2]);
        if (fab == NULL || fab->rc != NVML_SUCCESS || fab->v[0] == 0) {
            o->rc = NVML_ERROR_NOT_SUPPORTED;
            return;
        }
        if (o->rc != NVML_SUCCESS)
            return;
        switch (slot) {
        case 0: SETS(o, "%.16s", f->s); break;
        case 1: case 2: case 3: o->type = T_U; o->u = f->v[slot - 1]; break;
        case 4: SETS(o, "%s", PICK(peer_names, f->v[3])); break;
        default: SETS(o, "0x%016llx", f->v[5]); break;
        }
        return;
    }
    default:
        break;
    }
    if (o->rc != NVML_SUCCESS)
        return;
    switch (fmt) {
    case F_U:
        o->type = T_U;
        o->u = v;
        break;
    case F_I:
        o->type = T_I;
        o->i = (int)(unsigned int)v;
        break;
    case F_NS_US:
        o->type = T_U;
        o->u = v / 1000;
        break;
    case F_MIB:
        o->type = T_U;
        o->u = v >> 20;
        break;
    case F_FBMIB:   /* framebuffer memory: nvidia-smi rounds it to the nearest MiB (an H200
                     * showed total 143771, reserved 616, free 143156: rounded, not floored),
                     * where BAR1 is floored (an H100's 1.6 MiB of BAR1 showed as 1 MiB) */
        o->type = T_U;
        o->u = (v + (1ull << 19)) >> 20;
        break;
    case F_BAR1FREE:
        o->type = T_U;
        o->u = (f->v[0] >> 20) - (f->v[1] >> 20);
        break;
    case F_MW:
        o->type = T_D;
        o->d = (double)v / 1000.0;
        break;
    case F_W:
        o->type = T_D;
        o->d = f->kind == K_FV && f->v[1] == NVML_VALUE_TYPE_DOUBLE ? f->d : (double)v;
        break;
    case F_ENABLED: SETS(o, "%s", v ? "Enabled" : "Disabled"); break;
    case F_YESNO: SETS(o, "%s", v ? "Yes" : "No"); break;
    case F_ONOFF: SETS(o, "%s", v ? "On" : "Off"); break;
    case F_SUPPORTED: SETS(o, "%s", v ? "Supported" : "Not Supported"); break;
    case F_ACTIVE: {
        const fetch_t *sup = src_of(g, dc, &it->src[1]);
        if (sup != NULL && sup->rc == NVML_SUCCESS && !(sup->v[0] & it->param))
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "%s", (v & it->param) ? "Active" : "Not Active");
        break;
    }
    case F_HEX:
        if (it->param == 16)
            SETS(o, "0x%016llX", v);
        else
            SETS(o, "0x%0*llX", (int)it->param, v);
        break;
    case F_HEXN: SETS(o, "%0*llX", (int)it->param, v); break;
    case F_HEXL:
        if (it->param == 16)
            SETS(o, "0x%016llx", v);
        else
            SETS(o, "0x%llx", v);
        break;
    case F_PSTATE:
        if (v == 32)
            SETS(o, "Unknown");
        else
            SETS(o, "P%llu", v);
        break;
    case F_COMPUTEMODE: SETS(o, "%s", PICK(compute_mode_names, v)); break;
    case F_GOM: SETS(o, "%s", PICK(gom_names, v)); break;
    case F_DRVMODEL: SETS(o, "%s", PICK(drvmodel_names, v)); break;
    case F_ADDRMODE: SETS(o, "%s", PICK(addrmode_names, v)); break;
    case F_ARCH: SETS(o, "%s", PICK(arch_names, v)); break;
    case F_BRAND: SETS(o, "%s", PICK(brand_names, v)); break;
    case F_VIRT: SETS(o, "%s", PICK(virt_names, v)); break;
    case F_HOSTVGPU: SETS(o, "%s", PICK(hostvgpu_names, v)); break;
    case F_VGPUHETERO: SETS(o, "%s", v ? "Enabled" : "Disabled"); break;
    case F_RECOVERY: SETS(o, "%s", PICK(recovery_names, v)); break;
    case F_PEER: SETS(o, "%s", PICK(peer_names, v)); break;
    case F_FAB_STATE: SETS(o, "%s", PICK(fab_state_names, f->v[0])); break;
    case F_FAB_STATUS:
        if (f->v[0] != 3)          /* not completed: no outcome yet */
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else if (f->v[1] == NVML_SUCCESS)
            SETS(o, "Success");
        else
            SETS(o, "%s", err_text((int)f->v[1]));
        break;
    case F_FAB_CLIQUE:
        o->type = T_U;
        o->u = f->v[2];
        break;
    case F_FAB_UUID: {
        const unsigned char *u = (const unsigned char *)f->s;
        SETS(o, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
             u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
        break;
    }
    case F_FAB_SUMMARY:
        if (f->v[4] == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "%s", PICK(fab_summary_names, f->v[4]));
        break;
    case F_FAB_BIT: {
        unsigned int b = (unsigned int)(f->v[3] >> it->param) & 3;
        if (b == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else if (it->param == 0)
            SETS(o, "%s", b == 1 ? "Degraded" : "Full");
        else
            SETS(o, "%s", b == 1 ? "True" : "False");
        break;
    }
    case F_FAB_INCORRECT: {
        unsigned int b = (unsigned int)(f->v[3] >> it->param) & 0xF;
        if (b == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "%s", PICK(fab_incorrect_names, b));
        break;
    }
    case F_CUDACAP: SETS(o, "%llu.%llu", f->v[0], f->v[1]); break;
    case F_CUDAVER: SETS(o, "%llu.%llu", v / 1000, (v % 1000) / 10); break;
    case F_TIME_CSV: case F_TIME_XML: {
        time_t t = (time_t)f->v[0];
        struct tm tm;
        localtime_r(&t, &tm);
        char b[64];
        if (fmt == F_TIME_XML)
            strftime(b, sizeof b, "%a %b %d %H:%M:%S %Y", &tm);
        else {
            strftime(b, sizeof b, "%Y/%m/%d %H:%M:%S", &tm);
            size_t l = strlen(b);
            snprintf(b + l, sizeof b - l, ".%03llu", f->v[1] / 1000);
        }
        SETS(o, "%s", b);
        break;
    }
    case F_TLIMIT: {
        const fetch_t *f2 = src_of(g, dc, &it->src[1]);
        if (f2 == NULL || f2->rc != NVML_SUCCESS) {
            o->rc = f2 ? f2->rc : NVML_ERROR_UNKNOWN;
            break;
        }
        o->type = T_I;
        o->i = (long long)f->v[0] - (long long)f2->v[0];
        break;
    }
    case F_MIGDEV:
        if (v)
            o->rc = NVML_ERROR_NOT_SUPPORTED;   /* MIG devices are not listed yet */
        else
            SETS(o, "None");
        break;
    case F_PLATSTR: SETS(o, "%.16s", f->s); break;
    case F_PLATGUID: SETS(o, "0x%016llx", f->v[5]); break;
    case F_BRIDGE_TYPE:
        if (f->v[0] == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "%s", f->v[1] == 0 ? "PLX" : "BR04");
        break;
    case F_BRIDGE_FW:
        if (f->v[0] == 0 || f->v[2] == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "%08llX", f->v[2]);
        break;
    case F_ATOMICS:
        if (v == 0)
            o->rc = NVML_ERROR_NOT_SUPPORTED;
        else
            SETS(o, "0x%llx", v);
        break;
    case F_PROFILES: {
        char *p = o->buf;
        size_t left = sizeof o->buf;
        p[0] = '\0';
        for (int w = 0; w < 4; w++)
            for (int b = 0; b < 64; b++)
                if (f->v[it->param + w] & (1ULL << b)) {
                    int n = snprintf(p, left, "%s%d", p == o->buf ? "" : ", ", w * 64 + b);
                    if (n < 0 || (size_t)n >= left)
                        break;
                    p += n;
                    left -= n;
                }
        o->type = T_STR;
        if (o->buf[0] == '\0')
            SETS(o, "None");
        break;
    }
    case F_EGM: SETS(o, "%s", (v & 1) ? "enabled" : "disabled"); break;
    case F_BBXTIME: o->type = T_U; o->u = f->v[0]; break;
    case F_BBXDUR: o->type = T_U; o->u = f->v[1]; break;
    default:
        o->rc = NVML_ERROR_UNKNOWN;
    }
}

static const char *
xml_suffix(const smi_item *it, char *buf, size_t n)
{
    if (it->xsuf)
        return it->xsuf;
    if (it->unit) {
        snprintf(buf, n, " %s", it->unit);
        return buf;
    }
    return "";
}

static PyObject *
render_value(const smi_item *it, const sval *o, int mode)
{
    char text[256], sfx[32];
    if (o->rc != NVML_SUCCESS) {
        int na = is_na(o->rc) || (it->flags & FL_ANYNA);
        const char *t = na ? "N/A" : err_text(o->rc);
        if ((mode == M_CSV || mode == M_CSV_NOUNITS) && !(it->flags & FL_NAPLAIN)) {
            snprintf(text, sizeof text, "[%s]", t);
            return PyUnicode_FromString(text);
        }
        return PyUnicode_FromString(t);
    }
    if (o->type == T_STR)
        return PyUnicode_DecodeUTF8(o->buf, strlen(o->buf), "replace");
    if (mode == M_PY && !(it->xsuf && it->xsuf[0] && it->xsuf[0] != ' ')) {   /* "16x" stays text */
        switch (o->type) {
        case T_U: return PyLong_FromUnsignedLongLong(o->u);
        case T_I: return PyLong_FromLongLong(o->i);
        default: {
            /* two decimals, as nvidia-smi shows it */
            snprintf(text, sizeof text, "%.2f", o->d);
            return PyFloat_FromDouble(strtod(text, NULL));
        }
        }
    }
    const char *suffix = "";
    if (mode == M_CSV && it->unit) {
        snprintf(sfx, sizeof sfx, " %s", it->unit);
        suffix = sfx;
    }
    else if (mode == M_XML || mode == M_PY)
        suffix = xml_suffix(it, sfx, sizeof sfx);
    switch (o->type) {
    case T_U: snprintf(text, sizeof text, "%llu%s", o->u, suffix); break;
    case T_I: snprintf(text, sizeof text, "%lld%s", o->i, suffix); break;
    default: snprintf(text, sizeof text, "%.2f%s", o->d, suffix); break;
    }
    return PyUnicode_FromString(text);
}

/* XML children of a list: [(tag, text or children), ...]; the dict: a list of dicts. */
static PyObject *
pair(const char *tag, PyObject *v)
{
    if (v == NULL)
        return NULL;
    PyObject *t = Py_BuildValue("(sN)", tag, v);
    return t;
}

static int
append_pair(PyObject *list, const char *tag, PyObject *v)
{
    PyObject *p = pair(tag, v);
    if (p == NULL)
        return -1;
    int r = PyList_Append(list, p);
    Py_DECREF(p);
    return r;
}

static int
dict_set(PyObject *d, const char *k, PyObject *v)
{
    if (v == NULL)
        return -1;
    int r = PyDict_SetItemString(d, k, v);
    Py_DECREF(v);
    return r;
}

static PyObject *
err_obj(const smi_item *it, int rc, int mode)
{
    sval o;
    memset(&o, 0, sizeof o);
    o.rc = rc;
    return render_value(it, &o, mode);
}

static PyObject *
render_list(const smi_item *it, devctx *dc, int mode)
{
    const fetch_t *f = src_of(NULL, dc, &it->src[0]);
    if (f == NULL)
        return err_obj(it, NVML_ERROR_UNKNOWN, mode);
    if (f->rc != NVML_SUCCESS)
        return err_obj(it, f->rc, mode);
    const unsigned long long *b = f->blob;
    char t[64];
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    switch (it->fmt) {
    case F_RETIRED_LIST:
        for (unsigned int i = 0; i < f->n; i++) {
            snprintf(t, sizeof t, "0x%016llx", b[i]);
            PyObject *v = PyUnicode_FromString(t);
            if (mode == M_XML) {
                if (append_pair(out, "retired_page_address", v) < 0)
                    goto fail;
            }
            else {
                if (v == NULL || PyList_Append(out, v) < 0) {
                    Py_XDECREF(v);
                    goto fail;
                }
                Py_DECREF(v);
            }
        }
        break;
    case F_SUPCLK: {
        size_t k = 1;
        unsigned long long nmem = b ? b[0] : 0;
        for (unsigned long long m = 0; m < nmem; m++) {
            unsigned long long mhz = b[k], rc = b[k + 1], ng = b[k + 2];
            k += 3;
            if (mode == M_XML) {
                PyObject *kids = PyList_New(0);
                if (kids == NULL)
                    goto fail;
                snprintf(t, sizeof t, "%llu MHz", mhz);
                if (append_pair(kids, "value", PyUnicode_FromString(t)) < 0) {
                    Py_DECREF(kids);
                    goto fail;
                }
                if (rc != NVML_SUCCESS &&
                    append_pair(kids, "supported_graphics_clock",
                                PyUnicode_FromString(is_na((int)rc) ? "N/A" : err_text((int)rc))) < 0) {
                    Py_DECREF(kids);
                    goto fail;
                }
                for (unsigned long long j = 0; j < ng; j++) {
                    snprintf(t, sizeof t, "%llu MHz", b[k + j]);
                    if (append_pair(kids, "supported_graphics_clock", PyUnicode_FromString(t)) < 0) {
                        Py_DECREF(kids);
                        goto fail;
                    }
                }
                if (append_pair(out, "supported_mem_clock", kids) < 0)
                    goto fail;
            }
            else {
                PyObject *d = PyDict_New(), *gr = PyList_New(0);
                if (d == NULL || gr == NULL) {
                    Py_XDECREF(d);
                    Py_XDECREF(gr);
                    goto fail;
                }
                for (unsigned long long j = 0; j < ng; j++) {
                    PyObject *v = PyLong_FromUnsignedLongLong(b[k + j]);
                    if (v == NULL || PyList_Append(gr, v) < 0) {
                        Py_XDECREF(v);
                        Py_DECREF(d);
                        Py_DECREF(gr);
                        goto fail;
                    }
                    Py_DECREF(v);
                }
                if (dict_set(d, "current", PyLong_FromUnsignedLongLong(mhz)) < 0 ||
                    dict_set(d, "unit", PyUnicode_FromString("MHz")) < 0 ||
                    dict_set(d, "supported_graphics_clock",
                             rc == NVML_SUCCESS ? gr : PyUnicode_FromString(is_na((int)rc) ? "N/A" : err_text((int)rc))) < 0 ||
                    PyList_Append(out, d) < 0) {
                    if (rc != NVML_SUCCESS)
                        Py_DECREF(gr);
                    Py_DECREF(d);
                    goto fail;
                }
                if (rc != NVML_SUCCESS)
                    Py_DECREF(gr);
                Py_DECREF(d);
            }
            k += ng;
        }
        break;
    }
    case F_PROCS: {
        const char *names = (const char *)(b + (size_t)f->v[0] * PROC_W);
        static const char *const types[] = {"", "C", "G", "C+G"};
        for (unsigned int i = 0; i < f->n; i++) {
            const unsigned long long *r = &b[(size_t)i * PROC_W];
            const char *name = names + (size_t)i * 64;
            int mem_na = r[1] == PN_VALUE_NOT_AVAILABLE;
            if (mode == M_XML) {
                PyObject *kids = PyList_New(0);
                if (kids == NULL)
                    goto fail;
                char mem[64];
                if (mem_na)
                    snprintf(mem, sizeof mem, "N/A");
                else
                    snprintf(mem, sizeof mem, "%llu MiB", r[1] >> 20);
                int bad = 0;
                if (r[2] == 0xFFFFFFFFu)
                    bad |= append_pair(kids, "gpu_instance_id", PyUnicode_FromString("N/A")) < 0;
                else
                    bad |= append_pair(kids, "gpu_instance_id", PyUnicode_FromFormat("%u", (unsigned int)r[2])) < 0;
                if (r[3] == 0xFFFFFFFFu)
                    bad |= append_pair(kids, "compute_instance_id", PyUnicode_FromString("N/A")) < 0;
                else
                    bad |= append_pair(kids, "compute_instance_id", PyUnicode_FromFormat("%u", (unsigned int)r[3])) < 0;
                bad |= append_pair(kids, "pid", PyUnicode_FromFormat("%llu", r[0])) < 0;
                bad |= append_pair(kids, "type", PyUnicode_FromString(types[r[4] & 3])) < 0;
                bad |= append_pair(kids, "process_name", PyUnicode_DecodeUTF8(name, strnlen(name, 64), "replace")) < 0;
                bad |= append_pair(kids, "used_memory", PyUnicode_FromString(mem)) < 0;
                if (bad || append_pair(out, "process_info", kids) < 0) {
                    if (bad)
                        Py_DECREF(kids);
                    goto fail;
                }
            }
            else {
                PyObject *d = PyDict_New();
                if (d == NULL)
                    goto fail;
                if (dict_set(d, "pid", PyLong_FromUnsignedLongLong(r[0])) < 0 ||
                    dict_set(d, "type", PyUnicode_FromString(types[r[4] & 3])) < 0 ||
                    dict_set(d, "process_name", PyUnicode_DecodeUTF8(name, strnlen(name, 64), "replace")) < 0 ||
                    dict_set(d, "used_memory", mem_na ? PyUnicode_FromString("N/A")
                                                      : PyLong_FromUnsignedLongLong(r[1] >> 20)) < 0 ||
                    dict_set(d, "unit", PyUnicode_FromString("MiB")) < 0 || PyList_Append(out, d) < 0) {
                    Py_DECREF(d);
                    goto fail;
                }
                Py_DECREF(d);
            }
        }
        break;
    }
    case F_ACCT:
        for (unsigned int i = 0; i < f->n; i++) {
            const unsigned long long *r = &b[(size_t)i * ACCT_W];
            if (r[1] == NVML_ERROR_NOT_FOUND)
                continue;           /* the process went away meanwhile */
            char gu[32], mu[32], mm[32], tm[32], run[8];
            if (r[1] != NVML_SUCCESS) {
                const char *e = is_na((int)r[1]) ? "N/A" : err_text((int)r[1]);
                snprintf(gu, sizeof gu, "%s", e);
                snprintf(mu, sizeof mu, "%s", e);
                snprintf(mm, sizeof mm, "%s", e);
                snprintf(tm, sizeof tm, "%s", e);
                snprintf(run, sizeof run, "%s", "N/A");
            }
            else {
                snprintf(gu, sizeof gu, "%llu %%", r[2]);
                snprintf(mu, sizeof mu, "%llu %%", r[3]);
                if (r[4] == PN_VALUE_NOT_AVAILABLE)
                    snprintf(mm, sizeof mm, "N/A");
                else
                    snprintf(mm, sizeof mm, "%llu MiB", r[4] >> 20);
                snprintf(tm, sizeof tm, "%llu ms", r[5]);
                snprintf(run, sizeof run, "%llu", r[6]);
            }
            PyObject *c = mode == M_XML ? PyList_New(0) : PyDict_New();
            if (c == NULL)
                goto fail;
            const char *keys[] = {"pid", "gpu_util", "memory_util", "max_memory_usage", "time", "is_running"};
            char pid[24];
            snprintf(pid, sizeof pid, "%llu", r[0]);
            const char *vals[] = {pid, gu, mu, mm, tm, run};
            int bad = 0;
            for (int j = 0; j < 6 && !bad; j++)
                bad = mode == M_XML ? append_pair(c, keys[j], PyUnicode_FromString(vals[j])) < 0
                                    : dict_set(c, keys[j], PyUnicode_FromString(vals[j])) < 0;
            if (bad || (mode == M_XML ? append_pair(out, "accounted_process_info", c) < 0
                                      : PyList_Append(out, c) < 0)) {
                if (bad || mode != M_XML)
                    Py_DECREF(c);
                goto fail;
            }
            if (mode != M_XML)
                Py_DECREF(c);
        }
        break;
    default:
        break;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ------------------------------------------------------------------------------------
 * Python entry points.
 * ---------------------------------------------------------------------------------- */

static PyObject *
smi_items(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyTuple_New(NITEMS);
    if (out == NULL)
        return NULL;
    for (int i = 0; i < NITEMS; i++) {
        const smi_item *it = &items[i];
        char sfx[32];
        PyObject *names = PyTuple_New(0);
        if (names == NULL)
            goto fail;
        if (it->names) {
            Py_DECREF(names);
            PyObject *s = PyUnicode_FromString(it->names);
            names = s ? PyUnicode_Split(s, NULL, -1) : NULL;
            Py_XDECREF(s);
            if (names == NULL)
                goto fail;
            Py_SETREF(names, PyList_AsTuple(names));
            if (names == NULL)
                goto fail;
        }
        const char *xsuf = xml_suffix(it, sfx, sizeof sfx);
        PyObject *t = Py_BuildValue("(NzzzzzIOz)", names, it->unit, it->xml, it->dict ? it->dict : it->xml,
                                    it->dunit, xsuf, (unsigned int)it->flags,
                                    (it->flags & FL_LIST) ? Py_True : Py_False, it->help);
        if (t == NULL)
            goto fail;
        PyTuple_SET_ITEM(out, i, t);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static int
plan(devctx *dc, devctx *g, const int *sel, Py_ssize_t nsel)
{
    for (Py_ssize_t k = 0; k < nsel; k++) {
        const smi_item *it = &items[sel[k]];
        for (int s = 0; s < 3; s++) {
            const src_t *src = &it->src[s];
            if (src->kind == K_NONE)
                continue;
            int global = src->kind == K_TIME || src->kind == K_DRVVER || src->kind == K_CUDAVER ||
                         src->kind == K_COUNT || src->kind == K_VGPUDRV;
            devctx *target = global ? g : dc;
            if (target != NULL && need(target, src->kind, src->arg) < 0)
                return -1;
        }
    }
    return 0;
}

static PyObject *
render_item(const smi_item *it, devctx *g, devctx *dc, int mode)
{
    if (it->flags & FL_LIST) {
        if (mode == M_CSV || mode == M_CSV_NOUNITS)
            return PyUnicode_FromString("[N/A]");
        return render_list(it, dc, mode);
    }
    sval o;
    eval(it, g, dc, mode, &o);
    return render_value(it, &o, mode);
}

/* An int argument as a long; out of range (or an int too big for a long): ValueError. */
static int
arg_long(PyObject *o, const char *what, long *out)
{
    int overflow = 0;
    *out = PyLong_AsLongAndOverflow(o, &overflow);
    if (*out == -1 && PyErr_Occurred())
        return -1;
    if (overflow) {
        PyErr_Format(PyExc_ValueError, "_smi_query: %s out of range", what);
        return -1;
    }
    return 0;
}

/* per_call[name] += [ns, 1] */
static int
add_call_time(PyObject *per_call, const char *name, long long ns)
{
    PyObject *old = PyDict_GetItemString(per_call, name);   /* borrowed */
    long long t = 0, n = 0;
    if (old != NULL) {
        if (!PyList_Check(old) || PyList_GET_SIZE(old) != 2) {
            PyErr_Format(PyExc_TypeError, "_smi_query: per_call[%s] must be [ns, fetches]", name);
            return -1;
        }
        t = PyLong_AsLongLong(PyList_GET_ITEM(old, 0));
        n = PyLong_AsLongLong(PyList_GET_ITEM(old, 1));
        if (PyErr_Occurred())
            return -1;
    }
    PyObject *v = Py_BuildValue("[LL]", t + ns, n + 1);
    int rc = v ? PyDict_SetItemString(per_call, name, v) : -1;
    Py_XDECREF(v);
    return rc;
}

static PyObject *
smi_query(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    pn_state *st = pn_get_state(module);
    if (nargs < 3 || nargs > 5) {
        PyErr_SetString(PyExc_TypeError,
                        "_smi_query(items, devices, mode[, timings[, per_call]]) takes 3 to 5 arguments");
        return NULL;
    }
    /* timings: a list to append the fetch phase's nanoseconds to (the NVML calls alone),
     * for bench/smi_bench.py's query-against-its-NVML-calls figure; per_call: a dict that
     * gets entry point -> [ns, fetches] added to it, each fetch's time counted to the last
     * entry point it called (bench/smi_bench.py's breakdown) */
    PyObject *timings = nargs >= 4 && args[3] != Py_None ? args[3] : NULL;
    if (timings != NULL && !PyList_Check(timings)) {
        PyErr_SetString(PyExc_TypeError, "_smi_query: timings must be a list");
        return NULL;
    }
    PyObject *per_call = nargs == 5 && args[4] != Py_None ? args[4] : NULL;
    if (per_call != NULL && !PyDict_CheckExact(per_call)) {
        PyErr_SetString(PyExc_TypeError, "_smi_query: per_call must be a dict");
        return NULL;
    }
    long mode;
    if (arg_long(args[2], "mode", &mode) < 0)
        return NULL;
    if (mode < M_CSV || mode > M_PY) {
        PyErr_SetString(PyExc_ValueError, "_smi_query: mode must be 0..3");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "_smi_query: items must be a sequence of item numbers");
    if (seq == NULL)
        return NULL;
    Py_ssize_t nsel = PySequence_Fast_GET_SIZE(seq);
    int *sel = PyMem_Calloc(nsel ? nsel : 1, sizeof *sel);
    unsigned int *devs = NULL;
    PyObject *result = NULL, *globals = NULL, *rows = NULL;
    devctx g = {0}, *dcs = NULL;
    Py_ssize_t ndev = 0;
    if (sel == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < nsel; k++) {
        long v;
        if (arg_long(PySequence_Fast_GET_ITEM(seq, k), "item number", &v) < 0)
            goto done;
        if (v < 0 || v >= NITEMS) {
            PyErr_Format(PyExc_ValueError, "_smi_query: no item %ld", v);
            goto done;
        }
        sel[k] = (int)v;
    }
    if (st->lib == NULL || pn_layer_uninitialized(st)) {
        pn_raise(st, NVML_ERROR_UNINITIALIZED);
        goto done;
    }
    /* the devices */
    fn_count count = (fn_count)getsym(st, SY_Count);
    fn_handle handle = (fn_handle)getsym(st, SY_Handle);
    if (count == NULL || handle == NULL) {
        pn_raise(st, NVML_ERROR_FUNCTION_NOT_FOUND);
        goto done;
    }
    unsigned int n = 0;
    nvmlReturn_t rc;
    Py_BEGIN_ALLOW_THREADS
    rc = count(&n);
    Py_END_ALLOW_THREADS
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto done;
    }
    if (args[1] == Py_None) {
        ndev = n;
        devs = PyMem_Calloc(n ? n : 1, sizeof *devs);
        if (devs == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (unsigned int i = 0; i < n; i++)
            devs[i] = i;
    }
    else {
        /* a copy: an index's __index__ may change the caller's list (ext/convert.c) */
        PyObject *dseq = pn_arg_tuple(args[1], "_smi_query: devices must be None or a sequence of indices");
        if (dseq == NULL)
            goto done;
        ndev = PyTuple_GET_SIZE(dseq);
        devs = PyMem_Calloc(ndev ? ndev : 1, sizeof *devs);
        if (devs == NULL) {
            Py_DECREF(dseq);
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < ndev; i++) {
            long v;
            if (arg_long(PyTuple_GET_ITEM(dseq, i), "device index", &v) < 0 || v < 0 ||
                (unsigned long)v >= n) {
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_ValueError, "no GPU with index %ld (%u GPUs)", v, n);
                Py_DECREF(dseq);
                goto done;
            }
            devs[i] = (unsigned int)v;
        }
        Py_DECREF(dseq);
    }
    dcs = PyMem_Calloc(ndev ? ndev : 1, sizeof *dcs);
    if (dcs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* plan: the system's calls in g, each device's in its own context */
    g.rc = NVML_SUCCESS;
    if (plan(NULL, &g, sel, nsel) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t d = 0; d < ndev; d++)
        if (plan(&dcs[d], &g, sel, nsel) < 0) {
            PyErr_NoMemory();
            goto done;
        }
    /* fetch, without the GIL; the devices first: on a real H100 (driver 580),
     * nvmlGetVgpuDriverCapabilities answers NVML_ERROR_UNKNOWN until a device was used */
    long long t0, t1;
    int timed = per_call != NULL;
    Py_BEGIN_ALLOW_THREADS
    t0 = mono_ns();
    for (Py_ssize_t d = 0; d < ndev; d++)
        dcs[d].rc = handle(devs[d], &dcs[d].dev);
    fetch_devices(st, dcs, (size_t)ndev, timed);
    run_device(st, &g, timed, 0);
    t1 = mono_ns();
    Py_END_ALLOW_THREADS
    if (timings != NULL) {
        PyObject *ns = PyLong_FromLongLong(t1 - t0);
        if (ns == NULL || PyList_Append(timings, ns) < 0) {
            Py_XDECREF(ns);
            goto done;
        }
        Py_DECREF(ns);
    }
    for (Py_ssize_t d = -1; per_call != NULL && d < ndev; d++) {
        devctx *dc = d < 0 ? &g : &dcs[d];
        for (unsigned int i = 0; i <= dc->nf; i++) {
            int sym = i < dc->nf ? dc->f[i].sym : dc->fv_ns ? SY_FV : -1;
            if (sym < 0)
                continue;
            if (add_call_time(per_call, syms[sym].name, i < dc->nf ? dc->f[i].ns : dc->fv_ns) < 0)
                goto done;
        }
    }
    /* render */
    globals = PyList_New(nsel);
    rows = PyList_New(ndev);
    if (globals == NULL || rows == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < nsel; k++) {
        const smi_item *it = &items[sel[k]];
        PyObject *v;
        if (it->flags & FL_GLOBAL)
            v = render_item(it, &g, NULL, mode);
        else
            v = Py_None, Py_INCREF(v);
        if (v == NULL)
            goto done;
        PyList_SET_ITEM(globals, k, v);
    }
    for (Py_ssize_t d = 0; d < ndev; d++) {
        PyObject *row = PyList_New(nsel);
        if (row == NULL)
            goto done;
        PyList_SET_ITEM(rows, d, row);
        for (Py_ssize_t k = 0; k < nsel; k++) {
            PyObject *v = render_item(&items[sel[k]], &g, &dcs[d], mode);
            if (v == NULL)
                goto done;
            PyList_SET_ITEM(row, k, v);
        }
    }
    result = PyTuple_Pack(2, globals, rows);
done:
    Py_XDECREF(globals);
    Py_XDECREF(rows);
    devctx_free(&g);
    if (dcs != NULL)
        for (Py_ssize_t d = 0; d < ndev; d++)
            devctx_free(&dcs[d]);
    PyMem_Free(dcs);
    PyMem_Free(devs);
    PyMem_Free(sel);
    Py_DECREF(seq);
    return result;
}

/* ------------------------------------------------------------------------------------
 * The batch API's engine (batch.c has its Python entry, _batch_query).
 * ---------------------------------------------------------------------------------- */

int
pn_smi_item_count(void)
{
    return NITEMS;
}

/* One pair's answer as a Python value (mode M_PY), or its NVML error: 0 with *out a new
 * reference or NULL and *rc set; -1 with a Python exception. */
static int
render_pair(const smi_item *it, devctx *g, devctx *dc, PyObject **out, int *rc)
{
    *out = NULL;
    if (it->flags & FL_LIST) {
        const fetch_t *f = src_of(NULL, dc, &it->src[0]);
        *rc = f == NULL ? NVML_ERROR_UNKNOWN : f->rc;
        if (*rc != NVML_SUCCESS)
            return 0;
        *out = render_list(it, dc, M_PY);
        return *out == NULL ? -1 : 0;
    }
    sval o;
    eval(it, g, dc, M_PY, &o);
    if ((*rc = o.rc) != NVML_SUCCESS)
        return 0;
    *out = render_value(it, &o, M_PY);
    return *out == NULL ? -1 : 0;
}

/* The pairs' devices: distinct ones, each with the items asked of it. */
typedef struct {
    int by_index;
    unsigned int index;
    void *dev;
    int *sel;
    Py_ssize_t nsel;
} bdev;

int
pn_smi_batch(pn_state *st, pn_batch_pair *pairs, size_t n)
{
    if (st->lib == NULL || pn_layer_uninitialized(st)) {
        pn_raise(st, NVML_ERROR_UNINITIALIZED);
        return -1;
    }
    fn_handle handle = (fn_handle)getsym(st, SY_Handle);
    bdev *bd = PyMem_Calloc(n ? n : 1, sizeof *bd);
    int *dev_of = PyMem_Calloc(n ? n : 1, sizeof *dev_of);
    int *sel = PyMem_Calloc(n ? n : 1, sizeof *sel);
    devctx g = {0}, *dcs = NULL;
    size_t nd = 0;
    int ret = -1;
    if (bd == NULL || dev_of == NULL || sel == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t k = 0; k < n; k++) {
        size_t d = 0;
        while (d < nd && !(bd[d].by_index == pairs[k].by_index &&
                           (pairs[k].by_index ? bd[d].index == pairs[k].index : bd[d].dev == pairs[k].dev)))
            d++;
        if (d == nd) {
            bd[nd].by_index = pairs[k].by_index;
            bd[nd].index = pairs[k].index;
            bd[nd].dev = pairs[k].dev;
            nd++;
        }
        dev_of[k] = (int)d;
        bd[d].nsel++;
    }
    /* each device's items: consecutive runs of sel[] */
    for (size_t d = 0, at = 0; d < nd; d++) {
        bd[d].sel = sel + at;
        at += (size_t)bd[d].nsel;
        bd[d].nsel = 0;
    }
    for (size_t k = 0; k < n; k++) {
        bdev *b = &bd[dev_of[k]];
        b->sel[b->nsel++] = pairs[k].item;
    }
    dcs = PyMem_Calloc(nd ? nd : 1, sizeof *dcs);
    if (dcs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    g.rc = NVML_SUCCESS;
    for (size_t d = 0; d < nd; d++)
        if (plan(&dcs[d], &g, bd[d].sel, bd[d].nsel) < 0) {
            PyErr_NoMemory();
            goto done;
        }
    Py_BEGIN_ALLOW_THREADS
    for (size_t d = 0; d < nd; d++) {
        if (!bd[d].by_index) {
            dcs[d].dev = bd[d].dev;
            dcs[d].rc = NVML_SUCCESS;
        }
        else
            dcs[d].rc = handle == NULL ? NVML_ERROR_FUNCTION_NOT_FOUND : handle(bd[d].index, &dcs[d].dev);
    }
    fetch_devices(st, dcs, nd, 0);
    run_device(st, &g, 0, 0);   /* after the devices, as in _smi_query */
    Py_END_ALLOW_THREADS
    for (size_t k = 0; k < n; k++)
        if (render_pair(&items[pairs[k].item], &g, &dcs[dev_of[k]], &pairs[k].value, &pairs[k].rc) < 0)
            goto done;
    ret = 0;
done:
    devctx_free(&g);
    if (dcs != NULL)
        for (size_t d = 0; d < nd; d++)
            devctx_free(&dcs[d]);
    PyMem_Free(dcs);
    PyMem_Free(bd);
    PyMem_Free(dev_of);
    PyMem_Free(sel);
    return ret;
}

PyMethodDef pn_smi_methods[] = {
    {"_smi_items", smi_items, METH_NOARGS,
     "_smi_items()\n--\n\nThe smi engine's items: (names, unit, xml path, dict path, dict unit, xml suffix, flags, "
     "is list, help) each."},
    {"_smi_query", (PyCFunction)(void (*)(void))smi_query, METH_FASTCALL,
     "_smi_query(items, devices, mode)\n--\n\nQuery items (indices into _smi_items()) on devices (indices, or None "
     "for all): (global values, [values per device]); mode 0 csv, 1 csv without units, 2 XML text, 3 Python "
     "values.  timings: a list that gets the nanoseconds spent in the NVML calls."},
    {NULL, NULL, 0, NULL},
};
