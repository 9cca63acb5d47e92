/* Reading a profile: the built-in one a name picks, or a file, parsed and checked before
 * anything of it is used, so a mistake is refused at nvmlInit with the file, the place
 * and what was expected, never met later as a wrong value or an odd error at a call.
 *
 * Limits.  Only a regular file is read (a FIFO would block nvmlInit forever, /dev/zero
 * grow memory without end), of at most SIM_PROFILE_MAX_BYTES, holding at most
 * SIM_PROFILE_MAX_VALUES JSON values: cJSON spends about 64 bytes a value, so a file of
 * small numbers costs some 30 times its size; the limits keep a load under ~150 MB and
 * a second, where a real profile (the built-in one: 85 KB, 7000 values) is far below.
 * Numbers are checked against their C type's range (profile_check.c): a value that would
 * not fit (1e300 or -5 for an unsigned int) is refused, not wrapped.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_PROFILE_MAX_BYTES (16u << 20)
#define SIM_PROFILE_MAX_VALUES 2000000u

/* incbin.S: the built-in profiles, NUL-terminated */
extern const char sim_profile_default[], sim_profile_vgpu_host[], sim_profile_hgx8[], sim_profile_h100_mig[],
    sim_profile_a100[], sim_profile_rtx4090[], sim_profile_h200[];

static const struct {
    const char *name;
    const char *text;
} builtin[] = {
    {"default", sim_profile_default},
    {"vgpu-host", sim_profile_vgpu_host},
    {"hgx-h100-8", sim_profile_hgx8},
    {"h100-mig", sim_profile_h100_mig},
    {"a100", sim_profile_a100},
    {"rtx4090", sim_profile_rtx4090},
    {"h200", sim_profile_h200},   /* captured from a real H200 (python -m pynvml._sim capture --anonymize) */
    {NULL, NULL},
};

static void
say(char *errors, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(errors);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errors + len, cap - len, fmt, ap);
    va_end(ap);
}

/* The file's text, NUL-terminated, or NULL with the reason said. */
static char *
read_regular_file(const char *path, struct stat *st, char *errors, size_t cap)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not wait (it is refused below) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        say(errors, cap, "simulated NVML: cannot read PYNVML_SIM_PROFILE=%s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        say(errors, cap, "simulated NVML: PYNVML_SIM_PROFILE=%s is not a regular file\n", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st->st_size > SIM_PROFILE_MAX_BYTES) {
        say(errors, cap, "simulated NVML: the profile %s is larger than %u MiB (%lld bytes)\n", path,
            SIM_PROFILE_MAX_BYTES >> 20, (long long)st->st_size);
        close(fd);
        return NULL;
    }
    size_t size = (size_t)st->st_size, len = 0;
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        say(errors, cap, "simulated NVML: out of memory reading %s\n", path);
        close(fd);
        return NULL;
    }
    while (len < size) {   /* no more than the size fstat gave: a file growing meanwhile is cut */
        ssize_t got = read(fd, buf + len, size - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
}

/* An upper bound of the JSON values in text (every value but the first follows a ',',
 * '[' or ':' outside a string), counted before cJSON allocates a node for each. */
static size_t
count_values(const char *t)
{
    size_t n = 1;
    int in_str = 0;
    for (; *t; t++) {
        if (in_str) {
            if (*t == '\\' && t[1])
                t++;
            else if (*t == '"')
                in_str = 0;
        } else if (*t == '"') {
            in_str = 1;
        } else if (*t == ',' || *t == '[' || *t == ':') {
            n++;
        }
    }
    return n;
}

int
sim_profile_load(const char *path, cJSON **out, struct stat *st, char *errors, size_t cap)
{
    *out = NULL;
    memset(st, 0, sizeof *st);
    const char *text = NULL, *where = path;
    char *owned = NULL;
    if (path == NULL) {
        text = sim_profile_default;
        where = "(built in: default)";
    } else if (strchr(path, '/') == NULL && access(path, F_OK) != 0) {
        /* a name, not a file here: a built-in profile */
        for (int i = 0; builtin[i].name; i++)
            if (strcmp(builtin[i].name, path) == 0)
                text = builtin[i].text;
        if (text == NULL) {
            say(errors, cap, "simulated NVML: PYNVML_SIM_PROFILE=%s is neither a file nor a built-in profile (", path);
            for (int i = 0; builtin[i].name; i++)
                say(errors, cap, "%s%s", i ? ", " : "", builtin[i].name);
            say(errors, cap, ")\n");
            return -1;
        }
    } else if ((text = owned = read_regular_file(path, st, errors, cap)) == NULL) {
        return -1;
    }
    int rc = sim_profile_parse(text, where, out, errors, cap);
    free(owned);
    return rc;
}

int
sim_profile_parse(const char *text, const char *where, cJSON **out, char *errors, size_t cap)
{
    *out = NULL;
    size_t nvalues = count_values(text);
    if (nvalues > SIM_PROFILE_MAX_VALUES) {
        say(errors, cap, "simulated NVML: the profile %s holds more than %u JSON values (about %zu)\n", where,
            SIM_PROFILE_MAX_VALUES, nvalues);
        return -1;
    }
    const char *end = NULL;
    cJSON *p = cJSON_ParseWithOpts(text, &end, 1);
    if (p == NULL) {
        /* where the parser stopped, as a line and column */
        const char *at = end ? end : cJSON_GetErrorPtr();
        int line = 1, col = 1;
        for (const char *c = text; at && c < at && *c; c++) {
            if (*c == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        const char *near = at ? at + strspn(at, " \t\r\n") : "?";
        int n = (int)strcspn(near, "\r\n");
        if (*text == '\0' || strspn(text, " \t\r\n") == strlen(text))
            say(errors, cap, "%s: the profile is empty (a JSON object {\"system\": ..., \"devices\": [...]} "
                "is expected)\n", where);
        else
            say(errors, cap, "%s:%d:%d: not valid JSON here (near: %.*s)\n", where, line, col, n < 30 ? n : 30, near);
        return -1;
    }
    int problems = sim_profile_check(p, where, errors, cap);
    if (problems > 0) {
        say(errors, cap, "%s: %d problem%s: the profile is refused\n", where, problems, problems == 1 ? "" : "s");
        cJSON_Delete(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* Exported for `python -m pynvml._sim check`: the problems of the profile `path` names
 * (as PYNVML_SIM_PROFILE would), one a line, in errors; 0 when it would load. */
__attribute__((visibility("default"))) int
pynvmlSimCheckProfile(const char *path, char *errors, size_t cap)
{
    if (cap == 0)
        return -1;
    errors[0] = '\0';
    cJSON *p;
    struct stat st;
    if (sim_profile_load(path && *path ? path : NULL, &p, &st, errors, cap) != 0)
        return -1;
    unsigned int n = (unsigned int)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(p, "devices"));
    sim_fault_plan *plan;
    int rc = 0;
    if (sim_faults_parse(p, n > SIM_MAX_DEVICES ? SIM_MAX_DEVICES : n, &plan) != NVML_SUCCESS)
        rc = -1;
    else
        sim_faults_free(plan);
    cJSON_Delete(p);
    return rc;
}
