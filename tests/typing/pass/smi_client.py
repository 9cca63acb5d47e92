"""pynvml.smi and pynvml.batch as a typed client uses them (make typecheck)."""
from __future__ import annotations

from typing import Any

from pynvml.smi import NVSMI_MEMORY_FREE, QUERY_FIELDS, main, nvidia_smi


def query() -> None:
    nvsmi = nvidia_smi.getInstance()
    res: dict[str, Any] = nvsmi.DeviceQuery("memory.free, memory.total")
    free: int = res["gpu"][0]["fb_memory_usage"]["free"]
    helptext: str = nvsmi.DeviceQuery("--help-query-gpu")
    xml: str = nvsmi.XmlDeviceQuery("memory.free")
    lines: list[str] = nvsmi.CsvQuery("name,memory.used", header=False)
    print(free, helptext, xml, lines, nvsmi.format(res), nvsmi.DeviceQuery([NVSMI_MEMORY_FREE]))
    print(len(QUERY_FIELDS))


def poll() -> None:
    def show(result: dict[str, Any]) -> None:
        print(result)

    with nvidia_smi.loop(filter="utilization.gpu", time_in_milliseconds=500, callback=show) as loop:
        print(loop.result(), loop.is_running(), loop.count)
    loop.stop()


def batch_query() -> None:
    from pynvml import NVMLError, batch, nvmlDeviceGetHandleByIndex

    for v in batch.query([(0, "temperature.gpu"), (nvmlDeviceGetHandleByIndex(1), "power.draw")]):
        if isinstance(v, NVMLError):
            print(v.value)
    print(len(batch.METRICS))


rc: int = main(["-L"])
