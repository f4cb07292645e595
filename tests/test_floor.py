"""The floor of the simulated data: the error of the true noiseless function (asp.data.floor)."""

import numpy as np
import pytest
from conftest import CASE2

from asp.data.floor import floor_errors, noiseless, replicate_floor
from asp.data.simulation import SimulationCase, case_from_config, simulate_tasks, simulated_arrays
from asp.engine.preprocessing import MinMaxScaler


def test_the_floor_is_the_noise_in_closed_form():
    """y - f = B1 W2 + b2 + eps ~ N(0, sd^2 (|W2|^2 + 2)) per task; scaled by the training span,
    its mean square and mean absolute value are known."""
    case = SimulationCase.from_config("case2", CASE2 | {"noise_sd": 0.7})
    sim = simulate_tasks(case, 200_000, 4, 2, np.random.default_rng(3))
    train, test = np.arange(100_000), np.arange(100_000, 200_000)
    found = floor_errors(sim.y, noiseless(sim), test, train)
    span = MinMaxScaler.fit(sim.y[train]).span
    sd = 0.7 * np.sqrt((sim.w2[:, :, 0] ** 2).sum(axis=1) + 2) / span  # per task, scaled
    assert found["floor_mse"] == pytest.approx(np.mean(sd**2), rel=0.02)
    assert found["floor_mae"] == pytest.approx(np.mean(sd * np.sqrt(2 / np.pi)), rel=0.02)


def test_the_noiseless_function_is_the_data_without_its_noise():
    case = SimulationCase.from_config("case2", CASE2 | {"noise_sd": 1e-9})
    sim = simulate_tasks(case, 50, 4, 3, np.random.default_rng(0))
    assert noiseless(sim).shape == (50, 3)
    np.testing.assert_allclose(noiseless(sim), sim.y, atol=1e-6)


def test_a_replicates_floor_is_drawn_from_the_data_its_fits_saw():
    case = SimulationCase.from_config("case2", CASE2)
    sim_x, sim_y, floor = replicate_floor(case, 300, 4, 2, 7, 5)
    x, y = simulated_arrays(case, 300, 4, 2, 7, 5)
    assert np.array_equal(sim_x, x) and np.array_equal(sim_y, y)
    assert 0 < floor["floor_mae"] and 0 < floor["floor_mse"] < floor["floor_mae"]


def test_a_correlated_tasks_floor_is_the_noise_and_carries_the_label_correlation():
    """The CLL paper's tasks: the floor is the error of the noiseless labels (in the scaled
    units of the fits), from the draw the simulate rule makes."""
    spec = {
        "kind": "correlated_tasks",
        "p": 0.9,
        "n_inputs": 4,
        "scale": 1.0,
        "alphas": [1.0],
        "betas": [0.0],
        "noise_sd": 0.1,
    }
    case = case_from_config("tasks", spec)
    x, y, floor = replicate_floor(case, 2000, 4, 2, 7, 3)
    xs, ys = simulated_arrays(case, 2000, 4, 2, 7, 3)
    assert np.array_equal(x, xs) and np.array_equal(y, ys)
    span = y.max(0) - y.min(0)  # the noise of sd 0.1 in min-max scaled units
    assert floor["floor_mse"] == pytest.approx(np.mean((0.1 / span) ** 2), rel=0.15)
    assert 0.5 < floor["label_correlation"] < 1.0
    with pytest.raises(ValueError, match="unknown simulation kind"):
        case_from_config("tasks", spec | {"kind": "other"})
