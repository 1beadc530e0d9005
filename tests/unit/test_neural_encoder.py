"""The MiniLM encoder code on a tiny random BERT written in the same file formats
(config.json, model.safetensors, tokenizer.json): runs everywhere, no weights package needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from abi.compute import Compute
from abi.neural.minilm import MiniLMEmbedder
from helpers.opencl import skip_without_opencl

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "ran", "far", "away", "##s", "big", "red"]
HIDDEN, HEADS, LAYERS, INNER = 16, 2, 2, 32


def _write_model(folder: Path) -> Path:
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "hidden_size": HIDDEN,
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "intermediate_size": INNER,
        "max_position_embeddings": 32,
        "layer_norm_eps": 1e-12,
        "vocab_size": len(vocab),
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    w = {
        "embeddings.word_embeddings.weight": rand(len(vocab), HIDDEN),
        "embeddings.position_embeddings.weight": rand(32, HIDDEN),
        "embeddings.token_type_embeddings.weight": rand(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + rand(HIDDEN),
        "embeddings.LayerNorm.bias": rand(HIDDEN),
    }
    shapes = {
        "attention.self.query": (HIDDEN, HIDDEN),
        "attention.self.key": (HIDDEN, HIDDEN),
        "attention.self.value": (HIDDEN, HIDDEN),
        "attention.output.dense": (HIDDEN, HIDDEN),
        "intermediate.dense": (INNER, HIDDEN),
        "output.dense": (HIDDEN, INNER),
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        for name, shape in shapes.items():
            w[p + name + ".weight"] = rand(*shape)
            w[p + name + ".bias"] = rand(shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + norm + ".weight"] = 1 + rand(HIDDEN)
            w[p + norm + ".bias"] = rand(HIDDEN)
    save_file(w, str(folder / "model.safetensors"))
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_model(tmp_path_factory.mktemp("tiny-bert"))


TEXTS = ["the cat sat on the mat", "dogs ran far away", "big red dog", "cat", "unknownword"]


def test_tiny_encoder_gives_unit_vectors_of_its_width(model_dir: Path) -> None:
    emb = MiniLMEmbedder.load(Compute("numpy"), model_dir)
    out = emb.embed(TEXTS)
    assert emb.dim == HIDDEN and out.shape == (len(TEXTS), HIDDEN)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)
    assert len({tuple(np.round(row, 4)) for row in out}) == len(TEXTS)


def test_padding_in_a_batch_does_not_change_a_text(model_dir: Path) -> None:
    emb = MiniLMEmbedder.load(Compute("numpy"), model_dir, batch_size=8)
    together = emb.embed(TEXTS)
    alone = np.concatenate([emb.embed([t]) for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_opencl_and_numpy_backends_agree(model_dir: Path, tmp_path: Path) -> None:
    skip_without_opencl()
    on_numpy = MiniLMEmbedder.load(Compute("numpy"), model_dir).embed(TEXTS)
    on_device = MiniLMEmbedder.load(Compute("opencl", tmp_path), model_dir).embed(TEXTS)
    np.testing.assert_allclose(on_device, on_numpy, atol=1e-5)
