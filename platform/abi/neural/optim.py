"""Optimizers: update parameters in place from their gradients with the compute kernels."""

from __future__ import annotations

import numpy as np

from abi.compute import Compute
from abi.errors import InvalidInput
from abi.neural.layers import Parameter


class _Optimizer:
    """What every optimizer holds: the compute backend, the parameters, the learning rate."""

    def __init__(self, compute: Compute, params: dict[str, Parameter], lr: float) -> None:
        if lr <= 0:
            raise InvalidInput("the learning rate must be positive")
        self.compute = compute
        self.params = params
        self.lr = lr

    def _zeros(self) -> dict[str, np.ndarray]:
        """Per-parameter optimizer state, zero-initialized with each parameter's shape."""
        return {name: np.zeros_like(p.value) for name, p in self.params.items()}


class SGD(_Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay."""

    def __init__(
        self,
        compute: Compute,
        params: dict[str, Parameter],
        *,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(compute, params, lr)
        self.momentum, self.weight_decay = momentum, weight_decay
        self.velocity = self._zeros()

    def step(self) -> None:
        """Update every parameter in place from its gradient."""
        for name, p in self.params.items():
            self.compute.sgd_momentum_step(
                p.value,
                p.grad,
                self.velocity[name],
                lr=self.lr,
                momentum=self.momentum,
                weight_decay=self.weight_decay,
            )


class Adam(_Optimizer):
    """Adam with decoupled weight decay (AdamW when ``weight_decay`` > 0)."""

    def __init__(
        self,
        compute: Compute,
        params: dict[str, Parameter],
        *,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(compute, params, lr)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.weight_decay = weight_decay
        self.t = 0
        self.m, self.v = self._zeros(), self._zeros()

    def step(self) -> None:
        """Update every parameter in place from its gradient (one more Adam step)."""
        self.t += 1
        for name, p in self.params.items():
            self.compute.adam_step(
                p.value,
                p.grad,
                self.m[name],
                self.v[name],
                step=self.t,
                lr=self.lr,
                beta1=self.beta1,
                beta2=self.beta2,
                eps=self.eps,
                weight_decay=self.weight_decay,
            )


Optimizer = SGD | Adam
