"""Dispatch: calibrated device-or-numpy choice, splitting across devices, no-OpenCL paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from abi.compute import Compute
from abi.compute import reference as ref
from abi.compute.calibration import Calibration
from abi.compute.device import OpenCLDevice
from abi.compute.devices import opencl_devices
from abi.compute.dispatch import Dispatcher
from abi.errors import Unavailable
from helpers.opencl import NO_OPENCL, opencl_missing

needs_opencl = pytest.mark.skipif(opencl_missing(), reason=NO_OPENCL)


@needs_opencl
def test_calibration_is_measured_once_and_cached_per_device(tmp_path: Path) -> None:
    info, raw = opencl_devices()[0]
    dev = OpenCLDevice(info, raw, tmp_path)
    first = Calibration(dev, tmp_path)
    threshold = first.threshold("relu")
    assert first.path is not None and first.path.is_file()
    stored = json.loads(first.path.read_text())
    assert stored["ops"]["relu"]["threshold"] == (None if threshold == float("inf") else threshold)
    assert len(stored["ops"]["relu"]["samples"]) == 4
    again = Calibration(dev, tmp_path)
    assert again.ops.keys() == {"relu"}  # loaded, not re-measured


@needs_opencl
def test_auto_keeps_tiny_problems_on_numpy(tmp_path: Path) -> None:
    compute = Compute("auto", tmp_path)
    dispatcher = compute.dispatcher
    assert dispatcher is not None
    assert dispatcher.pick("sigmoid", 10.0) is None  # below every size the ladder measured
    np.testing.assert_allclose(compute.sigmoid([0.0]), [0.5])


@needs_opencl
def test_work_splits_across_devices_in_proportion(tmp_path: Path) -> None:
    info, raw = opencl_devices()[0]
    devices = [OpenCLDevice(info, raw, tmp_path), OpenCLDevice(info, raw, tmp_path)]
    dispatcher = Dispatcher("auto", devices, tmp_path)
    for cal, rate in zip(dispatcher.calibrations, (3.0, 1.0), strict=True):
        cal.ops["knn"] = {"threshold": 0.0, "rate": rate, "samples": []}
    compute = Compute.from_dispatcher(dispatcher)
    calls: list[int] = []
    for dev in devices:
        original = dev.knn

        def counting(q: np.ndarray, *args: object, _orig=original) -> object:  # type: ignore[no-untyped-def]
            calls.append(q.shape[0])
            return _orig(q, *args)

        dev.knn = counting  # type: ignore[method-assign]
    rng = np.random.default_rng(5)
    q = rng.standard_normal((40, 16)).astype(np.float32)
    x = rng.standard_normal((300, 16)).astype(np.float32)
    _, idx = compute.knn(q, x, 4, "cosine")
    assert sorted(calls) == [10, 30]
    np.testing.assert_array_equal(idx, ref.topk(ref.distances(q, x, "cosine"), 4, False)[1])


def _run_without_opencl(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCL_ICD_VENDORS": "/nonexistent-icd-dir", "OPENCL_VENDOR_PATH": "/x"}
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_forced_opencl_without_a_platform_fails_clearly() -> None:
    code = (
        "from abi.compute import Compute\n"
        "from abi.errors import Unavailable\n"
        "try:\n    Compute('opencl').relu([1.0])\n"
        "except Unavailable as e:\n    print(e.code, e.message)\n"
    )
    out = _run_without_opencl(code)
    assert "compute.no_opencl" in out.stdout, out.stderr
    assert "pocl-opencl-icd" in out.stdout


def test_auto_without_a_platform_falls_back_to_numpy() -> None:
    code = (
        "from abi.compute import Compute\n"
        "c = Compute('auto')\n"
        "print(c.relu([-1.0, 2.0]).tolist(), c.describe()['active'])\n"
    )
    out = _run_without_opencl(code)
    assert out.stdout.strip() == "[0.0, 2.0] numpy", out.stderr


def test_dispatcher_needs_a_device() -> None:
    with pytest.raises(Unavailable, match="no OpenCL platform"):
        Dispatcher("opencl", [], None)


def test_env_switch_selects_numpy(tmp_path: Path) -> None:
    from abi.compute.component import ComputeComponent
    from abi.config import load_settings

    settings = load_settings(environ={"ABI_COMPUTE": "numpy"}, overrides={"data_dir": tmp_path})
    component = ComputeComponent(settings)
    assert component.compute.describe()["active"] == "numpy"


@needs_opencl
def test_unwritable_cache_is_not_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    compute = Compute("opencl", blocker)
    np.testing.assert_array_equal(compute.relu(np.array([-1.0, 1.0], np.float32)), [0.0, 1.0])
