/* nvmlDeviceReadPRMCounters_v1, by hand: NVML takes {numCounters, counters} where
 * `counters` points at the caller's array of counters, each filled in place (its
 * outputValue).  nvidia-ml-py callers build that with ctypes: a c_nvmlPRMCounterList_v1_t
 * whose `counters` points at a ctypes array of counters, which ours takes too (the field
 * is ctypes' own, ext/structs.c) and hands to NVML as it is, keeping the GIL so that no
 * other thread points it elsewhere meanwhile.  Ours also takes the counters as a list (or
 * tuple, or ctypes array) of c_nvmlPRMCounter_v1_t, copies them into one C array, and
 * writes each result back into its object.  Returns None, as nvidia-ml-py does; NVML's
 * errors raise.
 */
#include "pynvml.h"

#include <string.h>

#define MAX_COUNTERS 65536   /* far beyond any port's counters: a bound on the allocation */

static PyObject *
h_nvmlDeviceReadPRMCounters_v1(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char fname[] = "nvmlDeviceReadPRMCounters_v1";
    static const char *const names[] = {"handle", "c_info", NULL};
    pn_state *st = pn_get_state(module);
    PyObject *argv[2] = {NULL, NULL};
    if (pn_unpack(fname, args, nargs, kwnames, names, 2, 2, argv) < 0)
        return NULL;
    nvmlDevice_t dev;
    if (pn_arg_handle(st, argv[0], PN_HANDLE_Device, fname, "handle", (void **)&dev) < 0)
        return NULL;

    pn_nvmlPRMCounterList_v1_t list = {0, NULL};
    pn_nvmlPRMCounterList_v1_t *given = NULL;   /* the caller's list struct, passed as it is */
    pn_nvmlPRMCounter_v1_t *arr = NULL;
    PyObject *items = NULL, *result = NULL;
    int is_array = pn_is_struct_array(st, argv[1], PN_STRUCT_pn_nvmlPRMCounter_v1_t);
    if (is_array < 0)
        return NULL;
    if (PyList_Check(argv[1]) || PyTuple_Check(argv[1]) || is_array) {
        /* a snapshot: the list may change meanwhile; a ctypes array (c_nvmlPRMCounter_v1_t
         * * n) gives views of its items, so the results land in the array too */
        items = PySequence_Tuple(argv[1]);
        if (items == NULL)
            return NULL;
        Py_ssize_t n = PyTuple_GET_SIZE(items);
        if (n > MAX_COUNTERS) {
            PyErr_Format(PyExc_ValueError, "%s(): at most %d counters, not %zd", fname, MAX_COUNTERS, n);
            goto done;
        }
        arr = PyMem_Calloc(n ? (size_t)n : 1, sizeof *arr);
        if (arr == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            void *p;
            if (pn_arg_struct(st, PyTuple_GET_ITEM(items, i), PN_STRUCT_pn_nvmlPRMCounter_v1_t, fname,
                              "c_info[i]", &p) < 0)
                goto done;
            memcpy(&arr[i], p, sizeof *arr);
        }
        list.numCounters = (unsigned int)n;
        list.counters = arr;
    } else {
        void *p;
        if (pn_arg_struct(st, argv[1], PN_STRUCT_pn_nvmlPRMCounterList_v1_t, fname, "c_info", &p) < 0) {
            PyErr_Format(PyExc_TypeError, "%s(): argument 'c_info' must be a pynvml.c_nvmlPRMCounterList_v1_t "
                         "or a list of pynvml.c_nvmlPRMCounter_v1_t, not %.100s", fname,
                         Py_TYPE(argv[1])->tp_name);
            return NULL;
        }
        given = p;
    }

    void *fnp = st->syms[PN_SYM_nvmlDeviceReadPRMCounters_v1];
    if (fnp == NULL && (fnp = pn_resolve(st, PN_SYM_nvmlDeviceReadPRMCounters_v1)) == NULL)
        goto done;
    nvmlReturn_t (*fn)(nvmlDevice_t, pn_nvmlPRMCounterList_v1_t *) = fnp;
    nvmlReturn_t rc;
    if (given != NULL)
        rc = fn(dev, given);   /* with the GIL: NVML writes where the caller's pointer points */
    else {
        PN_NVML_BEGIN
        rc = fn(dev, &list);
        PN_NVML_END
    }
    if (rc != NVML_SUCCESS) {
        pn_raise(st, rc);
        goto done;
    }
    for (Py_ssize_t i = 0; items != NULL && i < PyTuple_GET_SIZE(items); i++) {
        memcpy(((pn_struct *)PyTuple_GET_ITEM(items, i))->data, &arr[i], sizeof *arr);
        if (pn_struct_changed(PyTuple_GET_ITEM(items, i)) < 0)
            goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyMem_Free(arr);
    Py_XDECREF(items);
    return result;
}

PyMethodDef pn_hand_prm_methods[] = {
    {"nvmlDeviceReadPRMCounters_v1", (PyCFunction)(void (*)(void))h_nvmlDeviceReadPRMCounters_v1,
     METH_FASTCALL | METH_KEYWORDS,
     "nvmlDeviceReadPRMCounters_v1(handle, c_info)\n--\n\n"
     "Read PRM counters: c_info is a list of c_nvmlPRMCounter_v1_t (counterId and inputValue\n"
     "set), each filled in place (outputValue).  Returns None."},
    {NULL, NULL, 0, NULL},
};
