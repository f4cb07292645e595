"""The floor under every simulated number: the error of the true noiseless function.

In the data model (paper eq. 3.2) task j's target is ``y = (x W1_j + B1_j) W2_j + b2_j +
eps_j``. The terms ``B1_j W2_j + b2_j + eps_j`` are drawn afresh for every sample, have mean 0
and do not depend on x, so no model of x can predict them: the best prediction on average is
the conditional mean ``f_j(x) = x W1_j W2_j``. The noise is Gaussian, so symmetric, and f is
also the conditional median, the best prediction under absolute error. The floor of a
replicate is the error of f on that replicate's test part, in the pipeline's scaling (targets
min-max scaled with the training part's minimum and maximum) and metrics; a table's floor is
its mean over the replicates of the cell (docs/method.md §16).
"""

from __future__ import annotations

import numpy as np

from asp.data.correlated_tasks import CorrelatedCase, label_correlation
from asp.data.simulation import Simulated, SimulationCase, simulate_tasks
from asp.engine.preprocessing import MinMaxScaler, split_indices
from asp.engine.seeds import replicate_seeds


def noiseless(sim: Simulated) -> np.ndarray:
    """f(x) = x W1_j W2_j of every sample and task, (n, K)."""
    return np.einsum("nm,kmh,kh->nk", sim.x, sim.w1, sim.w2[:, :, 0])


def floor_errors(
    y: np.ndarray, f: np.ndarray, test: np.ndarray, train: np.ndarray
) -> dict[str, float]:
    """MSE and MAE of the noiseless labels ``f`` on the ``test`` rows of ``y``, on targets
    scaled by the ``train`` rows."""
    scaler = MinMaxScaler.fit(y[train])
    err = scaler.transform(y[test]) - scaler.transform(f[test])
    return {"floor_mse": float(np.mean(err**2)), "floor_mae": float(np.mean(np.abs(err)))}


def replicate_floor(
    case: SimulationCase | CorrelatedCase,
    n: int,
    n_inputs: int,
    n_tasks: int,
    base_seed: int,
    index: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Replicate ``index`` of a case, drawn from its seeds as the simulate rule draws it (X
    and Y), and the floor of its test part under the split its fits use. A correlated-tasks
    case (the CLL paper's eq. 2-3) has its noiseless labels from the generator, and its floor
    also carries the tasks' label correlation on the whole replicate."""
    seeds = replicate_seeds(base_seed, case.name, n, index)
    rng = np.random.default_rng(seeds["data"])
    extra = {}
    if isinstance(case, CorrelatedCase):
        x, y, f = case.draw(n, rng)
        extra = {"label_correlation": label_correlation(y)}
    else:
        sim = simulate_tasks(case, n, n_inputs, n_tasks, rng)
        x, y, f = sim.x, sim.y, noiseless(sim)
    split = split_indices(n, np.random.default_rng(seeds["split"]))
    return x, y, floor_errors(y, f, split.test, split.train) | extra
