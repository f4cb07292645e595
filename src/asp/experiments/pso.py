"""Particle swarm optimisation (PSO), batched: G independent swarms, one per problem, move at
once, so that the acquisition function of every Bayesian-optimisation run and task is
maximised in one call per swarm step.

The standard global-best PSO with the constriction constants of Clerc and Kennedy (2002), as in
Bratton and Kennedy's "Defining a standard for particle swarm optimization" (2007):

    v <- w v + c1 r1 (p_best - x) + c2 r2 (g_best - x),   x <- clip(x + v, 0, 1),

with w = 0.7298, c1 = c2 = 1.49618, r1 and r2 uniform on [0, 1] per particle and dimension, on
the unit box [0, 1]^D (the caller scales its own box onto it). Velocities are limited to the
box's width. Every random number comes from the ``draws`` of each swarm's own generator, so a
swarm moves the same whether it runs alone or beside others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Swarm:
    particles: int = 40
    iterations: int = 30
    inertia: float = 0.7298
    cognitive: float = 1.49618
    social: float = 1.49618

    def __post_init__(self) -> None:
        if self.particles < 2 or self.iterations < 1:
            raise ValueError(f"a swarm needs >= 2 particles and >= 1 iteration: {self}")


@dataclass
class SwarmDraws:
    """The random numbers of G swarms: start positions (G, P, D) and velocities, and r1, r2
    (I, G, P, D)."""

    start: torch.Tensor
    velocity: torch.Tensor
    r1: torch.Tensor
    r2: torch.Tensor


def draw(
    rngs: list[np.random.Generator], swarm: Swarm, n_dims: int, dtype=torch.float64
) -> SwarmDraws:
    """Each swarm's numbers from its own generator, in a fixed order (start, velocity, r1,
    r2)."""
    p, i, d = swarm.particles, swarm.iterations, n_dims
    per = [
        (
            rng.random((p, d)),
            rng.uniform(-1.0, 1.0, (p, d)),
            rng.random((i, p, d)),
            rng.random((i, p, d)),
        )
        for rng in rngs
    ]

    def stacked(k: int, axis: int) -> torch.Tensor:
        return torch.as_tensor(np.stack([q[k] for q in per], axis=axis), dtype=dtype)

    return SwarmDraws(stacked(0, 0), stacked(1, 0), stacked(2, 1), stacked(3, 1))


def minimise(
    fn: Callable[[torch.Tensor], torch.Tensor], draws: SwarmDraws, swarm: Swarm
) -> tuple[torch.Tensor, torch.Tensor]:
    """The best point (G, D) of each swarm and its value (G,): ``fn`` maps positions
    (G, P, D) to values (G, P) to minimise. A NaN value counts as +inf."""

    def value(x: torch.Tensor) -> torch.Tensor:
        v = fn(x)
        return torch.where(torch.isnan(v), torch.inf, v)

    x, v = draws.start.clone(), draws.velocity.clone()
    best_x, best_f = x.clone(), value(x)
    for it in range(swarm.iterations):
        g = best_f.argmin(1)
        g_best = best_x[torch.arange(len(g)), g].unsqueeze(1)  # (G, 1, D)
        v = (
            swarm.inertia * v
            + swarm.cognitive * draws.r1[it] * (best_x - x)
            + swarm.social * draws.r2[it] * (g_best - x)
        ).clamp(-1.0, 1.0)
        x = (x + v).clamp(0.0, 1.0)
        f = value(x)
        better = f < best_f
        best_x = torch.where(better.unsqueeze(-1), x, best_x)
        best_f = torch.where(better, f, best_f)
    g = best_f.argmin(1)
    rows = torch.arange(len(g))
    return best_x[rows, g], best_f[rows, g]
