"""The docstrings of the public functions, from the spec (in our own words; nothing of
nvml.h's prose): the typed signature, each argument, the result, the NVMLError classes
the call can raise (the codes NVIDIA documents for its entry point, spec/entry_points.nvml),
the entry point and the first NVML that has it.

The same text is the C docstring (emit_ext.py: help(), Sphinx's autodoc) and the stub's
(emit_stubs.py: what editors show).  Docstrings are Google style (Args/Returns/Raises),
which Sphinx's napoleon renders.
"""
from __future__ import annotations

from spec import Function, Spec

import emit_stubs

# The CUDA toolkits of spec/entry_points.nvml -> the driver branch released with each
# (the toolkit's minimum driver on Linux).
DRIVERS = {"11.7": "R515", "12.0": "R525", "12.2": "R535", "12.4": "R550", "12.6": "R560",
           "12.8": "R570", "13.0": "R580"}
OLDEST = "11.7"

# What each return code means for a caller, in a few words of ours.
CODE_WORDS = {
    "UNINITIALIZED": "NVML is not initialized (nvmlInit), or was shut down",
    "INVALID_ARGUMENT": "NVML refused an argument (a handle of another kind, a value out of its range)",
    "NOT_SUPPORTED": "this GPU, driver or mode does not have the feature",
    "NO_PERMISSION": "the caller lacks the rights (most setters need root)",
    "ALREADY_INITIALIZED": "already done",
    "NOT_FOUND": "nothing matches what was asked for",
    "INSUFFICIENT_SIZE": "NVML has more than the room given",
    "INSUFFICIENT_POWER": "the board's external power is not connected properly",
    "DRIVER_NOT_LOADED": "the NVIDIA driver is not running",
    "TIMEOUT": "the wait ended before anything came",
    "IRQ_ISSUE": "the kernel driver saw an interrupt problem",
    "LIBRARY_NOT_FOUND": "libnvidia-ml.so.1 could not be loaded",
    "FUNCTION_NOT_FOUND": "the loaded NVML lacks the entry point (an older driver)",
    "CORRUPTED_INFOROM": "the GPU's infoROM is corrupted",
    "GPU_IS_LOST": "the GPU stopped answering (fell off the bus)",
    "RESET_REQUIRED": "the GPU needs a reset first",
    "OPERATING_SYSTEM": "the operating system refused",
    "LIB_RM_VERSION_MISMATCH": "the library and the kernel driver are of different versions",
    "IN_USE": "something is still using it",
    "MEMORY": "NVML ran out of memory",
    "NO_DATA": "there is nothing to report",
    "VGPU_ECC_NOT_SUPPORTED": "ECC is on, which vGPU does not support",
    "INSUFFICIENT_RESOURCES": "the GPU lacks the resources for it",
    "FREQ_NOT_SUPPORTED": "that clock frequency is not supported",
    "ARGUMENT_VERSION_MISMATCH": "the struct's version word is not one this driver knows",
    "DEPRECATED": "the call is deprecated",
    "NOT_READY": "the GPU is not ready yet",
    "GPU_NOT_FOUND": "no such GPU",
    "INVALID_STATE": "the GPU is in a state that does not allow it",
    "RESET_TYPE_NOT_SUPPORTED": "that kind of reset is not supported",
    "UNKNOWN": "an error NVML does not name",
}


def error_class(code: str) -> str:
    return emit_stubs.error_class_name("NVML_ERROR_" + code)


def typed_signature(spec: Spec, f: Function) -> str:
    parts = []
    for a in emit_stubs.args(spec, f):
        parts.append(f"{a.name}: {a.type}" + (f" = {a.default}" if a.default is not None else ""))
    return f"{f.pyname}({', '.join(parts)}) -> {emit_stubs.returns(spec, f)}"


def since_words(since: str) -> str:
    drv = DRIVERS.get(since)
    text = f"the nvml.h of CUDA {since}" + (f" (driver {drv})" if drv else "")
    return text + (" or older" if since == OLDEST else "")


def _result_words(spec: Spec, f: Function) -> str:
    outs = [p for p in f.params if p.role == "out"]
    rtype = emit_stubs.returns(spec, f)
    if rtype == "None":
        return ""
    if "pick" in f.options:
        return f"{rtype}: the field(s) {f.options['pick'].replace(',', ', ')} of NVML's {outs[0].type.base}."
    if f.options.get("result") == "rc":
        return f"{rtype}: NVML's return code (this call returns it rather than raising)."
    if (f.options.get("result") == "success" or "success" in f.options) and not outs:
        return f"{rtype}: NVML_SUCCESS (0), as nvidia-ml-py returns."
    if "echo" in f.options:
        return f"{rtype}: the {f.options['echo']} argument, filled in by NVML."
    if f.options.get("post") == "processes":
        return f"{rtype}: one object per process (usedGpuMemory None where NVML has no figure)."
    if "pyreturns" in f.options or not outs:
        return f"{rtype}."
    names = [p.name for p in outs]
    if "item" in f.options:
        return f"{rtype}: {names[int(f.options['item'])]}."
    if len(names) == 1:
        return f"{rtype}: {names[0]}."
    if f.shape == "list":
        return f"{rtype}: [{', '.join(names)}]."
    return f"{rtype}: ({', '.join(names)})."


def tail(spec: Spec, f: Function) -> str:
    """Args, Returns, Raises and the entry point: what follows a docstring's description."""
    o: list[str] = []
    arglist = emit_stubs.args(spec, f)
    if arglist:
        o.append("Args:")
        for a in arglist:
            words = [a.words] if a.words else []
            if a.default is not None:
                words.append(f"default {a.default}")
            o.append(f"    {a.name} ({a.type})" + (f": {'; '.join(words)}." if words else ""))
    res = _result_words(spec, f)
    if res:
        o.append("Returns:")
        o.append(f"    {res}")
    since, codes = spec.entry_points.get(f.csym, (None, []))
    o.append("Raises:")
    if f.options.get("result") != "rc":
        for code in codes:
            o.append(f"    {error_class(code)}: {CODE_WORDS.get(code, 'NVML returned ' + code)}.")
        if not codes:
            o.append("    NVMLError: the code NVML returns (its documentation lists none for this call).")
    if "FUNCTION_NOT_FOUND" not in codes:
        o.append(f"    {error_class('FUNCTION_NOT_FOUND')}: {CODE_WORDS['FUNCTION_NOT_FOUND']}.")
    o.append("    TypeError, ValueError: an argument of the wrong type, or out of its C type's range.")
    o.append("")
    where = f"NVML entry point: {f.csym}"
    if since:
        where += f", first in {since_words(since)}"
    o.append(where + ".")
    return "\n".join(o)


def body(spec: Spec, f: Function) -> str:
    """The whole docstring of a stub (and of a generated wrapper, after its text signature)."""
    return typed_signature(spec, f) + "\n\n" + tail(spec, f)
