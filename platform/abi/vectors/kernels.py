"""Compiled loops for the IVF list scan (numba).

A batch scan with matrix products reads each list once per query and ranks afterwards: with
a handful of queries per list (the usual case: a batch spreads over all the lists) BLAS runs
at matrix-vector speed and the ranking is a second pass over every similarity. The kernel
below computes each vector's similarity to the list's queries while the vector is in cache
and keeps every query's k best on the fly, without the GIL, so the workers scan in parallel.
Compiled for its one signature when this module is first imported (a second or so, once:
the machine code is cached on disk where numba finds a writable place: ``NUMBA_CACHE_DIR``,
beside the module, or the user's cache folder; with none, each process compiles anew).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

# Reassociation lets the compiler vectorise the dot products; no "no-infs" flag, because a
# deleted vector's penalty is +inf.
_FAST_MATH = {"reassoc", "contract", "nsz", "arcp"}


def compile_kernel(func: Callable[..., None], signature: str) -> Any:
    """``func`` compiled for ``signature`` (GIL released), cached on disk when numba has a
    writable place for it, else compiled for this process only."""
    try:
        return njit(signature, nogil=True, fastmath=_FAST_MATH, cache=True)(func)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(signature, nogil=True, fastmath=_FAST_MATH)(func)


def _scan_list(  # noqa: PLR0917 - a compiled kernel takes its arrays by position
    vecs: np.ndarray,
    slots: np.ndarray,
    penalty: np.ndarray,
    rows: np.ndarray,
    best_slots: np.ndarray,
    best_sims: np.ndarray,
) -> None:  # pragma: no cover - compiled; run by the IVF tests
    """Merge the similarities ``rows . vecs[i] - penalty[i]`` into each row's best list.

    ``best_sims`` (rows, k) is sorted high to low (start it at -inf) and ``best_slots``
    holds the matching ``slots[i]``; ties keep the earlier vector first.
    """
    k = best_sims.shape[1]
    count, dim = rows.shape
    for i in range(len(slots)):
        vec = vecs[i]
        cut = penalty[i]
        for j in range(count):
            row = rows[j]
            sim = np.float32(0.0)
            for t in range(dim):
                sim += row[t] * vec[t]
            sim -= cut
            if sim > best_sims[j, k - 1]:
                p = k - 1
                while p > 0 and best_sims[j, p - 1] < sim:
                    best_sims[j, p] = best_sims[j, p - 1]
                    best_slots[j, p] = best_slots[j, p - 1]
                    p -= 1
                best_sims[j, p] = sim
                best_slots[j, p] = slots[i]


scan_list = compile_kernel(
    _scan_list, "void(f4[:, ::1], i8[::1], f4[::1], f4[:, ::1], i8[:, ::1], f4[:, ::1])"
)
