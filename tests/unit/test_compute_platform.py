"""The compute component inside a running platform."""

from __future__ import annotations

import numpy as np

from abi.compute import Compute
from abi.runtime import Platform


def test_platform_exposes_compute_and_default_embedder(platform: Platform) -> None:
    assert isinstance(platform.compute, Compute)
    vectors = platform.embedder.embed(["hello"])
    assert vectors.shape == (1, platform.settings.compute.embedding_dim)
    assert platform.readiness().components["compute"]["ok"] is True


def test_compute_backend_follows_settings(platform: Platform) -> None:
    assert platform.compute.backend == platform.settings.compute.backend
    assert platform.compute.knn(np.eye(2), np.eye(2), 1)[1].tolist() == [[0], [1]]
