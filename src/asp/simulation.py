"""Simulated multi-task regression data of paper §3 (eq. 3.2), generalised to any M, K.

Per task j, independently: ``Y_j = (X W1_j + B1_j) W2_j + b2_j + eps_j`` where X is shared by
the tasks, W1_j is M x h, W2_j is h x 1, B1_j an N x h noise matrix and b2_j, eps_j N-vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Distribution:
    """uniform(low, high), normal(mean, sd) or exponential(rate) with its parameters."""

    dist: str
    params: dict[str, float] = field(default_factory=dict)

    PARAMETERS = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "exponential": ("rate",)}

    def __post_init__(self) -> None:
        need = self.PARAMETERS.get(self.dist)
        if need is None:
            raise ValueError(f"unknown distribution {self.dist!r}: use {list(self.PARAMETERS)}")
        missing = [k for k in need if k not in self.params]
        if missing:
            raise ValueError(f"{self.dist} needs {missing}")
        extra = sorted(set(self.params) - set(need))
        if extra:
            raise ValueError(f"{extra} are not parameters of {self.dist} (it takes {list(need)})")
        p = self.params
        if self.dist == "uniform" and not p["low"] < p["high"]:
            raise ValueError(f"uniform needs low < high, got low {p['low']} high {p['high']}")
        if p.get("sd", 1.0) <= 0 or p.get("rate", 1.0) <= 0:
            raise ValueError(f"{self.dist} needs a positive {need[-1]}, got {p[need[-1]]}")

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        p = self.params
        if self.dist == "uniform":
            return rng.uniform(p["low"], p["high"], size=shape)
        if self.dist == "normal":
            return rng.normal(p["mean"], p["sd"], size=shape)
        if self.dist == "exponential":
            return rng.exponential(1.0 / p["rate"], size=shape)
        raise AssertionError(self.dist)  # refused in __post_init__

    @classmethod
    def from_config(cls, spec: dict) -> Distribution:
        spec = dict(spec)
        return cls(spec.pop("dist"), {k: float(v) for k, v in spec.items()})


@dataclass(frozen=True)
class SimulationCase:
    """One simulation case: distributions of X and of the true weights, and the noise."""

    name: str
    x: Distribution
    weights: Distribution
    noise_sd: float = 1.0
    hidden: int = 3

    @classmethod
    def from_config(cls, name: str, spec: dict) -> SimulationCase:
        return cls(
            name=name,
            x=Distribution.from_config(spec["x"]),
            weights=Distribution.from_config(spec["weights"]),
            noise_sd=float(spec.get("noise_sd", 1.0)),
            hidden=int(spec.get("hidden", 3)),
        )


def simulate(
    case: SimulationCase, n: int, n_inputs: int, n_tasks: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw X (n x M) and Y (n x K) for one replicate."""
    x = case.x.draw(rng, (n, n_inputs))
    y = np.empty((n, n_tasks))
    for j in range(n_tasks):
        w1 = case.weights.draw(rng, (n_inputs, case.hidden))
        w2 = case.weights.draw(rng, (case.hidden, 1))
        b1 = rng.normal(0.0, case.noise_sd, size=(n, case.hidden))
        b2 = rng.normal(0.0, case.noise_sd, size=(n, 1))
        eps = rng.normal(0.0, case.noise_sd, size=(n, 1))
        y[:, j] = ((x @ w1 + b1) @ w2 + b2 + eps)[:, 0]
    return x, y
