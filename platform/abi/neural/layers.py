"""Layers with forward and backward passes on the compute layer.

A layer maps a float32 batch to a batch; ``backward`` takes the gradient of the loss with
respect to its output, accumulates its parameters' gradients and returns the gradient with
respect to its input. Matrix products, activations and normalisation go through
:class:`abi.compute.Compute` (device or numpy, chosen per size).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from abi.compute import Activation as ActivationName
from abi.compute import Compute
from abi.compute.reference import erf
from abi.errors import InvalidInput

F32 = npt.NDArray[np.float32]


@dataclass
class Parameter:
    """A trainable array and its accumulated gradient."""

    value: F32
    grad: F32 = field(init=False)

    def __post_init__(self) -> None:
        self.value = np.ascontiguousarray(self.value, dtype=np.float32)
        self.grad = np.zeros_like(self.value)

    def zero_grad(self) -> None:
        """Reset the accumulated gradient to zero."""
        self.grad.fill(0.0)


class Layer:
    """Base class: a stateless layer with no parameters passes gradients through."""

    compute: Compute

    def __init__(self, compute: Compute) -> None:
        self.compute = compute

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        """The layer's output for batch ``x`` (``training`` enables dropout and keeps what
        :meth:`backward` needs)."""
        raise NotImplementedError

    def backward(self, grad: F32) -> F32:
        """Accumulate the parameters' gradients from ``grad`` (the loss gradient with
        respect to the last output) and return the gradient with respect to the input."""
        raise NotImplementedError

    def parameters(self) -> dict[str, Parameter]:
        """This layer's parameters by name (``weight``, ``bias``, ...)."""
        return {}


class Dense(Layer):
    """``y = x @ W + b`` with W of shape (in, out), He/Glorot-uniform initialised."""

    def __init__(
        self, compute: Compute, n_in: int, n_out: int, *, seed: int = 0, bias: bool = True
    ) -> None:
        super().__init__(compute)
        if n_in < 1 or n_out < 1:
            raise InvalidInput("dense layers need at least one input and one output")
        limit = math.sqrt(6.0 / (n_in + n_out))
        rng = np.random.default_rng(seed)
        self.weight = Parameter(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32))
        self.bias = Parameter(np.zeros(n_out, np.float32)) if bias else None
        self._x: F32 | None = None

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        xm = np.ascontiguousarray(x, dtype=np.float32)
        if xm.ndim != 2 or xm.shape[1] != self.weight.value.shape[0]:
            raise InvalidInput(
                f"dense layer expects (batch, {self.weight.value.shape[0]}) input, got {xm.shape}"
            )
        self._x = xm if training else None
        out = self.compute.gemm(xm, self.weight.value)
        if self.bias is not None:
            out += self.bias.value
        return out

    def backward(self, grad: F32) -> F32:
        if self._x is None:
            raise InvalidInput("backward needs a forward pass in training mode first")
        self.weight.grad += self.compute.gemm(self._x, grad, trans_a=True)
        if self.bias is not None:
            self.bias.grad += grad.sum(axis=0)
        return self.compute.gemm(grad, self.weight.value, trans_b=True)

    def parameters(self) -> dict[str, Parameter]:
        params = {"weight": self.weight}
        if self.bias is not None:
            params["bias"] = self.bias
        return params


class Embedding(Layer):
    """Rows of a (vocabulary, dim) table looked up by integer ids; gradients scatter-add."""

    def __init__(self, compute: Compute, vocab: int, dim: int, *, seed: int = 0) -> None:
        super().__init__(compute)
        rng = np.random.default_rng(seed)
        self.weight = Parameter(rng.normal(0.0, 0.02, (vocab, dim)).astype(np.float32))
        self._ids: npt.NDArray[np.int64] | None = None

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        ids = np.asarray(x)
        if not np.issubdtype(ids.dtype, np.integer):
            raise InvalidInput("embedding input must be integer ids")
        vocab = self.weight.value.shape[0]
        if ids.size and (ids.min() < 0 or ids.max() >= vocab):
            raise InvalidInput(f"embedding ids must lie in [0, {vocab})")
        self._ids = ids.astype(np.int64) if training else None
        return self.weight.value[ids]

    def backward(self, grad: F32) -> F32:
        if self._ids is None:
            raise InvalidInput("backward needs a forward pass in training mode first")
        np.add.at(
            self.weight.grad, self._ids.reshape(-1), grad.reshape(-1, self.weight.value.shape[1])
        )
        return np.zeros(self._ids.shape, np.float32)

    def parameters(self) -> dict[str, Parameter]:
        return {"weight": self.weight}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of activations while training (inverted dropout)."""

    def __init__(self, compute: Compute, rate: float, *, seed: int = 0) -> None:
        super().__init__(compute)
        if not 0.0 <= rate < 1.0:
            raise InvalidInput("dropout rate must lie in [0, 1)")
        self.rate = rate
        self._rng = np.random.default_rng(seed)
        self._mask: F32 | None = None

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        xm = np.asarray(x, dtype=np.float32)
        if not training or self.rate == 0.0:
            self._mask = None
            return xm
        keep = 1.0 - self.rate
        self._mask = (self._rng.random(xm.shape) < keep).astype(np.float32) / np.float32(keep)
        return xm * self._mask

    def backward(self, grad: F32) -> F32:
        return grad if self._mask is None else grad * self._mask


class LayerNorm(Layer):
    """Normalisation over the last axis with a learned scale and shift."""

    def __init__(self, compute: Compute, dim: int, eps: float = 1e-5) -> None:
        super().__init__(compute)
        self.gamma = Parameter(np.ones(dim, np.float32))
        self.beta = Parameter(np.zeros(dim, np.float32))
        self.eps = eps
        self._cache: tuple[F32, F32] | None = None

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        xm = np.ascontiguousarray(x, dtype=np.float32)
        out = self.compute.layer_norm(xm, self.gamma.value, self.beta.value, self.eps)
        if training:
            mean = xm.mean(axis=-1, keepdims=True)
            inv = 1.0 / np.sqrt(xm.var(axis=-1, keepdims=True) + self.eps)
            self._cache = (((xm - mean) * inv).astype(np.float32), inv.astype(np.float32))
        return out

    def backward(self, grad: F32) -> F32:
        if self._cache is None:
            raise InvalidInput("backward needs a forward pass in training mode first")
        xhat, inv = self._cache
        flat = grad.reshape(-1, grad.shape[-1])
        self.gamma.grad += (flat * xhat.reshape(flat.shape)).sum(axis=0)
        self.beta.grad += flat.sum(axis=0)
        g: F32 = grad * self.gamma.value
        n = grad.shape[-1]
        g_sum: F32 = g.sum(-1, keepdims=True)
        gx_sum: F32 = (g * xhat).sum(-1, keepdims=True)
        out: F32 = inv / n * (n * g - g_sum - xhat * gx_sum)
        return out.astype(np.float32)

    def parameters(self) -> dict[str, Parameter]:
        return {"gamma": self.gamma, "beta": self.beta}


_SQRT_2_PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = 1.0 / math.sqrt(2.0)


class Activation(Layer):
    """An elementwise activation: relu, gelu, sigmoid or tanh."""

    def __init__(self, compute: Compute, name: ActivationName) -> None:
        super().__init__(compute)
        self.name = name
        self._x: F32 | None = None
        self._y: F32 | None = None

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        xm = np.ascontiguousarray(x, dtype=np.float32)
        y = self.compute.activation(self.name, xm)
        self._x, self._y = (xm, y) if training else (None, None)
        return y

    def backward(self, grad: F32) -> F32:
        x, y = self._x, self._y
        if x is None or y is None:
            raise InvalidInput("backward needs a forward pass in training mode first")
        if self.name == "relu":
            return grad * (x > 0)
        if self.name == "sigmoid":
            return grad * y * (1.0 - y)
        if self.name == "tanh":
            return grad * (1.0 - y * y)
        cdf = 0.5 * (1.0 + erf(x * np.float32(_SQRT_HALF)))  # gelu(x) = x * Phi(x)
        pdf: F32 = np.exp(-0.5 * x * x) * np.float32(_SQRT_2_PI)
        return (grad * (cdf + x * pdf)).astype(np.float32)


class Sequential(Layer):
    """Layers applied in order; parameters are named ``<index>.<name>``."""

    def __init__(self, compute: Compute, layers: Sequence[Layer]) -> None:
        super().__init__(compute)
        self.layers = list(layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def forward(self, x: npt.NDArray[np.generic], training: bool = False) -> F32:
        out: npt.NDArray[np.generic] = x
        for layer in self.layers:
            out = layer.forward(out, training)
        return np.asarray(out, dtype=np.float32)

    def backward(self, grad: F32) -> F32:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def parameters(self) -> dict[str, Parameter]:
        return {
            f"{i}.{name}": param
            for i, layer in enumerate(self.layers)
            for name, param in layer.parameters().items()
        }

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero."""
        for param in self.parameters().values():
            param.zero_grad()
