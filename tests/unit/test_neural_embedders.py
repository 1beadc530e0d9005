"""The hashing embedder and the embedder factory."""

from __future__ import annotations

import numpy as np
import pytest

from abi.config import load_settings
from abi.errors import InvalidInput
from abi.neural.embedders import Embedder, HashingEmbedder, create_embedder


def test_hashing_embedder_rows_are_unit_length_float32() -> None:
    emb = HashingEmbedder(64)
    out = emb.embed(["hello world", "another text", "x"])
    assert out.dtype == np.float32
    assert out.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_hashing_embedder_is_deterministic_across_instances() -> None:
    a = HashingEmbedder().embed(["reproducible vectors"])
    b = HashingEmbedder().embed(["reproducible vectors"])
    np.testing.assert_array_equal(a, b)


def test_shared_words_are_closer_than_unrelated_text() -> None:
    out = HashingEmbedder().embed(
        ["the cat sat on the mat", "a cat sat on a mat", "quarterly revenue grew sharply"]
    )
    assert out[0] @ out[1] > 0.5
    assert out[0] @ out[1] > out[0] @ out[2] + 0.3


def test_case_and_unicode_forms_do_not_matter() -> None:
    out = HashingEmbedder().embed(["CAFÉ Menu", "cafe\u0301 menu"])
    assert out[0] @ out[1] == pytest.approx(1.0, abs=1e-5)


def test_empty_text_is_the_zero_vector() -> None:
    out = HashingEmbedder(16).embed(["", "   "])
    assert not out.any()


def test_single_string_is_refused() -> None:
    with pytest.raises(InvalidInput, match="sequence of texts"):
        HashingEmbedder().embed("not a list")


def test_non_string_item_is_refused() -> None:
    with pytest.raises(InvalidInput, match="text 1"):
        HashingEmbedder().embed(["ok", 3])  # type: ignore[list-item]


def test_factory_builds_the_configured_hashing_dimension() -> None:
    settings = load_settings(environ={"ABI_COMPUTE_EMBEDDING_DIM": "128"})
    emb = create_embedder(settings.compute)
    assert isinstance(emb, Embedder)
    assert emb.dim == 128
    assert emb.name == "hashing-128"
