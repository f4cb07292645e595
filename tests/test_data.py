import numpy as np
import pytest
from conftest import CASE1, replicates

from asp.preprocessing import MinMaxScaler, split_sizes
from asp.seeds import replicate_seeds
from asp.simulation import SimulationCase, simulate


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
