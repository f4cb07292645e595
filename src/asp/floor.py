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

from asp.preprocessing import MinMaxScaler, split_indices
from asp.seeds import replicate_seeds
from asp.simulation import Simulated, SimulationCase, simulate_tasks


def noiseless(sim: Simulated) -> np.ndarray:
    """f(x) = x W1_j W2_j of every sample and task, (n, K)."""
    return np.einsum("nm,kmh,kh->nk", sim.x, sim.w1, sim.w2[:, :, 0])


def floor_errors(sim: Simulated, test: np.ndarray, train: np.ndarray) -> dict[str, float]:
    """MSE and MAE of f on the ``test`` rows, on targets scaled by the ``train`` rows."""
    scaler = MinMaxScaler.fit(sim.y[train])
    err = scaler.transform(sim.y[test]) - scaler.transform(noiseless(sim)[test])
    return {"floor_mse": float(np.mean(err**2)), "floor_mae": float(np.mean(np.abs(err)))}


def replicate_floor(
    case: SimulationCase, n: int, n_inputs: int, n_tasks: int, base_seed: int, index: int
) -> tuple[Simulated, dict[str, float]]:
    """Replicate ``index`` of a case, drawn from its seeds as the simulate rule draws it, and
    the floor of its test part under the split its fits use."""
    seeds = replicate_seeds(base_seed, case.name, n, index)
    sim = simulate_tasks(case, n, n_inputs, n_tasks, np.random.default_rng(seeds["data"]))
    split = split_indices(n, np.random.default_rng(seeds["split"]))
    return sim, floor_errors(sim, split.test, split.train)
