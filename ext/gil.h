/* When a wrapper lets go of the GIL around its NVML call (issue #5).
 *
 *   PN_NVML_BEGIN
 *   rc = fn(...);
 *   PN_NVML_END
 *
 * releases the GIL around the call whenever another thread of the process could be
 * waiting for it, and keeps it when the calling thread is the only Python thread there
 * is.  Releasing and retaking the GIL costs ~70 ns (a mutex and a condition variable
 * each way; bench/run.py measures it), a third of what NVML takes to answer a cheap
 * call such as nvmlDeviceGetPowerUsage; with nobody else to run, those 70 ns buy
 * nothing.
 *
 * "Nobody else" is read from the interpreter's own bookkeeping: our thread state is the
 * only one of its interpreter (no prev, no next) and that interpreter is the only one.
 * Any thread that can take the GIL has a thread state there before it waits for it:
 * threading.Thread's is made by the thread that starts it, and PyGILState_Ensure (a C
 * thread calling into Python) makes one before it waits.  So:
 *   - with two Python threads or more, every NVML call releases the GIL, as before;
 *   - a C thread that starts using Python during our call waits for that one call at
 *     most (it cannot be waiting for anything of ours: NVML never calls back into
 *     Python, so it cannot hold an NVML lock while it waits for the GIL);
 *   - a free-threaded build (no GIL) always detaches, so that its stop-the-world pauses
 *     never wait for an NVML call.
 * Calls that block by design (nvmlEventSetWait, nvmlInit, dlopen, the smi engine's whole
 * query) keep Py_BEGIN/END_ALLOW_THREADS: a C thread should not wait on those.
 *
 * The reads of prev/next race with another thread linking its new state in (under the
 * runtime's lock, without the GIL): a relaxed atomic load of our own state's pointers,
 * compared with NULL, never dereferenced.  Seeing a thread a moment late only costs that
 * thread one short wait, as above. */
#ifndef PYNVML_GIL_H
#define PYNVML_GIL_H

#include <Python.h>

/* 1 when another thread could want the GIL now (bench/run.py and the tests read it
 * through _nvml._gil_shared()). */
static inline int
pn_gil_shared(PyThreadState *ts)
{
#ifdef Py_GIL_DISABLED
    (void)ts;
    return 1;
#else
    return __atomic_load_n(&ts->prev, __ATOMIC_RELAXED) != NULL ||
           __atomic_load_n(&ts->next, __ATOMIC_RELAXED) != NULL ||
           PyInterpreterState_Head() != PyInterpreterState_Main();
#endif
}

/* NULL when the GIL was kept; else what PyEval_RestoreThread takes back. */
static inline PyThreadState *
pn_gil_release(void)
{
    PyThreadState *ts = PyThreadState_Get();
    return pn_gil_shared(ts) ? PyEval_SaveThread() : NULL;
}

#define PN_NVML_BEGIN { PyThreadState *pn_gil_ts_ = pn_gil_release();
#define PN_NVML_END   if (pn_gil_ts_ != NULL) PyEval_RestoreThread(pn_gil_ts_); }

#endif
