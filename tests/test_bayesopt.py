"""The CLL paper's Bayesian optimisation (asp.experiments.bayesopt): the test functions at their
minima and their normalising range, the batched particle swarm on functions with known minima,
expected improvement against its closed form, the protocol's evaluation counts, and one run of the
batched engine against the same run alone."""

import math
import re

import numpy as np
import pytest
import torch
from conftest import ROOT

from asp.data.benchmark_functions import FUNCTIONS, get_function
from asp.data.correlated_tasks import CorrelatedTasks
from asp.experiments.bayesopt import (
    PairProblem,
    Protocol,
    expected_improvement,
    expected_improvement_scipy,
    optimise,
    streams,
)
from asp.experiments.pso import Swarm, draw, minimise
from asp.experiments.surrogates import EnsembleSurrogate, GPSurrogate

F64 = torch.float64
TASKS = CorrelatedTasks(2, 1.0, (0.2, 0.4, 0.6), (0.0, 1.0, 4.0), noise_sd=0.1)
VALUES = {"lambda": 0.1, "lambda_star": 0.1, "theta": 0.5}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_test_functions_have_their_known_minimum_and_normalise_into_minus_one_one(name):
    f = get_function(name)
    at_min = torch.full((2,), f.minimiser, dtype=F64)
    assert f(at_min).item() == pytest.approx(f.minimum, abs=1e-4)
    assert f.normalised(at_min).item() == pytest.approx(-1.0, abs=1e-4)
    # a 1,001 x 1,001 grid of the domain: never below the minimum, never outside [-1, 1],
    # and the declared high is the grid's maximum to within 0.1 %
    g = torch.linspace(-f.bound, f.bound, 1001, dtype=F64)
    grid = torch.stack(torch.meshgrid(g, g, indexing="ij"), -1)
    values = f(grid)
    assert values.min().item() >= f.minimum - 1e-4
    normalised = f.normalised(grid)
    assert normalised.min().item() >= -1.0 - 1e-6
    assert normalised.max().item() <= 1.0
    assert values.max().item() == pytest.approx(f.high, rel=1e-3)


def test_known_values_away_from_the_minimum():
    one = torch.ones(2, dtype=F64)
    assert get_function("rastrigin")(one).item() == pytest.approx(2.0)  # 2 (1 - 10 + 10)
    assert get_function("ackley")(one).item() == pytest.approx(
        -20 * math.exp(-0.2) - math.exp(1.0) + 20 + math.e
    )
    assert get_function("griewank")(one).item() == pytest.approx(
        1 + 2 / 4000 - math.cos(1.0) * math.cos(1 / math.sqrt(2))
    )


def test_swarm_finds_known_minima_and_each_swarm_moves_as_it_would_alone():
    swarm = Swarm(particles=40, iterations=60)
    centre = torch.tensor([[0.3, 0.7], [0.5, 0.5], [0.8, 0.1]], dtype=F64)
    rastrigin = get_function("rastrigin")

    def fn(x: torch.Tensor) -> torch.Tensor:
        # swarm 0 and 2: a shifted sphere; swarm 1: Rastrigin on [-5.12, 5.12]^2 (multimodal)
        sphere = (x - centre[:, None]).square().sum(-1)
        rast = rastrigin((x - 0.5) * 10.24)
        return torch.where(torch.arange(3)[:, None] == 1, rast, sphere)

    rngs = [np.random.default_rng(s) for s in (1, 2, 3)]
    x, f = minimise(fn, draw(rngs, swarm, 2), swarm)
    torch.testing.assert_close(x, centre, atol=1e-3, rtol=0)
    assert f[0].item() < 1e-6 and f[2].item() < 1e-6
    assert f[1].item() < 1e-3  # Rastrigin's global minimum 0, not a local one (>= 0.99)

    alone, f_alone = minimise(
        lambda q: fn(torch.cat([q, q, q]))[2:], draw([np.random.default_rng(3)], swarm, 2), swarm
    )
    assert torch.equal(alone[0], x[2]) and torch.equal(f_alone[0], f[2])


@pytest.mark.parametrize("best", [-1.0, 0.0, 0.3, 2.5])
def test_expected_improvement_matches_its_closed_form(best):
    means = np.array([-2.0, -0.5, 0.0, 0.2, 1.0, 3.0])
    sds = np.array([0.0, 1e-3, 0.1, 1.0, 2.0, 0.5])
    mean, sd = np.meshgrid(means, sds)
    ei = expected_improvement(
        torch.as_tensor(mean), torch.as_tensor(sd), torch.tensor(best, dtype=F64)
    ).numpy()
    ref = np.vectorize(expected_improvement_scipy)(mean, sd, best)
    np.testing.assert_allclose(ei, ref, rtol=1e-10, atol=1e-12)
    assert (ei >= 0).all()
    # a certain prediction: its improvement exactly
    assert expected_improvement_scipy(best - 1.0, 0.0, best) == 1.0
    # a point of mean 'best' and sd s: s * phi(0)
    assert expected_improvement_scipy(best, 2.0, best) == pytest.approx(
        2.0 / math.sqrt(2 * math.pi)
    )


def problems() -> list[PairProblem]:
    return [PairProblem.make("ackley+rastrigin", TASKS, p, 11) for p in (1.0, 0.5)]


def test_problem_weights_are_fixed_per_pair_and_tasks_use_both_functions():
    a, b = problems()
    assert np.array_equal(a.weights[0], b.weights[0])  # u1, the same at every p
    assert np.allclose(a.weights[0], a.weights[1])  # p = 1: the same weights
    x = np.zeros((1, 4))  # both functions at their minimum: f(x) = (-1, -1)
    assert np.allclose(a.features(x), -1.0)
    assert a.high.tolist() == [32.768] * 2 + [5.12] * 2
    with pytest.raises(ValueError, match="a pair of test functions"):
        PairProblem.make("ackley", TASKS, 1.0, 11)


def test_the_tasks_true_minimum_bounds_every_point_and_is_reached():
    """``optimum``: no point of the box is truly below it, and a point where the tasks'
    argument s = w'f(x) sits at the minimiser (f(x) moved along a line of the box) reaches it."""
    prob = problems()[1]
    rng = np.random.default_rng(0)
    x = prob.low + (prob.high - prob.low) * rng.random((200_000, 4))
    true = prob.mean(x)
    assert (true.min(0) >= prob.optimum - 1e-9).all()
    for k in range(2):  # f on a fine segment from (-1, -1) to (1, 1) of f-space, s = w'f
        f = np.linspace(-1, 1, 400_001)[:, None] * np.sign(prob.weights[k])
        best = TASKS.mean(f, prob.weights)[:, k].min()
        assert best == pytest.approx(prob.optimum[k], abs=1e-4)
        assert prob.optimum[k] <= best + 1e-12  # refined below any point of the fine grid


class Counting:
    """A surrogate that counts its fits."""

    def __init__(self, inner):
        self.inner, self.n_tasks, self.fits = inner, inner.n_tasks, 0

    def fit(self, x, y, seeds, previous=None):
        self.fits += 1
        assert x.shape[1] == y.shape[1] and y.shape[2] == self.n_tasks
        return self.inner.fit(x, y, seeds, previous)


def small(method: str, **kw) -> EnsembleSurrogate:
    return EnsembleSurrogate(
        method,
        members=3,
        centres=4,
        epochs=8,
        patience=8,
        round_epochs=4,
        round_patience=4,
        batch_size=8,
        lr=0.05,
        values=VALUES,
        dtype="float64",
        **kw,
    )


@pytest.mark.parametrize("method", ["single_rbf", "bay_mrbfcor"])
def test_every_task_gets_the_protocols_evaluations(method):
    protocol = Protocol(initial=6, evaluations=12, swarm=Swarm(particles=8, iterations=3))
    surrogate = Counting(small(method))
    group = streams(problems(), 2, method, surrogate.n_tasks, 5)
    rows = optimise(group, surrogate, protocol)
    # single-task: one point per fit, one stream per task; multi-task: one point per task per
    # fit, so half the fits
    assert surrogate.fits == (6 if method == "single_rbf" else 3)
    counts = rows.groupby(["p", "run", "task"]).size()
    assert len(counts) == 2 * 2 * 2 and (counts == 12).all()
    assert set(rows["evaluation"]) == set(range(1, 13))
    # the initial design is the run's, shared by every surrogate; best is the running minimum
    first = rows[rows["evaluation"] <= 6].sort_values(["p", "run", "task", "evaluation"])
    other = optimise(
        streams(problems(), 2, "x", 2 if method == "single_rbf" else 1, 5),
        Counting(small("bay_mrbfcor" if method == "single_rbf" else "single_rbf")),
        protocol,
    )
    other_first = other[other["evaluation"] <= 6].sort_values(["p", "run", "task", "evaluation"])
    assert np.array_equal(first["y"].to_numpy(), other_first["y"].to_numpy())
    for _, g in rows.groupby(["p", "run", "task"]):
        assert np.array_equal(g["best"], np.minimum.accumulate(g["y"]))
    with pytest.raises(ValueError, match="cannot be reached"):
        Protocol(initial=6, evaluations=11).iterations(2)


@pytest.mark.parametrize("method", ["single_rbf", "bay_mrbfcor", "rbf_adaptive", "gp"])
def test_a_run_in_the_batch_is_the_run_alone(method):
    """Every draw of a run comes from its own seeds, and every fit of a batch is separable:
    run 1 of a batch of problems and runs takes the same path (points, values, best) as run 1
    alone, to float64 rounding."""
    protocol = Protocol(initial=6, evaluations=10, swarm=Swarm(particles=8, iterations=4))
    if method == "gp":
        pytest.importorskip("botorch")
        surrogate = GPSurrogate(steps=30, warm_steps=5, refit_every=2)
    else:
        surrogate = small(method)
    tasks = surrogate.n_tasks
    batch = streams(problems(), 3, method, tasks, 5)
    rows = optimise(batch, surrogate, protocol)
    alone = optimise([batch[2 // tasks]], surrogate, protocol)  # run 1's (first) stream
    mine = rows[(rows["p"] == 1.0) & (rows["run"] == 1)].reset_index(drop=True)
    mine = mine[mine["task"].isin(alone["task"])].reset_index(drop=True)
    assert len(mine) == len(alone) == tasks * 10
    for col in ("y", "y_true", "best"):
        np.testing.assert_allclose(mine[col], alone[col], rtol=1e-7, atol=1e-9)
    # and the runs differ from one another
    other = rows[(rows["p"] == 1.0) & (rows["run"] == 2) & rows["task"].isin(alone["task"])]
    other = other["y"].to_numpy()
    assert not np.allclose(other, mine["y"].to_numpy())


def test_gaussian_process_baseline_runs_the_protocol():
    pytest.importorskip("botorch")
    protocol = Protocol(initial=6, evaluations=10, swarm=Swarm(particles=8, iterations=4))
    surrogate = Counting(GPSurrogate(steps=30, warm_steps=5, refit_every=2))
    rows = optimise(streams(problems(), 2, "gp", 1, 5), surrogate, protocol)
    assert surrogate.fits == 4
    assert (rows.groupby(["p", "run", "task"]).size() == 10).all()
    # a batch of two runs of a smooth function: the fitted GPs interpolate their points (noise
    # is small) and are surer at them than far from them
    rng = np.random.default_rng(0)
    x = rng.random((2, 30, 2))
    y = np.sin(3 * x[..., :1]) + x[..., 1:] ** 2
    seeds = [np.random.SeedSequence(1), np.random.SeedSequence(2)]
    fitted = GPSurrogate(steps=400).fit(x, y, seeds)
    mean, sd = fitted(torch.as_tensor(x))
    np.testing.assert_allclose(mean.numpy(), y, atol=0.02)
    _, far = fitted(torch.full((2, 1, 2), 3.0, dtype=F64))
    assert (far.squeeze() > 10 * sd.amax((1, 2))).all()


def test_readme_example_runs():
    """The code block of the README's "The CLL paper's Table 2" section, as printed there."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The CLL paper's Table 2", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    rows = namespace["rows"]
    assert set(rows["p"]) == {1.0, 0.5} and set(rows["run"]) == {0, 1, 2}
    assert (rows.groupby(["p", "run", "task"]).size() == 20).all()


def test_the_code_defaults_are_the_schemas():
    """A block without some keys (the README's example, a script) gets the schema's
    defaults, which the workflow fills in: the two must not drift apart."""
    import yaml

    from asp.experiments.bayesopt import DEFAULT_TASKS, protocol_from_config
    from asp.experiments.surrogates import make_surrogate

    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    props = schema["properties"]["bayesopt"]["properties"]

    def defaults(node: dict) -> dict:
        return {k: v.get("default") for k, v in node["properties"].items()}

    ens = defaults(props["ensemble"])
    surrogate = make_surrogate("rbf_adaptive", {})
    assert surrogate.members == ens["members"] and surrogate.centres == ens["centres"]
    assert (surrogate.epochs, surrogate.patience) == (ens["epochs"], ens["patience"])
    assert (surrogate.batch_size, surrogate.lr) == (ens["batch_size"], ens["lr"])
    assert surrogate.kmeans_starts == ens["kmeans_starts"]
    rounds = defaults(props["ensemble"]["properties"]["rounds"])
    assert (surrogate.round_epochs, surrogate.round_patience) == (
        rounds["max_epochs"],
        rounds["patience"],
    )
    assert surrogate.values == defaults(props["hyperparameters"])
    gp = make_surrogate("gp", {})
    assert {k: getattr(gp, k) for k in defaults(props["gp"])} == defaults(props["gp"])
    protocol = protocol_from_config({})
    assert (protocol.initial, protocol.evaluations) == (
        props["initial"]["default"],
        props["evaluations"]["default"],
    )
    swarm = defaults(props["swarm"])
    assert (protocol.swarm.particles, protocol.swarm.iterations) == (
        swarm["particles"],
        swarm["iterations"],
    )
    tasks = defaults(props["tasks"])
    for k in ("scale", "alphas", "betas", "noise_sd"):
        assert np.allclose(DEFAULT_TASKS[k], tasks[k])
