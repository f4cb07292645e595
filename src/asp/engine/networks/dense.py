"""Dense layers in the fused step's layout, forward and backward, shared by the families.

Weights ``w`` (B, R, in, out) and biases ``b`` (B, R, out) act on activations ``h``
(B, R or 1, in, S): R rows (one per task, or 1 for a layer the tasks share), samples innermost.
Every contraction is a broadcast multiply-and-sum over tiny axes, which Inductor fuses.
"""

from __future__ import annotations

import numpy as np
import torch


def dense(w: torch.Tensor, b: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """Pre-activations (B, R, out, S) of inputs ``h`` (B, R or 1, in, S)."""
    return (w.unsqueeze(-1) * h.unsqueeze(3)).sum(2) + b.unsqueeze(-1)


def dense_backward(
    w: torch.Tensor, h: torch.Tensor, dz: torch.Tensor, inputs: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """From d loss / d pre-activation ``dz`` (B, R, out, S) of a layer with inputs ``h``: the
    gradients of its weights (B, R, in * out) and biases (B, R, out), and (``inputs``) of its
    inputs (B, R, in, S)."""
    dw = (h.unsqueeze(3) * dz.unsqueeze(2)).sum(-1).flatten(2)
    db = dz.sum(-1)
    dh = (w.unsqueeze(-1) * dz.unsqueeze(2)).sum(3) if inputs else None
    return dw, db, dh


def sigmoid_backward(dh: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """d loss / d pre-activation from d loss / d a, for a = sigmoid(pre-activation)."""
    return dh * a * (1.0 - a)


def linear_init(gen: torch.Generator, rows: int, fan_in: int, fan_out: int) -> list[np.ndarray]:
    """PyTorch's default nn.Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), of
    ``rows`` layers: weights (rows, in, out) then biases (rows, out), drawn in float64 (the same
    seed gives the same start in any dtype)."""
    bound = 1.0 / np.sqrt(fan_in)
    out = []
    for shape in ((rows, fan_in, fan_out), (rows, fan_out)):
        u = torch.rand(shape, generator=gen, dtype=torch.float64)
        out.append(((2.0 * u - 1.0) * bound).numpy())
    return out
