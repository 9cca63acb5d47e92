/* The simulated NVML's hand-written entry points that write into a buffer the caller
 * allocated and pointed a struct field at (spec/functions_getters.nvml marks them simhand):
 * a generated entry point fills struct fields only and leaves pointers alone.
 *
 * SRAM UNIQUE UNCORRECTED ECC ERRORS.  A device's
 * "nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts" holds the unique errors:
 *     {"entries": [{"unit": 1, "location": 2, "sublocation": 0, "extlocation": 0,
 *                   "address": 4096, "isParity": 0, "count": 3}, ...]}
 * or just {"entryCount": N} (N errors made up: unit i, address 0x1000 * (i + 1), count 1).
 * As nvml.h says: entries NULL is the count query (entryCount set, SUCCESS); a buffer of
 * entryCount entries too small for them is INSUFFICIENT_SIZE; either way entryCount ends
 * as the number of unique errors.
 *
 * CPER.  The system's "nvmlSystemGetCPER_v1" holds {"cursor": {"cperTypeMask", "uuid",
 * "handle"}, "bufferSize": N} and optionally "record": the record's bytes as hex (else a
 * made-up record of N bytes: a UEFI CPER header, "CPER", revision 0x0100, no sections,
 * severity corrected, record length N).  buffer NULL is the size query: bufferSize set to
 * what is left to read (N, or 0 once read), cursor untouched.  A read with a buffer of
 * bufferSize bytes: INSUFFICIENT_SIZE (bufferSize set to N) where too small; else the
 * record is written, bufferSize set to N and the cursor set to the profile's (its handle
 * then says the record was read: the next read answers bufferSize 0, no more records).
 */
#include "sim.h"

#include <stdio.h>
#include <string.h>

nvmlReturn_t
nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts(nvmlDevice_t device,
                                                 nvmlEccSramUniqueUncorrectedErrorCounts_v1_t *counts)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_device(&c, "nvmlDeviceGetSramUniqueUncorrectedEccErrorCounts", device);
    if (rc != NVML_SUCCESS)
        return rc;
    if (counts == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    if (counts->version != nvmlEccSramUniqueUncorrectedErrorCounts_v1)
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive(c.value, "entries");
    unsigned int n;
    if (entries != NULL) {
        if (!cJSON_IsArray(entries))
            return NVML_ERROR_UNKNOWN;   /* a profile bug */
        n = (unsigned int)cJSON_GetArraySize(entries);
    }
    else if ((rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(c.value, "entryCount"), &n)) != NVML_SUCCESS)
        return rc;
    unsigned int room = counts->entryCount;
    counts->entryCount = n;
    if (counts->entries == NULL)   /* the count query */
        return NVML_SUCCESS;
    if (room < n)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    for (unsigned int i = 0; i < n; i++) {
        nvmlEccSramUniqueUncorrectedErrorEntry_v1_t *e = &counts->entries[i];
        if (entries != NULL) {
            if ((rc = sim_struct_fillers[PN_STRUCT_nvmlEccSramUniqueUncorrectedErrorEntry_v1_t](
                                      cJSON_GetArrayItem(entries, (int)i), e)) != NVML_SUCCESS)
                return rc;
            continue;
        }
        memset(e, 0, sizeof *e);
        e->unit = i;
        e->address = 0x1000u * (i + 1);
        e->count = 1;
    }
    return NVML_SUCCESS;
}

/* The record's bytes into `out` (size n): the profile's hex, or a made-up CPER header. */
static nvmlReturn_t
cper_record(const cJSON *hex, unsigned char *out, unsigned int n)
{
    memset(out, 0, n);
    if (hex != NULL) {
        if (!cJSON_IsString(hex) || strlen(hex->valuestring) != 2 * (size_t)n)
            return NVML_ERROR_UNKNOWN;   /* a profile bug: the record is bufferSize bytes */
        for (unsigned int i = 0; i < n; i++) {
            unsigned int b;
            if (sscanf(hex->valuestring + 2 * i, "%2x", &b) != 1)
                return NVML_ERROR_UNKNOWN;
            out[i] = (unsigned char)b;
        }
        return NVML_SUCCESS;
    }
    static const unsigned char head[] = {'C', 'P', 'E', 'R', 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0x00, 0x00, 0x02, 0x00, 0x00, 0x00};   /* to the severity */
    memcpy(out, head, n < sizeof head ? n : sizeof head);
    if (n >= 24) {   /* RecordLength, after ValidationBits */
        for (int i = 0; i < 4; i++)
            out[20 + i] = (unsigned char)(n >> (8 * i));
    }
    return NVML_SUCCESS;
}

nvmlReturn_t
nvmlSystemGetCPER_v1(pn_nvmlGetCPER_v1_t *cper)
{
    sim_call c;
    nvmlReturn_t rc = sim_begin_system(&c, "nvmlSystemGetCPER_v1");
    if (rc != NVML_SUCCESS)
        return rc;
    if (cper == NULL)
        return NVML_ERROR_INVALID_ARGUMENT;
    pn_nvmlCPERCursor_v1_t at_end;
    unsigned int size;
    memset(&at_end, 0, sizeof at_end);
    const cJSON *cursor = cJSON_GetObjectItemCaseSensitive(c.value, "cursor");
    if ((cursor && (rc = sim_struct_fillers[PN_STRUCT_pn_nvmlCPERCursor_v1_t](cursor, &at_end)) != NVML_SUCCESS) ||
        (rc = sim_get_u32(cJSON_GetObjectItemCaseSensitive(c.value, "bufferSize"), &size)) != NVML_SUCCESS)
        return rc;
    int read = cper->cursor.handle != NVML_CPER_CURSOR_HANDLE_INIT && cper->cursor.handle == at_end.handle;
    unsigned int left = read ? 0 : size, room = cper->bufferSize;
    cper->bufferSize = left;
    if (cper->buffer == NULL || left == 0)   /* the size query, or nothing more to read */
        return NVML_SUCCESS;
    if (room < left)
        return NVML_ERROR_INSUFFICIENT_SIZE;
    if ((rc = cper_record(cJSON_GetObjectItemCaseSensitive(c.value, "record"), cper->buffer, left)) != NVML_SUCCESS)
        return rc;
    cper->cursor = at_end;
    return NVML_SUCCESS;
}
