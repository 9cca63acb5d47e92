/* The docstrings of the hand-written functions: their own words (what the call does,
 * written beside the C) joined with what the spec says of every function (the typed
 * signature, Args, Returns, Raises, the entry point and the first NVML that has it;
 * generated/docs.c.h, from codegen/emit_doc.py).  The generated wrappers have the
 * whole text in their PyDoc_STRVAR already.
 *
 * pn_docs_apply rewrites a method table's ml_doc in place before the table is added to
 * the module: "name(sig)\n--\n\n" (the text signature, kept first for inspect) + the
 * typed signature + the hand-written words + the generated rest.  The tables are static
 * and the texts the same in every interpreter, so it is done once per process; the
 * strings live as long as the tables do. */
#include "pynvml.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *signature;   /* name(arg: type, ...) -> type */
    const char *tail;        /* Args: ... Returns: ... Raises: ... NVML entry point: ... */
} pn_doc_entry;

#include "generated/docs.c.h"

static int
entry_cmp(const void *key, const void *entry)
{
    return strcmp((const char *)key, ((const pn_doc_entry *)entry)->name);
}

/* The joined docstring, or NULL (no memory: the hand-written one stays). */
static char *
join(const char *own, const pn_doc_entry *e)
{
    /* own = "name(sig)\n--\n\nwords" (or only words) */
    const char *marker = own ? strstr(own, "\n--\n\n") : NULL;
    size_t head = marker ? (size_t)(marker - own) + 5 : 0;
    const char *words = own ? own + head : "";
    size_t n = head + strlen(e->signature) + 2 + strlen(words) + 2 + strlen(e->tail) + 1;
    char *doc = malloc(n);
    if (doc == NULL)
        return NULL;
    snprintf(doc, n, "%.*s%s\n\n%s%s%s", (int)head, own ? own : "", e->signature, words,
             *words ? "\n\n" : "", e->tail);
    return doc;
}

void
pn_docs_apply(PyMethodDef *table)
{
    for (PyMethodDef *m = table; m->ml_name != NULL; m++) {
        const pn_doc_entry *e = bsearch(m->ml_name, pn_doc_entries, sizeof pn_doc_entries / sizeof pn_doc_entries[0],
                                        sizeof pn_doc_entries[0], entry_cmp);
        if (e == NULL)
            continue;
        char *doc = join(m->ml_doc, e);
        if (doc != NULL)
            m->ml_doc = doc;
    }
}
