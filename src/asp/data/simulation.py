"""Simulated multi-task regression data of paper §3 (eq. 3.2), generalised to any M, K and to
related tasks.

Per task j: ``Y_j = (X W1_j + B1_j) W2_j + b2_j + eps_j`` where X is shared by the tasks, W1_j
is M x h, W2_j is h x 1, B1_j an N x h noise matrix and b2_j, eps_j N-vectors. In the paper the
tasks' true weights are independent draws. A case's relatedness ``rho`` in [0, 1] (as the CLL
paper's task correlation p) mixes each true weight matrix with one shared by all tasks:

    W_j = mu + rho (W_shared - mu) + sqrt(1 - rho^2) (W_j,own - mu)

with both W drawn from the case's weight distribution and mu its mean: centred, mixed, shifted
back, so every weight keeps its distribution's mean and variance (not its shape: a mix of two
uniforms is not uniform). Each task's weights correlate with the shared ones at rho, two tasks'
at rho^2 (in the CLL paper's w2 = c (p u1 + sqrt(1 - p^2) u2) task 1 is the shared draw, so
there p is the tasks' correlation). At rho = 0 the tasks are independent, as in the paper; at
rho = 1 they share one set of true weights and differ only in their noise. The shared draws
come after all of a replicate's own draws, so rho = 0 reproduces the paper's data bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from asp.data.correlated_tasks import CorrelatedCase
from asp.engine.seeds import replicate_seeds


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

    @property
    def mean(self) -> float:
        p = self.params
        if self.dist == "uniform":
            return 0.5 * (p["low"] + p["high"])
        if self.dist == "normal":
            return p["mean"]
        return 1.0 / p["rate"]

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
    rho: float = 0.0  # task relatedness of the true weights (module docstring)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rho <= 1.0:
            raise ValueError(f"{self.name}: rho must be in [0, 1], got {self.rho}")

    @classmethod
    def from_config(cls, name: str, spec: dict) -> SimulationCase:
        return cls(
            name=name,
            x=Distribution.from_config(spec["x"]),
            weights=Distribution.from_config(spec["weights"]),
            noise_sd=float(spec.get("noise_sd", 1.0)),
            hidden=int(spec.get("hidden", 3)),
            rho=float(spec.get("rho", 0.0)),
        )


@dataclass
class Simulated:
    """One replicate: X (n, M), Y (n, K) and the tasks' true weights W1 (K, M, h), W2 (K, h, 1)."""

    x: np.ndarray
    y: np.ndarray
    w1: np.ndarray
    w2: np.ndarray


def simulate_tasks(
    case: SimulationCase, n: int, n_inputs: int, n_tasks: int, rng: np.random.Generator
) -> Simulated:
    """Draw one replicate: X, then each task's own weights and noise, then (rho > 0 only) the
    shared weights, which are mixed into the own ones."""
    x = case.x.draw(rng, (n, n_inputs))
    w1 = np.empty((n_tasks, n_inputs, case.hidden))
    w2 = np.empty((n_tasks, case.hidden, 1))
    noise = []
    for j in range(n_tasks):
        w1[j] = case.weights.draw(rng, (n_inputs, case.hidden))
        w2[j] = case.weights.draw(rng, (case.hidden, 1))
        b1 = rng.normal(0.0, case.noise_sd, size=(n, case.hidden))
        b2 = rng.normal(0.0, case.noise_sd, size=(n, 1))
        eps = rng.normal(0.0, case.noise_sd, size=(n, 1))
        noise.append((b1, b2, eps))
    if case.rho > 0:
        mu = case.weights.mean
        own = np.sqrt(1.0 - case.rho**2)
        for w in (w1, w2):
            shared = case.weights.draw(rng, w.shape[1:])
            w[:] = mu + case.rho * (shared - mu) + own * (w - mu)
    y = np.empty((n, n_tasks))
    for j, (b1, b2, eps) in enumerate(noise):
        y[:, j] = ((x @ w1[j] + b1) @ w2[j] + b2 + eps)[:, 0]
    return Simulated(x, y, w1, w2)


def case_from_config(name: str, spec: dict) -> SimulationCase | CorrelatedCase:
    """A simulation case of the config: the paper's kind (eq. 3.2, the default) or, with
    ``kind: correlated_tasks``, the CLL paper's two tasks of controlled correlation."""
    kind = spec.get("kind", "paper")
    if kind == "correlated_tasks":
        return CorrelatedCase.from_config(name, {k: v for k, v in spec.items() if k != "kind"})
    if kind != "paper":
        raise ValueError(f"{name}: unknown simulation kind {kind!r}: paper or correlated_tasks")
    return SimulationCase.from_config(name, {k: v for k, v in spec.items() if k != "kind"})


def case_dimensions(spec: dict, n_inputs: int, n_tasks: int) -> tuple[int, int]:
    """(inputs, tasks) a case of the config draws: the simulation's ``n_inputs`` and
    ``n_tasks``, or a correlated-tasks case's own d and its two tasks."""
    if spec.get("kind") == "correlated_tasks":
        return int(spec["n_inputs"]), 2
    return n_inputs, n_tasks


def simulate(
    case: SimulationCase | CorrelatedCase,
    n: int,
    n_inputs: int,
    n_tasks: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw X (n x M) and Y (n x K) for one replicate (a correlated-tasks case has its own M
    and K = 2, which ``n_inputs`` and ``n_tasks`` must match)."""
    if isinstance(case, CorrelatedCase):
        if (n_inputs, n_tasks) != (case.tasks.n_inputs, 2):
            raise ValueError(f"{case.name}: {n_inputs} inputs and {n_tasks} tasks asked for")
        return case.draw(n, rng)[:2]
    sim = simulate_tasks(case, n, n_inputs, n_tasks, rng)
    return sim.x, sim.y


def simulated_arrays(
    case: SimulationCase | CorrelatedCase,
    n: int,
    n_inputs: int,
    n_tasks: int,
    base_seed: int,
    index: int,
) -> tuple[np.ndarray, np.ndarray]:
    """X and Y of replicate ``index`` of a simulation case (its "data" seed stream)."""
    seeds = replicate_seeds(base_seed, case.name, n, index)
    return simulate(case, n, n_inputs, n_tasks, np.random.default_rng(seeds["data"]))
