/* The docstrings of the hand-written functions.  generated/docs.c.h holds each one whole:
 * its text signature and its own words (what the call does, written in its method table
 * beside the C, which the generator reads) with what the spec says of every function (the
 * typed signature, Args, Returns, Raises, the entry point and the first NVML that has it;
 * codegen/emit_doc.py).  The generated wrappers have theirs in their PyDoc_STRVAR.
 *
 * pn_docs_apply points the tables' ml_doc at those texts before the tables are added to
 * the module: a pointer each, no copy (joining the texts here cost 80 us of the import,
 * mostly in page faults).  The tables are static and the texts the same in every
 * interpreter, so it is done once per process.  An entry whose own words were edited
 * without `make generate` keeps the generated text until then: tests/test_generated.py
 * fails on it. */
#include "pynvml.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *doc;
} pn_doc_entry;

#include "generated/docs.c.h"

static int
entry_cmp(const void *key, const void *entry)
{
    return strcmp((const char *)key, ((const pn_doc_entry *)entry)->name);
}

void
pn_docs_apply(PyMethodDef *const *tables, size_t ntables)
{
    for (size_t t = 0; t < ntables; t++)
        for (PyMethodDef *m = tables[t]; m->ml_name != NULL; m++) {
            const pn_doc_entry *e = bsearch(m->ml_name, pn_doc_entries, sizeof pn_doc_entries / sizeof pn_doc_entries[0],
                                            sizeof pn_doc_entries[0], entry_cmp);
            if (e != NULL)
                m->ml_doc = e->doc;
        }
}
