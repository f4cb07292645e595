"""The four test functions of the CLL paper's Bayesian optimisation (Xu et al. 2023, §3.3):
Ackley, Rastrigin, Griewank ("Griewangk") and Schwefel, in two dimensions, each on its usual
domain and with its global minimum of (about) 0.

Each function also declares the range that maps it onto [-1, 1] (the paper normalises each
function's values to [-1, 1] without saying how): ``low`` is its global minimum, 0, and ``high``
its maximum over the domain (found on a 4,001 x 4,001 grid and refined; rounded up in the 4th
significant digit, so that every normalised value lies in [-1, 1]).

The functions take tensors (..., 2) and return (...): a whole swarm of points of many runs is
one call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


def ackley(x: torch.Tensor) -> torch.Tensor:
    """-20 exp(-0.2 sqrt(mean x^2)) - exp(mean cos 2 pi x) + 20 + e."""
    return (
        -20.0 * torch.exp(-0.2 * torch.sqrt(x.square().mean(-1)))
        - torch.exp(torch.cos(2 * math.pi * x).mean(-1))
        + 20.0
        + math.e
    )


def rastrigin(x: torch.Tensor) -> torch.Tensor:
    """10 d + sum (x^2 - 10 cos 2 pi x)."""
    return 10.0 * x.shape[-1] + (x.square() - 10.0 * torch.cos(2 * math.pi * x)).sum(-1)


def griewank(x: torch.Tensor) -> torch.Tensor:
    """1 + sum x^2 / 4000 - prod cos(x_i / sqrt(i))."""
    i = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    return 1.0 + x.square().sum(-1) / 4000.0 - torch.cos(x / i.sqrt()).prod(-1)


def schwefel(x: torch.Tensor) -> torch.Tensor:
    """418.9829 d - sum x sin(sqrt |x|)."""
    return 418.9829 * x.shape[-1] - (x * torch.sin(x.abs().sqrt())).sum(-1)


@dataclass(frozen=True)
class TestFunction:
    """A test function on the box [-bound, bound]^2, its global minimiser and its value there,
    and the range [low, high] that ``normalised`` maps onto [-1, 1]."""

    __test__ = False  # not a pytest class

    name: str
    fn: Callable[[torch.Tensor], torch.Tensor]
    bound: float
    minimiser: float  # every coordinate of the global minimiser
    minimum: float
    high: float  # max over the domain, rounded up

    low: float = 0.0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def normalised(self, x: torch.Tensor) -> torch.Tensor:
        """2 (f - low) / (high - low) - 1, in [-1, 1] on the domain."""
        return 2.0 * (self.fn(x) - self.low) / (self.high - self.low) - 1.0


FUNCTIONS: dict[str, TestFunction] = {
    f.name: f
    for f in (
        TestFunction("ackley", ackley, 32.768, 0.0, 0.0, 22.33),
        TestFunction("rastrigin", rastrigin, 5.12, 0.0, 0.0, 80.71),
        TestFunction("griewank", griewank, 600.0, 0.0, 0.0, 181.2),
        # Schwefel's minimum is 2.5e-5 at 420.9687 (the constant 418.9829 is rounded)
        TestFunction("schwefel", schwefel, 500.0, 420.9687, 2.5e-5, 1676.0),
    )
}


def get_function(name: str) -> TestFunction:
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ValueError(f"unknown test function {name!r}; known: {sorted(FUNCTIONS)}") from None
