"""OpenCL device discovery and kernel dispatch, with a numpy fallback.

Use :class:`Compute` (``platform.compute`` in a running platform)::

    compute = Compute("auto")
    dist, idx = compute.knn(queries, vectors, k=10, metric="cosine")
"""

from abi.compute.api import ACTIVATIONS, Activation, Backend, Compute, KMeansResult
from abi.compute.devices import DeviceInfo, discover
from abi.compute.reference import METRICS, Metric

__all__ = [
    "ACTIVATIONS",
    "METRICS",
    "Activation",
    "Backend",
    "Compute",
    "DeviceInfo",
    "KMeansResult",
    "Metric",
    "discover",
]
