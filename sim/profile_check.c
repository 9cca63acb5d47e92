/* A profile checked against the profile schema (generated from the spec by
 * codegen/emit_schema.py, shipped as pynvml/_sim/profile.schema.json and linked in by
 * incbin.S), when it is loaded: every problem is reported as
 *     FILE: $.devices[0].nvmlDeviceGetTemperature.0: expected ..., got ...
 *
 * This is the part of JSON Schema (draft-07) that the generator uses: $ref to
 * #/definitions, anyOf, type, enum, minimum, maximum, maxLength, pattern (POSIX ERE),
 * exclusiveMinimum, properties, patternProperties, additionalProperties, required,
 * minProperties, maxProperties,
 * propertyNames (an enum), items (one schema or a list), maxItems.  Where no branch of an
 * anyOf fits, the one that fits the value's JSON type is followed, so the message names
 * the deepest place that is wrong rather than "none of these".
 */
#include "sim.h"

#include <math.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const char sim_profile_schema[];   /* incbin.S */

#define MAX_REPORTED 50

typedef struct {
    const cJSON *defs;
    const char *where;
    char *errors;
    size_t cap;
    int problems;
    char path[512];
    size_t plen;
} checker;

static cJSON *schema;
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;

static void
load_schema(void)
{
    schema = cJSON_Parse(sim_profile_schema);
}

/* --- the path of the value being checked ------------------------------------------------ */

static size_t
push_key(checker *k, const char *key)
{
    size_t old = k->plen;
    int n = snprintf(k->path + k->plen, sizeof k->path - k->plen, ".%s", key);
    if (n > 0)
        k->plen = k->plen + (size_t)n < sizeof k->path ? k->plen + (size_t)n : sizeof k->path - 1;
    return old;
}

static size_t
push_index(checker *k, int i)
{
    size_t old = k->plen;
    int n = snprintf(k->path + k->plen, sizeof k->path - k->plen, "[%d]", i);
    if (n > 0)
        k->plen = k->plen + (size_t)n < sizeof k->path ? k->plen + (size_t)n : sizeof k->path - 1;
    return old;
}

static void
pop(checker *k, size_t old)
{
    k->plen = old;
    k->path[old] = '\0';
}

static const char *
type_name(const cJSON *v)
{
    if (cJSON_IsObject(v))
        return "an object";
    if (cJSON_IsArray(v))
        return "a list";
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "a number";
}

/* "got ..." for the message: the value if short, else its type */
static void
describe(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsNumber(v))
        snprintf(buf, cap, "%.15g", v->valuedouble);
    else if (cJSON_IsString(v))
        snprintf(buf, cap, "\"%.40s\"%s", v->valuestring, strlen(v->valuestring) > 40 ? "..." : "");
    else if (cJSON_IsBool(v))
        snprintf(buf, cap, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(buf, cap, "%s", type_name(v));
}

static void
problem(checker *k, const cJSON *v, const char *fmt, ...)
{
    k->problems++;
    if (k->problems > MAX_REPORTED)
        return;
    size_t len = strlen(k->errors);
    if (len + 1 >= k->cap)
        return;
    if (k->problems == MAX_REPORTED) {
        snprintf(k->errors + len, k->cap - len, "%s: (more problems not shown)\n", k->where);
        return;
    }
    len += (size_t)snprintf(k->errors + len, k->cap - len, "%s: $%s: ", k->where, k->path);
    if (len >= k->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    len += (size_t)vsnprintf(k->errors + len, k->cap - len, fmt, ap);
    va_end(ap);
    if (len >= k->cap)
        return;
    if (v != NULL) {
        char got[64];
        describe(v, got, sizeof got);
        len += (size_t)snprintf(k->errors + len, k->cap - len, ", got %s", got);
    }
    if (len < k->cap)
        snprintf(k->errors + len, k->cap - len, "\n");
}

/* --- the schema's keywords ------------------------------------------------------------ */

static const cJSON *
resolve(checker *k, const cJSON *s)
{
    for (int depth = 0; depth < 8; depth++) {
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(s, "$ref");
        if (!cJSON_IsString(ref))
            return s;
        const char *prefix = "#/definitions/";
        if (strncmp(ref->valuestring, prefix, strlen(prefix)) != 0)
            return s;
        s = cJSON_GetObjectItemCaseSensitive(k->defs, ref->valuestring + strlen(prefix));
    }
    return s;
}

static const char *
expected(const cJSON *s)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "description");
    return cJSON_IsString(d) ? d->valuestring : NULL;
}

static int
type_ok(const char *t, const cJSON *v)
{
    if (strcmp(t, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(t, "array") == 0)
        return cJSON_IsArray(v);
    if (strcmp(t, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(t, "boolean") == 0)
        return cJSON_IsBool(v);
    if (strcmp(t, "null") == 0)
        return cJSON_IsNull(v);
    if (strcmp(t, "number") == 0)
        return cJSON_IsNumber(v) && isfinite(v->valuedouble);
    if (strcmp(t, "integer") == 0)
        return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
    return 0;
}

/* The few patterns of the schema (by their text: many objects share one), compiled
 * once each; more than the cache holds would be a schema this file was not written for:
 * those are not checked. */
static int
pattern_ok(const char *src, const char *s)
{
    static struct { const char *src; regex_t re; int ok; } cache[16];
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    int i = 0;
    while (i < 16 && cache[i].src != NULL && strcmp(cache[i].src, src) != 0)
        i++;
    int match = 1;
    if (i < 16) {
        if (cache[i].src == NULL) {
            cache[i].src = src;
            cache[i].ok = regcomp(&cache[i].re, src, REG_EXTENDED | REG_NOSUB) == 0;
        }
        match = cache[i].ok && regexec(&cache[i].re, s, 0, NULL, 0) == 0;
    }
    pthread_mutex_unlock(&lock);
    return match;
}

static int check(checker *k, const cJSON *s, const cJSON *v, int report);

/* The branch of a failed anyOf to report: for an object holding "error", the error
 * form; else the first branch whose type is the value's. */
static const cJSON *
best_branch(checker *k, const cJSON *branches, const cJSON *v)
{
    const cJSON *b, *typed = NULL, *error = NULL;
    int has_error = cJSON_IsObject(v) && cJSON_GetObjectItemCaseSensitive(v, "error") != NULL;
    cJSON_ArrayForEach(b, branches) {
        const cJSON *r = resolve(k, b);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(r, "type");
        if (cJSON_GetObjectItemCaseSensitive(r, "required") != NULL) {
            error = error ? error : r;
        } else if (typed == NULL && cJSON_IsString(t) &&
                   (type_ok(t->valuestring, v) ||
                    (strcmp(t->valuestring, "integer") == 0 && cJSON_IsNumber(v)))) {
            typed = r;   /* a number out of range or with a fraction goes here too */
        }
    }
    if (has_error && error != NULL)
        return error;
    if (typed != NULL)
        return typed;
    cJSON_ArrayForEach(b, branches) {   /* a nested anyOf (a scalar or an error) */
        const cJSON *r = resolve(k, b);
        const cJSON *any = cJSON_GetObjectItemCaseSensitive(r, "anyOf");
        if (any != NULL && best_branch(k, any, v) != NULL)
            return r;
    }
    return NULL;
}

static int
check_object(checker *k, const cJSON *s, const cJSON *v, int report)
{
    int bad = 0;
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *pats = cJSON_GetObjectItemCaseSensitive(s, "patternProperties");
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(s, "additionalProperties");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(resolve(k, cJSON_GetObjectItemCaseSensitive(s, "propertyNames")), "enum");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    const cJSON *maxp = cJSON_GetObjectItemCaseSensitive(s, "maxProperties");
    const cJSON *r;
    cJSON_ArrayForEach(r, req) {
        if (cJSON_IsString(r) && cJSON_GetObjectItemCaseSensitive(v, r->valuestring) == NULL) {
            if (!report)
                return 1;
            bad++;
            problem(k, NULL, "\"%s\" is required", r->valuestring);
        }
    }
    const cJSON *minp = cJSON_GetObjectItemCaseSensitive(s, "minProperties");
    if ((cJSON_IsNumber(maxp) && cJSON_GetArraySize(v) > maxp->valueint) ||
        (cJSON_IsNumber(minp) && cJSON_GetArraySize(v) < minp->valueint)) {
        if (!report)
            return 1;
        bad++;
        problem(k, NULL, "expected %s", expected(s) ? expected(s) : "fewer members");
        return bad;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
        const char *key = m->string;
        size_t old = report ? push_key(k, key) : 0;
        int matched = 0;
        if (names != NULL) {
            const cJSON *n;
            int found = 0;
            cJSON_ArrayForEach(n, names) found |= cJSON_IsString(n) && strcmp(n->valuestring, key) == 0;
            if (!found) {
                if (!report)
                    return 1;
                bad++;
                pop(k, old);
                problem(k, NULL, "\"%s\" is no NVML entry point (nor \"*\")", key);
                continue;
            }
        }
        const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, key);
        if (ps != NULL) {
            matched = 1;
            bad += check(k, ps, m, report);
        }
        const cJSON *p;
        cJSON_ArrayForEach(p, pats) {
            if (pattern_ok(p->string, key)) {
                matched = 1;
                bad += check(k, p, m, report);
            }
        }
        if (!matched) {
            if (cJSON_IsFalse(extra)) {
                bad++;
                if (report) {
                    pop(k, old);
                    problem(k, NULL, "unknown member \"%s\" (%s)", key,
                            expected(s) ? expected(s) : "not an allowed name");
                    continue;
                }
            } else if (cJSON_IsObject(extra)) {
                bad += check(k, extra, m, report);
            }
        }
        if (report)
            pop(k, old);
        if (bad && !report)
            return bad;
    }
    return bad;
}

static int
check_array(checker *k, const cJSON *s, const cJSON *v, int report)
{
    int bad = 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(s, "items");
    const cJSON *maxi = cJSON_GetObjectItemCaseSensitive(s, "maxItems");
    int n = cJSON_GetArraySize(v);
    if (cJSON_IsNumber(maxi) && n > maxi->valueint) {
        if (!report)
            return 1;
        bad++;
        problem(k, NULL, "at most %d items expected, got %d", maxi->valueint, n);
    }
    if (cJSON_IsArray(items) && n != cJSON_GetArraySize(items)) {
        if (!report)
            return 1;
        bad++;
        problem(k, NULL, "expected %s (%d items), got %d items", expected(s) ? expected(s) : "a list",
                cJSON_GetArraySize(items), n);
        return bad;
    }
    int i = 0;
    const cJSON *e;
    const cJSON *one = cJSON_IsArray(items) ? items->child : items;
    cJSON_ArrayForEach(e, v) {
        if (one == NULL)
            break;
        size_t old = report ? push_index(k, i) : 0;
        bad += check(k, one, e, report);
        if (report)
            pop(k, old);
        if (bad && !report)
            return bad;
        if (cJSON_IsArray(items))
            one = one->next;
        i++;
    }
    return bad;
}

/* 0 when v fits s; else the number of problems (reported when `report`). */
static int
check(checker *k, const cJSON *s, const cJSON *v, int report)
{
    s = resolve(k, s);
    if (s == NULL || !cJSON_IsObject(s))
        return 0;
    const cJSON *any = cJSON_GetObjectItemCaseSensitive(s, "anyOf");
    if (any != NULL) {
        const cJSON *b;
        cJSON_ArrayForEach(b, any) if (check(k, b, v, 0) == 0) return 0;
        if (!report)
            return 1;
        const cJSON *best = best_branch(k, any, v);
        if (best != NULL && check(k, best, v, 1) > 0)
            return 1;
        problem(k, v, "expected %s", expected(s) ? expected(s) : "another kind of value");
        return 1;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "type");
    if (cJSON_IsString(t) && !type_ok(t->valuestring, v)) {
        if (!report)
            return 1;
        if (strcmp(t->valuestring, "integer") == 0 && cJSON_IsNumber(v))
            problem(k, v, "expected %s", expected(s) ? expected(s) : "an integer");
        else
            problem(k, v, "expected %s", expected(s) ? expected(s) : t->valuestring);
        return 1;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(s, "enum");
    if (en != NULL) {
        const cJSON *e;
        int found = 0;
        cJSON_ArrayForEach(e, en) found |= cJSON_Compare(e, v, 1);
        if (!found) {
            if (report)
                problem(k, v, "expected %s", expected(s) ? expected(s) : "one of the allowed names");
            return 1;
        }
    }
    if (cJSON_IsNumber(v)) {
        const cJSON *lo = cJSON_GetObjectItemCaseSensitive(s, "minimum");
        const cJSON *hi = cJSON_GetObjectItemCaseSensitive(s, "maximum");
        const cJSON *xlo = cJSON_GetObjectItemCaseSensitive(s, "exclusiveMinimum");
        if ((cJSON_IsNumber(lo) && v->valuedouble < lo->valuedouble) ||
            (cJSON_IsNumber(xlo) && v->valuedouble <= xlo->valuedouble) ||
            (cJSON_IsNumber(hi) && v->valuedouble > hi->valuedouble)) {
            if (report)
                problem(k, v, "out of range: expected %s", expected(s) ? expected(s) : "another number");
            return 1;
        }
    }
    if (cJSON_IsString(v)) {
        const cJSON *ml = cJSON_GetObjectItemCaseSensitive(s, "maxLength");
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(s, "pattern");
        if ((cJSON_IsNumber(ml) && strlen(v->valuestring) > (size_t)ml->valueint) ||
            (cJSON_IsString(pat) && !pattern_ok(pat->valuestring, v->valuestring))) {
            if (report)
                problem(k, v, "expected %s", expected(s) ? expected(s) : "another string");
            return 1;
        }
    }
    if (cJSON_IsObject(v))
        return check_object(k, s, v, report);
    if (cJSON_IsArray(v))
        return check_array(k, s, v, report);
    return 0;
}

int
sim_profile_check(const cJSON *profile, const char *where, char *errors, size_t cap)
{
    pthread_once(&schema_once, load_schema);
    if (schema == NULL)
        return 0;   /* no schema linked in: nothing to check against */
    checker k = {.defs = cJSON_GetObjectItemCaseSensitive(schema, "definitions"), .where = where,
                 .errors = errors, .cap = cap};
    if (!cJSON_IsObject(profile)) {
        problem(&k, profile, "expected a JSON object {\"system\": {...}, \"devices\": [{...}, ...]}");
        return k.problems;
    }
    check(&k, schema, profile, 1);
    return k.problems;
}
