/* The nvidia-smi query engine (pynvml.smi): placeholder until it lands. */
#include "pynvml.h"

PyMethodDef pn_smi_methods[] = {
    {NULL, NULL, 0, NULL},
};
