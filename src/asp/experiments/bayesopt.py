"""Bayesian optimisation of two tasks at once, the CLL paper's application (Xu et al. 2023,
§2 and §3.3, its Table 2).

**The problems.** A pair of test functions (asp.data.benchmark_functions) A and B: the input is
x = (x0, x1) in R^4, x0 in A's domain and x1 in B's; f(x) = (A(x0), B(x1)), each normalised
to [-1, 1]; the two tasks are the CLL paper's eq. 2-3 (asp.data.correlated_tasks) on f(x) at
correlation p: y_k = w_k' f(x) + sum_i sin(alpha_i w_k' f(x) + beta_i) + eps_k. Every random
parameter is fixed but the noise (the paper's words): the weights come from the pair's own
seed, the same at every p but for p itself.

**The protocol.** Each run starts from ``initial`` points drawn uniformly in the box, the same
for every surrogate of the run (paired comparisons). An iteration fits the surrogate to the
points so far, then, for each task, a particle swarm (asp.experiments.pso) maximises the expected
improvement (EI) of the surrogate's prediction for that task over the box, and the proposed
point is evaluated. A single-task surrogate runs one optimisation per task, each with its own
points and evaluations; a multi-task surrogate proposes one point per task per iteration and
observes both tasks at both, so that it runs half the iterations for the same ``evaluations``
per task (the paper's rule). A run's result for a task is the best (lowest) value observed.

**Batched.** The runs of a problem (and every p) are the "streams" of one call: one surrogate
fit per iteration trains all of them (asp.experiments.surrogates), one swarm step moves all swarms.
Every random draw of a stream (its noise, bootstrap rows, initial weights, mini-batches and swarm)
comes from the stream's own seed, so a stream's trajectory does not depend on the others.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from asp.data.benchmark_functions import TestFunction, get_function
from asp.data.correlated_tasks import CorrelatedTasks
from asp.engine.progress import report, stage
from asp.engine.seeds import child
from asp.engine.seeds import dataset_key as key  # a stable integer for a name
from asp.experiments.pso import Swarm, draw, minimise
from asp.experiments.surrogates import Surrogate


@dataclass(frozen=True)
class PairProblem:
    """Two test functions and the two tasks made from them at correlation ``p``."""

    name: str  # "ackley+rastrigin"
    first: TestFunction
    second: TestFunction
    tasks: CorrelatedTasks  # with n_inputs 2: f(x) is two-dimensional
    p: float
    weights: np.ndarray  # (2, 2): w1, w2

    @classmethod
    def make(cls, pair: str, tasks: CorrelatedTasks, p: float, base_seed: int) -> PairProblem:
        """The pair ``"a+b"``; its weights from (base_seed, pair): the same numbers at every p."""
        names = pair.split("+")
        if len(names) != 2:
            raise ValueError(f"a pair of test functions is 'a+b', got {pair!r}")
        if tasks.n_inputs != 2:
            raise ValueError(f"the tasks of a pair take f(x) = (f_A, f_B): n_inputs 2, got {tasks}")
        rng = np.random.default_rng(np.random.SeedSequence(base_seed, spawn_key=(key(pair),)))
        first, second = (get_function(n) for n in names)
        return cls(pair, first, second, tasks, float(p), tasks.weights(p, rng))

    @property
    def low(self) -> np.ndarray:
        return -self.high

    @property
    def high(self) -> np.ndarray:
        return np.array([self.first.bound] * 2 + [self.second.bound] * 2)

    def features(self, x: np.ndarray) -> np.ndarray:
        """f(x) (..., 2) for x (..., 4): both functions normalised to [-1, 1]."""
        t = torch.as_tensor(x, dtype=torch.float64)
        return torch.stack(
            [self.first.normalised(t[..., :2]), self.second.normalised(t[..., 2:])], -1
        ).numpy()

    def mean(self, x: np.ndarray) -> np.ndarray:
        """The two tasks without noise, (..., 2)."""
        f = self.features(x)
        return self.tasks.mean(f.reshape(-1, 2), self.weights).reshape(f.shape)

    @functools.cached_property
    def optimum(self) -> np.ndarray:
        """The tasks' true (noise-free) minima over the box, (2,). Task k depends on x only
        through s = w_k' f(x), and f(x) covers [-1, 1]^2 (each function runs from its minimum
        to its maximum), so s covers [-|w_k|_1, |w_k|_1]: the minimum of the tasks' function
        of s, located on a grid of 20,001 points and refined by bounded Brent (SciPy) between
        the grid points either side (to about 1e-10)."""
        out = []
        for w in self.weights:
            limit = float(np.abs(w).sum())
            grid = np.linspace(-limit, limit, 20_001)

            def task(s: np.ndarray) -> np.ndarray:
                return self.tasks.mean(np.reshape(s, (-1, 1)), np.ones((2, 1)))[:, 0]

            i = int(np.argmin(task(grid)))
            bounds = (grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)])
            fit = minimize_scalar(
                lambda s: float(task(s)[0]),
                bounds=bounds,
                method="bounded",
                options={"xatol": 1e-12},
            )
            out.append(min(float(fit.fun), float(task(grid[i])[0])))
        return np.array(out)

    def evaluate(self, x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Observed (with noise) and true values (n, 2) of both tasks at x (n, 4)."""
        true = self.mean(x)
        return true + self.tasks.noise_sd * rng.standard_normal(true.shape), true


def expected_improvement(mean: torch.Tensor, sd: torch.Tensor, best: torch.Tensor) -> torch.Tensor:
    """EI of a minimisation: E[max(best - Y, 0)] for Y ~ N(mean, sd^2),
    (best - mean) Phi(z) + sd phi(z) with z = (best - mean) / sd; max(best - mean, 0) where
    sd is 0."""
    gap = best - mean
    safe = sd.clamp_min(1e-12)
    z = gap / safe
    cdf = 0.5 * torch.special.erfc(-z / math.sqrt(2.0))
    pdf = torch.exp(-0.5 * z.square()) / math.sqrt(2.0 * math.pi)
    ei = gap * cdf + safe * pdf
    return torch.where(sd > 1e-12, ei, gap.clamp_min(0.0))


def expected_improvement_scipy(mean: float, sd: float, best: float) -> float:
    """The same in closed form through SciPy (a reference for the tests)."""
    if sd <= 0:
        return max(best - mean, 0.0)
    z = (best - mean) / sd
    return float((best - mean) * norm.cdf(z) + sd * norm.pdf(z))


@dataclass(frozen=True)
class Protocol:
    initial: int = 20
    evaluations: int = 100  # per task, the initial points included
    swarm: Swarm = Swarm()

    def iterations(self, n_tasks: int) -> int:
        """Surrogate fits of a run: one point per task per iteration."""
        extra = self.evaluations - self.initial
        if extra < 0 or extra % n_tasks:
            raise ValueError(
                f"{self.evaluations} evaluations from {self.initial} initial points cannot be "
                f"reached {n_tasks} points at a time"
            )
        return extra // n_tasks


@dataclass(frozen=True)
class Stream:
    """One optimisation: a run of a problem, the tasks its surrogate models (both, or one
    of them for a single-task surrogate), and its seeds: ``run`` (the initial design, shared
    by the run's surrogates) and ``own`` (everything after it)."""

    problem: PairProblem
    tasks: tuple[int, ...]
    run: np.random.SeedSequence
    own: np.random.SeedSequence
    labels: dict  # what its rows carry (pair, p, run, surrogate)


def streams(
    problems: list[PairProblem], runs: int, surrogate: str, n_tasks: int, base_seed: int
) -> list[Stream]:
    """Every run of every problem for ``surrogate``: one stream per run with a multi-task
    surrogate (both tasks), one per run and task with a single-task one."""
    out = []
    for prob in problems:
        for r in range(runs):
            run = np.random.SeedSequence(
                base_seed, spawn_key=(key("bayesopt"), key(prob.name), round(prob.p * 1000), r)
            )
            labels = {"pair": prob.name, "p": prob.p, "run": r, "surrogate": surrogate}
            task_sets = [(0, 1)] if n_tasks == 2 else [(0,), (1,)]
            for tasks in task_sets:
                own = child(run, key(surrogate), *tasks)
                out.append(Stream(prob, tasks, run, own, labels))
    return out


def protocol_from_config(block: dict) -> Protocol:
    """The protocol of a config's ``bayesopt`` block."""
    swarm = block.get("swarm", {})
    return Protocol(
        int(block.get("initial", 20)),
        int(block.get("evaluations", 100)),
        Swarm(int(swarm.get("particles", 40)), int(swarm.get("iterations", 30))),
    )


# The tasks' constants where a block gives none (the config schema's defaults): ours, the
# paper gives none of c, S, alpha, beta
DEFAULT_TASKS = {
    "n_inputs": 2,
    "scale": 10.0,
    "alphas": [0.2 * i for i in range(1, 11)],
    "betas": [float((i - 1) ** 2) for i in range(1, 11)],
    "noise_sd": 0.1,
}


def pair_problems(block: dict, pair: str, base_seed: int) -> list[PairProblem]:
    """The pair's problem at each p of a config's ``bayesopt`` block."""
    tasks = CorrelatedTasks.from_config({**DEFAULT_TASKS, **block.get("tasks", {})})
    return [PairProblem.make(pair, tasks, float(p), base_seed) for p in block["ps"]]


def run_pair(block: dict, pair: str, surrogate: Surrogate, base_seed: int) -> pd.DataFrame:
    """Every run at every p of one pair with one surrogate
    (asp.experiments.surrogates.make_surrogate): one call of :func:`optimise`."""
    group = streams(
        pair_problems(block, pair, base_seed),
        int(block["runs"]),
        surrogate.method,
        surrogate.n_tasks,
        base_seed,
    )
    return optimise(group, surrogate, protocol_from_config(block))


def initial_design(stream: Stream, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The run's first ``n`` points, uniform in the box, and their observed and true values
    (both tasks), from the run's seed alone."""
    rng = np.random.default_rng(child(stream.run, 0))
    prob = stream.problem
    x = prob.low + (prob.high - prob.low) * rng.random((n, 4))
    y, true = prob.evaluate(x, rng)
    return x, y, true


def optimise(group: list[Stream], surrogate: Surrogate, protocol: Protocol) -> pd.DataFrame:
    """Run the streams (all with ``surrogate.n_tasks`` tasks) to the protocol's evaluations.
    Rows: each stream's evaluations in order, per task it models: the point's observed and
    true values and the best observed so far (``best``)."""
    n_tasks = len(group[0].tasks)
    if any(len(s.tasks) != n_tasks for s in group) or n_tasks != surrogate.n_tasks:
        raise ValueError(f"every stream of a call models {surrogate.n_tasks} tasks")
    designs = [initial_design(s, protocol.initial) for s in group]
    xs = np.stack([d[0] for d in designs])  # (S, n, 4)
    ys = np.stack([d[1] for d in designs])  # (S, n, 2): both tasks, observed
    trues = np.stack([d[2] for d in designs])
    noise = [np.random.default_rng(child(s.own, 0)) for s in group]
    low = np.stack([s.problem.low for s in group])[:, None]
    span = np.stack([s.problem.high - s.problem.low for s in group])[:, None]
    cols = np.array([s.tasks for s in group])  # (S, T): the tasks each stream models
    iterations = protocol.iterations(n_tasks)
    previous = None  # the last fit's predictor: a surrogate may start from it
    for it in range(iterations):
        seen = np.take_along_axis(ys, cols[:, None, :], axis=2)  # (S, n, T)
        # the surrogate's training reports as part of this iteration (asp.engine.progress)
        with stage(it / iterations, (it + 1) / iterations, f"iteration {it + 1} of {iterations}"):
            predict = surrogate.fit(
                (xs - low) / span, seen, [child(s.own, 1, it) for s in group], previous
            )
        previous = predict
        best = torch.as_tensor(seen.min(axis=1)).reshape(-1, 1)  # (S * T, 1)
        neg_ei = _negative_ei(predict, best, len(group), n_tasks)
        rngs = [np.random.default_rng(child(s.own, 2, it, t)) for s in group for t in s.tasks]
        found, _ = minimise(neg_ei, draw(rngs, protocol.swarm, 4), protocol.swarm)
        cand = low + span * found.numpy().reshape(len(group), n_tasks, 4)
        new = [s.problem.evaluate(c, rng) for s, c, rng in zip(group, cand, noise, strict=True)]
        xs = np.concatenate([xs, cand], axis=1)
        ys = np.concatenate([ys, np.stack([n[0] for n in new])], axis=1)
        trues = np.concatenate([trues, np.stack([n[1] for n in new])], axis=1)
        # the job's progress line (asp.engine.progress), to the console and the log
        report((it + 1) / iterations, f"iteration {it + 1} of {iterations}")
    return _rows(group, ys, trues)


def _negative_ei(predict, best: torch.Tensor, n_streams: int, n_tasks: int):
    """Minus the EI of every swarm's particles: swarm (s, t) (s * T + t) maximises task t's EI
    of stream s, against ``best`` (S * T, 1), the stream's best observation of that task."""

    def fn(q: torch.Tensor) -> torch.Tensor:
        # q (S * T, P, 4): all of a stream's particles are one query of its surrogate
        mean, sd = predict(q.reshape(n_streams, -1, 4))  # (S, T * P, T)
        mean = mean.unflatten(1, (n_tasks, -1)).diagonal(dim1=1, dim2=3)  # (S, P, T)
        sd = sd.unflatten(1, (n_tasks, -1)).diagonal(dim1=1, dim2=3)
        mean, sd = (a.permute(0, 2, 1).reshape(n_streams * n_tasks, -1) for a in (mean, sd))
        return -expected_improvement(mean, sd, best)

    return fn


def _rows(group: list[Stream], ys: np.ndarray, trues: np.ndarray) -> pd.DataFrame:
    frames = []
    n = ys.shape[1]
    for s, y, true in zip(group, ys, trues, strict=True):
        for t in s.tasks:
            frames.append(
                pd.DataFrame(
                    {
                        **s.labels,
                        "task": t + 1,
                        "evaluation": np.arange(1, n + 1),
                        "y": y[:, t],
                        "y_true": true[:, t],
                        "optimum": s.problem.optimum[t],
                        "best": np.minimum.accumulate(y[:, t]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)
