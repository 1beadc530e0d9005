"""Measures, once per device, from which problem size each operation beats numpy.

Every operation runs a short ladder of sizes on the device and with numpy, alternating the
two (this machine's speed swings within seconds) and keeping the best of three. The threshold
is the smallest size from which the device wins at every larger size measured; it is stored
as JSON next to the compiled kernels, keyed by the device, its driver and the kernel sources.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from abi.compute import reference as ref
from abi.compute.device import OpenCLDevice
from abi.compute.programs import KERNEL_DIR, write_cache_file

log = logging.getLogger("abi.compute")

VERSION = 1
Case = tuple[float, Callable[[], Any], Callable[[], Any]]


def _rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def _mat(rows: int, cols: int) -> np.ndarray:
    return _rng().standard_normal((rows, cols)).astype(np.float32)


def _distance_cases(dev: OpenCLDevice, knn: bool) -> list[Case]:
    cases: list[Case] = []
    for nq, nx, d in ((4, 256, 64), (32, 2048, 128), (128, 8192, 128), (256, 16384, 128)):
        q, x = _mat(nq, d), _mat(nx, d)
        work = 2.0 * nq * nx * d
        if knn:
            cases.append((work, partial(dev.knn, q, x, 10, "l2"), partial(_numpy_knn, q, x)))
        else:
            cases.append(
                (work, partial(dev.distances, q, x, "l2"), partial(ref.distances, q, x, "l2"))
            )
    return cases


def _numpy_knn(q: np.ndarray, x: np.ndarray) -> Any:
    return ref.topk(ref.distances(q, x, "l2"), 10, False)


def _topk_cases(dev: OpenCLDevice) -> list[Case]:
    cases: list[Case] = []
    for rows, n in ((4, 512), (32, 4096), (128, 16384), (512, 16384)):
        s = _mat(rows, n)
        cases.append(
            (float(s.size), partial(dev.topk, s, 10, True), partial(ref.topk, s, 10, True))
        )
    return cases


def _gemm_cases(dev: OpenCLDevice) -> list[Case]:
    cases: list[Case] = []
    for n in (32, 96, 256, 512):
        a, b = _mat(n, n), _mat(n, n)
        on_dev = partial(dev.gemm, a, b, alpha=1.0, beta=0.0, c=None, trans_b=False)
        cases.append((2.0 * n**3, on_dev, partial(ref.gemm, a, b, 1.0, 0.0, None)))
    return cases


def _map_cases(dev: OpenCLDevice, name: str) -> list[Case]:
    cases: list[Case] = []
    fn: Callable[[Any], Any] = getattr(ref, name)
    for n in (4096, 65536, 1 << 20, 1 << 22):
        x = _rng().standard_normal(n).astype(np.float32)
        cases.append((float(n), partial(dev.activation, name, x), partial(fn, x)))
    return cases


def _row_cases(dev: OpenCLDevice, name: str) -> list[Case]:
    cases: list[Case] = []
    for rows, n in ((8, 64), (128, 256), (1024, 384), (8192, 384)):
        x = _mat(rows, n)
        g, b = np.ones(n, np.float32), np.zeros(n, np.float32)
        if name == "softmax":
            cases.append((float(x.size), partial(dev.softmax, x), partial(ref.softmax, x)))
        else:
            cases.append(
                (
                    float(x.size),
                    partial(dev.layer_norm, x, g, b, 1e-5),
                    partial(ref.layer_norm, x, g, b, 1e-5),
                )
            )
    return cases


def _kmeans_cases(dev: OpenCLDevice) -> list[Case]:
    cases: list[Case] = []
    for n, k, d in ((256, 4, 16), (4096, 16, 64), (32768, 64, 128)):
        x, c = _mat(n, d), _mat(k, d)
        a = _rng().integers(0, k, n).astype(np.int64)
        cases.append(
            (
                float(x.size),
                partial(dev.kmeans_update, x, a, c),
                partial(ref.kmeans_update, x, a, c),
            )
        )
    return cases


def _optimizer_cases(dev: OpenCLDevice, name: str) -> list[Case]:
    cases: list[Case] = []
    for n in (4096, 65536, 1 << 20, 1 << 22):
        p, g = _rng().standard_normal(n).astype(np.float32), np.full(n, 0.01, np.float32)
        s1, s2 = np.zeros(n, np.float32), np.zeros(n, np.float32)
        if name == "adam":
            hyper: dict[str, Any] = {
                "step": 1,
                "lr": 1e-3,
                "beta1": 0.9,
                "beta2": 0.999,
                "eps": 1e-8,
                "weight_decay": 0.0,
            }
            cases.append(
                (
                    float(n),
                    partial(dev.adam, p, g, s1, s2, **hyper),
                    partial(ref.adam, p, g, s1, s2, **hyper),
                )
            )
        else:
            hyper = {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.0}
            cases.append(
                (
                    float(n),
                    partial(dev.sgd_momentum, p, g, s1, **hyper),
                    partial(ref.sgd_momentum, p, g, s1, **hyper),
                )
            )
    return cases


def cases_for(op: str, dev: OpenCLDevice) -> list[Case]:
    """The calibration ladder of ``op`` (ascending work)."""
    if op in ("distances", "knn"):
        return _distance_cases(dev, op == "knn")
    if op == "topk":
        return _topk_cases(dev)
    if op == "gemm":
        return _gemm_cases(dev)
    if op in ("relu", "gelu", "sigmoid", "tanh"):
        return _map_cases(dev, op)
    if op in ("softmax", "layer_norm"):
        return _row_cases(dev, op)
    if op == "kmeans_update":
        return _kmeans_cases(dev)
    if op in ("adam", "sgd_momentum"):
        return _optimizer_cases(dev, op)
    raise KeyError(op)


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(op: str, dev: OpenCLDevice, repeats: int = 3) -> dict[str, Any]:
    """Run the ladder in ascending size; ``threshold`` is the smallest size from which the
    device won at every larger size measured (None: numpy always won). The ladder stops
    after two consecutive device wins (larger sizes only widen the gap)."""
    samples: list[list[float]] = []
    wins = 0
    for work, on_device, on_numpy in cases_for(op, dev):
        on_device()  # builds the program and warms caches
        dev_s = np_s = math.inf
        for _ in range(repeats):
            dev_s = min(dev_s, _timed(on_device))
            np_s = min(np_s, _timed(on_numpy))
        samples.append([work, dev_s, np_s])
        wins = wins + 1 if dev_s < np_s else 0
        if wins == 2:
            break
    threshold: float | None = None
    for work, dev_s, np_s in reversed(samples):
        if dev_s < np_s:
            threshold = work
        else:
            break
    largest = samples[-1]
    return {"threshold": threshold, "rate": largest[0] / largest[1], "samples": samples}


def sources_digest() -> str:
    """A short digest of every kernel source: calibrations of other sources are stale."""
    digest = hashlib.sha256()
    for path in sorted(KERNEL_DIR.glob("*.cl")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


class Calibration:
    """Per-device thresholds, measured on first use of each operation and cached on disk."""

    def __init__(self, dev: OpenCLDevice, cache_dir: Path | None) -> None:
        self.dev = dev
        key = hashlib.sha256(dev.info.cache_key.encode()).hexdigest()[:16]
        self.path = cache_dir / "calibration" / f"{key}.json" if cache_dir else None
        self.stamp = {"version": VERSION, "kernels": sources_digest(), "device": dev.info.cache_key}
        self.ops: dict[str, dict[str, Any]] = self._load()
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None or not self.path.is_file():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("stamp") != self.stamp:
            return {}
        ops = data.get("ops")
        return ops if isinstance(ops, dict) else {}

    def entry(self, op: str) -> dict[str, Any]:
        """The calibration of ``op`` (measured on first use, then cached on disk)."""
        found = self.ops.get(op)
        if found is not None:
            return found
        with self._lock:  # one measurement at a time: concurrent ones would skew each other
            return self._measure(op)

    def _measure(self, op: str) -> dict[str, Any]:
        found = self.ops.get(op)
        if found is None:
            started = time.perf_counter()
            found = measure(op, self.dev)
            log.info(
                "calibrated %s on %s in %.2fs: device from %s",
                op,
                self.dev.name,
                time.perf_counter() - started,
                found["threshold"],
            )
            self.ops[op] = found
            if self.path is not None:
                payload = {"stamp": self.stamp, "ops": self.ops}
                write_cache_file(self.path, json.dumps(payload, indent=1).encode())
        return found

    def threshold(self, op: str) -> float:
        """The work from which the device beats numpy at ``op`` (inf: never)."""
        value = self.entry(op)["threshold"]
        return math.inf if value is None else float(value)
