"""Chooses, per operation and size, the device that runs it (None means numpy)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from abi.compute.calibration import Calibration
from abi.compute.device import OpenCLDevice
from abi.compute.devices import NO_OPENCL_HINT, opencl_devices
from abi.errors import Unavailable

log = logging.getLogger("abi.compute")


class Dispatcher:
    """The opened devices and, in ``auto`` mode, their calibrations.

    ``opencl`` mode sends every operation to the first device (GPUs before CPUs); ``auto``
    sends an operation to the fastest device whose calibrated threshold its size reaches, and
    to numpy below every threshold.
    """

    def __init__(self, backend: str, devices: list[OpenCLDevice], cache_dir: Path | None):
        if not devices:
            raise Unavailable(NO_OPENCL_HINT, code="compute.no_opencl")
        order = {"gpu": 0, "accelerator": 1, "cpu": 2}
        self.backend = backend
        self.devices = sorted(devices, key=lambda d: order.get(d.info.type, 3))
        self.calibrations = [Calibration(d, cache_dir) for d in self.devices]

    @classmethod
    def create(
        cls, backend: str, cache_dir: Path | None, device_filter: tuple[str, ...] = ()
    ) -> Dispatcher | None:
        """Open the devices; None in ``auto`` mode when there are none (numpy only)."""
        found = [
            (info, dev)
            for info, dev in opencl_devices()
            if not device_filter
            or any(
                f in (info.id, info.type) or f.lower() in info.name.lower() for f in device_filter
            )
        ]
        opened: list[OpenCLDevice] = []
        for info, dev in found:
            try:
                opened.append(OpenCLDevice(info, dev, cache_dir))
            except Exception as exc:
                log.warning("cannot open OpenCL device %s: %s", info.name, exc)
        if not opened:
            if backend == "opencl":
                raise Unavailable(NO_OPENCL_HINT, code="compute.no_opencl")
            log.warning("%s; computing with numpy", NO_OPENCL_HINT)
            return None
        return cls(backend, opened, cache_dir)

    def candidates(self, op: str, work: float) -> list[tuple[OpenCLDevice, float]]:
        """Devices that beat numpy at this size with their measured rate, fastest first."""
        if self.backend == "opencl":
            return [(self.devices[0], 1.0)]
        found = []
        for dev, cal in zip(self.devices, self.calibrations, strict=True):
            if work >= cal.threshold(op):
                found.append((dev, float(cal.entry(op)["rate"])))
        return sorted(found, key=lambda pair: -pair[1])

    def pick(self, op: str, work: float) -> OpenCLDevice | None:
        """The device for one operation of this size, or None for numpy."""
        found = self.candidates(op, work)
        return found[0][0] if found else None

    def describe(self) -> dict[str, Any]:
        """The devices in use and their calibrations (for health and the CLI)."""
        return {
            "active": "opencl",
            "devices": [
                {
                    "id": d.info.id,
                    "name": d.info.name,
                    "type": d.info.type,
                    "programs": dict(d.programs.stats),
                    "thresholds": {op: e["threshold"] for op, e in c.ops.items()},
                }
                for d, c in zip(self.devices, self.calibrations, strict=True)
            ],
        }

    def close(self) -> None:
        """Release every device's buffers."""
        for dev in self.devices:
            dev.close()
