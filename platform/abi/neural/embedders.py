"""Text embedders: an interface and its implementations.

Every embedder has a ``name``, a dimension ``dim`` and ``embed(texts)`` returning float32
``(len(texts), dim)`` rows of unit length (the hashing embedder maps a text without words to
the zero vector). The default,
:class:`HashingEmbedder`, needs nothing but numpy; :class:`abi.neural.minilm.MiniLMEmbedder`
runs a real sentence-embedding transformer on the compute layer.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from abi.errors import InvalidInput

if TYPE_CHECKING:
    from abi.compute import Compute
    from abi.config import ComputeSettings

_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Identifies the model (and so the vector space), e.g. ``hashing-384``."""
        ...

    @property
    def dim(self) -> int:
        """The length of every vector."""
        ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """``(len(texts), dim)`` float32, every non-zero row of unit length."""
        ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, refusing a bare string or non-string items with a clear error."""
    if isinstance(texts, str | bytes):
        raise InvalidInput("embed takes a sequence of texts, not a single string")
    out = list(texts)
    for i, text in enumerate(out):
        if not isinstance(text, str):
            raise InvalidInput(f"text {i} is {type(text).__name__}, not a string")
    return out


class HashingEmbedder:
    """Feature hashing of words, word bigrams and character n-grams.

    Deterministic across processes and machines (CRC32 hashes, no vocabulary, no training).
    Texts sharing words or word fragments get high cosine similarity, which is what keyword-ish
    retrieval and persona routing need; it knows nothing about synonyms.
    """

    def __init__(self, dim: int = 384, ngram_range: tuple[int, int] = (3, 5)) -> None:
        if dim < 8:
            raise InvalidInput("the hashing embedder needs a dimension of at least 8")
        lo, hi = ngram_range
        if not 1 <= lo <= hi:
            raise InvalidInput("ngram_range must be (low, high) with 1 <= low <= high")
        self._dim = dim
        self._ngrams = (lo, hi)

    @property
    def name(self) -> str:
        return f"hashing-{self._dim}"

    @property
    def dim(self) -> int:
        return self._dim

    def features(self, text: str) -> list[str]:
        """The hashed features of one text (normalised words, bigrams, char n-grams)."""
        words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        feats = [f"w:{w}" for w in words]
        feats += [f"b:{a} {b}" for a, b in itertools.pairwise(words)]
        lo, hi = self._ngrams
        for word in words:
            padded = f"<{word}>"
            for n in range(lo, hi + 1):
                feats += [f"c:{padded[i : i + n]}" for i in range(len(padded) - n + 1)]
        return feats

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        items = check_texts(texts)
        out = np.zeros((len(items), self._dim), dtype=np.float32)
        for row, text in enumerate(items):
            counts: dict[int, float] = {}
            for feat in self.features(text):
                h = zlib.crc32(feat.encode("utf-8"))
                slot = h % self._dim
                sign = 1.0 if (h >> 31) & 1 else -1.0
                # word features weigh more than fragments: they carry the meaning
                weight = 2.0 if feat[0] == "w" else 1.0
                counts[slot] = counts.get(slot, 0.0) + sign * weight
            if counts:
                slots = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                vals = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
                out[row, slots] = np.sign(vals) * np.log1p(np.abs(vals))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out


def create_embedder(settings: ComputeSettings, compute: Compute | None = None) -> Embedder:
    """The embedder the settings name (``compute.embedder``): ``hashing`` (default) or
    ``minilm`` (all-MiniLM-L6-v2 on the compute layer)."""
    if settings.embedder == "minilm":
        from abi.neural.minilm import MiniLMEmbedder

        model: Embedder = MiniLMEmbedder.load(compute, settings.embedder_model_dir)
        return model
    return HashingEmbedder(settings.embedding_dim)
