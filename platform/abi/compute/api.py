"""The public compute API: one object whose operations run on an OpenCL device or numpy.

Every operation validates its input, then goes to the backend chosen for its size (see
:mod:`abi.compute.dispatch`); the numpy path and the kernels agree to the tolerances stated
in the tests (1e-4 relative for f32 reductions, 1e-6 absolute for elementwise maps).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from abi.compute import reference as ref
from abi.compute.reference import F32, I64, Metric
from abi.errors import InvalidInput

if TYPE_CHECKING:
    from abi.compute.device import OpenCLDevice
    from abi.compute.dispatch import Dispatcher

log = logging.getLogger("abi.compute")

Backend = Literal["auto", "opencl", "numpy"]
Activation = Literal["relu", "gelu", "sigmoid", "tanh"]
ACTIVATIONS: tuple[Activation, ...] = ("relu", "gelu", "sigmoid", "tanh")


@dataclass(frozen=True)
class KMeansResult:
    """Centroids (k, d), the cluster of every point, its squared distance to the centroid,
    the size of every cluster and the final inertia (sum of squared distances)."""

    centroids: F32
    assignments: I64
    distances: F32
    counts: I64
    inertia: float
    iterations: int


class Compute:
    """Numerical operations dispatched per call to an OpenCL device or numpy.

    ``backend="numpy"`` never touches OpenCL; ``"opencl"`` sends every operation that has a
    kernel to the device (and fails clearly where no OpenCL platform exists); ``"auto"`` picks
    per operation and size from a calibration measured once per device and cached on disk.
    """

    def __init__(
        self,
        backend: Backend = "auto",
        cache_dir: Path | None = None,
        *,
        devices: tuple[str, ...] = (),
        split: bool = True,
    ) -> None:
        if backend not in ("auto", "opencl", "numpy"):
            raise InvalidInput(f"unknown compute backend {backend!r}; use auto, opencl or numpy")
        self.backend: Backend = backend
        self.cache_dir = cache_dir
        self.device_filter = devices
        self.split = split
        self._lock = threading.Lock()
        self._dispatcher: Dispatcher | None = None
        self._dispatcher_ready = backend == "numpy"

    @classmethod
    def from_dispatcher(cls, dispatcher: Dispatcher, *, split: bool = True) -> Compute:
        """A Compute over already opened devices (tests, benchmarks, embedding hosts)."""
        compute = cls(dispatcher.backend, split=split)  # type: ignore[arg-type]
        compute._dispatcher = dispatcher
        compute._dispatcher_ready = True
        return compute

    # -- dispatch -----------------------------------------------------------------------

    @property
    def dispatcher(self) -> Dispatcher | None:
        """The device dispatcher (opened on first use), or None when computing with numpy."""
        if not self._dispatcher_ready:
            with self._lock:
                if not self._dispatcher_ready:
                    from abi.compute.dispatch import Dispatcher

                    self._dispatcher = Dispatcher.create(
                        self.backend, self.cache_dir, self.device_filter
                    )
                    self._dispatcher_ready = True
        return self._dispatcher

    def _run(
        self,
        op: str,
        work: float,
        numpy_fn: Callable[[], Any],
        device_fn: Callable[[OpenCLDevice], Any],
        *,
        split_fn: Callable[[OpenCLDevice, slice], Any] | None = None,
        rows: int = 0,
    ) -> Any:
        dispatcher = self.dispatcher
        if dispatcher is not None:
            found = dispatcher.candidates(op, work)
            if split_fn is not None and self.split and len(found) > 1 and rows >= 2 * len(found):
                return _split_rows(found, rows, split_fn)
            if found:
                return device_fn(found[0][0])
        return numpy_fn()

    def describe(self) -> dict[str, Any]:
        """Backend, devices in use and the calibrated thresholds (for health and the CLI)."""
        dispatcher = self.dispatcher
        if dispatcher is None:
            return {"backend": self.backend, "active": "numpy", "devices": []}
        described = dispatcher.describe()
        return {"backend": self.backend, **described}

    # -- distances and search -----------------------------------------------------------

    def inner_products(self, q: npt.ArrayLike, x: npt.ArrayLike) -> F32:
        """``q @ x.T`` for queries (nq, d) and vectors (nx, d): (nq, nx) float32.
        float16 inputs (both) are read as half precision on the device, computed in f32."""
        return self._distances(q, x, "dot")

    def distances(self, q: npt.ArrayLike, x: npt.ArrayLike, metric: Metric = "l2") -> F32:
        """Pairwise distances (nq, nx); smaller is closer (see :data:`reference.Metric`)."""
        return self._distances(q, x, ref.check_metric(metric))

    def _distances(self, q: npt.ArrayLike, x: npt.ArrayLike, mode: str) -> F32:
        qm, xm = _pair(q, x)
        work = 2.0 * qm.shape[0] * xm.shape[0] * qm.shape[1]

        def on_numpy() -> F32:
            q32, x32 = _f32(qm), _f32(xm)
            if mode == "dot":
                return ref.inner_products(q32, x32)
            return ref.distances(q32, x32, mode)  # type: ignore[arg-type]

        return self._run(  # type: ignore[no-any-return]
            "distances",
            work,
            on_numpy,
            lambda dev: dev.distances(qm, xm, mode),
            split_fn=lambda dev, part: dev.distances(qm[part], xm, mode),
            rows=qm.shape[0],
        )

    def l2_distances(self, q: npt.ArrayLike, x: npt.ArrayLike) -> F32:
        """Squared Euclidean distances (nq, nx)."""
        return self.distances(q, x, "l2")

    def cosine_distances(self, q: npt.ArrayLike, x: npt.ArrayLike) -> F32:
        """``1 - cos(q, x)`` (nq, nx)."""
        return self.distances(q, x, "cosine")

    def topk(self, scores: npt.ArrayLike, k: int, largest: bool = True) -> tuple[F32, I64]:
        """The ``k`` best entries of every row, best first: (values, column indices).
        ``k`` larger than the row keeps the whole row."""
        s = ref.as_matrix("scores", scores)
        _check_k(k)
        if s.size == 0:
            return _no_hits(s.shape[0], min(k, s.shape[1]))
        return self._run(  # type: ignore[no-any-return]
            "topk",
            float(s.size),
            lambda: ref.topk(s, k, largest),
            lambda dev: dev.topk(s, k, largest),
        )

    def knn(
        self, q: npt.ArrayLike, x: npt.ArrayLike, k: int, metric: Metric = "l2"
    ) -> tuple[F32, I64]:
        """Exact k nearest neighbours of every query among the rows of ``x``:
        (distances (nq, k) ascending, row indices (nq, k)); ``k`` is capped at ``len(x)``."""
        m = ref.check_metric(metric)
        qm, xm = _pair(q, x)
        _check_k(k)
        if xm.shape[0] == 0 or qm.shape[0] == 0:
            return _no_hits(qm.shape[0], min(k, xm.shape[0]))
        work = 2.0 * qm.shape[0] * xm.shape[0] * qm.shape[1]
        return self._run(  # type: ignore[no-any-return]
            "knn",
            work,
            lambda: ref.topk(ref.distances(_f32(qm), _f32(xm), m), k, False),
            lambda dev: dev.knn(qm, xm, k, m),
            split_fn=lambda dev, part: dev.knn(qm[part], xm, k, m),
            rows=qm.shape[0],
        )

    # -- linear algebra -----------------------------------------------------------------

    def gemm(
        self,
        a: npt.ArrayLike,
        b: npt.ArrayLike,
        *,
        alpha: float = 1.0,
        beta: float = 0.0,
        c: npt.ArrayLike | None = None,
        trans_a: bool = False,
        trans_b: bool = False,
    ) -> F32:
        """``alpha * op(a) @ op(b) + beta * c`` where op transposes when asked."""
        am, bm = ref.as_matrix("a", a), ref.as_matrix("b", b)
        if trans_a:
            am = np.ascontiguousarray(am.T)
        m, k = am.shape
        kb, n = (bm.shape[1], bm.shape[0]) if trans_b else bm.shape
        if k != kb:
            raise InvalidInput(f"gemm shapes do not match: op(a) is {m}x{k}, op(b) is {kb}x{n}")
        cm = None
        if c is not None and beta != 0.0:
            cm = ref.as_matrix("c", c)
            if cm.shape != (m, n):
                raise InvalidInput(f"c must be {m}x{n} to match op(a) @ op(b), got {cm.shape}")
        return self._run(  # type: ignore[no-any-return]
            "gemm",
            2.0 * m * n * k,
            lambda: ref.gemm(am, bm.T if trans_b else bm, alpha, beta, cm),
            lambda dev: dev.gemm(am, bm, alpha=alpha, beta=beta, c=cm, trans_b=trans_b),
        )

    def matmul(self, a: npt.ArrayLike, b: npt.ArrayLike) -> F32:
        """``a @ b`` for 2-D float32 matrices."""
        return self.gemm(a, b)

    # -- elementwise and row-wise -------------------------------------------------------

    def activation(self, name: Activation, x: npt.ArrayLike) -> F32:
        """An elementwise activation (relu, gelu, sigmoid, tanh) on an array of any shape."""
        if name not in ACTIVATIONS:
            raise InvalidInput(f"unknown activation {name!r}; use one of {', '.join(ACTIVATIONS)}")
        arr = np.ascontiguousarray(x, dtype=np.float32)
        fn: Callable[[F32], F32] = getattr(ref, name)
        return self._run(  # type: ignore[no-any-return]
            name, float(arr.size), lambda: fn(arr), lambda dev: dev.activation(name, arr)
        )

    def relu(self, x: npt.ArrayLike) -> F32:
        """``max(x, 0)`` elementwise."""
        return self.activation("relu", x)

    def gelu(self, x: npt.ArrayLike) -> F32:
        """Exact (erf) GELU elementwise."""
        return self.activation("gelu", x)

    def sigmoid(self, x: npt.ArrayLike) -> F32:
        """``1 / (1 + exp(-x))`` elementwise."""
        return self.activation("sigmoid", x)

    def tanh(self, x: npt.ArrayLike) -> F32:
        """Hyperbolic tangent elementwise."""
        return self.activation("tanh", x)

    def softmax(self, x: npt.ArrayLike) -> F32:
        """Softmax over the last axis (any leading shape)."""
        arr = np.ascontiguousarray(x, dtype=np.float32)
        if arr.ndim == 0 or arr.shape[-1] == 0:
            raise InvalidInput("softmax needs at least one element on the last axis")
        rows = arr.reshape(-1, arr.shape[-1])
        out = self._run(
            "softmax", float(rows.size), lambda: ref.softmax(rows), lambda dev: dev.softmax(rows)
        )
        return np.asarray(out).reshape(arr.shape)

    def layer_norm(
        self, x: npt.ArrayLike, gamma: npt.ArrayLike, beta: npt.ArrayLike, eps: float = 1e-5
    ) -> F32:
        """Layer normalisation over the last axis with scale ``gamma`` and shift ``beta``."""
        arr = np.ascontiguousarray(x, dtype=np.float32)
        d = arr.shape[-1] if arr.ndim else 0
        g = np.ascontiguousarray(gamma, dtype=np.float32).reshape(-1)
        b = np.ascontiguousarray(beta, dtype=np.float32).reshape(-1)
        if d == 0 or g.shape != (d,) or b.shape != (d,):
            raise InvalidInput(
                f"layer_norm needs gamma and beta of length {d} (the last axis), "
                f"got {g.shape[0]} and {b.shape[0]}"
            )
        rows = arr.reshape(-1, d)
        out = self._run(
            "layer_norm",
            float(rows.size),
            lambda: ref.layer_norm(rows, g, b, eps),
            lambda dev: dev.layer_norm(rows, g, b, eps),
        )
        return np.asarray(out).reshape(arr.shape)

    # -- clustering ---------------------------------------------------------------------

    def kmeans_assign(self, data: npt.ArrayLike, centroids: npt.ArrayLike) -> tuple[I64, F32]:
        """Nearest centroid of every row and its squared L2 distance."""
        dist, idx = self.knn(data, centroids, 1, "l2")
        return idx[:, 0], dist[:, 0]

    def kmeans_update(
        self, data: npt.ArrayLike, assignments: npt.ArrayLike, centroids: npt.ArrayLike
    ) -> tuple[F32, I64]:
        """Centroids recomputed as the mean of their members (an empty cluster keeps its
        previous centroid) and the cluster sizes."""
        dm, cm = ref.as_matrix("data", data), ref.as_matrix("centroids", centroids)
        ref.check_same_dim(dm, cm)
        assign = np.ascontiguousarray(assignments, dtype=np.int64).reshape(-1)
        if assign.shape[0] != dm.shape[0]:
            raise InvalidInput("assignments must have one entry per data row")
        if assign.size and (assign.min() < 0 or assign.max() >= cm.shape[0]):
            raise InvalidInput(f"assignments must lie in [0, {cm.shape[0]})")
        return self._run(  # type: ignore[no-any-return]
            "kmeans_update",
            float(dm.size),
            lambda: ref.kmeans_update(dm, assign, cm),
            lambda dev: dev.kmeans_update(dm, assign, cm),
        )

    def kmeans(
        self,
        data: npt.ArrayLike,
        k: int,
        iters: int = 20,
        seed: int = 0,
        tol: float = 1e-4,
    ) -> KMeansResult:
        """Lloyd's k-means with k-means++ seeding (on a sample for large inputs); stops early
        when the inertia improves by less than ``tol`` (relative)."""
        dm = ref.as_matrix("data", data)
        n = dm.shape[0]
        if not 1 <= k <= n:
            raise InvalidInput(f"k must lie in [1, {n}] (the number of rows), got {k}")
        if iters < 1:
            raise InvalidInput("iters must be at least 1")
        rng = np.random.default_rng(seed)
        centroids = self._kmeans_pp(dm, k, rng)
        previous = np.inf
        assign, dist = self.kmeans_assign(dm, centroids)
        done = 0
        while done < iters:
            done += 1
            centroids, _ = self.kmeans_update(dm, assign, centroids)
            assign, dist = self.kmeans_assign(dm, centroids)
            inertia = float(dist.sum(dtype=np.float64))
            if previous - inertia <= tol * max(inertia, 1e-30):
                break
            previous = inertia
        counts = np.bincount(assign, minlength=k).astype(np.int64)
        return KMeansResult(
            centroids, assign, dist, counts, float(dist.sum(dtype=np.float64)), done
        )

    def _kmeans_pp(self, data: F32, k: int, rng: np.random.Generator) -> F32:
        sample = data
        limit = max(256 * k, 4096)
        if data.shape[0] > limit:
            sample = data[rng.choice(data.shape[0], limit, replace=False)]
        chosen = [int(rng.integers(sample.shape[0]))]
        closest = ref.distances(sample, sample[chosen], "l2")[:, 0]
        for _ in range(1, k):
            total = float(closest.sum(dtype=np.float64))
            if total <= 0.0:
                pick = int(rng.integers(sample.shape[0]))
            else:
                pick = int(rng.choice(sample.shape[0], p=closest / total))
            chosen.append(pick)
            closest = np.minimum(closest, ref.distances(sample, sample[[pick]], "l2")[:, 0])
        return np.ascontiguousarray(sample[chosen], dtype=np.float32)

    # -- optimizers ---------------------------------------------------------------------

    def sgd_momentum_step(
        self,
        param: F32,
        grad: F32,
        velocity: F32,
        *,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        """In place on ``param`` and ``velocity`` (float32, C-contiguous, same shape)."""
        _check_state(param, grad, velocity)
        hyper = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        self._run(
            "sgd_momentum",
            float(param.size),
            lambda: ref.sgd_momentum(param, grad, velocity, **hyper),
            lambda dev: dev.sgd_momentum(param, grad, velocity, **hyper),
        )

    def adam_step(
        self,
        param: F32,
        grad: F32,
        m: F32,
        v: F32,
        *,
        step: int,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        """In place AdamW step ``step`` (1-based) on ``param``, ``m`` and ``v``."""
        _check_state(param, grad, m, v)
        if step < 1:
            raise InvalidInput("adam step numbers start at 1")
        hyper: dict[str, Any] = {
            "step": step,
            "lr": lr,
            "beta1": beta1,
            "beta2": beta2,
            "eps": eps,
            "weight_decay": weight_decay,
        }
        self._run(
            "adam",
            float(param.size),
            lambda: ref.adam(param, grad, m, v, **hyper),
            lambda dev: dev.adam(param, grad, m, v, **hyper),
        )

    def close(self) -> None:
        """Release device resources (buffers, queues); the object stays usable on numpy."""
        with self._lock:
            if self._dispatcher is not None:
                self._dispatcher.close()
            self._dispatcher = None
            self._dispatcher_ready = True


def _no_hits(rows: int, width: int) -> tuple[F32, I64]:
    """The (values, indices) of a top-k over nothing: zero-filled, ``rows x width``."""
    return np.zeros((rows, width), np.float32), np.zeros((rows, width), np.int64)


def _check_k(k: int) -> None:
    if k < 1:
        raise InvalidInput(f"k must be at least 1, got {k}")


def _check_state(param: F32, *others: F32) -> None:
    for arr in (param, *others):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            raise InvalidInput("optimizer state must be float32 numpy arrays")
        if not arr.flags.c_contiguous or not arr.flags.writeable:
            raise InvalidInput("optimizer state must be C-contiguous and writable")
        if arr.shape != param.shape:
            raise InvalidInput(
                f"optimizer arrays must share the parameter's shape {param.shape}, got {arr.shape}"
            )


def _pair(q: npt.ArrayLike, x: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Queries and vectors as matrices of one dimension: float16 when both are float16
    (read as half on the device), float32 otherwise."""
    q, x = ref.as_array("queries", q), ref.as_array("vectors", x)
    half = q.dtype == np.float16 and x.dtype == np.float16
    dtype = np.float16 if half else np.float32
    qm, xm = ref.as_matrix("queries", q, dtype), ref.as_matrix("vectors", x, dtype)
    ref.check_same_dim(qm, xm)
    return qm, xm


def _f32(a: np.ndarray) -> F32:
    return a.astype(np.float32, copy=False)


def _split_rows(
    found: list[tuple[OpenCLDevice, float]],
    rows: int,
    part_fn: Callable[[OpenCLDevice, slice], Any],
) -> Any:
    """Split the rows across devices in proportion to their measured rates, run the parts
    concurrently and stack the results (arrays, or tuples of arrays)."""
    rates = np.array([rate for _, rate in found], dtype=np.float64)
    bounds = np.round(np.cumsum(rates / rates.sum()) * rows).astype(int)
    starts = [0, *bounds[:-1].tolist()]
    parts = [
        (dev, slice(lo, hi))
        for (dev, _), lo, hi in zip(found, starts, bounds.tolist(), strict=True)
        if hi > lo
    ]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="abi-compute") as pool:
        results = list(pool.map(lambda pair: part_fn(*pair), parts))
    if isinstance(results[0], tuple):
        return tuple(np.concatenate(items) for items in zip(*results, strict=True))
    return np.concatenate(results)
