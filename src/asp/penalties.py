"""Soft-sharing penalties as sums of maskable terms (SPEC §1a, §1h).

A penalty turns each weight matrix (B, K, in, out) into deviations (B, T, in, out), one per
term; its value is ``sum(mask * elementwise(deviation))`` per fit. The adaptive algorithm deletes
terms by setting their mask to 0, ranking them by |deviation|.
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


@register
class MeanAbsolute(Penalty):
    """Absolute deviation from the task mean ("mean_only" of Table 7)."""

    name = "mean_absolute"

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.abs()


@register
class PairwiseSquared(Penalty):
    """Duong et al.'s pairwise L2 distance, one term per task pair ("l2_only" of Table 7).

    Identity: sum_{j<k} (w_j - w_k)^2 = K * sum_j (w_j - mean w)^2.
    """

    name = "pairwise_squared"

    def n_terms(self, n_tasks: int) -> int:
        return n_tasks * (n_tasks - 1) // 2

    def deviations(self, w: torch.Tensor) -> torch.Tensor:
        pairs = list(itertools.combinations(range(w.shape[1]), 2))
        j = torch.tensor([p[0] for p in pairs], device=w.device)
        k = torch.tensor([p[1] for p in pairs], device=w.device)
        return w.index_select(1, j) - w.index_select(1, k)

    def elementwise(self, dev: torch.Tensor) -> torch.Tensor:
        return dev.square()


def get_penalty(name: str) -> Penalty:
    try:
        return PENALTIES[name]()
    except KeyError:
        raise ValueError(f"unknown penalty {name!r}; known: {sorted(PENALTIES)}") from None
