"""The learned router: a small classifier from request embeddings to agents, trained on a
tenant's routing feedback with the neural library (two dense layers, cross-entropy, Adam).

Once trained for a tenant, its class probabilities replace persona similarity in the
router's ranking (capabilities stay a hard constraint, load still counts); agents it has
never seen feedback for score -1, below any probability. Training holds out part of the
feedback and reports the classifier's accuracy there next to the similarity-only router's
on the same requests. Models are saved per tenant (safetensors + class list) and loaded at
start.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from abi.compute import Compute
from abi.errors import InvalidInput
from abi.neural.layers import Activation, Dense, Sequential
from abi.neural.losses import CrossEntropyLoss
from abi.neural.optim import Adam
from abi.neural.serialize import load_weights, save_weights
from abi.neural.train import fit, predict

F32 = npt.NDArray[np.float32]
MIN_EXAMPLES = 10


@dataclass(frozen=True)
class TrainingReport:
    """How training went and how the result compares with similarity-only routing."""

    examples: int
    agents: int
    train_examples: int
    held_out: int
    epochs: int
    learned_accuracy: float | None
    similarity_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Model:
    network: Sequential
    classes: list[str]
    index: dict[str, int] = field(init=False)  # class -> output column

    def __post_init__(self) -> None:
        self.index = {agent: i for i, agent in enumerate(self.classes)}


def _network(compute: Compute, dim: int, hidden: int, classes: int, seed: int) -> Sequential:
    return Sequential(
        compute,
        [
            Dense(compute, dim, hidden, seed=seed),
            Activation(compute, "relu"),
            Dense(compute, hidden, classes, seed=seed + 1),
        ],
    )


class LearnedRouter:
    """Per-tenant classifiers; a :class:`abi.agents.router.Scorer`."""

    def __init__(
        self,
        compute: Compute,
        root: Path | None = None,
        *,
        hidden: int = 128,
        epochs: int = 40,
        seed: int = 0,
    ) -> None:
        self.compute = compute
        self.root = root
        self.hidden = hidden
        self.epochs = epochs
        self.seed = seed
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}

    def scores(self, tenant_id: str, query: F32, agent_ids: Sequence[str]) -> F32 | None:
        model = self._models.get(tenant_id)
        if model is None:
            return None
        probs = self.compute.softmax(model.network.forward(query.reshape(1, -1)))[0]
        index = model.index
        return np.array(
            [probs[index[a]] if a in index else -1.0 for a in agent_ids], dtype=np.float32
        )

    def train(
        self,
        tenant_id: str,
        vectors: F32,
        labels: Sequence[str],
        *,
        holdout: float = 0.2,
        similarity: Callable[[int], str | None] | None = None,
    ) -> TrainingReport:
        """Fit a classifier on (vectors, labels), holding out ``holdout`` of the examples;
        ``similarity(i)`` is the similarity router's choice for example ``i`` (compared on
        the held-out ones). The model replaces the tenant's previous one."""
        if len(labels) < MIN_EXAMPLES:
            raise InvalidInput(
                f"the learned router needs at least {MIN_EXAMPLES} feedback examples, "
                f"this tenant has {len(labels)}",
                code="agents.not_enough_feedback",
            )
        if not 0 <= holdout < 1:
            raise InvalidInput("holdout must be in [0, 1)")
        classes = sorted(set(labels))
        y = np.array([classes.index(label) for label in labels], dtype=np.int64)
        order = np.random.default_rng(self.seed).permutation(len(labels))
        cut = len(order) - round(len(order) * holdout)
        train, test = order[:cut], order[cut:]
        network = _network(self.compute, vectors.shape[1], self.hidden, len(classes), self.seed)
        optimizer = Adam(self.compute, network.parameters(), lr=3e-3)
        loss: Any = CrossEntropyLoss(self.compute)  # its parameter names differ from Loss's
        fit(
            network,
            loss,
            optimizer,
            vectors[train],
            y[train],
            epochs=self.epochs,
            batch_size=32,
            seed=self.seed,
        )
        learned_acc = similarity_acc = None
        if len(test):
            predicted = predict(network, vectors[test]).argmax(axis=1)
            learned_acc = round(float(np.mean(predicted == y[test])), 4)
            if similarity is not None:
                hits = [similarity(int(i)) == labels[int(i)] for i in test]
                similarity_acc = round(float(np.mean(hits)), 4)
        with self._lock:
            self._models[tenant_id] = _Model(network, classes)
        self._save(tenant_id)
        return TrainingReport(
            examples=len(labels),
            agents=len(classes),
            train_examples=len(train),
            held_out=len(test),
            epochs=self.epochs,
            learned_accuracy=learned_acc,
            similarity_accuracy=similarity_acc,
        )

    def _save(self, tenant_id: str) -> None:
        if self.root is None:
            return
        model = self._models[tenant_id]
        self.root.mkdir(parents=True, exist_ok=True)
        save_weights(model.network, self.root / f"{tenant_id}.safetensors")
        meta = {
            "classes": model.classes,
            "dim": int(model.network.parameters()["0.weight"].value.shape[0]),
            "hidden": self.hidden,
        }
        (self.root / f"{tenant_id}.json").write_text(json.dumps(meta))

    def load_all(self) -> int:
        """Load every saved tenant model; returns how many."""
        if self.root is None or not self.root.is_dir():
            return 0
        loaded = 0
        for meta_path in sorted(self.root.glob("*.json")):
            meta = json.loads(meta_path.read_text())
            network = _network(self.compute, meta["dim"], meta["hidden"], len(meta["classes"]), 0)
            load_weights(network, meta_path.with_suffix(".safetensors"))
            with self._lock:
                self._models[meta_path.stem] = _Model(network, list(meta["classes"]))
            loaded += 1
        return loaded
