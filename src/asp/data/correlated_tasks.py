"""Two regression tasks of controlled correlation (the CLL paper's eq. 2-3, after MMoE).

The construction is that of Ma et al., "Modeling Task Relationships in Multi-task Learning with
Multi-gate Mixture-of-Experts" (KDD 2018, §3.2), which the CLL paper (Xu et al. 2023, §3.2)
follows:

- x ~ N(0, I_d);
- u1, u2 orthogonal unit vectors in R^d; w1 = c u1 and w2 = c (p u1 + s(p) u2);
- y_k = w_k' x + sum_{i=1..S} sin(alpha_i w_k' x + beta_i) + eps_k, eps_k ~ N(0, sd^2).

MMoE has s(p) = sqrt(1 - p^2), so that |w1| = |w2| = c and the cosine of the two weight
vectors is p. The CLL paper prints sqrt((1 - p)^2) = |1 - p| (its eq. 3): the two forms agree at
p = 1 and differ below it (at p = 0.5 the printed one gives w2 a cosine of 0.71 with w1, not
0.5). Both are here (``form``: "mmoe", the default, or "xu"). The paper gives neither d, c, S,
alpha nor beta: they are the config's (docs/method.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FORMS = ("mmoe", "xu")


@dataclass(frozen=True)
class CorrelatedTasks:
    """The generator's constants (everything but the correlation p and the seed)."""

    n_inputs: int  # d
    scale: float  # c
    alphas: tuple[float, ...]  # alpha_1..alpha_S
    betas: tuple[float, ...]  # beta_1..beta_S
    noise_sd: float = 0.1  # of eps_k (the CLL paper: 0.1)
    form: str = "mmoe"  # s(p): "mmoe" sqrt(1 - p^2), "xu" sqrt((1 - p)^2) as printed

    def __post_init__(self) -> None:
        if self.form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {self.form!r}")
        if self.n_inputs < 2:
            raise ValueError(f"n_inputs must be at least 2 (two orthogonal vectors): {self}")
        if len(self.alphas) != len(self.betas):
            raise ValueError(
                f"alphas and betas must have the same length (S), got {len(self.alphas)} "
                f"and {len(self.betas)}"
            )
        if self.noise_sd < 0 or self.scale <= 0:
            raise ValueError(f"noise_sd must be >= 0 and scale > 0: {self}")

    @classmethod
    def from_config(cls, block: dict) -> CorrelatedTasks:
        return cls(
            n_inputs=int(block["n_inputs"]),
            scale=float(block["scale"]),
            alphas=tuple(float(a) for a in block["alphas"]),
            betas=tuple(float(b) for b in block["betas"]),
            noise_sd=float(block.get("noise_sd", 0.1)),
            form=block.get("form", "mmoe"),
        )

    def second_coefficient(self, p: float) -> float:
        """s(p), the weight of u2 in w2."""
        if not -1.0 <= p <= 1.0:
            raise ValueError(f"the correlation p must lie in [-1, 1], got {p}")
        return math.sqrt(1.0 - p * p) if self.form == "mmoe" else math.sqrt((1.0 - p) ** 2)

    def weights(self, p: float, rng: np.random.Generator) -> np.ndarray:
        """(2, d): w1 and w2 from two orthogonal unit vectors drawn uniformly (the first two
        columns of the Q factor of a Gaussian matrix, signs fixed by R's diagonal)."""
        q, r = np.linalg.qr(rng.standard_normal((self.n_inputs, 2)))
        u = (q * np.sign(np.diag(r))).T  # rows u1, u2
        return self.scale * np.stack([u[0], p * u[0] + self.second_coefficient(p) * u[1]])

    def mean(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(n, 2): the labels without noise, for inputs x (n, d) and weights w (2, d)."""
        z = x @ w.T
        alphas, betas = np.asarray(self.alphas), np.asarray(self.betas)
        return z + np.sin(z[..., None] * alphas + betas).sum(-1)

    def sample(
        self, p: float, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``n`` samples at correlation ``p``: x (n, d), y (n, 2) and the weights (2, d); the
        weights, the inputs and the noise are drawn in that order from ``rng``."""
        w = self.weights(p, rng)
        x = rng.standard_normal((n, self.n_inputs))
        y = self.mean(x, w) + self.noise_sd * rng.standard_normal((n, 2))
        return x, y, w


def label_correlation(y: np.ndarray) -> float:
    """Pearson's correlation of the two tasks' labels (columns of ``y``)."""
    return float(np.corrcoef(y[:, 0], y[:, 1])[0, 1])


@dataclass(frozen=True)
class CorrelatedCase:
    """A simulated data set of the two tasks at correlation ``p`` (a simulation case of kind
    ``correlated_tasks``, asp.data.simulation): every replicate draws its own weights, inputs and
    noise from its data stream. Replicates of the same index at different p draw the same
    numbers (only p differs), so the loss at two correlations compares replicate by replicate."""

    name: str
    tasks: CorrelatedTasks
    p: float

    @classmethod
    def from_config(cls, name: str, spec: dict) -> CorrelatedCase:
        if "p" not in spec:
            raise ValueError(f"{name}: a correlated_tasks case needs its correlation p")
        return cls(name, CorrelatedTasks.from_config(spec), float(spec["p"]))

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x (n, d), y (n, 2) and the labels without noise (n, 2)."""
        x, y, w = self.tasks.sample(self.p, n, rng)
        return x, y, self.tasks.mean(x, w)
