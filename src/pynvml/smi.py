"""pynvml.smi: nvidia-smi's queries from Python, and a command line that speaks its language.

The API of the original ``pynvml.smi`` (``pynvml_utils.smi`` in later releases)::

    from pynvml.smi import nvidia_smi
    nvsmi = nvidia_smi.getInstance()
    nvsmi.DeviceQuery('memory.free, memory.total')
    # {'count': 2, 'gpu': [{'fb_memory_usage': {'total': 81559, 'free': 81079, 'unit': 'MiB'}}, ...]}
    nvsmi.DeviceQuery()                      # everything, as a nested dict
    nvsmi.XmlDeviceQuery()                   # the document of `nvidia-smi -q -x`
    nvsmi.XmlDeviceQuery('memory.free')      # the same layout, only what was asked
    nvsmi.DeviceQuery('--help-query-gpu')    # the fields and what they mean
    poll = nvsmi.loop(filter='utilization.gpu', time_in_milliseconds=500,
                      callback=lambda result: print(result))
    poll.stop()

Every field of ``nvidia-smi --query-gpu`` is accepted (with its aliases), plus the
original module's names (``supported-clocks``, ``compute-apps``, ``accounted-apps``,
``clocks``) and its ``NVSMI_*`` numbers; an unknown name raises ValueError.

The values come from the query engine in C (``pynvml._nvml._smi_query``), which makes
each NVML call once per GPU per query and writes values as nvidia-smi does.

Command line (``python -m pynvml.smi`` or ``pynvml-smi``)::

    pynvml-smi --query-gpu=name,memory.used --format=csv[,noheader][,nounits] [-i ID] [-l SEC | -lms MS]
    pynvml-smi -q [-x] [-i ID]
    pynvml-smi -L
    pynvml-smi --help-query-gpu
"""
import _thread
import atexit
import sys

import pynvml
from pynvml import _nvml

__all__ = ["nvidia_smi", "main", "QUERY_FIELDS"]

# --------------------------------------------------------------------------------------
# The engine's items
# --------------------------------------------------------------------------------------

_FL_GLOBAL, _FL_NOFULL, _FL_BLOCK = 1, 2, 4
_MODE_CSV, _MODE_CSV_NOUNITS, _MODE_XML, _MODE_PY = 0, 1, 2, 3


class _Item:
    __slots__ = ("index", "names", "unit", "xml", "dict", "dunit", "xsuffix", "flags", "is_list", "help",
                 "key", "xml_path", "dict_path")

    def __init__(self, index, raw):
        (self.names, self.unit, self.xml, self.dict, self.dunit, self.xsuffix, self.flags, self.is_list,
         self.help) = raw
        self.index = index
        self.key = self.names[0] if self.names else "@" + (self.xml or "")
        self.xml_path = tuple(self.xml.split("/")) if self.xml else None
        self.dict_path = tuple(self.dict.split("/")) if self.dict else None
        if self.dunit is None and self.unit:
            self.dunit = "unit=" + self.unit

    @property
    def is_global(self):
        return bool(self.flags & _FL_GLOBAL)

    @property
    def in_full_xml(self):
        return self.xml is not None and not self.flags & _FL_NOFULL

    @property
    def header(self):
        return "%s [%s]" % (self.names[0], self.unit) if self.unit else self.names[0]


_ITEMS = [_Item(i, raw) for i, raw in enumerate(_nvml._smi_items())]
_BY_KEY = {it.key: it for it in _ITEMS}
_BY_NAME = {}
for _it in _ITEMS:
    for _n in _it.names:
        _BY_NAME.setdefault(_n, _it)
del _it, _n

#: The names that ``--query-gpu`` accepts, canonical names first (aliases follow each).
QUERY_FIELDS = tuple(n for it in _ITEMS for n in it.names)

# The original pynvml.smi's own names for groups nvidia-smi has no query field for.
_EXTRA_NAMES = {
    "supported-clocks": ["@supported_clocks"],
    "compute-apps": ["@processes"],
    "accounted-apps": ["@accounted_processes"],
    "clocks": ["@clock_policy/auto_boost", "@clock_policy/auto_boost_default"],
}

# Values the original always gave beside some fields (its dict layout relies on them).
_COMPANIONS = {
    "name": ["@product_brand"],
    "temperature.gpu": ["@temperature/gpu_temp_max_threshold", "@temperature/gpu_temp_slow_threshold"],
}
_POWER_STATE = "@gpu_power_readings/power_state"

# The original's NVSMI_* numbers (its filter could be a list of them).
NVSMI_ALL = -1
_NVSMI = {
    "NVSMI_TIMESTAMP": (1, ["timestamp"]), "NVSMI_DRIVER_VERSION": (2, ["driver_version"]),
    "NVSMI_COUNT": (3, ["count"]), "NVSMI_NAME": (4, ["name"]), "NVSMI_SERIALNUMBER": (5, ["serial"]),
    "NVSMI_UUID": (6, ["uuid"]), "NVSMI_PCI_BUS_ID": (7, ["pci.bus_id"]), "NVSMI_PCI_DOMAIN": (8, ["pci.domain"]),
    "NVSMI_PCI_BUS": (9, ["pci.bus"]), "NVSMI_PCI_DEVICE": (10, ["pci.device"]),
    "NVSMI_PCI_DEVICE_ID": (11, ["pci.device_id"]), "NVSMI_PCI_SUBDEVICE_ID": (12, ["pci.sub_device_id"]),
    "NVSMI_PCI_LINK_GEN_CUR": (13, ["pcie.link.gen.current"]), "NVSMI_PCI_LINK_GEN_MAX": (14, ["pcie.link.gen.max"]),
    "NVSMI_PCI_LINK_WIDTH_CUR": (15, ["pcie.link.width.current"]),
    "NVSMI_PCI_LINK_WIDTH_MAX": (16, ["pcie.link.width.max"]), "NVSMI_INDEX": (17, ["index"]),
    "NVSMI_DISPLAY_MODE": (18, ["display_mode"]), "NVSMI_DISPLAY_ACTIVE": (19, ["display_active"]),
    "NVSMI_PERSISTENCE_MODE": (20, ["persistence_mode"]), "NVSMI_ACCT_MODE": (21, ["accounting.mode"]),
    "NVSMI_ACCT_BUFFER_SIZE": (22, ["accounting.buffer_size"]),
    "NVSMI_DRIVER_MODEL_CUR": (23, ["driver_model.current"]),
    "NVSMI_DRIVER_MODEL_PENDING": (24, ["driver_model.pending"]), "NVSMI_VBIOS_VER": (25, ["vbios_version"]),
    "NVSMI_BOARD_ID": (26, ["@board_id"]), "NVSMI_INFOROM_IMG": (190, ["inforom.img"]),
    "NVSMI_INFOROM_OEM": (191, ["inforom.oem"]), "NVSMI_INFOROM_ECC": (192, ["inforom.ecc"]),
    "NVSMI_INFOROM_PWR": (193, ["inforom.pwr"]), "NVSMI_GOM_CUR": (30, ["gom.current"]),
    "NVSMI_GOM_PENDING": (31, ["gom.pending"]), "NVSMI_FAN_SPEED": (32, ["fan.speed"]),
    "NVSMI_PSTATE": (33, ["pstate"]), "NVSMI_MEMORY_TOTAL": (50, ["memory.total"]),
    "NVSMI_MEMORY_FREE": (51, ["memory.free"]), "NVSMI_MEMORY_USED": (52, ["memory.used"]),
    "NVSMI_COMPUTE_MODE": (53, ["compute_mode"]),
    "NVSMI_MEMORY_BAR1": (54, ["@bar1_memory_usage/total", "@bar1_memory_usage/used", "@bar1_memory_usage/free"]),
    "NVSMI_UTILIZATION_GPU": (60, ["utilization.gpu"]), "NVSMI_UTILIZATION_MEM": (61, ["utilization.memory"]),
    "NVSMI_UTILIZATION_ENCODER": (62, ["utilization.encoder"]),
    "NVSMI_UTILIZATION_DECODER": (63, ["utilization.decoder"]),
    "NVSMI_ENCODER_STATS_SESSIONCOUNT": (260, ["encoder.stats.sessionCount"]),
    "NVSMI_ENCODER_STATS_AVG_EPS": (261, ["encoder.stats.averageFps"]),
    "NVSMI_ENCODER_STATS_AVG_LATENCY": (262, ["encoder.stats.averageLatency"]),
    "NVSMI_ECC_MODE_CUR": (70, ["ecc.mode.current"]), "NVSMI_ECC_MODE_PENDING": (71, ["ecc.mode.pending"]),
    "NVSMI_RETIREDPAGES_SINGLE_BIT_ECC_COUNT": (120, ["retired_pages.sbe"]),
    "NVSMI_RETIREDPAGES_DOUBLE_BIT_ECC_COUNT": (121, ["retired_pages.dbe"]),
    "NVSMI_RETIREDPAGES_PENDING": (122, ["retired_pages.pending"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_SUPPORTED": (170, ["clocks_throttle_reasons.supported"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_ACTIVE": (171, ["clocks_throttle_reasons.active"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_IDLE": (172, ["clocks_throttle_reasons.gpu_idle"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_APP_SETTING": (173, ["clocks_throttle_reasons.applications_clocks_setting"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_SW_PWR_CAP": (174, ["clocks_throttle_reasons.sw_power_cap"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_HW_SLOWDOWN": (175, ["clocks_throttle_reasons.hw_slowdown"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_HW_THERMAL_SLOWDOWN": (176, ["clocks_throttle_reasons.hw_thermal_slowdown"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_HW_PWR_BRAKE_SLOWDOWN": (177, ["clocks_throttle_reasons.hw_power_brake_slowdown"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_SW_THERMAL_SLOWDOWN": (178, ["clocks_throttle_reasons.sw_thermal_slowdown"]),
    "NVSMI_CLOCK_THROTTLE_REASONS_SYNC_BOOST": (179, ["clocks_throttle_reasons.sync_boost"]),
    "NVSMI_TEMPERATURE_GPU": (130, ["temperature.gpu"]), "NVSMI_TEMPERATURE_MEMORY": (131, ["temperature.memory"]),
    "NVSMI_POWER_MGMT": (140, ["power.management"]), "NVSMI_POWER_DRAW": (141, ["power.draw"]),
    "NVSMI_POWER_LIMIT": (142, ["power.limit"]), "NVSMI_POWER_LIMIT_ENFORCED": (143, ["enforced.power.limit"]),
    "NVSMI_POWER_LIMIT_DEFAULT": (144, ["power.default_limit"]), "NVSMI_POWER_LIMIT_MIN": (145, ["power.min_limit"]),
    "NVSMI_POWER_LIMIT_MAX": (146, ["power.max_limit"]), "NVSMI_CLOCKS_GRAPHICS_CUR": (150, ["clocks.gr"]),
    "NVSMI_CLOCKS_SM_CUR": (151, ["clocks.sm"]), "NVSMI_CLOCKS_MEMORY_CUR": (152, ["clocks.mem"]),
    "NVSMI_CLOCKS_VIDEO_CUR": (153, ["clocks.video"]),
    "NVSMI_CLOCKS_APPL_GRAPHICS": (154, ["clocks.applications.gr"]),
    "NVSMI_CLOCKS_APPL_MEMORY": (155, ["clocks.applications.mem"]),
    "NVSMI_CLOCKS_APPL_GRAPHICS_DEFAULT": (156, ["clocks.default_applications.gr"]),
    "NVSMI_CLOCKS_APPL_MEMORY_DEFAULT": (157, ["clocks.default_applications.mem"]),
    "NVSMI_CLOCKS_GRAPHICS_MAX": (158, ["clocks.max.gr"]), "NVSMI_CLOCKS_SM_MAX": (159, ["clocks.max.sm"]),
    "NVSMI_CLOCKS_MEMORY_MAX": (160, ["clocks.max.mem"]), "NVSMI_COMPUTE_APPS": (200, ["compute-apps"]),
    "NVSMI_ACCOUNTED_APPS": (201, ["accounted-apps"]), "NVSMI_CLOCKS_POLICY": (202, ["clocks"]),
    "NVSMI_CLOCKS_SUPPORTED": (203, ["supported-clocks"]),
}
for _n, (_err, _cnt) in enumerate([("CORRECTED", "VOLATILE"), ("CORRECTED", "AGGREGATE"),
                                   ("UNCORRECTED", "VOLATILE"), ("UNCORRECTED", "AGGREGATE")]):
    for _j, (_tag, _loc) in enumerate([("DEV_MEM", "device_memory"), ("REGFILE", "register_file"),
                                       ("L1CACHE", "l1_cache"), ("L2CACHE", "l2_cache"),
                                       ("TEXTURE", "texture_memory"), ("TOTAL", "total")]):
        _NVSMI["NVSMI_ECC_ERROR_%s_%s_%s" % (_err, _cnt, _tag)] = (
            80 + 10 * _n + _j, ["ecc.errors.%s.%s.%s" % (_err.lower(), _cnt.lower(), _loc)])
globals().update({name: num for name, (num, _) in _NVSMI.items()})
_NVSMI_BY_NUMBER = {num: names for num, names in _NVSMI.values()}
del _n, _err, _cnt, _j, _tag, _loc


def _resolve(filter, companions=True):
    """The items a filter names, in the engine's order (that of the XML document)."""
    if filter is None:
        return list(_ITEMS), True
    if isinstance(filter, str):
        names = [n.strip() for n in filter.split(",")]
        names = [n for n in names if n]
    else:
        try:
            names = list(filter)
        except TypeError:
            raise TypeError("filter must be None, a comma-separated str of field names, or a list of names or "
                            "NVSMI_* numbers, not %s" % type(filter).__name__) from None
    if NVSMI_ALL in names:
        return list(_ITEMS), True
    chosen = set()
    for n in names:
        if isinstance(n, bool) or not isinstance(n, (str, int)):
            raise TypeError("filter entries must be field names (str) or NVSMI_* numbers (int), not %r" % (n,))
        if isinstance(n, int):
            if n not in _NVSMI_BY_NUMBER:
                raise ValueError("%d is not an NVSMI_* query number" % n)
            targets = _NVSMI_BY_NUMBER[n]
        else:
            n = n.strip()
            targets = [n]
        for t in targets:
            for key in _EXTRA_NAMES.get(t, [t]):
                it = _BY_NAME.get(key) or _BY_KEY.get(key)
                if it is None:
                    raise ValueError('"%s" is not a valid field to query (see DeviceQuery("--help-query-gpu"))' % t)
                chosen.add(it.index)
                if companions:
                    for extra in _COMPANIONS.get(it.names[0] if it.names else "", []):
                        chosen.add(_BY_KEY[extra].index)
                    if it.dict_path and it.dict_path[0] == "power_readings":
                        chosen.add(_BY_KEY[_POWER_STATE].index)
    if not names:
        raise ValueError("no field to query")
    return [_ITEMS[i] for i in sorted(chosen)], False


def _query(items, devices, mode):
    return _nvml._smi_query([it.index for it in items], devices, mode)


# --------------------------------------------------------------------------------------
# Layouts: dict, XML, csv, text
# --------------------------------------------------------------------------------------

def _space_pad_day(text):
    """'Tue Dec 01 22:16:45 2026' -> 'Tue Dec  1 22:16:45 2026', as nvidia-smi (and C's %c) write it."""
    if isinstance(text, str) and len(text) > 9 and text[8] == "0" and text[3] == " " and text[7] == " ":
        return text[:8] + " " + text[9:]
    return text


def _xml_text(text):
    """Text safe in an XML 1.0 document: escaped, and the characters XML cannot hold at all
    (control characters, lone surrogates, U+FFFE, U+FFFF) written as U+FFFD."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if text.isprintable():
        return text
    return "".join(c if (c >= " " and c not in "\ufffe\uffff" and not "\ud800" <= c <= "\udfff")
                   or c in "\t\n\r" else "\ufffd" for c in text)


def _put(root, path, value):
    node = root
    for key in path[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = node[key] = {}
        node = nxt
    node[path[-1]] = value
    return node


def _as_dict(items, devices=None):
    glob, rows = _query(items, devices, _MODE_PY)
    out = {}
    for it, v in zip(items, glob):
        if it.is_global:
            if it.key == "timestamp":
                v = _space_pad_day(v)
            _put(out, it.dict_path, v)
    if "count" not in out:
        out["count"] = len(rows)
    gpus = []
    per_gpu = [i for i, it in enumerate(items) if not it.is_global]
    for row in rows:
        gpu = {}
        units = []
        for i in per_gpu:
            it = items[i]
            value = row[i]
            if it.is_list and isinstance(value, list) and not value:
                value = None            # the original: None where a list is empty
            parent = _put(gpu, it.dict_path, value)
            if it.dunit:
                units.append((parent, it.dunit))
            if it.key == "pci.bus_id":
                gpu["id"] = value
        for parent, dunit in units:     # after the values, as the original had them
            key, _, unit = dunit.partition("=")
            parent.pop(key, None)
            parent[key] = unit
        if gpu:
            gpus.append(gpu)
    if gpus:
        out["gpu"] = gpus
    return out


class _Node:
    __slots__ = ("tag", "text", "kids", "block", "attrs")

    def __init__(self, tag, text=None, block=False):
        self.tag, self.text, self.kids, self.block, self.attrs = tag, text, [], block, None

    def child(self, tag):
        for k in self.kids:
            if k.tag == tag and k.text is None:
                return k
        k = _Node(tag)
        self.kids.append(k)
        return k


def _tree_from_pairs(tag, pairs):
    node = _Node(tag)
    for t, v in pairs:
        node.kids.append(_tree_from_pairs(t, v) if isinstance(v, list) else _Node(t, v))
    return node


def _xml_tree(items, devices=None):
    glob, rows = _query(items, devices, _MODE_XML)
    bus = _query([_BY_KEY["pci.bus_id"]], devices, _MODE_XML)[1]
    root = _Node("nvidia_smi_log")

    def place(parent, it, value):
        path = it.xml_path
        node = parent
        for tag in path[:-1]:
            node = node.child(tag)
        if it.is_list:
            leaf = _tree_from_pairs(path[-1], value) if isinstance(value, list) else _Node(path[-1], value)
        else:
            leaf = _Node(path[-1], value, bool(it.flags & _FL_BLOCK))
        node.kids.append(leaf)

    for it, v in zip(items, glob):
        if it.is_global:
            if it.key == "timestamp":
                v = _space_pad_day(v)
            place(root, it, v)
    for row, bus_row in zip(rows, bus):
        gpu = _Node("gpu")
        gpu.attrs = [("id", bus_row[0])]
        for it, v in zip(items, row):
            if not it.is_global:
                place(gpu, it, v)
        root.kids.append(gpu)
    return root


def _render_xml(root):
    def _xml_quoteattr(v):
        return '"%s"' % _xml_text(v).replace('"', "&quot;")

    _xml_escape = _xml_text

    out = ['<?xml version="1.0" ?>', '<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v13.dtd">']

    def emit(node, depth):
        pad = "\t" * depth
        attrs = "".join(" %s=%s" % (k, _xml_quoteattr(str(v))) for k, v in (node.attrs or []))
        if node.text is not None:
            text = _xml_escape(str(node.text))
            if node.block:
                out.append("%s<%s%s>\n%s\t%s\n%s</%s>" % (pad, node.tag, attrs, pad, text, pad, node.tag))
            else:
                out.append("%s<%s%s>%s</%s>" % (pad, node.tag, attrs, text, node.tag))
            return
        out.append("%s<%s%s>" % (pad, node.tag, attrs))
        for k in node.kids:
            emit(k, depth + 1)
        out.append("%s</%s>" % (pad, node.tag))
        if node.tag == "gpu" and depth == 1:
            out.append("")

    emit(root, 0)
    return "\n".join(out) + "\n"


def _csv_lines(items, devices=None, header=True, units=True):
    glob, rows = _query(items, devices, _MODE_CSV if units else _MODE_CSV_NOUNITS)
    lines = []
    if header:
        lines.append(", ".join(it.header for it in items))
    for row in rows:
        lines.append(", ".join([_csv_field(v) for v in row]))
    return lines


def _csv_field(text):
    """A value holding a comma, a quote or a line break is quoted (RFC 4180), so that a csv
    reader gets the value whole: nvidia-smi quotes such values the same way."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"%s"' % text.replace('"', '""')
    return text


# Labels of `nvidia-smi -q` for the elements of `-q -x` (the rest: the tag, in words).
_LABELS = {
    "timestamp": "Timestamp", "driver_version": "Driver Version", "cuda_version": "CUDA Version",
    "attached_gpus": "Attached GPUs", "product_name": "Product Name", "product_brand": "Product Brand",
    "product_architecture": "Product Architecture", "display_mode": "Display Mode",
    "display_attached": "Display Attached", "display_active": "Display Active", "persistence_mode": "Persistence Mode",
    "addressing_mode": "Addressing Mode", "mig_mode": "MIG Mode", "current_mig": "Current", "pending_mig": "Pending",
    "mig_devices": "MIG Devices", "accounting_mode": "Accounting Mode",
    "accounting_mode_buffer_size": "Accounting Mode Buffer Size", "driver_model": "Driver Model",
    "current_dm": "Current", "pending_dm": "Pending", "serial": "Serial Number", "uuid": "GPU UUID", "pdi": "GPU PDI",
    "minor_number": "Minor Number", "vbios_version": "VBIOS Version", "multigpu_board": "MultiGPU Board",
    "board_id": "Board ID", "board_part_number": "Board Part Number", "gpu_part_number": "GPU Part Number",
    "gpu_fru_part_number": "FRU Part Number", "platformInfo": "Platform Info",
    "chassis_serial_number": "Chassis Serial Number", "slot_number": "Slot Number", "tray_index": "Tray Index",
    "host_id": "Host ID", "peer_type": "Peer Type", "module_id": "Module Id", "gpu_fabric_guid": "GPU Fabric GUID",
    "inforom_version": "Inforom Version", "img_version": "Image Version", "oem_object": "OEM Object",
    "ecc_object": "ECC Object", "pwr_object": "Power Management Object", "inforom_bbx_flush": "Inforom BBX Object Flush",
    "latest_timestamp": "Latest Timestamp", "latest_duration": "Latest Duration",
    "gpu_operation_mode": "GPU Operation Mode", "current_gom": "Current", "pending_gom": "Pending",
    "c2c_mode": "GPU C2C Mode", "gpu_virtualization_mode": "GPU Virtualization Mode",
    "virtualization_mode": "Virtualization Mode", "host_vgpu_mode": "Host VGPU Mode",
    "vgpu_heterogeneous_mode": "vGPU Heterogeneous Mode", "gpu_recovery_action": "GPU Recovery Action",
    "gsp_firmware_version": "GSP Firmware Version", "ibmnpu": "IBMNPU", "relaxed_ordering_mode": "Relaxed Ordering Mode",
    "pci": "PCI", "pci_bus": "Bus", "pci_device": "Device", "pci_domain": "Domain", "pci_base_class": "Base Classcode",
    "pci_sub_class": "Sub Classcode", "pci_device_id": "Device Id", "pci_bus_id": "Bus Id",
    "pci_sub_system_id": "Sub System Id", "pci_gpu_link_info": "GPU Link Info", "pcie_gen": "PCIe Generation",
    "max_link_gen": "Max", "current_link_gen": "Current", "device_current_link_gen": "Device Current",
    "max_device_link_gen": "Device Max", "max_host_link_gen": "Host Max", "link_widths": "Link Width",
    "max_link_width": "Max", "current_link_width": "Current", "pci_bridge_chip": "Bridge Chip",
    "bridge_chip_type": "Type", "bridge_chip_fw": "Firmware", "replay_counter": "Replays Since Reset",
    "replay_rollover_counter": "Replay Number Rollovers", "tx_util": "Tx Throughput", "rx_util": "Rx Throughput",
    "atomic_caps_outbound": "Atomic Caps Outbound", "atomic_caps_inbound": "Atomic Caps Inbound",
    "fan_speed": "Fan Speed", "performance_state": "Performance State", "clocks_event_reasons": "Clocks Event Reasons",
    "clocks_event_reason_gpu_idle": "Idle",
    "clocks_event_reason_applications_clocks_setting": "Applications Clocks Setting",
    "clocks_event_reason_sw_power_cap": "SW Power Cap", "clocks_event_reason_hw_slowdown": "HW Slowdown",
    "clocks_event_reason_hw_thermal_slowdown": "HW Thermal Slowdown",
    "clocks_event_reason_hw_power_brake_slowdown": "HW Power Brake Slowdown",
    "clocks_event_reason_sync_boost": "Sync Boost", "clocks_event_reason_sw_thermal_slowdown": "SW Thermal Slowdown",
    "clocks_event_reason_display_clocks_setting": "Display Clock Setting",
    "clocks_event_reasons_counters": "Clocks Event Reasons Counters",
    "clocks_event_reasons_counters_sw_power_cap": "SW Power Capping",
    "clocks_event_reasons_counters_sync_boost": "Sync Boost",
    "clocks_event_reasons_counters_sw_therm_slowdown": "SW Thermal Slowdown",
    "clocks_event_reasons_counters_hw_therm_slowdown": "HW Thermal Slowdown",
    "clocks_event_reasons_counters_hw_power_brake": "HW Power Braking",
    "sparse_operation_mode": "Sparse Operation Mode", "fb_memory_usage": "FB Memory Usage",
    "bar1_memory_usage": "BAR1 Memory Usage", "cc_protected_memory_usage": "Conf Compute Protected Memory Usage",
    "total": "Total", "reserved": "Reserved", "used": "Used", "free": "Free", "compute_mode": "Compute Mode",
    "utilization": "Utilization", "gpu_util": "GPU", "memory_util": "Memory", "encoder_util": "Encoder",
    "decoder_util": "Decoder", "jpeg_util": "JPEG", "ofa_util": "OFA", "encoder_stats": "Encoder Stats",
    "fbc_stats": "FBC Stats", "session_count": "Active Sessions", "average_fps": "Average FPS",
    "average_latency": "Average Latency", "dram_encryption_mode": "DRAM Encryption Mode",
    "current_dram_encryption": "Current", "pending_dram_encryption": "Pending", "ecc_mode": "ECC Mode",
    "current_ecc": "Current", "pending_ecc": "Pending", "ecc_errors": "ECC Errors", "volatile": "Volatile",
    "aggregate": "Aggregate", "sram_correctable": "SRAM Correctable",
    "sram_uncorrectable_parity": "SRAM Uncorrectable Parity", "sram_uncorrectable_secded": "SRAM Uncorrectable SEC-DED",
    "dram_correctable": "DRAM Correctable", "dram_uncorrectable": "DRAM Uncorrectable",
    "sram_threshold_exceeded": "SRAM Threshold Exceeded",
    "aggregate_uncorrectable_sram_sources": "Aggregate Uncorrectable SRAM Sources", "sram_l2": "SRAM L2",
    "sram_sm": "SRAM SM", "sram_microcontroller": "SRAM Microcontroller", "sram_pcie": "SRAM PCIE",
    "sram_other": "SRAM Other", "channel_repair_pending": "Channel Repair Pending",
    "tpc_repair_pending": "TPC Repair Pending", "unrepairable_memory": "Unrepairable Memory",
    "retired_pages": "Retired Pages", "multiple_single_bit_retirement": "Single Bit ECC",
    "double_bit_retirement": "Double Bit ECC", "pending_blacklist": "Pending Page Blacklist",
    "pending_retirement": "Pending Page Retirement", "retired_count": "Retired Count",
    "retired_pagelist": "Retired Pages", "remapped_rows": "Remapped Rows",
    "remapped_row_corr": "Correctable Error", "remapped_row_corr_inactive": "Inactive Correctable Error",
    "remapped_row_unc": "Uncorrectable Error", "remapped_row_unc_inactive": "Inactive Uncorrectable Error",
    "remapped_row_pending": "Pending", "remapped_row_failure": "Remapping Failure Occurred",
    "row_remapper_histogram": "Bank Remap Availability Histogram", "row_remapper_histogram_max": "Max",
    "row_remapper_histogram_high": "High", "row_remapper_histogram_partial": "Partial",
    "row_remapper_histogram_low": "Low", "row_remapper_histogram_none": "None", "temperature": "Temperature",
    "gpu_temp": "GPU Current Temp", "gpu_temp_tlimit": "GPU T.Limit Temp",
    "gpu_temp_max_tlimit_threshold": "GPU Shutdown T.Limit Temp",
    "gpu_temp_slow_tlimit_threshold": "GPU Slowdown T.Limit Temp",
    "gpu_temp_max_gpu_tlimit_threshold": "GPU Max Operating T.Limit Temp",
    "gpu_target_temperature": "GPU Target Temperature", "memory_temp": "Memory Current Temp",
    "gpu_temp_max_mem_tlimit_threshold": "Memory Max Operating T.Limit Temp",
    "supported_gpu_target_temp": "Supported GPU Target Temp", "gpu_target_temp_min": "GPU Target Temp Min",
    "gpu_target_temp_max": "GPU Target Temp Max", "gpu_power_readings": "GPU Power Readings",
    "gpu_memory_power_readings": "GPU Memory Power Readings ", "module_power_readings": "Module Power Readings",
    "power_state": "Power State", "average_power_draw": "Average Power Draw",
    "instant_power_draw": "Instantaneous Power Draw", "current_power_limit": "Current Power Limit",
    "requested_power_limit": "Requested Power Limit", "default_power_limit": "Default Power Limit",
    "min_power_limit": "Min Power Limit", "max_power_limit": "Max Power Limit", "power_smoothing": "Power Smoothing",
    "power_profiles": "Workload Power Profiles", "power_profile_requested_profiles": "Requested Profiles",
    "power_profile_enforced_profiles": "Enforced Profiles", "clocks": "Clocks", "graphics_clock": "Graphics",
    "sm_clock": "SM", "mem_clock": "Memory", "video_clock": "Video", "applications_clocks": "Applications Clocks",
    "default_applications_clocks": "Default Applications Clocks", "deferred_clocks": "Deferred Clocks",
    "max_clocks": "Max Clocks", "max_customer_boost_clocks": "Max Customer Boost Clocks",
    "clock_policy": "Clock Policy", "auto_boost": "Auto Boost", "auto_boost_default": "Auto Boost Default",
    "fabric": "Fabric", "state": "State", "status": "Status", "cliqueId": "CliqueId", "clusterUuid": "ClusterUUID",
    "health": "Health", "summary": "Summary", "bandwidth": "Bandwidth",
    "route_recovery_in_progress": "Route Recovery in progress", "route_unhealthy": "Route Unhealthy",
    "access_timeout_recovery": "Access Timeout Recovery", "incorrect_configuration": "Incorrect Configuration",
    "partition_assigned": "Partition Assigned", "supported_clocks": "Supported Clocks",
    "supported_mem_clock": "Memory", "value": "Memory", "supported_graphics_clock": "Graphics",
    "processes": "Processes", "accounted_processes": "Accounted Processes", "process_info": "Process",
    "gpu_instance_id": "GPU instance ID", "compute_instance_id": "Compute instance ID", "pid": "Process ID",
    "type": "Type", "process_name": "Name", "used_memory": "Used GPU Memory", "capabilities": "Capabilities",
    "egm": "EGM",
}
# `-q` writes these PCI numbers as the csv does (0x...), `-q -x` without the prefix.
_HEX_IN_TEXT = {"pci_bus", "pci_device", "pci_domain", "pci_base_class", "pci_sub_class", "pci_device_id",
                "pci_sub_system_id"}


# Elements of `-q -x` that `-q` leaves out (some only show with -d in nvidia-smi).
_NOT_IN_TEXT = {"mig_devices", "supported_gpu_target_temp", "power_state", "supported_clocks",
                "accounted_processes", "pending_retirement"}
# Reasons that `-q` shows as parts of HW Slowdown.
_UNDER_HW_SLOWDOWN = {"clocks_event_reason_hw_thermal_slowdown", "clocks_event_reason_hw_power_brake_slowdown"}


def _render_text(root, keep=None):
    """`nvidia-smi -q` from the -q -x tree; keep: only these elements of each GPU (-d)."""
    lines = ["", "==============NVSMI LOG==============", ""]

    def label(tag):
        return _LABELS.get(tag) or tag.replace("_", " ").title()

    def line(depth, name, text):
        lines.append("%-55s: %s" % ("    " * depth + name, text))

    def process(node, depth):
        # nvidia-smi lays processes out narrower, the pid's details under it
        values = [(k.tag, k.text) for k in node.kids]
        for tag, text in values:
            d = depth if tag in ("gpu_instance_id", "compute_instance_id", "pid") else depth + 1
            lines.append("%-42s: %s" % ("    " * d + label(tag), text))

    def emit(node, depth):
        if node.tag in _NOT_IN_TEXT and (keep is None or node.tag not in keep):
            return
        if node.tag in ("processes", "accounted_processes") and node.kids and node.text is None:
            lines.append("    " * depth + label(node.tag))
            for k in node.kids:
                process(k, depth + 1)
            return
        if node.tag == "supported_mem_clock":
            for k in node.kids:
                emit(k, depth if k.tag == "value" else depth + 1)
            return
        if node.tag in _UNDER_HW_SLOWDOWN:
            depth += 1
        name = label(node.tag)
        if node.tag in ("multiple_single_bit_retirement", "double_bit_retirement"):
            count = next((k.text for k in node.kids if k.tag == "retired_count"), None)
            if count is not None and not str(count).isdigit():
                line(depth, name, count)
                return
        if node.text is not None:
            text = str(node.text)
            if node.tag in _HEX_IN_TEXT and text != "N/A":
                text = "0x" + text
            line(depth, name, text)
            return
        if not node.kids:
            line(depth, name, "None")
            return
        lines.append("    " * depth + name)
        for k in node.kids:
            emit(k, depth + 1)

    for node in root.kids:
        if node.tag == "gpu":
            lines.append("GPU %s" % node.attrs[0][1])
            for k in node.kids:
                if keep is None or k.tag in keep:
                    emit(k, 1)
            lines.append("")
        else:
            if node.tag == "attached_gpus":
                lines.append("")
            emit(node, 0)
    return "\n".join(lines) + "\n"


def _help_text():
    out = ['List of valid properties to query for the switch "--query-gpu" (and for DeviceQuery):', ""]
    for it in _ITEMS:
        if not it.names:
            continue
        out.append(" or ".join('"%s"' % n for n in it.names) + (" [%s]" % it.unit if it.unit else ""))
        out.append(it.help or "")
        out.append("")
    out.append("Also, from the original pynvml.smi: " + ", ".join('"%s"' % n for n in _EXTRA_NAMES) + ".")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------

class _Loop:
    """A query run every interval on a daemon thread; stop() ends it (so does exit)."""

    def __init__(self, nvsmi, filter, interval_ms, callback):
        if interval_ms is None or isinstance(interval_ms, bool) or not isinstance(interval_ms, (int, float)):
            raise TypeError("time_in_milliseconds must be a number")
        if not 0 <= interval_ms <= 31536000000:        # nan and inf fail this too
            raise ValueError("time_in_milliseconds must be a finite number >= 0, not %r" % (interval_ms,))
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        _resolve(filter)                      # bad names fail here, not in the thread
        self._nvsmi = nvsmi
        self._filter = filter
        self._interval = interval_ms / 1000.0
        self._callback = callback
        self._pass_self = callback is not None and _takes_two(callback)
        import threading    # only loops need it (3 ms to import: the command line does without)
        self._stop = threading.Event()
        self._last = None
        self.error = None
        self.count = 0
        self._thread = threading.Thread(target=self._run, name="pynvml.smi loop", daemon=True)
        _loops().add(self)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                result = self._nvsmi.DeviceQuery(self._filter)
            except Exception as e:          # an NVML error: kept, and the loop goes on
                self.error = e
                result = None
            else:
                self._last = result
                self.count += 1
                if self._callback is not None and not self._stop.is_set():
                    try:
                        if self._pass_self:
                            self._callback(self, result)
                        else:
                            self._callback(result)
                    except Exception as e:  # a failing callback ends the loop
                        self.error = e
                        self._stop.set()
                        break
            self._stop.wait(self._interval)

    def stop(self, timeout=None):
        """Stop the loop and wait (up to timeout seconds) for its thread to end."""
        self._stop.set()
        if self._thread.ident != _thread.get_ident():
            self._thread.join(timeout)
        _loops().discard(self)

    cancel = stop                           # the original's name

    def is_aborted(self):
        return self._stop.is_set()

    def is_running(self):
        return self._thread.is_alive()

    def result(self):
        """The last result (None before the first)."""
        return self._last

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def _takes_two(fn):
    import inspect      # only loop() callbacks need it (8 ms to import)
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return False
    return len(positional) >= 2


_LOOPS = None


def _loops():
    """The running loops, weakly held (weakref imported with the first loop: the command
    line does without it, 1 ms of its start)."""
    global _LOOPS
    if _LOOPS is None:
        import weakref
        _LOOPS = weakref.WeakSet()
    return _LOOPS


@atexit.register
def _stop_loops():
    for loop in list(_LOOPS or ()):
        loop._stop.set()


class nvidia_smi:
    """nvidia-smi's queries through NVML.  A singleton: nvidia_smi.getInstance()."""

    __instance = None
    __lock = _thread.allocate_lock()

    @staticmethod
    def getInstance():
        """The one nvidia_smi (NVML initialized on the first call)."""
        with nvidia_smi.__lock:
            if nvidia_smi.__instance is None:
                nvidia_smi()
        return nvidia_smi.__instance

    def __init__(self):
        if nvidia_smi.__instance is not None:
            raise Exception("This class is a singleton, use getInstance()")
        pynvml.nvmlInit()
        nvidia_smi.__instance = self

    @staticmethod
    def _ready():
        """NVML initialized again if someone shut it down since (the singleton outlives that)."""
        if _nvml._refcount() == 0:
            with nvidia_smi.__lock:
                if _nvml._refcount() == 0:
                    pynvml.nvmlInit()

    @staticmethod
    def loop(*args, **kwargs):
        """loop(filter=None, time_in_milliseconds=1000, callback=None) -> a handle with stop().

        Runs DeviceQuery(filter) every time_in_milliseconds on a daemon thread and calls
        callback(result) (or callback(handle, result), as the original did, for a callback
        of two parameters) with each result.  The original's argument order
        loop(time_in_milliseconds, filter, callback) works too.  The handle's result() is
        the last result, stop() (or cancel()) ends the loop; the loop also ends at exit."""
        names = ("filter", "time_in_milliseconds", "callback")
        if len(args) > 3:
            raise TypeError("loop() takes at most 3 arguments")
        if args and isinstance(args[0], (int, float)) and not isinstance(args[0], bool) and NVSMI_ALL != args[0]:
            names = ("time_in_milliseconds", "filter", "callback")   # the original's order
        values = {"filter": None, "time_in_milliseconds": 1000, "callback": None}
        for name, value in zip(names, args):
            values[name] = value
        for name, value in kwargs.items():
            if name not in values:
                raise TypeError("loop() got an unexpected keyword argument %r" % name)
            if name in names[:len(args)]:
                raise TypeError("loop() got multiple values for argument %r" % name)
            values[name] = value
        return _Loop(nvidia_smi.getInstance(), values["filter"], values["time_in_milliseconds"],
                     values["callback"])

    @classmethod
    def DeviceQuery(cls, filter=None, devices=None):
        """The filter's fields (comma-separated names, or a list of names or NVSMI_*
        numbers; None: everything) of every GPU (or of those in `devices`, indices), as
        a nested dict laid out as the original pynvml.smi's.  "--help-query-gpu" gives
        the fields' help."""
        if isinstance(filter, str) and filter.strip() in ("--help", "-h"):
            return nvidia_smi.DeviceQuery.__doc__
        if isinstance(filter, str) and filter.strip() in ("--help-query-gpu", "--help_query_gpu"):
            return _help_text()
        items, _ = _resolve(filter)
        cls._ready()
        return _as_dict(items, devices)

    @classmethod
    def XmlDeviceQuery(cls, filter=None, devices=None):
        """The document of `nvidia-smi -q -x` (filter None), or its elements for the
        filter's fields only."""
        if isinstance(filter, str) and filter.strip() in ("--help", "-h"):
            return nvidia_smi.XmlDeviceQuery.__doc__
        if isinstance(filter, str) and filter.strip() in ("--help-query-gpu", "--help_query_gpu"):
            return _help_text()
        items, everything = _resolve(filter)
        cls._ready()
        if everything:
            items = [it for it in _ITEMS if it.in_full_xml]
        else:
            items = [it for it in items if it.xml_path]
        return _render_xml(_xml_tree(items, devices))

    @classmethod
    def CsvQuery(cls, filter, devices=None, header=True, units=True):
        """The lines `nvidia-smi --query-gpu=<filter> --format=csv[,noheader][,nounits]` prints."""
        items = _resolve_csv(filter)
        cls._ready()
        return _csv_lines(items, devices, header, units)

    # --- nvidia-smi's other views, as data (pynvml.smi_views lays them out as text) -------

    @classmethod
    def Summary(cls, devices=None):
        """The data of nvidia-smi's table: {'timestamp', 'driver_version', 'cuda_version',
        'gpus': [{field: text}], 'mig_devices': MigDevices()'s list (None when no GPU is in MIG
        mode), 'processes': [{'gpu', 'pid', 'type', 'process_name', ...}]}."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.summary(devices)

    @classmethod
    def QuerySections(cls, sections, devices=None):
        """`nvidia-smi -q -d SECTIONS` as DeviceQuery's dict (sections: 'MEMORY,POWER' or a list),
        with each section's samples ('power_samples': {'duration_s', 'count', 'max', 'min', 'avg'})."""
        from pynvml import smi_views
        names = smi_views.parse_sections(sections if isinstance(sections, str) else ",".join(sections))
        want = {tag for sec in names for tag in smi_views.SECTIONS[sec]}
        items = [it for it in _ITEMS if it.in_full_xml and (it.is_global or it.xml_path[0] in want)
                 and it.dict_path is not None]
        cls._ready()
        out = _as_dict(items, devices)
        idx = list(range(pynvml.nvmlDeviceGetCount())) if devices is None else list(devices)
        for gpu, i in zip(out.get("gpu", []), idx):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            for sec in names:
                for kind, label, unit in smi_views._SAMPLES.get(sec, (None, []))[1]:
                    s = smi_views.samples(h, kind)
                    if s is not None:
                        s["unit"] = unit
                    gpu[label.lower().replace(" ", "_")] = s
        return out

    @classmethod
    def ListQuery(cls, kind, fields, devices=None):
        """`--query-<kind>=fields` (kind: compute-apps, accounted-apps, retired-pages,
        remapped-rows, supported-clocks) as a list of dicts, field -> value (None: N/A)."""
        from pynvml import smi_views
        names = [f.strip() for f in fields.split(",")] if isinstance(fields, str) else list(fields)
        cls._ready()
        resolved, records = smi_views.list_query(kind, names, devices)
        return [{name: r.get(canon) for name, (canon, _) in zip(names, resolved)} for r in records]

    @classmethod
    def ComputeApps(cls, devices=None):
        """The compute processes: [{'gpu_uuid', 'pid', 'process_name', 'used_gpu_memory' (MiB), ...}]."""
        from pynvml import smi_views
        return cls.ListQuery("compute-apps", [n for n, *_ in smi_views.list_fields("compute-apps")], devices)

    @classmethod
    def Dmon(cls, select="puc", devices=None):
        """One sample of `nvidia-smi dmon -s SELECT`: a dict per GPU, column -> value (None: '-')."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.dmon_sample(smi_views.parse_dmon_select(select), devices)

    @classmethod
    def Pmon(cls, devices=None):
        """One sample of `nvidia-smi pmon`: a dict per process."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.pmon_sample(devices)

    @classmethod
    def Topology(cls):
        """`nvidia-smi topo -m` as data: {'gpus': [{'index', 'links', 'cpu_affinity', ...}]}."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.topology()

    @classmethod
    def NvLinks(cls, devices=None):
        """`nvidia-smi nvlink -s` as data: the GPUs with NVLinks, each link's state and speed."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.nvlink_status(devices)

    @classmethod
    def MigProfiles(cls, devices=None):
        """`nvidia-smi mig -lgip` as data: a dict per GPU-instance profile."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.mig_profiles(devices)

    @classmethod
    def MigInstances(cls, devices=None):
        """`nvidia-smi mig -lgi` / `-lci` as data (None where no GPU is in MIG mode)."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.mig_instances(devices)

    @classmethod
    def MigDevices(cls, devices=None):
        """The table's "MIG devices:" block as data: per MIG device its GPU, GPU and compute
        instance ids, index, profile, UUID, memory and BAR1 (MiB), SMs, volatile uncorrected
        ECC errors and shared engines (None where no GPU is in MIG mode)."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.mig_devices(devices)

    @classmethod
    def Version(cls):
        """`nvidia-smi --version` as data: {'pynvml', 'driver', 'nvml', 'cuda'}."""
        from pynvml import smi_views
        cls._ready()
        return smi_views.version()

    def format(self, results):
        """A result of DeviceQuery as indented text (str results as they are)."""
        if isinstance(results, str):
            return results
        lines = []

        def walk(value, key, indent):
            if isinstance(value, dict):
                if value:
                    lines.append("%s%s:" % (indent, key))
                    for k, v in value.items():
                        walk(v, k, indent + "  ")
                else:
                    lines.append("%s%s: None" % (indent, key))
            elif isinstance(value, list) and value and isinstance(value[0], dict):
                for i, v in enumerate(value):
                    lines.append("%s%s: [%d of %d]" % (indent, key, i + 1, len(value)))
                    for k, vv in v.items():
                        walk(vv, k, indent + "    ")
            else:
                lines.append("%s%s: %s" % (indent, key, value))

        for k, v in results.items():
            walk(v, k, "  ")
        return "\n".join(lines) + "\n"


def _resolve_csv(filter):
    """Query fields for csv, in the order given (names may repeat), as nvidia-smi takes them."""
    if isinstance(filter, str):
        names = filter.split(",")
    else:
        names = list(filter)
    items = []
    for n in names:
        it = _BY_NAME.get(n) if isinstance(n, str) else None
        if it is None:
            raise ValueError('Field "%s" is not a valid field to query.' % n)
        items.append(it)
    return items


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------

_USAGE = """usage: pynvml-smi [OPTION]...   |   pynvml-smi dmon|pmon|topo|nvlink|mig [OPTION]...

nvidia-smi's read-only views, through pynvml (NVML of the driver, or pynvml's simulated
GPUs with --sim or PYNVML_LIBRARY=sim).  Output as nvidia-smi 580 prints it.

  (no option)                  the summary table: GPUs, MIG devices (in MIG mode), processes
  -L, --list-gpus              list the GPUs (and their MIG devices)
  -q, --query                  everything about each GPU, as text
  -x, --xml-format             with -q: as nvidia-smi -q -x's XML
  -d, --display=SECTION[,...]  with -q: only these sections: MEMORY, UTILIZATION, ECC,
                               TEMPERATURE, POWER, CLOCK, COMPUTE, PIDS, PERFORMANCE,
                               SUPPORTED_CLOCKS, PAGE_RETIREMENT, ACCOUNTING, ENCODER_STATS,
                               SUPPORTED_GPU_TARGET_TEMP, VOLTAGE, FBC_STATS, ROW_REMAPPER,
                               GSP_FIRMWARE_VERSION, POWER_SMOOTHING, POWER_PROFILES
  -i, --id=ID                  only these GPUs: index, UUID, PCI bus id or serial (comma-separated)
  -f, --filename=FILE          write to FILE instead of stdout
  --query-gpu=FIELDS           these fields of each GPU (see --help-query-gpu)
  --query-compute-apps=FIELDS  the compute processes (see --help-query-compute-apps)
  --query-accounted-apps=FIELDS, --query-retired-pages=FIELDS, --query-remapped-rows=FIELDS,
  --query-supported-clocks=FIELDS
                               the same for accounted processes, retired pages, remapped rows,
                               supported clocks (each has its --help-query-...)
  --format=csv[,noheader][,nounits]
                               the format of the --query-... options (csv is the only one)
  -l, --loop=SEC               repeat every SEC seconds (default 5) until interrupted
  -lms, --loop-ms=MS           repeat every MS milliseconds (default 1000) until interrupted
  --version                    the versions of pynvml, NVML, the driver and CUDA
  --sim                        use pynvml's simulated GPUs (as PYNVML_LIBRARY=sim does)
  -h, --help                   this help

  dmon [-i ID] [-s pucvmet] [-d SEC] [-c COUNT] [-o DT] [-f FILE]
                               a line per GPU per interval: p power and temperatures,
                               u utilization, c clocks, v violations, m memory, e ECC and
                               PCIe replay errors, t PCIe throughput (default: puc)
  pmon [-i ID] [-d SEC] [-c COUNT] [-f FILE]
                               a line per process per interval
  topo -m                      the GPUs' connections, CPU and NUMA affinity
  nvlink -s | -c [-i ID]       the NVLinks of each GPU: their speed, or their capabilities
  mig -lgip | -lgi | -lci      MIG GPU-instance profiles, GPU instances, compute instances

Options of nvidia-smi that change a GPU's state (-pm, -e, -p, -c, -r, -ac, -rac, -pl, -lgc,
-mig, mig -cgi, ...) are refused: pynvml-smi only reads.
"""

# nvidia-smi's options that change state: refused, whatever their value
_STATE_OPTIONS = {
    "-pm", "--persistence-mode", "-e", "--ecc-config", "-p", "--reset-ecc-errors", "-c", "--compute-mode",
    "--gom", "-r", "--gpu-reset", "-vm", "--virt-mode", "-lgc", "--lock-gpu-clocks", "-m", "--mode", "-rgc",
    "--reset-gpu-clocks", "-lmc", "--lock-memory-clocks", "-rmc", "--reset-memory-clocks", "-lmcd",
    "--lock-memory-clocks-deferred", "-rmcd", "--reset-memory-clocks-deferred", "-ac", "--applications-clocks",
    "-rac", "--reset-applications-clocks", "-pl", "--power-limit", "-sc", "--scope", "-cc", "--cuda-clocks",
    "-am", "--accounting-mode", "-caa", "--clear-accounted-apps", "--auto-boost-default",
    "--auto-boost-permission", "-mig", "--multi-instance-gpu", "-gtt", "--gpu-target-temp", "-den",
    "--dram-encryption", "--set-hostname", "-t", "--toggle-led", "-eow", "--error-on-warning",
}
_MIG_STATE_OPTIONS = {"-cgi", "--create-gpu-instance", "-dgi", "--destroy-gpu-instance", "-cci",
                      "--create-compute-instance", "-dci", "--destroy-compute-instance", "-C",
                      "--default-compute-instance"}
_LIST_QUERIES = ("compute-apps", "accounted-apps", "retired-pages", "remapped-rows", "supported-clocks")
_UNSUPPORTED = 255      # nvidia-smi's exit status for an option it does not take


class _Usage(Exception):
    def __init__(self, message, code=2):
        super().__init__(message)
        self.code = code


def _refuse_unknown(arg):
    return _Usage("ERROR: Option %s is not recognized. Please run 'pynvml-smi -h'.\n" % arg, _UNSUPPORTED)


def _refuse_state(arg):
    return _Usage("ERROR: Option %s changes the GPU's state: pynvml-smi only reads (use nvidia-smi for it)."
                  % arg, _UNSUPPORTED)


def _interval(name, text, scale):
    """A loop interval in seconds: a finite positive number (nan, inf and 1e309 are refused)."""
    import math
    try:
        v = float(text) * scale
    except ValueError:
        v = float("nan")
    if not math.isfinite(v) or v <= 0 or v > 31536000:
        raise _Usage("Invalid value for %s: %s (a number of %s above 0 is needed)." % (
            name, text, "seconds" if scale == 1 else "milliseconds"))
    return v


def _count(name, text, low=1):
    try:
        v = int(text)
    except ValueError:
        v = low - 1
    if v < low:
        raise _Usage("Invalid value for %s: %s (a whole number of at least %d is needed)." % (name, text, low))
    return v


def _parse(argv):
    opts = {"query_gpu": None, "list_query": None, "format": None, "ids": None, "loop": None, "q": False,
            "x": False, "L": False, "help": False, "help_query": None, "display": None, "file": None,
            "version": False, "sim": False, "sub": None, "sub_opts": {}}
    i = 0
    if argv and argv[0] in ("dmon", "pmon", "topo", "nvlink", "mig"):
        opts["sub"] = argv[0]
        i = 1

    def value(name, inline, optional_default=None):
        nonlocal i
        if inline is not None:
            return inline
        if i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            i += 1
            return argv[i]
        if optional_default is not None:
            return optional_default
        raise _Usage("Option %s needs a value." % name)

    sub = opts["sub_opts"]
    while i < len(argv):
        arg = argv[i]
        name, eq, inline = arg.partition("=")
        inline = inline if eq else None
        if name in ("-h", "--help"):
            opts["help"] = True
        elif name in ("-i", "--id"):
            opts["ids"] = value(name, inline)
        elif name in ("-f", "--filename"):
            opts["file"] = value(name, inline)
        elif name == "--sim":
            opts["sim"] = True
        elif opts["sub"] in ("dmon", "pmon"):
            if name in ("-s", "--select"):
                sub["select"] = value(name, inline)
            elif name in ("-d", "--delay"):
                sub["delay"] = _count(name, value(name, inline))
            elif name in ("-c", "--count"):
                sub["count"] = _count(name, value(name, inline))
            elif name in ("-o", "--options"):
                sub["options"] = value(name, inline).upper()
                if any(c not in "DT" for c in sub["options"]):
                    raise _Usage("Invalid value for -o: %s (D for the date, T for the time)." % sub["options"])
            else:
                raise _refuse_unknown(arg)
        elif opts["sub"] == "topo":
            if name in ("-m", "--matrix"):
                sub["m"] = True
            else:
                raise _refuse_unknown(arg)
        elif opts["sub"] == "nvlink":
            if name in ("-s", "--status"):
                sub["s"] = True
            elif name in ("-c", "--capabilities"):
                sub["c"] = True
            else:
                raise _refuse_unknown(arg)
        elif opts["sub"] == "mig":
            if name in ("-lgip", "--list-gpu-instance-profiles", "-lgi", "--list-gpu-instances", "-lci",
                        "--list-compute-instances"):
                sub["list"] = {"--list-gpu-instance-profiles": "-lgip", "--list-gpu-instances": "-lgi",
                               "--list-compute-instances": "-lci"}.get(name, name)
            elif name in _MIG_STATE_OPTIONS:
                raise _refuse_state(name)
            else:
                raise _refuse_unknown(arg)
        elif name == "--version":
            opts["version"] = True
        elif name.startswith("--help-query-"):
            kind = name[len("--help-query-"):]
            if kind != "gpu" and kind not in _LIST_QUERIES:
                raise _refuse_unknown(arg)
            opts["help_query"] = kind
        elif name in ("-L", "--list-gpus"):
            opts["L"] = True
        elif name in ("-q", "--query"):
            opts["q"] = True
        elif name in ("-x", "--xml-format"):
            opts["x"] = True
        elif name == "-qx" or name == "-xq":
            opts["q"] = opts["x"] = True
        elif name in ("-d", "--display"):
            opts["display"] = value(name, inline)
        elif name == "--query-gpu":
            opts["query_gpu"] = value(name, inline, "")
        elif name.startswith("--query-") and name[len("--query-"):] in _LIST_QUERIES:
            opts["list_query"] = (name[len("--query-"):], value(name, inline, ""))
        elif name == "--format":
            opts["format"] = value(name, inline)
        elif name in ("-l", "--loop"):
            opts["loop"] = _interval(name, value(name, inline, "5"), 1)
        elif name in ("-lms", "--loop-ms"):
            opts["loop"] = _interval(name, value(name, inline, "1000"), 0.001)
        elif name in _STATE_OPTIONS:
            raise _refuse_state(name)
        else:
            raise _refuse_unknown(arg)
        i += 1
    if opts["display"] is not None and opts["x"]:
        raise _Usage("Invalid combination of input arguments: --display/-d flags can not be combined with "
                     "-x/--xml-format flags.")
    if opts["display"] is not None:
        from pynvml import smi_views
        try:
            opts["display"] = smi_views.parse_sections(opts["display"])
        except ValueError as e:
            raise _Usage(str(e)) from None
    return opts


def _select_devices(spec):
    """Indices of the GPUs that -i names (index, UUID, PCI bus id or serial)."""
    if spec is None:
        return None
    count = pynvml.nvmlDeviceGetCount()
    wants = [w.strip() for w in spec.split(",")]
    # indices alone need no GPU's identifiers: reading them would attach every GPU (7 ms
    # each on an H200) where nvidia-smi -i 0 attaches one
    ident = None if all(w.isdigit() for w in wants) else \
        _query([_BY_KEY["uuid"], _BY_KEY["pci.bus_id"], _BY_KEY["serial"]], None, _MODE_XML)[1]
    chosen = []
    for want in wants:
        found = None
        if want.isdigit():
            if int(want) < count:
                found = int(want)
        else:
            for idx, (uuid, bus, serial) in enumerate(ident):
                bus_l = bus.lower()
                w = want.lower()
                if (uuid == want or (w.startswith("gpu-") and len(w) > 8 and uuid.lower().startswith(w))
                        or bus_l == w or bus_l.endswith(w) and ":" in w or serial == want):
                    found = idx
                    break
        if found is None:
            raise _Usage("No devices were found", 6)
        if found not in chosen:
            chosen.append(found)
    return chosen


def _format_options(opts):
    fmt_header, fmt_units = True, True
    if opts["format"] is not None:
        parts = [p.strip() for p in opts["format"].split(",")]
        if "csv" not in parts or any(p not in ("csv", "noheader", "nounits") for p in parts):
            raise _Usage("Format modifier is not recognized.")
        fmt_header, fmt_units = "noheader" not in parts, "nounits" not in parts
    return fmt_header, fmt_units


def _no_fields(kind):
    return _Usage("No fields were given to --query-%s: see pynvml-smi --help-query-%s." % (kind, kind))


def _run(opts, out, shutdown=True):
    if opts["help"]:
        out.write(_USAGE)
        return 0
    if opts["help_query"] is not None:
        if opts["help_query"] == "gpu":
            out.write(_help_text())
        else:
            from pynvml import smi_views
            out.write(smi_views.help_list_query(opts["help_query"]))
        return 0
    fmt_header, fmt_units = _format_options(opts)
    items = list_fields = None
    if opts["query_gpu"] is not None:
        if not opts["query_gpu"].strip(","):
            raise _no_fields("gpu")
        try:
            items = _resolve_csv(opts["query_gpu"])
        except ValueError as e:
            raise _Usage("%s\n" % e) from None
    elif opts["list_query"] is not None:
        from pynvml import smi_views
        kind, names = opts["list_query"]
        if not names.strip(","):
            raise _no_fields(kind)
        try:
            list_fields = smi_views._resolve_list(kind, names.split(","))
        except ValueError as e:
            raise _Usage("%s\n" % e) from None
    elif opts["format"] is not None:
        raise _Usage("--format needs one of the --query-... options.")
    if opts["sub"] == "topo" and not opts["sub_opts"].get("m"):
        raise _Usage("topo: only -m (the matrix) is available: pynvml-smi topo -m")
    if opts["sub"] == "nvlink" and not (opts["sub_opts"].get("s") or opts["sub_opts"].get("c")):
        raise _Usage("nvlink: -s (the links' status) or -c (their capabilities) is needed: pynvml-smi nvlink -s")
    if opts["sub"] == "mig" and not opts["sub_opts"].get("list"):
        raise _Usage("mig: one of -lgip, -lgi, -lci is needed: pynvml-smi mig -lgip")
    select = "puc"
    if opts["sub"] == "dmon" and "select" in opts["sub_opts"]:
        from pynvml import smi_views
        try:
            select = smi_views.parse_dmon_select(opts["sub_opts"]["select"])
        except ValueError as e:
            raise _Usage(str(e)) from None
    if opts["sim"]:
        import os
        os.environ["PYNVML_LIBRARY"] = "sim"
    if opts["file"] is not None:
        try:
            out = open(opts["file"], "w")
        except OSError as e:
            raise _Usage("Failed to open file %s: %s" % (opts["file"], e.strerror or e)) from None
    pynvml.nvmlInit()
    try:
        devices = _select_devices(opts["ids"])
        if opts["sub"] in ("dmon", "pmon"):
            return _run_monitor(opts, out, devices, select)
        first = True
        while True:
            _one_view(opts, out, devices, items, list_fields, fmt_header and first, fmt_units)
            out.flush()
            first = False
            if opts["loop"] is None or opts["sub"] is not None or opts["version"]:
                return 0
            import time
            time.sleep(opts["loop"])
    finally:
        if opts["file"] is not None:
            out.close()
        if shutdown:
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError:
                pass


def _one_view(opts, out, devices, items, list_fields, header, units):
    from pynvml import smi_views as v
    sub = opts["sub"]
    if sub == "topo":
        out.write(v.render_topology(v.topology()))
    elif sub == "nvlink" and opts["sub_opts"].get("c"):
        out.write(v.render_nvlink_capabilities(v.nvlink_capabilities(devices)))
    elif sub == "nvlink":
        out.write(v.render_nvlink_status(v.nvlink_status(devices)))
    elif sub == "mig":
        which = opts["sub_opts"]["list"]
        if which == "-lgip":
            out.write(v.render_mig_profiles(v.mig_profiles(devices)))
        elif which == "-lgi":
            out.write(v.render_mig_gpu_instances(v.mig_instances(devices)))
        else:
            out.write(v.render_mig_compute_instances(v.mig_instances(devices)))
    elif opts["version"]:
        out.write(v.render_version(v.version()))
    elif items is not None:
        lines = _csv_lines(items, devices, header=header, units=units)
        if lines:
            out.write("\n".join(lines) + "\n")
    elif list_fields is not None:
        kind, names = opts["list_query"]
        fields, records = v.list_query(kind, names.split(","), devices)
        lines = v.render_list_query(fields, records, header, units)
        if lines:
            out.write("\n".join(lines) + "\n")
    elif opts["L"]:
        out.write(v.render_list(v.list_gpus(devices)))
    elif opts["q"] and opts["display"] is not None:
        tree, extra = v.query_sections(opts["display"], devices)
        out.write(v.render_sections(tree, extra, opts["display"], devices))
    elif opts["q"]:
        # -q as text leaves some elements of -q -x out: their NVML calls are not made
        # (the supported clocks, ~90 calls on an H200; the accounted processes, ...)
        items_all = [it for it in _ITEMS if it.in_full_xml
                     and (opts["x"] or _NOT_IN_TEXT.isdisjoint(it.xml_path))]
        tree = _xml_tree(items_all, devices)
        out.write(_render_xml(tree) if opts["x"] else _render_text(tree))
    else:
        out.write(v.render_summary(v.summary(devices)))


def _run_monitor(opts, out, devices, select):
    """dmon / pmon: a header, then a line per GPU (process) every -d seconds, -c times."""
    import time
    from pynvml import smi_views as v
    sub = opts["sub_opts"]
    count, delay, options = sub.get("count"), sub.get("delay", 1), sub.get("options", "")
    state = {}
    if opts["sub"] == "dmon":
        out.write("\n".join(v.render_dmon_header(select, options)) + "\n")
    else:
        out.write("\n".join(v.PMON_HEADER) + "\n")
    n = 0
    next_at = time.monotonic()
    while count is None or n < count:
        if opts["sub"] == "dmon":
            lines = v.render_dmon_rows(select, v.dmon_sample(select, devices, state), options)
        else:
            lines = v.render_pmon_rows(v.pmon_sample(devices), devices)
        out.write("\n".join(lines) + "\n")
        out.flush()
        n += 1
        if count is not None and n >= count:
            break
        next_at += delay
        time.sleep(max(0.0, next_at - time.monotonic()))
    return 0


_NO_DRIVER = ("pynvml-smi: %s: no NVIDIA driver was found (libnvidia-ml.so.1). Set PYNVML_LIBRARY=sim or pass "
              "--sim to use pynvml's simulated GPUs, or PYNVML_LIBRARY=/path/to/libnvidia-ml.so.1.")


def main(argv=None, _process=False):
    """The command line: pynvml-smi / python -m pynvml.smi."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        opts = _parse(argv)
        return _run(opts, sys.stdout, shutdown=not _process)
    except _Usage as e:
        sys.stdout.write("%s\n" % e)
        sys.stdout.flush()
        return e.code
    except KeyboardInterrupt:
        return 0
    except pynvml.NVMLError as e:
        if isinstance(e, (pynvml.NVMLError_LibraryNotFound, pynvml.NVMLError_DriverNotLoaded)):
            sys.stdout.write(_NO_DRIVER % e + "\n")
        else:
            sys.stdout.write("%s\n" % e)
        return 9
    except BrokenPipeError:
        return 0


def _console():
    """The console script's entry (and ``python -m pynvml.smi``'s): main(), then the process
    ends at once.  A one-shot command has nothing to clean up that the process's end does not:
    nvmlShutdown (3 ms on an H200, more with more GPUs: the driver detaches each GPU) is left
    to the kernel, which releases a process's driver handles when it exits, as it does for a
    killed nvidia-smi; and os._exit skips the interpreter's teardown (2 ms, freeing every
    module).  Output is flushed first; nothing of the command line's registers atexit work
    (the loops of nvidia_smi.loop() are the API's, not the command line's)."""
    code = main(_process=True)
    import os
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):   # a closed pipe: as nvidia-smi, exit quietly
            pass
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    _console()
