"""One OpenCL device: its queue, programs and the host side of every kernel.

On devices that share memory with the host (PoCL on the CPU) inputs and outputs wrap the
numpy arrays (``USE_HOST_PTR``: no copies, no page-fault bound allocations); elsewhere they are
copied. Large scratch buffers are kept and reused between calls.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from abi.compute import reference as ref
from abi.compute.devices import DeviceInfo
from abi.compute.programs import ProgramCache

MAXK = 128
"""Largest k the top-k kernel keeps in private memory; larger k selects on the host."""
_SCRATCH_BYTES = 128 * 1024 * 1024
_MODES = {"dot": 0, "l2": 1, "cosine": 2, "ip": 3}


@dataclass(frozen=True)
class Tuning:
    """Per-device-kind kernel parameters: CPUs want register blocks sized to their vector
    registers and no local memory; GPUs want local-memory tiles."""

    distance_block: tuple[int, int, int]
    """(vector width, queries, vectors) per work-item of the distance kernel."""
    gemm_variant: str
    """``blocked`` (8 x 16 register block per work-item) or ``tiled`` (16 x 16 local tiles)."""

    @classmethod
    def for_device(cls, info: DeviceInfo) -> Tuning:
        """Kernel parameters for ``info``'s kind of device: measured on CPUs (PoCL, AVX2);
        the GPU choice is the usual local-memory tiling, not measured here (no GPU)."""
        if info.type == "gpu":
            return cls(distance_block=(4, 2, 2), gemm_variant="tiled")
        # measured on AVX2 (16 ymm registers): 6 x 2 blocks of float8 beat 4 x 4 and larger
        return cls(distance_block=(8, 6, 2), gemm_variant="blocked")


class OpenCLDevice:
    """Runs the compute operations on one OpenCL device (one context, one in-order queue)."""

    def __init__(self, info: DeviceInfo, device: Any, cache_dir: Path | None) -> None:
        import pyopencl as cl

        self.info = info
        self.cl = cl
        self.context = cl.Context([device])
        self.queue = cl.CommandQueue(self.context)
        self.programs = ProgramCache(self.context, device, info, cache_dir)
        self.tuning = Tuning.for_device(info)
        self._scratch: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._dummy = cl.Buffer(self.context, cl.mem_flags.READ_ONLY, 16)

    @property
    def name(self) -> str:
        """The device's name as its OpenCL platform reports it."""
        return self.info.name

    # -- buffers ------------------------------------------------------------------------

    def _in(self, array: np.ndarray) -> Any:
        mf = self.cl.mem_flags
        if array.nbytes == 0:
            return self._dummy
        if self.info.unified_memory:
            return self.cl.Buffer(self.context, mf.READ_ONLY | mf.USE_HOST_PTR, hostbuf=array)
        return self.cl.Buffer(self.context, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=array)

    def _out(self, array: np.ndarray) -> Any:
        """A buffer the kernel writes (or updates) whose result :meth:`_sync` puts in
        ``array``."""
        mf = self.cl.mem_flags
        if self.info.unified_memory:
            return self.cl.Buffer(self.context, mf.READ_WRITE | mf.USE_HOST_PTR, hostbuf=array)
        return self.cl.Buffer(self.context, mf.READ_WRITE | mf.COPY_HOST_PTR, hostbuf=array)

    def _sync(self, *pairs: tuple[np.ndarray, Any]) -> None:
        """Make the kernels' results visible in the host arrays of (array, buffer) pairs."""
        if self.info.unified_memory:
            for array, buf in pairs:
                mapped, _ = self.cl.enqueue_map_buffer(
                    self.queue, buf, self.cl.map_flags.READ, 0, array.shape, array.dtype
                )
                mapped.base.release(self.queue)
            self.queue.finish()
        else:
            for array, buf in pairs:
                self.cl.enqueue_copy(self.queue, array, buf)

    def _scratch_buffer(self, key: str, nbytes: int) -> Any:
        buf = self._scratch.get(key)
        if buf is None or buf.size < nbytes:
            mf = self.cl.mem_flags
            flags = mf.READ_WRITE | (mf.ALLOC_HOST_PTR if self.info.unified_memory else 0)
            buf = self.cl.Buffer(self.context, flags, max(nbytes, 16))
            self._scratch[key] = buf
        return buf

    def close(self) -> None:
        """Drop the kept scratch buffers."""
        self._scratch.clear()

    # -- distances ----------------------------------------------------------------------

    def _dist_program(self, half: bool) -> Any:
        vw, qb, xb = self.tuning.distance_block
        options = (f"-DVW={vw}", f"-DQB={qb}", f"-DXB={xb}")
        return self.programs.get("distances", (*options, "-DHALF_STORAGE") if half else options)

    def _norms(self, program: Any, buf: Any, n: int, d: int, mode: int) -> Any:
        if mode not in (1, 2):
            return self._dummy
        out = self.cl.Buffer(self.context, self.cl.mem_flags.READ_WRITE, max(4 * n, 16))
        program.row_norms(
            self.queue, (n,), None, buf, np.int32(n), np.int32(d), np.int32(mode), out
        )
        return out

    def _operands(self, program: Any, q: np.ndarray, x: np.ndarray, mode: int) -> tuple[Any, ...]:
        """Buffers of the queries, the vectors and their norms (for l2 and cosine)."""
        qb, xb = self._in(q), self._in(x)
        return (
            qb,
            xb,
            self._norms(program, qb, q.shape[0], q.shape[1], mode),
            self._norms(program, xb, x.shape[0], x.shape[1], mode),
        )

    def _enqueue_block(
        self,
        program: Any,
        bufs: tuple[Any, ...],
        out: Any,
        *,
        nq: int,
        nx: int,
        d: int,
        x0: int,
        ldo: int,
        mode: int,
    ) -> None:
        qb, xb, qn, xn = bufs
        _, qblock, xblock = self.tuning.distance_block
        gsize = (math.ceil(nq / qblock), math.ceil(nx / xblock))
        program.block_distances(
            self.queue,
            gsize,
            None,
            qb,
            xb,
            out,
            np.int32(nq),
            np.int32(nx),
            np.int32(d),
            np.int32(x0),
            np.int32(ldo),
            np.int32(mode),
            qn,
            xn,
        )

    def distances(self, q: np.ndarray, x: np.ndarray, metric: str) -> np.ndarray:
        """Pairwise inner products (``metric="dot"``) or distances, (nq, nx) float32."""
        nq, d = q.shape
        nx = x.shape[0]
        out = np.empty((nq, nx), np.float32)
        if out.size == 0:
            return out
        mode = _MODES[metric]
        with self._lock:
            program = self._dist_program(q.dtype == np.float16)
            bufs = self._operands(program, q, x, mode)
            ob = self._out(out)
            self._enqueue_block(program, bufs, ob, nq=nq, nx=nx, d=d, x0=0, ldo=nx, mode=mode)
            self._sync((out, ob))
        return out

    def knn(self, q: np.ndarray, x: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, ...]:
        """Exact kNN: distances of database chunks on the device, each followed by an
        on-device row top-k; the per-chunk winners are merged on the host."""
        nq, d = q.shape
        nx = x.shape[0]
        k = min(k, nx)
        mode = _MODES[metric]
        if k > MAXK:
            return ref.topk(self.distances(q, x, metric), k, largest=False)
        chunk = max(4, min(nx, (_SCRATCH_BYTES // (4 * max(nq, 1))) // 4 * 4))
        n_chunks = math.ceil(nx / chunk)
        segs = self._segments(nq, chunk, k)
        width = n_chunks * segs * k
        vals = np.empty((nq, width), np.float32)
        idx = np.empty((nq, width), np.int32)
        with self._lock:
            program = self._dist_program(q.dtype == np.float16)
            topk_program = self.programs.get("topk", (f"-DMAXK={MAXK}",))
            bufs = self._operands(program, q, x, mode)
            scratch = self._scratch_buffer("knn", 4 * nq * chunk)
            vb, ib = self._out(vals), self._out(idx)
            for c in range(n_chunks):
                x0 = c * chunk
                n = min(chunk, nx - x0)
                self._enqueue_block(
                    program, bufs, scratch, nq=nq, nx=n, d=d, x0=x0, ldo=chunk, mode=mode
                )
                self._enqueue_topk(
                    topk_program,
                    scratch,
                    rows=nq,
                    n=n,
                    lds=chunk,
                    k=k,
                    sign=1.0,
                    segs=segs,
                    vb=vb,
                    ib=ib,
                    ldo=width,
                    col0=c * segs * k,
                    idx_base=x0,
                )
            self._sync((vals, vb), (idx, ib))
        return _merge(vals, idx, k, largest=False)

    # -- top-k --------------------------------------------------------------------------

    def _segments(self, rows: int, n: int, k: int) -> int:
        """How many work-items share a row: enough parallelism, segments much longer than k."""
        target = 8 * max(self.info.compute_units, 1)
        if self.info.type == "gpu":
            target = 64 * max(self.info.compute_units, 1)
        want = math.ceil(target / max(rows, 1))
        return max(1, min(want, n // max(16 * k, 256)))

    def _enqueue_topk(
        self,
        program: Any,
        scores: Any,
        *,
        rows: int,
        n: int,
        lds: int,
        k: int,
        sign: float,
        segs: int,
        vb: Any,
        ib: Any,
        ldo: int,
        col0: int,
        idx_base: int,
    ) -> None:
        seg_len = math.ceil(n / segs)
        program.row_topk(
            self.queue,
            (rows, segs),
            None,
            scores,
            np.int32(rows),
            np.int32(n),
            np.int32(lds),
            np.int32(k),
            np.float32(sign),
            np.int32(seg_len),
            vb,
            ib,
            np.int32(ldo),
            np.int32(col0),
            np.int32(idx_base),
        )

    def topk(self, scores: np.ndarray, k: int, largest: bool) -> tuple[np.ndarray, ...]:
        """Row top-k on the device (on the host above :data:`MAXK`): values, indices."""
        rows, n = scores.shape
        k = min(k, n)
        if k > MAXK or rows == 0:
            return ref.topk(scores, k, largest)
        segs = self._segments(rows, n, k)
        vals = np.empty((rows, segs * k), np.float32)
        idx = np.empty((rows, segs * k), np.int32)
        with self._lock:
            program = self.programs.get("topk", (f"-DMAXK={MAXK}",))
            sb, vb, ib = self._in(scores), self._out(vals), self._out(idx)
            self._enqueue_topk(
                program,
                sb,
                rows=rows,
                n=n,
                lds=n,
                k=k,
                sign=-1.0 if largest else 1.0,
                segs=segs,
                vb=vb,
                ib=ib,
                ldo=segs * k,
                col0=0,
                idx_base=0,
            )
            self._sync((vals, vb), (idx, ib))
        return _merge(vals, idx, k, largest)

    # -- GEMM ---------------------------------------------------------------------------

    def gemm(
        self,
        a: np.ndarray,
        b: np.ndarray,
        *,
        alpha: float,
        beta: float,
        c: np.ndarray | None,
        trans_b: bool,
    ) -> np.ndarray:
        """``alpha * a @ op(b) + beta * c`` with the device's GEMM variant."""
        if trans_b:
            b = np.ascontiguousarray(b.T)
        m, kdim = a.shape
        n = b.shape[1]
        use_c = c is not None and beta != 0.0
        out = c.copy() if use_c and c is not None else np.empty((m, n), np.float32)
        if out.size == 0:
            return out
        if kdim == 0:
            out *= np.float32(beta if use_c else 0.0)
            return out
        with self._lock:
            program = self.programs.get("gemm")
            ab, bb, ob = self._in(a), self._in(b), self._out(out)
            args = (
                ab,
                bb,
                ob,
                np.int32(m),
                np.int32(n),
                np.int32(kdim),
                np.float32(alpha),
                np.float32(beta if use_c else 0.0),
            )
            if self.tuning.gemm_variant == "tiled":
                gsize = (math.ceil(n / 16) * 16, math.ceil(m / 16) * 16)
                program.gemm_tiled(self.queue, gsize, (16, 16), *args)
            else:
                program.gemm_blocked(self.queue, (math.ceil(m / 8), math.ceil(n / 16)), None, *args)
            self._sync((out, ob))
        return out

    # -- elementwise and row-wise -------------------------------------------------------

    def _per(self, n: int) -> int:
        vectors = math.ceil(n / 8)
        return max(1, math.ceil(vectors / (64 * max(self.info.compute_units, 1))))

    def _launch(self, program: str, kernel: str, gsize: tuple[int, ...], *args: Any) -> None:
        """Run ``kernel`` of ``program`` over ``gsize`` and wait for its results: numpy
        arrays become input buffers, :class:`_Written` arrays buffers whose results land
        back in them; other arguments (numpy scalars) are passed as they are."""
        with self._lock:
            compiled = self.programs.get(program)
            written: list[tuple[np.ndarray, Any]] = []
            kernel_args: list[Any] = []
            for arg in args:
                if isinstance(arg, _Written):
                    buf = self._out(arg.array)
                    written.append((arg.array, buf))
                    kernel_args.append(buf)
                elif isinstance(arg, np.ndarray):
                    kernel_args.append(self._in(arg))
                else:
                    kernel_args.append(arg)
            getattr(compiled, kernel)(self.queue, gsize, None, *kernel_args)
            self._sync(*written)

    def _elementwise(
        self, kernel: str, n: int, arrays: tuple[Any, ...], scalars: tuple[float, ...] = ()
    ) -> None:
        """Launch an elementwise kernel over ``n`` floats; its arguments are ``arrays``,
        ``n``, the float8 vectors per work-item, then ``scalars`` as float32."""
        per = self._per(n)
        self._launch(
            "elementwise",
            kernel,
            (math.ceil(n / (8 * per)),),
            *arrays,
            np.int32(n),
            np.int32(per),
            *(np.float32(value) for value in scalars),
        )

    def activation(self, name: str, x: np.ndarray) -> np.ndarray:
        """The elementwise activation ``name`` (relu, gelu, sigmoid, tanh) of ``x``."""
        out = np.empty_like(x)
        if x.size:
            kernel = "tanh_map" if name == "tanh" else name
            self._elementwise(kernel, x.size, (x, _Written(out)))
        return out

    def softmax(self, rows: np.ndarray) -> np.ndarray:
        """Softmax of every row."""
        out = np.empty_like(rows)
        r, n = rows.shape
        if out.size:
            self._launch(
                "rowwise", "softmax_rows", (r,), rows, _Written(out), np.int32(r), np.int32(n)
            )
        return out

    def layer_norm(
        self, rows: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
    ) -> np.ndarray:
        """Layer normalisation of every row with scale ``gamma`` and shift ``beta``."""
        out = np.empty_like(rows)
        r, n = rows.shape
        if out.size:
            self._launch(
                "rowwise",
                "layer_norm_rows",
                (r,),
                rows,
                _Written(out),
                gamma,
                beta,
                np.int32(r),
                np.int32(n),
                np.float32(eps),
            )
        return out

    # -- k-means and optimizers ---------------------------------------------------------

    def kmeans_update(
        self, data: np.ndarray, assign: np.ndarray, previous: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Member means of every cluster (empty ones keep ``previous``) and the sizes."""
        k, d = previous.shape
        counts = np.bincount(assign, minlength=k).astype(np.int64)
        order = np.argsort(assign, kind="stable").astype(np.int32)
        offsets = np.zeros(k + 1, np.int32)
        np.cumsum(counts, out=offsets[1:])
        out = np.empty_like(previous)
        self._launch(
            "kmeans",
            "kmeans_update",
            (k, math.ceil(d / 8)),
            data,
            order,
            offsets,
            previous,
            _Written(out),
            np.int32(k),
            np.int32(d),
        )
        return out, counts

    def sgd_momentum(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        velocity: np.ndarray,
        *,
        lr: float,
        momentum: float,
        weight_decay: float,
    ) -> None:
        """In place SGD-with-momentum step on ``param`` and ``velocity``."""
        if param.size:
            self._elementwise(
                "sgd_momentum",
                param.size,
                (_Written(param), grad, _Written(velocity)),
                (lr, momentum, weight_decay),
            )

    def adam(
        self,
        param: np.ndarray,
        grad: np.ndarray,
        m: np.ndarray,
        v: np.ndarray,
        *,
        step: int,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float,
    ) -> None:
        """In place AdamW step number ``step`` on ``param``, ``m`` and ``v``."""
        if param.size:
            self._elementwise(
                "adam",
                param.size,
                (_Written(param), grad, _Written(m), _Written(v)),
                (lr, beta1, beta2, eps, weight_decay, 1.0 - beta1**step, 1.0 - beta2**step),
            )


@dataclass(frozen=True)
class _Written:
    """A kernel argument the kernel writes: its result is copied back into ``array``."""

    array: np.ndarray


def _merge(
    vals: np.ndarray, idx: np.ndarray, k: int, largest: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The k best of per-segment winners (already sorted when there is one segment)."""
    if vals.shape[1] == k:
        return vals, idx.astype(np.int64)
    best_vals, pos = ref.topk(vals, k, largest)
    return best_vals, np.take_along_axis(idx, pos, axis=1).astype(np.int64)
