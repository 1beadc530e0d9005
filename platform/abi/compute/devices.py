"""OpenCL discovery: every platform and device with the properties dispatch and users need."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger("abi.compute")

NO_OPENCL_HINT = (
    "no OpenCL platform found: install an OpenCL driver (on Debian: apt-get install "
    "pocl-opencl-icd for the CPU, or the GPU vendor's ICD) or set ABI_COMPUTE=numpy"
)


@dataclass(frozen=True)
class DeviceInfo:
    """One OpenCL device as discovered (plain data: JSON-serialisable)."""

    id: str
    """Stable within one machine: ``<platform index>:<device index>``."""
    platform: str
    platform_version: str
    name: str
    vendor: str
    type: str
    """``cpu``, ``gpu``, ``accelerator`` or ``other``."""
    version: str
    driver_version: str
    compute_units: int
    max_clock_mhz: int
    global_mem_bytes: int
    local_mem_bytes: int
    max_alloc_bytes: int
    max_work_group_size: int
    fp16: bool
    fp64: bool
    unified_memory: bool
    extensions: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The device as JSON-ready data."""
        data = asdict(self)
        data["extensions"] = list(self.extensions)
        return data

    @property
    def cache_key(self) -> str:
        """What a compiled binary or a calibration depends on."""
        return f"{self.platform}|{self.platform_version}|{self.name}|{self.driver_version}"


def _device_type(value: int) -> str:
    import pyopencl as cl

    if value & cl.device_type.GPU:
        return "gpu"
    if value & cl.device_type.CPU:
        return "cpu"
    if value & cl.device_type.ACCELERATOR:
        return "accelerator"
    return "other"


def describe_device(platform_index: int, device_index: int, device: Any) -> DeviceInfo:
    """The :class:`DeviceInfo` of a ``pyopencl.Device``."""
    extensions = tuple(sorted(device.extensions.split()))
    try:
        unified = bool(device.host_unified_memory)
    except Exception:  # removed from OpenCL 3.0 headers on some drivers
        unified = _device_type(device.type) == "cpu"
    return DeviceInfo(
        id=f"{platform_index}:{device_index}",
        platform=device.platform.name.strip(),
        platform_version=device.platform.version.strip(),
        name=device.name.strip(),
        vendor=device.vendor.strip(),
        type=_device_type(device.type),
        version=device.version.strip(),
        driver_version=device.driver_version.strip(),
        compute_units=int(device.max_compute_units),
        max_clock_mhz=int(device.max_clock_frequency),
        global_mem_bytes=int(device.global_mem_size),
        local_mem_bytes=int(device.local_mem_size),
        max_alloc_bytes=int(device.max_mem_alloc_size),
        max_work_group_size=int(device.max_work_group_size),
        fp16="cl_khr_fp16" in extensions,
        fp64="cl_khr_fp64" in extensions,
        unified_memory=unified,
        extensions=extensions,
    )


def opencl_devices() -> list[tuple[DeviceInfo, Any]]:
    """Every OpenCL device with its ``pyopencl.Device``; empty when there is no platform
    (or pyopencl cannot load an ICD loader)."""
    try:
        import pyopencl as cl

        platforms = cl.get_platforms()
    except Exception as exc:  # pyopencl raises LogicError/RuntimeError when no ICD exists
        log.info("OpenCL unavailable: %s", exc)
        return []
    found: list[tuple[DeviceInfo, Any]] = []
    for p_index, plat in enumerate(platforms):
        try:
            devices = plat.get_devices()
        except Exception as exc:
            log.warning("OpenCL platform %s lists no devices: %s", plat.name, exc)
            continue
        for d_index, dev in enumerate(devices):
            found.append((describe_device(p_index, d_index, dev), dev))
    return found


def discover() -> list[DeviceInfo]:
    """Every OpenCL device's properties (empty without an OpenCL platform)."""
    return [info for info, _ in opencl_devices()]


def platforms_summary() -> list[dict[str, Any]]:
    """Platforms with their devices, as ``abi devices`` and the REST API report them."""
    grouped: dict[str, dict[str, Any]] = {}
    for info in discover():
        key = info.id.split(":")[0]
        entry = grouped.setdefault(
            key,
            {
                "index": int(key),
                "name": info.platform,
                "version": info.platform_version,
                "devices": [],
            },
        )
        entry["devices"].append(info.to_dict())
    return list(grouped.values())
