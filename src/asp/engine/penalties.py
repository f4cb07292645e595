"""Soft-sharing penalties as sums of maskable terms (docs/method.md §1, §9).

A penalty turns weights with the task axis at dim 1 (the list layout (B, K, in, out) or the
fused step's (Pw, K, B)) into deviations with T terms on that axis, one per term; its value is
``sum(mask * elementwise(deviation))`` per fit. The adaptive algorithm deletes terms by setting
their mask to 0, ranking them by |deviation|. ``gradient`` is the penalty's derivative written
out, for the fused step (whose backward pass is hand-written).
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import torch

PENALTIES: dict[str, type[Penalty]] = {}


def register(cls: type[Penalty]) -> type[Penalty]:
    PENALTIES[cls.name] = cls
    return cls


class Penalty:
    name: ClassVar[str]

    def n_terms(self, n_tasks: int) -> int:
        """Terms per weight position."""
        return n_tasks

    def deviations(self, w: torch.Tensor) -> torch.Tensor:
        """Deviation of each task's weight from the task mean: (B, K, in, out)."""
        return w - w.mean(dim=1, keepdim=True)

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def derivative(self, dev: torch.Tensor) -> torch.Tensor:
        """d elementwise / d deviation."""
        raise NotImplementedError

    def adjoint(self, g: torch.Tensor, n_tasks: int) -> torch.Tensor:
        """Map per-term gradients (term axis 1) back to the ``n_tasks`` tasks' weights."""
        return g - g.mean(dim=1, keepdim=True)

    def gradient(self, w: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """d penalty / d w for weights ``w`` (task axis 1) and a term mask of the same layout."""
        return self.adjoint(mask * self.derivative(self.deviations(w)), w.shape[1])

    def value(self, ws: list[torch.Tensor], masks: list[torch.Tensor]) -> torch.Tensor:
        """Penalty per fit, (B,), over the still-active terms of all weight matrices."""
        total = None
        for w, m in zip(ws, masks, strict=True):
            part = (m * self.elementwise(self.deviations(w))).flatten(1).sum(1)
            total = part if total is None else total + part
        return total


@register
class MeanSquared(Penalty):
    """Squared deviation from the task mean: the mean-constrained L2 ("soft", "adaptive")."""

    name = "mean_squared"

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.square()

    def derivative(self, dev: torch.Tensor) -> torch.Tensor:
        return 2.0 * dev


@register
class MeanAbsolute(Penalty):
    """Absolute deviation from the task mean ("mean_only" of Table 7)."""

    name = "mean_absolute"

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.abs()

    def derivative(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.sign()  # 0 at 0, as autograd's abs


@register
class PairwiseSquared(Penalty):
    """Duong et al.'s pairwise L2 distance, one term per task pair ("l2_only" of Table 7).

    Identity: sum_{j<k} (w_j - w_k)^2 = K * sum_j (w_j - mean w)^2.
    """

    name = "pairwise_squared"

    def n_terms(self, n_tasks: int) -> int:
        return n_tasks * (n_tasks - 1) // 2

    def deviations(self, w: torch.Tensor) -> torch.Tensor:
        pairs = itertools.combinations(range(w.shape[1]), 2)
        return torch.stack([w[:, j] - w[:, k] for j, k in pairs], dim=1)

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.square()

    def derivative(self, dev: torch.Tensor) -> torch.Tensor:
        return 2.0 * dev

    def adjoint(self, g: torch.Tensor, n_tasks: int) -> torch.Tensor:
        tasks = [torch.zeros_like(g[:, 0]) for _ in range(n_tasks)]
        for p, (j, k) in enumerate(itertools.combinations(range(n_tasks), 2)):
            tasks[j] = tasks[j] + g[:, p]
            tasks[k] = tasks[k] - g[:, p]
        return torch.stack(tasks, dim=1)


def get_penalty(name: str) -> Penalty:
    try:
        return PENALTIES[name]()
    except KeyError:
        raise ValueError(f"unknown penalty {name!r}; known: {sorted(PENALTIES)}") from None
