"""Per-task MLPs ``M -> hidden... -> 1`` for a whole batch of fits at once.

Parameters are a flat list ``[W1, b1, W2, b2, ...]`` with ``W_l`` of shape (B, K, in, out) and
``b_l`` of shape (B, K, out): B fits, each holding one network per task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

OUTPUTS = ("linear", "sigmoid")


@dataclass(frozen=True)
class Architecture:
    n_inputs: int
    hidden: tuple[int, ...]
    n_tasks: int
    output: str = "linear"  # "sigmoid" for the real-data models (paper eq. 4.2)

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.n_inputs < 1 or self.n_tasks < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"layer sizes must be positive: {self}")

    @property
    def layer_sizes(self) -> list[tuple[int, int]]:
        sizes = [self.n_inputs, *self.hidden, 1]
        return list(zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def n_weight_positions(self) -> int:
        """Weight entries of one task's network (biases excluded): the penalty's positions."""
        return sum(i * o for i, o in self.layer_sizes)


def init_params(arch: Architecture, seed: int) -> list[np.ndarray]:
    """PyTorch's default nn.Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), per task.

    Drawn in float64 from one torch.Generator so the same seed gives the same start in any dtype.
    """
    gen = torch.Generator().manual_seed(seed)
    params = []
    for fan_in, fan_out in arch.layer_sizes:
        bound = 1.0 / np.sqrt(fan_in)
        for shape in ((arch.n_tasks, fan_in, fan_out), (arch.n_tasks, fan_out)):
            u = torch.rand(shape, generator=gen, dtype=torch.float64)
            params.append(((2.0 * u - 1.0) * bound).numpy())
    return params


def weights(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """The weight matrices of a parameter list (biases are not penalised)."""
    return params[0::2]


def forward(params: list[torch.Tensor], x: torch.Tensor, arch: Architecture) -> torch.Tensor:
    """Predictions (B, n, K) for inputs (B, n, M): sigmoid hidden layers, linear/sigmoid output."""
    h = x.unsqueeze(1)  # (B, 1, n, M): every task sees the same inputs
    n_layers = len(params) // 2
    for layer in range(n_layers):
        w, b = params[2 * layer], params[2 * layer + 1]
        h = torch.matmul(h, w) + b.unsqueeze(-2)
        if layer < n_layers - 1 or arch.output == "sigmoid":
            h = torch.sigmoid(h)
    return h.squeeze(-1).transpose(1, 2)
