"""The tune stage: search ranges, reproducible and resumable studies, batched objectives."""

import math

import optuna
import pytest
import torch
from conftest import replicates
from optuna.trial import TrialState

from asp.engine.methods import HyperParams
from asp.engine.training import TrainSettings
from asp.experiments.replicates import Batch, train_rounds, train_stage0
from asp.experiments.tuning import SearchPlan, SearchSpace, TrialResult, Tuner, optimise

optuna.logging.set_verbosity(optuna.logging.WARNING)
CPU = torch.device("cpu")
SPACE = SearchSpace({"lambda": (1e-4, 1e-1)})


def tune_job(stage0: dict, rounds: dict, metric: str = "mse") -> dict:
    """A tune job's keys as asp.pipeline.planning writes them, for two simulated case-1
    replicates."""
    return {
        "dataset": "case1",
        "metric": metric,
        "n": 200,
        "replicates": [0, 1],
        "base_seed": 7,
        "device": "cpu",
        "dtype": "float64",
        "hidden": [4, 3],
        "output": "linear",
        "stage0": stage0 | {"compile": False},
        "rounds": rounds | {"compile": False},
        "schedule": "constant",
    }


def bowl(calls: list[int]):
    """A cheap objective with its minimum at lambda = 1e-2; records each wave's size."""

    def evaluate(wave):
        calls.append(len(wave))
        return [TrialResult((math.log10(p["lambda"]) + 2) ** 2, {"wave": len(calls)}) for p in wave]

    return evaluate


def params(study: optuna.Study) -> list[float]:
    done = study.get_trials(states=(TrialState.COMPLETE,))
    return [t.params["lambda"] for t in sorted(done, key=lambda t: t.number)]


def run(n_trials: int, seed: int = 3, storage: str | None = None, calls=None) -> optuna.Study:
    study = optuna.create_study(
        study_name="s", storage=storage, direction="minimize", load_if_exists=True
    )
    return optimise(
        study, SPACE, SearchPlan(n_trials, 3, 3, seed), bowl([] if calls is None else calls)
    )


def test_search_space_spans_factors_of_the_paper_value():
    space = SearchSpace.around(
        {"lambda": 0.04, "lambda_star": 0.0176, "theta": 0.6},
        ["lambda", "lambda_star", "theta"],
        {"lambda": [0.1, 10], "lambda_star": [0.5, 2], "theta": [0.5, 2]},
    )
    assert space.ranges["lambda"] == pytest.approx((0.004, 0.4))
    assert space.ranges["lambda_star"] == pytest.approx((0.0088, 0.0352))
    assert space.ranges["theta"] == pytest.approx((0.3, 1.0))  # capped: theta <= 1
    dist = space.distributions()["lambda"]
    assert dist.log and (dist.low, dist.high) == pytest.approx((0.004, 0.4))
    with pytest.raises(ValueError, match="theta: empty range"):
        SearchSpace.around({"theta": 0.6}, ["theta"], {"theta": [2, 3]})
    with pytest.raises(ValueError, match="lambda: needs a positive paper value"):
        SearchSpace.around({"lambda": 0.0}, ["lambda"], {"lambda": [0.1, 10]})


def test_same_seed_same_trials_other_seed_other_trials():
    calls: list[int] = []
    a = run(10, seed=3, calls=calls)
    assert calls == [3, 3, 3, 1]  # waves of trials_per_batch, the last one cut to the budget
    assert params(a) == params(run(10, seed=3))
    assert params(a) != params(run(10, seed=4))
    assert len(set(params(a))) == 10
    # TPE after the random start: the best trial is far closer to the optimum than the range
    assert abs(math.log10(a.best_params["lambda"]) + 2) < 0.5


class Interrupted(Exception):
    pass


def test_interrupted_study_resumes_to_the_same_trials(tmp_path):
    reference = params(run(9, storage=f"sqlite:///{tmp_path / 'a.db'}"))

    storage = f"sqlite:///{tmp_path / 'b.db'}"
    waves: list[int] = []
    evaluate = bowl(waves)

    def dies_in_third_wave(wave):
        if len(waves) == 2:
            raise Interrupted
        return evaluate(wave)

    study = optuna.create_study(study_name="s", storage=storage, direction="minimize")
    with pytest.raises(Interrupted):
        optimise(study, SPACE, SearchPlan(9, 3, 3, 3), dies_in_third_wave)
    stored = optuna.load_study(study_name="s", storage=storage)
    states = [t.state for t in stored.trials]
    assert states.count(TrialState.COMPLETE) == 6 and states.count(TrialState.RUNNING) == 3

    calls: list[int] = []
    resumed = run(9, storage=storage, calls=calls)  # a new process: the study is loaded
    assert calls == [3]  # only the missing wave is evaluated
    assert [t.state for t in resumed.trials].count(TrialState.FAIL) == 3  # the stale ones
    assert params(resumed) == reference

    calls.clear()
    more = run(12, storage=storage, calls=calls)  # a larger budget continues the study
    assert calls == [3]
    assert params(more) == params(run(12, storage=f"sqlite:///{tmp_path / 'c.db'}"))


def test_diverged_fits_make_a_trial_worst(case1):
    reps = replicates(case1, 150, 2)
    settings = {"batch_size": 32, "max_epochs": 5, "patience": 5}
    tuner = Tuner(tune_job(settings, settings), reps)
    good, bad = tuner.soft_objective([{"lambda": 1e-3}, {"lambda": math.inf}])
    assert math.isfinite(good.value) and bad.value == math.inf


def test_batched_objectives_equal_separate_training(case1, arch):
    """A wave's fits (trials x replicates), trained together through the job entry points, give
    each trial the mean validation metric it gets when trained alone."""
    reps = replicates(case1, 200, 2)
    s0_keys = {"batch_size": 16, "max_epochs": 12, "patience": 4}
    rs_keys = {"batch_size": 16, "max_epochs": 5, "patience": 2}
    s0 = TrainSettings(**s0_keys, metric="mae", compile=False)
    rs = TrainSettings(**rs_keys, metric="mae", compile=False)
    tuner = Tuner(tune_job(s0_keys, rs_keys, "mae"), reps)
    lambdas = [0.002, 0.05, 0.3]
    results = tuner.soft_objective([{"lambda": v} for v in lambdas])
    batch = Batch(reps, [0, 1], arch, CPU, torch.float64)
    for lam, res in zip(lambdas, results, strict=True):
        alone = train_stage0(batch, ["soft"] * 2, [lam, lam], s0)
        assert res.value == pytest.approx(float(alone.best_val.mean()), rel=1e-12)

    wave = [{"lambda_star": 0.01, "theta": 0.5}, {"lambda_star": 0.2, "theta": 0.34}]
    results = tuner.adaptive_objective(0.05)(wave)
    soft = train_stage0(batch, ["soft"] * 2, [0.05, 0.05], s0)
    for p, res in zip(wave, results, strict=True):
        hp = HyperParams(0.05, p["lambda_star"], p["theta"])
        alone = train_rounds(batch, soft, ["adaptive", "adaptive"], hp, rs)
        assert res.value == pytest.approx(float(alone.best_val.mean()), rel=1e-12)
        assert res.attrs["theta_star_median"] == pytest.approx(float(alone.theta_star.median()))
        assert res.value <= float(soft.best_val.mean()) + 1e-15  # round 0 is soft itself


def test_a_worst_trial_is_stored_and_the_search_goes_on(tmp_path):
    def evaluate(wave):
        return [TrialResult(math.inf if p["lambda"] > 1e-2 else p["lambda"]) for p in wave]

    storage = f"sqlite:///{tmp_path / 'inf.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="minimize")
    optimise(study, SPACE, SearchPlan(9, 3, 3, 0), evaluate)
    values = [t.value for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert len(values) == 9 and math.inf in values
    assert study.best_value < 1e-2


def test_history_figure_has_a_panel_per_study_and_skips_diverged_trials():
    import pandas as pd

    from asp.analysis.plots import tuning_history

    rows = [
        {"dataset": d, "metric": m, "phase": ph, "number": i, "value": v, "state": "COMPLETE"}
        for d in ("case1", "air")
        for m in ("mse", "mae")
        for ph in ("soft", "adaptive")
        for i, v in enumerate([0.3, math.inf, 0.2, 0.25])
    ]
    rows.append({**rows[0], "number": 4, "value": float("nan"), "state": "FAIL"})
    fig = tuning_history(pd.DataFrame(rows))
    axes = fig.axes
    assert len(axes) == 8
    points = axes[0].collections[0].get_offsets()
    assert [tuple(p) for p in points] == [(0, 0.3), (2, 0.2), (3, 0.25)]
    best = axes[0].lines[0].get_ydata()
    assert list(best) == [0.3, 0.2, 0.2]


def test_the_paper_values_are_the_first_trial_even_after_an_interrupted_first_wave(tmp_path):
    storage = f"sqlite:///{tmp_path / 'p.db'}"
    paper = {"lambda": 0.05, "lambda_star": 0.3}  # only the searched names are used

    def interrupted(wave):
        raise Interrupted

    study = optuna.create_study(study_name="s", storage=storage, direction="minimize")
    with pytest.raises(Interrupted):
        optimise(study, SPACE, SearchPlan(6, 3, 3, 1), interrupted, first=paper)
    study = optuna.load_study(study_name="s", storage=storage)
    optimise(study, SPACE, SearchPlan(6, 3, 3, 1), bowl([]), first=paper)
    done = sorted(study.get_trials(states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    assert done[0].params == {"lambda": 0.05} and done[0].user_attrs["paper_values"]
    assert not any(t.user_attrs.get("paper_values") for t in done[1:])
    assert study.best_value <= done[0].value
    fresh = optuna.create_study(direction="minimize")
    optimise(fresh, SPACE, SearchPlan(6, 3, 3, 1), bowl([]), first=paper)
    assert [t.params for t in fresh.trials] == [t.params for t in done]

    outside = optuna.create_study(direction="minimize")
    notes: list[str] = []
    optimise(outside, SPACE, SearchPlan(3, 3, 3, 1), bowl([]), notes.append, first={"lambda": 1.0})
    assert "not tried first" in notes[0] and outside.trials[0].params != {"lambda": 1.0}


def test_a_search_space_within_absolute_ranges():
    space = SearchSpace.within(
        ["lambda_star", "theta"],
        {"lambda_star": [1e-4, 1e-1], "theta": [0.01, 0.5], "lambda": [1, 2]},
    )
    assert space.ranges == {"lambda_star": (1e-4, 1e-1), "theta": (0.01, 0.5)}
    with pytest.raises(ValueError, match="theta: empty range"):
        SearchSpace.within(["theta"], {"theta": [0.5, 0.1]})
