import numpy as np
import pytest
from conftest import CASE1, replicates

from asp.data.simulation import SimulationCase, simulate
from asp.engine.preprocessing import MinMaxScaler, split_sizes
from asp.engine.seeds import replicate_seeds


def test_split_is_49_21_30():
    assert split_sizes(2000) == (980, 420, 600)
    assert split_sizes(500) == (245, 105, 150)
    assert split_sizes(1000) == (490, 210, 300)
    with pytest.raises(ValueError, match="too small"):
        split_sizes(2)


def test_scaling_uses_training_rows_only(case1):
    (rep,) = replicates(case1, 500, 1)
    d = rep.data
    np.testing.assert_allclose(d.x_train.min(0), 0.0, atol=1e-12)
    np.testing.assert_allclose(d.y_train.max(0), 1.0, atol=1e-12)
    # validation and test rows are scaled with the training min/max, so they may leave [0, 1]
    assert d.x_val.shape == (105, 4) and d.y_test.shape == (150, 2)
    s = MinMaxScaler.fit(np.array([[1.0, 5.0], [3.0, 5.0]]))
    np.testing.assert_allclose(s.transform(np.array([[2.0, 5.0]])), [[0.5, 0.0]])


def test_seeds_reproduce_and_differ_between_replicates(case1):
    a, b = replicates(case1, 500, 2)
    a2, _ = replicates(case1, 500, 2)
    np.testing.assert_array_equal(a.data.x_train, a2.data.x_train)
    assert not np.allclose(a.data.y_train, b.data.y_train)
    s1 = replicate_seeds(1, "case1", 500, 0)
    s2 = replicate_seeds(1, "case2", 500, 0)
    assert s1["data"].generate_state(2).tolist() != s2["data"].generate_state(2).tolist()


def test_simulation_cases_draw_from_their_distributions():
    rng = np.random.default_rng(0)
    c1 = SimulationCase.from_config("case1", CASE1)
    x, y = simulate(c1, 4000, 4, 2, rng)
    assert x.shape == (4000, 4) and y.shape == (4000, 2)
    assert 0 <= x.min() and x.max() <= 8 and abs(x.mean() - 4) < 0.1
    c3 = SimulationCase.from_config(
        "case3",
        {
            "x": {"dist": "exponential", "rate": 5},
            "weights": {"dist": "normal", "mean": 0, "sd": 1},
        },
    )
    x3, _ = simulate(c3, 20000, 4, 3, rng)
    assert x3.min() >= 0 and abs(x3.mean() - 0.2) < 0.01


def _paper_loop(case, n, n_inputs, n_tasks, rng):
    """Eq. 3.2 as first implemented: task by task, own weights only."""
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


@pytest.mark.parametrize("rho", [None, 0.0])
def test_rho_zero_reproduces_the_independent_tasks_bit_for_bit(rho):
    spec = dict(CASE1) if rho is None else {**CASE1, "rho": rho}
    case = SimulationCase.from_config("case1", spec)
    seeds = replicate_seeds(2024, "case1", 500, 3)
    x, y = simulate(case, 500, 4, 3, np.random.default_rng(seeds["data"]))
    x0, y0 = _paper_loop(case, 500, 4, 3, np.random.default_rng(seeds["data"]))
    assert np.array_equal(x, x0) and np.array_equal(y, y0)
    # The pipeline's replicates (simulate rule, training jobs) come through simulated_arrays.
    from asp.data.simulation import simulated_arrays

    x, y = simulated_arrays(case, 500, 4, 2, 2024, 0)
    seeds = replicate_seeds(2024, "case1", 500, 0)
    x0, y0 = _paper_loop(case, 500, 4, 2, np.random.default_rng(seeds["data"]))
    assert np.array_equal(x, x0) and np.array_equal(y, y0)


@pytest.mark.parametrize(
    "weights",
    [{"dist": "uniform", "low": 0, "high": 8}, {"dist": "normal", "mean": 0, "sd": 1}],
)
def test_relatedness_mixes_shared_and_own_weights(weights):
    from asp.data.simulation import simulate_tasks

    spec = {"x": {"dist": "uniform", "low": 0, "high": 8}, "weights": weights}
    base = SimulationCase.from_config("c", spec)
    one = SimulationCase.from_config("c", {**spec, "rho": 1.0})
    sim = simulate_tasks(one, 200, 4, 3, np.random.default_rng(5))
    for w in (sim.w1, sim.w2):  # rho = 1: every task has the same true weights
        assert np.array_equal(w[0], w[1]) and np.array_equal(w[0], w[2])
    indep = simulate_tasks(base, 200, 4, 3, np.random.default_rng(5))
    assert not np.allclose(indep.w1[0], indep.w1[1])
    # X and the noise are the same draws whatever rho: only the weights change.
    assert np.array_equal(sim.x, indep.x)
    # Mean and variance kept (centre, mix, shift back); the tasks correlate as rho.
    half = SimulationCase.from_config("c", {**spec, "rho": 0.5})
    draws = [simulate_tasks(half, 2, 4, 2, np.random.default_rng(s)).w1 for s in range(4000)]
    w = np.stack(draws)  # (draws, K, M, h)
    ref = np.stack(
        [simulate_tasks(base, 2, 4, 2, np.random.default_rng(s)).w1 for s in range(4000)]
    )
    assert abs(w.mean() - ref.mean()) < 0.05 * ref.std()
    assert abs(w.std() / ref.std() - 1) < 0.03
    corr = np.corrcoef(w[:, 0].ravel(), w[:, 1].ravel())[0, 1]
    assert abs(corr - 0.5**2) < 0.03  # both tasks carry rho * shared: correlation rho^2
    with pytest.raises(ValueError, match="rho must be in"):
        SimulationCase.from_config("c", {**spec, "rho": 1.5})
