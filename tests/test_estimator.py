"""The Python API (asp.estimator): the README's examples, equality with the workflow's fits,
predictions in the data's units, and scikit-learn's own estimator checks, Pipeline and
GridSearchCV."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import ROOT
from sklearn.base import clone, is_regressor
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import asp
from asp.engine.methods import cell as job_cell
from asp.engine.preprocessing import split_indices
from asp.engine.seeds import replicate_seeds
from asp.experiments.jobs import job_replicates, methods_job, run_both
from asp.experiments.replicates import observed_replicate

# Short training for every fit here (eager, few epochs).
SHORT = {
    "batch_size": 16,
    "max_epochs": 25,
    "patience": 5,
    "round_max_epochs": 8,
    "round_patience": 3,
}


def readme_examples() -> list[str]:
    """The code blocks of the README's "Python API" section, as printed there."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


@pytest.fixture(scope="module")
def example() -> dict:
    """The README's first example, run."""
    namespace: dict = {}
    exec(compile(readme_examples()[0], "README.md", "exec"), namespace)
    return namespace


def data(n: int = 200, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 8, size=(n, 4))
    y = np.column_stack([x @ [1, 2, 0.5, 0], x @ [1, 2, 0.4, 0.1]]) + rng.normal(size=(n, 2))
    return x, y


def test_readme_example_runs(example):
    model, mean, std, Y = example["model"], example["mean"], example["std"], example["Y"]
    assert isinstance(model, asp.AdaptiveSoftSharing)
    assert mean.shape == std.shape == (5, 2)
    # in Y's units (tens), not the [0, 1] of the scaled targets
    assert np.all(mean > Y.min(axis=0) - 0.5 * np.ptp(Y, axis=0))
    assert np.all(mean < Y.max(axis=0) + 0.5 * np.ptp(Y, axis=0))
    assert np.abs(mean - Y[:5]).mean() < 0.25 * np.ptp(Y, axis=0).mean()


def test_replicates_give_arrays_and_spread(example):
    model, std = example["model"], example["std"]
    for name in ("t_star_", "theta_star_", "n_epochs_", "val_loss_", "test_loss_", "diverged_"):
        assert np.shape(getattr(model, name)) == (3,), name
    assert set(model.t_star_) <= set(range(6))  # theta 0.2: rounds 0..5
    np.testing.assert_array_equal(model.theta_star_, model.t_star_ * 0.2)
    assert np.all(std > 0)
    assert model.history_.shape == (3, int(model.n_epochs_.max()))
    for r in range(3):  # each replicate's curve holds exactly its epochs, NaN after
        assert np.isfinite(model.history_[r, : model.n_epochs_[r]]).all()
        assert np.isnan(model.history_[r, model.n_epochs_[r] :]).all()
        assert np.nanmin(model.history_[r]) <= model.val_loss_[r]


@pytest.mark.parametrize(
    ("cls", "method", "keys"),
    [
        (asp.AdaptiveSoftSharing, "adaptive", {"output": "sigmoid", "metric": "mae"}),
        (asp.SoftSharing, "soft", {"dtype": "float64"}),
        (asp.CrossStitch, "cross_stitch", {}),
    ],
)
def test_fit_equals_the_workflows_fit(cls, method, keys):
    """The estimator against the workflow's own path for a case study: its arrays read by
    asp.experiments.jobs.job_replicates (as the training script does), a job with the case studies'
    methods and both metrics, trained by run_both. The estimator's fits of the same
    replicates and seeds are the same bit for bit: rows, curves and predictions, with ==."""
    x, y = data()
    hyper = {"lam": 0.02, "lam_star": 0.01, "theta": 0.25}
    params = {**SHORT, **hyper, **keys, "random_state": 11, "dataset": "air", "replicates": 2}
    model = cls(**{k: v for k, v in params.items() if k in cls().get_params()}).fit(x, y)

    job0 = {"dataset": "air", "n": "all", "base_seed": 11, "replicates": [0, 1]}
    reps = job_replicates(job0, {0: (x, y), 1: (x, y)})
    stage0 = {k: SHORT[k] for k in ("batch_size", "max_epochs", "patience")} | {"compile": False}
    rounds = {
        "batch_size": SHORT["batch_size"],
        "max_epochs": SHORT["round_max_epochs"],
        "patience": SHORT["round_patience"],
        "compile": False,
    }
    values = {"lambda": 0.02, "lambda_star": 0.01, "theta": 0.25}
    settings = {"dtype": "float32", "output": "linear"} | keys
    metric = settings.pop("metric", "mse")
    methods = yaml.safe_load((ROOT / "config.yaml").read_text())["case_studies"]["methods"]
    job = methods_job(reps, methods, values, stage0, rounds, dataset="air", **settings)
    job["cells"] += [job_cell("mae", c["method"], values) for c in job["cells"]]
    results = {(r.cell["metric"], r.cell["method"]): r for r in run_both(job, reps)}
    theirs = results[(metric, method)]

    columns = ["replicate", "method", "test_mse", "test_mae", "val_best", "epochs", "best_epoch"]
    columns += ["t_star", "theta_star", "diverged"]
    pd.testing.assert_frame_equal(
        model.rows_[columns], theirs.rows[columns].reset_index(drop=True), check_exact=True
    )
    assert list(model.test_loss_) == list(theirs.rows[f"test_{metric}"])
    assert list(model.val_loss_) == list(theirs.rows["val_best"])
    if method != "adaptive":
        curves = [(theirs.curves[f"val_{metric}"], theirs.curves["epochs"])]
    else:
        assert list(model.t_star_) == list(theirs.rows["t_star"])
        assert list(model.theta_star_) == list(theirs.rows["theta_star"])
        soft = results[(metric, "soft")].curves
        rounds_epochs = theirs.curves["round_epochs"].sum(axis=1)
        curves = [
            (soft[f"val_{metric}"], soft["epochs"]),
            (theirs.curves[f"val_{metric}"], rounds_epochs),
        ]
    for r in range(2):
        expected = np.concatenate([c[: int(e[r]), r] for c, e in curves])
        assert np.array_equal(model.history_[r, : len(expected)], expected)
        assert len(expected) == model.n_epochs_[r]

    # predictions: each replicate's selected weights on X scaled by its own training scalers,
    # the replicates in one call as the estimator makes it (a batched matmul of one replicate
    # alone may round differently from the same replicate in a batch of two, on some CPUs)
    dtype = torch.float64 if settings["dtype"] == "float64" else torch.float32
    scaled = np.stack([rep.data.x_scaler.transform(x) for rep in reps])
    with torch.no_grad():
        out = theirs.network.predict(theirs.params, torch.as_tensor(scaled, dtype=dtype))
    per_rep = [
        rep.data.y_scaler.inverse_transform(out[r].numpy().astype(np.float64))
        for r, rep in enumerate(reps)
    ]
    mean, std = model.predict(x, return_std=True)
    assert np.array_equal(mean, np.mean(per_rep, axis=0))
    assert np.array_equal(std, np.std(per_rep, axis=0))


def test_predictions_in_the_datas_units():
    """Y x 1000 + 50 gives the same fit (min-max scaling removes the units) and predictions
    1000 times larger and shifted: the scaling is inverted."""
    x, y = data(seed=5)
    small = asp.SoftSharing(**{k: SHORT[k] for k in ("batch_size", "max_epochs", "patience")})
    big = asp.SoftSharing(**small.get_params())
    pred = small.fit(x, y).predict(x)
    pred_big = big.fit(x, 1000 * y + 50).predict(x)
    np.testing.assert_allclose(pred_big, 1000 * pred + 50, rtol=1e-4)
    assert pred_big.min() > 1000 * y.min() + 50 - 1000 * np.ptp(y)  # thousands, not [0, 1]
    assert np.abs(pred_big).mean() > 1000
    # sigmoid output: predictions stay within the training targets' range, in their units
    sig = asp.HardSharing(output="sigmoid", batch_size=16, max_epochs=10).fit(x, 1000 * y + 50)
    p = sig.predict(x)
    assert np.all(p >= 1000 * y.min(axis=0) + 50 - 1e-6)
    assert np.all(p <= 1000 * y.max(axis=0) + 50 + 1e-6)
    assert np.ptp(p) > 1


def test_one_target_gives_one_column():
    x, y = data()
    model = asp.IndependentNets(batch_size=16, max_epochs=5).fit(x, y[:, 0])
    assert model.predict(x[:7]).shape == (7,)
    assert model.n_tasks_ == 1 and isinstance(model.n_epochs_, int)
    assert model.history_.shape == (model.n_epochs_,)


def test_get_params_set_params():
    model = asp.AdaptiveSoftSharing(theta=0.1, hidden=(8,), replicates=2)
    params = model.get_params()
    assert params["theta"] == 0.1 and params["hidden"] == (8,) and params["lam"] == 0.01
    assert "method" not in params  # a named class fixes its method
    twin = asp.AdaptiveSoftSharing(**params)
    assert twin.get_params() == params
    assert twin.set_params(lam=0.5, metric="mae") is twin
    assert twin.lam == 0.5 and twin.metric == "mae" and model.lam == 0.01
    with pytest.raises(ValueError, match="'bogus'"):
        twin.set_params(bogus=3)
    with pytest.raises(ValueError, match="'lam'"):
        asp.IndependentNets().set_params(lam=0.1)  # no sharing penalty, no lam
    generic = asp.MultiTaskRegressor(method="cll_leaky")
    assert generic.get_params()["method"] == "cll_leaky"
    assert repr(generic) == "MultiTaskRegressor(method='cll_leaky')"
    # defaults: the config's training block, compile off, float32
    defaults = asp.AdaptiveSoftSharing().get_params()
    expected = {"batch_size": "auto", "max_epochs": 600, "patience": 100, "round_max_epochs": 100}
    expected |= {"round_patience": 10, "metric": "mse", "random_state": 0, "compile": False}
    expected |= {"dtype": "float32", "hidden": (4, 3), "output": "linear", "replicates": 1}
    assert {k: defaults[k] for k in expected} == expected


def test_bad_input_is_named():
    """scikit-learn's messages (its validate_data), and the row of a NaN or infinity."""
    x, y = data()
    model = asp.SoftSharing(batch_size=16, max_epochs=2)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[200, 199\]"):
        model.fit(x, y[:-1])
    bad = x.copy()
    bad[7, 2] = np.nan
    with pytest.raises(
        ValueError, match="Input X contains NaN.* 1 such values, the first in row 7"
    ):
        model.fit(bad, y)
    with pytest.raises(ValueError, match="Input y contains infinity.* the first in row"):
        model.fit(x, np.where(y > 20, np.inf, y))
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        model.fit(x[:, 0], y)
    with pytest.raises(ValueError, match="could not convert string to float"):
        model.fit([["a", "b"]] * 200, y)
    with pytest.raises(asp.estimator.NotFittedError, match="not fitted"):
        model.predict(x)
    with pytest.raises(ValueError, match="batch_size 32 exceeds the 29 training rows"):
        asp.SoftSharing(batch_size=32).fit(x[:60], y[:60])
    with pytest.raises(ValueError, match=r"2 sample\(s\) .* a minimum of 3 is required"):
        asp.SoftSharing().fit(x[:2], y[:2])
    with pytest.raises(ValueError, match="theta must be in"):
        asp.AdaptiveSoftSharing(theta=0, batch_size=16).fit(x, y)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        asp.SoftSharing(batch_size="all").fit(x, y)
    with pytest.raises(ValueError, match="unknown method 'bogus'"):
        asp.MultiTaskRegressor(method="bogus").fit(x, y)
    model.fit(x, y)
    with pytest.raises(ValueError, match="X has 3 features, but SoftSharing is expecting 4"):
        model.predict(x[:, :3])
    with pytest.raises(ValueError, match="Input X contains NaN. 1 such values, the first in row 7"):
        model.predict(bad)


def assert_same_fits(a: asp.MultiTaskRegressor, b: asp.MultiTaskRegressor) -> None:
    """The same rows (every column but the wall times) and the same curves, with ==."""
    times = [c for c in a.rows_.columns if c.endswith("seconds")]
    pd.testing.assert_frame_equal(
        a.rows_.drop(columns=times), b.rows_.drop(columns=times), check_exact=True
    )
    np.testing.assert_array_equal(a.history_, b.history_)


def test_auto_batch_size_is_32_or_every_training_row():
    """batch_size="auto": 32 where there are at least 32 training rows (the same fits as
    batch_size=32: the estimator's numbers did not change), all training rows where fewer."""
    x, y = data()
    short = {"max_epochs": 8, "patience": 3}
    auto, fixed = asp.SoftSharing(**short).fit(x, y), asp.SoftSharing(batch_size=32, **short)
    assert_same_fits(auto, fixed.fit(x, y))
    small = asp.SoftSharing(**short).fit(x[:60], y[:60])  # 29 training rows: one full batch
    every = asp.SoftSharing(batch_size=29, **short).fit(x[:60], y[:60])
    assert_same_fits(small, every)
    assert small.get_params()["batch_size"] == "auto"  # fit changes no parameter


def test_prepared_data_keeps_its_scalers():
    """PreparedData keeps the scalers of its training rows; they invert its scaled arrays."""
    x, y = data()
    seeds = replicate_seeds(0, "arrays", len(x), 0)
    split = split_indices(len(x), np.random.default_rng(seeds["split"]))
    d = observed_replicate(x, y, seeds, 0).data
    np.testing.assert_array_equal(d.x_scaler.low, x[split.train].min(axis=0))
    np.testing.assert_array_equal(d.y_scaler.low, y[split.train].min(axis=0))
    np.testing.assert_allclose(d.y_scaler.inverse_transform(d.y_train), y[split.train])
    np.testing.assert_allclose(d.y_scaler.inverse_transform(d.y_test), y[split.test])
    np.testing.assert_array_equal(d.x_scaler.transform(x[split.val]), d.x_val)


@parametrize_with_checks([getattr(asp, name)() for name in asp.ESTIMATORS])
def test_scikit_learns_estimator_checks(estimator, check, monkeypatch):
    """Every check of scikit-learn's check_estimator, on every exported class at its defaults.
    None is expected to fail; the tags declare the score poor (see __sklearn_tags__). (Its
    array-API check, that dispatch leaves results on NumPy inputs unchanged, runs only with
    SCIPY_ARRAY_API set.)"""
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def test_pipeline_cross_validation_and_grid_search():
    """The estimator in a Pipeline, cross_val_score and GridSearchCV over two parameters."""
    x, y = data()
    model = asp.AdaptiveSoftSharing(theta=0.5, **SHORT)
    assert is_regressor(model) and clone(model).get_params() == model.get_params()
    pipe = make_pipeline(StandardScaler(), model).fit(x, y)
    assert pipe.predict(x[:4]).shape == (4, 2)
    # min-max scaling inside the estimator: a standardised X gives the same predictions
    np.testing.assert_allclose(pipe.predict(x), clone(model).fit(x, y).predict(x), rtol=1e-5)
    # each fold's score is the R² of a clone fitted on the other folds (KFold, unshuffled)
    scores = cross_val_score(model, x, y, cv=3)
    for score, (train, test) in zip(scores, KFold(3).split(x), strict=True):
        assert score == clone(model).fit(x[train], y[train]).score(x[test], y[test])

    grid = {"theta": [0.25, 0.5], "lam": [0.001, 0.02]}
    search = GridSearchCV(model, grid, cv=3).fit(x, y)
    means = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(means)) and len(means) == 4
    best = search.cv_results_["params"][int(np.argmax(means))]
    assert search.best_params_ == best and search.best_score_ == means.max()
    assert search.best_estimator_.theta == best["theta"]
    assert np.isfinite(search.score(x, y))


def test_readme_grid_search_example(example):
    """The README's second example, after its first: GridSearchCV over theta, at the
    defaults."""
    namespace = dict(example)
    exec(compile(readme_examples()[1], "README.md", "exec"), namespace)
    search = namespace["search"]
    means = search.cv_results_["mean_test_score"]
    best = search.cv_results_["params"][int(np.argmax(means))]
    assert search.best_params_ == best and search.best_score_ == means.max()
    assert np.all((0.9 < means) & (means < 1))  # the R² the README states, 0.96 for either
