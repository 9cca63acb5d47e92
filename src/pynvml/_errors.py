"""NVMLError and its subclasses, one per NVML return code (NVMLError_NotSupported, ...).

They are Python classes, as in nvidia-ml-py, because tools patch them (nvitop writes
``NVMLError.__new__.__doc__``).  The C extension raises them: pynvml/__init__.py hands
it the base class and the code -> class mapping.

    NVMLError(code)          an instance of the subclass for that code, .value = code
    NVMLError_NotSupported() an instance with that class's code
    str(e)                   NVML's message (the table below, else nvmlErrorString)
    e1 == e2                 the same code
"""


class NVMLError(Exception):
    # code -> subclass, filled below
    _valClassMapping = dict()
    # the messages of the codes nvidia-ml-py knows; others come from nvmlErrorString
    _errcode_to_string = {
        1: "Uninitialized",
        2: "Invalid Argument",
        3: "Not Supported",
        4: "Insufficient Permissions",
        5: "Already Initialized",
        6: "Not Found",
        7: "Insufficient Size",
        8: "Insufficient External Power",
        9: "Driver Not Loaded",
        10: "Timeout",
        11: "Interrupt Request Issue",
        12: "NVML Shared Library Not Found",
        13: "Function Not Found",
        14: "Corrupted infoROM",
        15: "GPU is lost",
        16: "GPU requires restart",
        17: "The operating system has blocked the request.",
        18: "RM has detected an NVML/RM version mismatch.",
        20: "Insufficient Memory",
        999: "Unknown Error",
    }

    def __new__(typ, value):
        if typ is NVMLError:
            typ = NVMLError._valClassMapping.get(value, typ)
        obj = Exception.__new__(typ)
        obj.value = value
        return obj

    def __str__(self):
        text = NVMLError._errcode_to_string.get(self.value)
        if text is None:
            try:
                from ._nvml import nvmlErrorString

                text = NVMLError._errcode_to_string[self.value] = str(nvmlErrorString(self.value))
            except Exception:
                text = "NVML Error with code %d" % self.value
        detail = self.__dict__.get("detail")
        return text if detail is None else "%s (%s)" % (text, detail)

    def __eq__(self, other):
        if not isinstance(other, NVMLError):
            return NotImplemented
        return self.value == other.value

    __hash__ = None


def _subclass(name, code):
    def __new__(typ, *args):
        return NVMLError.__new__(typ, code)

    return type(name, (NVMLError,), {"__new__": __new__, "__module__": "pynvml",
                                     "__qualname__": name})


def make_error_classes(namespace):
    """NVMLError_<CamelCase> for every NVML_ERROR_* constant in namespace."""
    classes = {}
    for const, code in sorted(namespace.items()):
        if const.startswith("NVML_ERROR_") and isinstance(code, int):
            name = "NVMLError_" + "".join(w.capitalize() for w in const[len("NVML_ERROR_"):].split("_"))
            classes[name] = NVMLError._valClassMapping[code] = _subclass(name, code)
    return classes


def nvmlExceptionClass(nvmlErrorCode):
    """The NVMLError subclass raised for an NVML return code."""
    if nvmlErrorCode not in NVMLError._valClassMapping:
        raise ValueError("nvmlErrorCode %s is not valid" % nvmlErrorCode)
    return NVMLError._valClassMapping[nvmlErrorCode]


NVMLError.__module__ = "pynvml"
