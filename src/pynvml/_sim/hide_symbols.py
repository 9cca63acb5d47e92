"""A copy of the simulated NVML with some entry points missing, as an older driver has.

NVML's users find an entry point with dlsym (ours through dlopen/dlsym, nvidia-ml-py
through ctypes); a function the driver lacks must fail that lookup, which both turn into
NVMLError_FunctionNotFound.  The simulator exports every function it knows, so hiding
writes a copy of the library in which the chosen dynamic symbols cannot be found:
each one's name in .dynsym is pointed at the empty string.  The hash tables still lead
the dynamic linker to that entry, whose name then does not match, so dlsym fails as for
a symbol that was never there; nothing else in the file moves.

That is safe only where nothing in the library itself is bound to the symbol through
the dynamic linker (a PLT call, a function pointer relocated by name): the simulator is
linked -Bsymbolic with hidden helpers, so none is, and every hidden symbol is checked
against the library's relocations before the copy is written.

    python -m pynvml._sim hide -o DIR nvmlDeviceGetPowerUsage 'nvmlDeviceGetMig*'
    PYNVML_LIBRARY=DIR/libnvidia-ml.so.1 python app.py      # pynvml
    LD_LIBRARY_PATH=DIR python app.py                       # nvidia-ml-py, others

The libraries the simulator needs that lie beside it (cJSON, bundled by the build: its
RUNPATH is $ORIGIN) are copied beside the copy too, so it loads wherever it is written.
"""
import fnmatch
import os
import shutil
import struct

SIM_NAME = "libnvidia-ml.so.1"

_SHT_RELA, _SHT_DYNSYM, _SHT_REL, _SHT_DYNAMIC = 4, 11, 9, 6
_DT_NEEDED = 1


class HideError(Exception):
    """The copy cannot be made as asked (nothing is written)."""


def sim_library():
    """The path of the simulated NVML that ships with the package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SIM_NAME)


def _sections(data):
    if data[:4] != b"\x7fELF":
        raise HideError("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise HideError("only 64-bit little-endian ELF libraries are handled")
    (e_shoff,) = struct.unpack_from("<Q", data, 0x28)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 0x3A)
    if e_shoff == 0 or e_shnum == 0:
        raise HideError("the library has no section headers")
    out = []
    for i in range(e_shnum):
        (name, type_, flags, addr, offset, size, link, info, align, entsize) = struct.unpack_from(
            "<IIQQQQIIQQ", data, e_shoff + i * e_shentsize)
        out.append({"type": type_, "offset": offset, "size": size, "link": link, "entsize": entsize})
    return out


def _dynamic_symbols(data, secs):
    """(index of .dynsym, [(symbol index, name, defined, st_name's file offset)])."""
    for idx, s in enumerate(secs):
        if s["type"] == _SHT_DYNSYM:
            break
    else:
        raise HideError("the library has no dynamic symbol table")
    strtab = secs[s["link"]]
    syms = []
    for k in range(s["size"] // s["entsize"]):
        off = s["offset"] + k * s["entsize"]
        st_name, st_info, st_other, st_shndx = struct.unpack_from("<IBBH", data, off)
        if st_name == 0:
            continue
        start = strtab["offset"] + st_name
        name = data[start:data.index(b"\0", start)].decode("ascii", "replace")
        syms.append((k, name, st_shndx != 0, off))
    return idx, syms


def _relocated(data, secs, dynsym_index):
    """Indices of the dynamic symbols that a relocation of the library refers to."""
    used = set()
    for s in secs:
        if s["type"] in (_SHT_RELA, _SHT_REL) and s["link"] == dynsym_index and s["entsize"]:
            for k in range(s["size"] // s["entsize"]):
                (r_info,) = struct.unpack_from("<Q", data, s["offset"] + k * s["entsize"] + 8)
                used.add(r_info >> 32)
    return used


def _needed(data, secs):
    """The DT_NEEDED names of the library (the libraries it asks the dynamic linker for)."""
    out = []
    for s in secs:
        if s["type"] == _SHT_DYNAMIC and s["entsize"]:
            strtab = secs[s["link"]]
            for k in range(s["size"] // s["entsize"]):
                tag, val = struct.unpack_from("<qQ", data, s["offset"] + k * s["entsize"])
                if tag == _DT_NEEDED:
                    start = strtab["offset"] + val
                    out.append(data[start:data.index(b"\0", start)].decode("ascii", "replace"))
    return out


def exported(library=None):
    """The names of the functions and data the library defines for others to find."""
    with open(library or sim_library(), "rb") as f:
        data = f.read()
    _, syms = _dynamic_symbols(data, _sections(data))
    return sorted(name for _, name, defined, _ in syms if defined)


def hide(names, out, library=None):
    """Write a copy of `library` (the simulator by default) to `out` (a file whose
    name holds ".so", or a directory, made if missing, that gets libnvidia-ml.so.1) in which the dynamic symbols `names` (exact
    names or fnmatch patterns like 'nvmlDeviceGetMig*') cannot be found.

    Returns (the path written, the sorted names hidden).  Raises HideError, writing
    nothing, when a name matches no symbol the library defines, or when the library
    itself binds to one of them through the dynamic linker."""
    library = library or sim_library()
    with open(library, "rb") as f:
        data = bytearray(f.read())
    secs = _sections(data)
    dynsym_index, syms = _dynamic_symbols(data, secs)
    defined = [(k, name, off) for k, name, is_def, off in syms if is_def]
    chosen = {}
    for pattern in names:
        hits = [(k, name, off) for k, name, off in defined if fnmatch.fnmatchcase(name, pattern)]
        if not hits:
            raise HideError(f"{library} defines no symbol {pattern!r}")
        chosen.update({k: (name, off) for k, name, off in hits})
    relocated = _relocated(data, secs, dynsym_index)
    bound = sorted(name for k, (name, _) in chosen.items() if k in relocated)
    if bound:
        raise HideError(f"{library} binds to {', '.join(bound)} itself, through the dynamic "
                        "linker: hiding would break it (link it -Bsymbolic)")
    for name, off in chosen.values():
        struct.pack_into("<I", data, off, 0)     # st_name -> "": no lookup matches it
    if os.path.isdir(out) or ".so" not in os.path.basename(out.rstrip("/")) or out.endswith("/"):
        # a directory (made if missing): a file's name says it is a library (.so, .so.1)
        os.makedirs(out, exist_ok=True)
        out = os.path.join(out, SIM_NAME)
    src_dir, out_dir = os.path.dirname(os.path.abspath(library)), os.path.dirname(os.path.abspath(out))
    for name in _needed(data, secs):
        beside = os.path.join(src_dir, name)
        if os.path.exists(beside) and not os.path.exists(os.path.join(out_dir, name)):
            shutil.copy2(beside, os.path.join(out_dir, name))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return out, sorted(name for name, _ in chosen.values())
