# The stub of pynvml.smi (hand-written: the module is Python, not in the spec).
# A query's result is a tree of dicts, lists, str and numbers laid out as the original
# pynvml.smi's (and nvidia-smi's XML): dict[str, Any], as JSON-like data is typed.
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal, overload

from typing_extensions import Self, TypeAlias

__all__ = ["nvidia_smi", "main", "QUERY_FIELDS"]

_Filter: TypeAlias = str | Sequence[str | int] | None
_Result: TypeAlias = dict[str, Any]
_Help: TypeAlias = Literal["--help", "-h", "--help-query-gpu", "--help_query_gpu"]

QUERY_FIELDS: Final[tuple[str, ...]]

class _Loop:
    """A query run every interval on a daemon thread (nvidia_smi.loop)."""

    error: Exception | None
    count: int
    def __init__(self, nvsmi: nvidia_smi, filter: _Filter, interval_ms: float,
                 callback: Callable[[_Result], object] | Callable[[_Loop, _Result], object] | None) -> None: ...
    def stop(self, timeout: float | None = None) -> None: ...
    def cancel(self, timeout: float | None = None) -> None: ...
    def is_aborted(self) -> bool: ...
    def is_running(self) -> bool: ...
    def result(self) -> _Result | None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc: object) -> None: ...

class nvidia_smi:
    """nvidia-smi's queries through NVML.  A singleton: nvidia_smi.getInstance()."""

    @staticmethod
    def getInstance() -> nvidia_smi: ...
    def __init__(self) -> None: ...
    @staticmethod
    def loop(
        filter: _Filter = None,
        time_in_milliseconds: float = 1000,
        callback: Callable[[_Result], object] | Callable[[_Loop, _Result], object] | None = None,
    ) -> _Loop: ...
    @overload
    @classmethod
    def DeviceQuery(cls, filter: _Help, devices: Sequence[int] | None = None) -> str: ...  # type: ignore[overload-overlap]
    @overload
    @classmethod
    def DeviceQuery(cls, filter: _Filter = None, devices: Sequence[int] | None = None) -> _Result: ...
    @classmethod
    def XmlDeviceQuery(cls, filter: _Filter = None, devices: Sequence[int] | None = None) -> str: ...
    @classmethod
    def CsvQuery(cls, filter: str | Sequence[str], devices: Sequence[int] | None = None, header: bool = True,
                 units: bool = True) -> list[str]: ...
    # nvidia-smi's other views as data (pynvml.smi_views)
    @classmethod
    def Summary(cls, devices: Sequence[int] | None = None) -> _Result: ...
    @classmethod
    def QuerySections(cls, sections: str | Sequence[str], devices: Sequence[int] | None = None) -> _Result: ...
    @classmethod
    def ListQuery(cls, kind: str, fields: str | Sequence[str], devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def ComputeApps(cls, devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def Dmon(cls, select: str = "puc", devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def Pmon(cls, devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def Topology(cls) -> _Result: ...
    @classmethod
    def NvLinks(cls, devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def MigProfiles(cls, devices: Sequence[int] | None = None) -> list[_Result]: ...
    @classmethod
    def MigInstances(cls, devices: Sequence[int] | None = None) -> list[_Result] | None: ...
    @classmethod
    def MigDevices(cls, devices: Sequence[int] | None = None) -> list[_Result] | None: ...
    @classmethod
    def Version(cls) -> dict[str, str]: ...
    def format(self, results: _Result | str) -> str: ...

def main(argv: Sequence[str] | None = None, _process: bool = False) -> int: ...

# the original module's NVSMI_* numbers (a filter may be a list of them)
NVSMI_ACCOUNTED_APPS: Final[int]
NVSMI_ACCT_BUFFER_SIZE: Final[int]
NVSMI_ACCT_MODE: Final[int]
NVSMI_ALL: Final[int]
NVSMI_BOARD_ID: Final[int]
NVSMI_CLOCKS_APPL_GRAPHICS: Final[int]
NVSMI_CLOCKS_APPL_GRAPHICS_DEFAULT: Final[int]
NVSMI_CLOCKS_APPL_MEMORY: Final[int]
NVSMI_CLOCKS_APPL_MEMORY_DEFAULT: Final[int]
NVSMI_CLOCKS_GRAPHICS_CUR: Final[int]
NVSMI_CLOCKS_GRAPHICS_MAX: Final[int]
NVSMI_CLOCKS_MEMORY_CUR: Final[int]
NVSMI_CLOCKS_MEMORY_MAX: Final[int]
NVSMI_CLOCKS_POLICY: Final[int]
NVSMI_CLOCKS_SM_CUR: Final[int]
NVSMI_CLOCKS_SM_MAX: Final[int]
NVSMI_CLOCKS_SUPPORTED: Final[int]
NVSMI_CLOCKS_VIDEO_CUR: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_ACTIVE: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_APP_SETTING: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_HW_PWR_BRAKE_SLOWDOWN: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_HW_SLOWDOWN: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_HW_THERMAL_SLOWDOWN: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_IDLE: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_SUPPORTED: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_SW_PWR_CAP: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_SW_THERMAL_SLOWDOWN: Final[int]
NVSMI_CLOCK_THROTTLE_REASONS_SYNC_BOOST: Final[int]
NVSMI_COMPUTE_APPS: Final[int]
NVSMI_COMPUTE_MODE: Final[int]
NVSMI_COUNT: Final[int]
NVSMI_DISPLAY_ACTIVE: Final[int]
NVSMI_DISPLAY_MODE: Final[int]
NVSMI_DRIVER_MODEL_CUR: Final[int]
NVSMI_DRIVER_MODEL_PENDING: Final[int]
NVSMI_DRIVER_VERSION: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_DEV_MEM: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_L1CACHE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_L2CACHE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_REGFILE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_TEXTURE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_AGGREGATE_TOTAL: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_DEV_MEM: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_L1CACHE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_L2CACHE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_REGFILE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_TEXTURE: Final[int]
NVSMI_ECC_ERROR_CORRECTED_VOLATILE_TOTAL: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_DEV_MEM: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_L1CACHE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_L2CACHE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_REGFILE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_TEXTURE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_AGGREGATE_TOTAL: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_DEV_MEM: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_L1CACHE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_L2CACHE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_REGFILE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_TEXTURE: Final[int]
NVSMI_ECC_ERROR_UNCORRECTED_VOLATILE_TOTAL: Final[int]
NVSMI_ECC_MODE_CUR: Final[int]
NVSMI_ECC_MODE_PENDING: Final[int]
NVSMI_ENCODER_STATS_AVG_EPS: Final[int]
NVSMI_ENCODER_STATS_AVG_LATENCY: Final[int]
NVSMI_ENCODER_STATS_SESSIONCOUNT: Final[int]
NVSMI_FAN_SPEED: Final[int]
NVSMI_GOM_CUR: Final[int]
NVSMI_GOM_PENDING: Final[int]
NVSMI_INDEX: Final[int]
NVSMI_INFOROM_ECC: Final[int]
NVSMI_INFOROM_IMG: Final[int]
NVSMI_INFOROM_OEM: Final[int]
NVSMI_INFOROM_PWR: Final[int]
NVSMI_MEMORY_BAR1: Final[int]
NVSMI_MEMORY_FREE: Final[int]
NVSMI_MEMORY_TOTAL: Final[int]
NVSMI_MEMORY_USED: Final[int]
NVSMI_NAME: Final[int]
NVSMI_PCI_BUS: Final[int]
NVSMI_PCI_BUS_ID: Final[int]
NVSMI_PCI_DEVICE: Final[int]
NVSMI_PCI_DEVICE_ID: Final[int]
NVSMI_PCI_DOMAIN: Final[int]
NVSMI_PCI_LINK_GEN_CUR: Final[int]
NVSMI_PCI_LINK_GEN_MAX: Final[int]
NVSMI_PCI_LINK_WIDTH_CUR: Final[int]
NVSMI_PCI_LINK_WIDTH_MAX: Final[int]
NVSMI_PCI_SUBDEVICE_ID: Final[int]
NVSMI_PERSISTENCE_MODE: Final[int]
NVSMI_POWER_DRAW: Final[int]
NVSMI_POWER_LIMIT: Final[int]
NVSMI_POWER_LIMIT_DEFAULT: Final[int]
NVSMI_POWER_LIMIT_ENFORCED: Final[int]
NVSMI_POWER_LIMIT_MAX: Final[int]
NVSMI_POWER_LIMIT_MIN: Final[int]
NVSMI_POWER_MGMT: Final[int]
NVSMI_PSTATE: Final[int]
NVSMI_RETIREDPAGES_DOUBLE_BIT_ECC_COUNT: Final[int]
NVSMI_RETIREDPAGES_PENDING: Final[int]
NVSMI_RETIREDPAGES_SINGLE_BIT_ECC_COUNT: Final[int]
NVSMI_SERIALNUMBER: Final[int]
NVSMI_TEMPERATURE_GPU: Final[int]
NVSMI_TEMPERATURE_MEMORY: Final[int]
NVSMI_TIMESTAMP: Final[int]
NVSMI_UTILIZATION_DECODER: Final[int]
NVSMI_UTILIZATION_ENCODER: Final[int]
NVSMI_UTILIZATION_GPU: Final[int]
NVSMI_UTILIZATION_MEM: Final[int]
NVSMI_UUID: Final[int]
NVSMI_VBIOS_VER: Final[int]
