"""Prediction metrics per fit, on scaled targets (docs/method.md §5).

Standard MSE/MAE average over samples and tasks. The "literal" values follow paper eq. 2.7/2.8 as
printed: the per-sample sum over tasks of squared errors, squared (2.7) or in absolute value (2.8).
"""

from __future__ import annotations

import torch

METRICS = ("mse", "mae")


def _errors(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return pred - y  # (B, n, K)


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _errors(pred, y).square().mean(dim=(1, 2))


def mae(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _errors(pred, y).abs().mean(dim=(1, 2))


def literal_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _errors(pred, y).square().sum(dim=2).square().mean(dim=1)


def literal_mae(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _errors(pred, y).square().sum(dim=2).abs().mean(dim=1)


ALL = {"mse": mse, "mae": mae, "literal_mse": literal_mse, "literal_mae": literal_mae}


def metric_fn(name: str):
    if name not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {name!r}")
    return ALL[name]


def evaluate(pred: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """All four metrics, each (B,)."""
    return {name: fn(pred, y) for name, fn in ALL.items()}
