/* libFuzzer target: the simulator's profile loader (sim/profile_load.c: the value limit,
 * cJSON's parse, the check against the schema, sim/profile_check.c) and the faults'
 * reader (sim/faults.c), on any bytes.  Built and run by `make fuzz` (clang's
 * -fsanitize=fuzzer with ASan and UBSan); its corpus is fuzz/corpus/profile. */
#include "sim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static char errors[16384];
    errors[0] = '\0';
    cJSON *p;
    if (sim_profile_parse(text, "fuzz", &p, errors, sizeof errors) == 0) {
        int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "devices"));
        sim_fault_plan *plan;
        if (sim_faults_parse(p, n > SIM_MAX_DEVICES ? SIM_MAX_DEVICES : (unsigned int)n, &plan) == NVML_SUCCESS)
            sim_faults_free(plan);
        cJSON_Delete(p);
    }
    free(text);
    return 0;
}
