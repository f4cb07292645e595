"""Estimators for the methods of ``asp.engine.methods``: scikit-learn regressors (``BaseEstimator``
and ``RegressorMixin``), so that ``clone``, ``Pipeline``, ``GridSearchCV`` and
``cross_val_score`` work, and scikit-learn's ``check_estimator`` passes.

``fit(X, Y)`` does what the workflow does for a case study: it splits the rows into training,
validation and test parts and min-max scales them
(``asp.experiments.replicates.observed_replicate``, with the seeds of
``asp.engine.seeds.replicate_seeds(random_state, dataset, n, r)``), builds a job with
``asp.experiments.jobs.methods_job`` and trains it through ``asp.experiments.jobs.run_both``,
the workflow's own entry point. A fit therefore equals the workflow's fit of the same replicate,
data, settings (``compile`` included) and seeds bit for bit, and there is no second training
loop. ``predict`` scales new inputs with each replicate's training scalers and returns the
predictions in the targets' own units.

One class, :class:`MultiTaskRegressor`, trains any registered method; the named classes
(:class:`AdaptiveSoftSharing`, :class:`SoftSharing`, :class:`IndependentNets`,
:class:`HardSharing`, :class:`CrossStitch`, :class:`CorrelationLayer`) fix its method and take
only the parameters that method uses.
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError  # noqa: F401 (predict before fit raises it)
from sklearn.utils.validation import check_is_fitted, validate_data

from asp.engine.methods import SCHEDULES, get_method
from asp.engine.metrics import METRICS
from asp.engine.networks import OUTPUTS
from asp.engine.preprocessing import split_sizes
from asp.engine.seeds import replicate_seeds
from asp.experiments.jobs import DTYPES, CellResult, methods_job, run_both
from asp.experiments.replicates import observed_replicate, resolve_device

# Defaults of the sharing hyper-parameters. Inputs and targets are min-max scaled to [0, 1] as
# in the paper, so the magnitudes of its values carry over to other data: these are round
# values near the Nanjing air case study's (lambda 0.0115, lambda* 0.0071, theta 0.045, paper
# Table 8), the real data closest to a user's, and near the geometric mean of the paper's MSE
# values over all five data sets (Tables 1, 8 and 10: 0.0065, 0.0023, 0.044). lambda* is half
# of lambda, about the median ratio of the paper's values (0.44); theta 0.05 gives 20 rounds.
LAMBDA = 0.01
LAMBDA_STAR = 0.005
THETA = 0.05
# batch_size="auto": the workflow's mini-batch of 32 rows, or all training rows where there are
# fewer (as scikit-learn's MLPRegressor takes min(200, n_samples)).
AUTO_BATCH_SIZE = 32
# The fewest rows the train/validation/test split can take: one row in each part.
MIN_ROWS = 3


def _validated(estimator: BaseEstimator, X: Any, Y: Any = "no_validation", **kw) -> Any:
    """scikit-learn's ``validate_data`` (its messages, feature count and names), float64 and
    dense; a NaN or infinity is reported with the row it is in, which scikit-learn's message
    leaves out."""
    try:
        return validate_data(estimator, X, Y, dtype=np.float64, **kw)
    except ValueError as e:
        if "NaN" in str(e) or "infinity" in str(e):
            given = (X,) if isinstance(Y, str) else (X, Y)  # Y "no_validation": predict's
            for a in given:
                bad = ~np.isfinite(np.asarray(a, dtype=np.float64))
                if bad.ndim and bad.any():
                    row = int(np.argwhere(bad)[0][0])
                    first = str(e).splitlines()[0]  # the rest: scikit-learn's advice
                    raise ValueError(
                        f"{first} {int(bad.sum())} such values, the first in row {row}: "
                        "remove or impute them first"
                    ) from None
        raise


def _per_replicate(values: np.ndarray, n: int) -> Any:
    """A value per replicate: a scalar for one replicate, the array for several."""
    values = np.asarray(values)
    return values[0].item() if n == 1 else values


class MultiTaskRegressor(RegressorMixin, BaseEstimator):
    """A multi-task network of any registered method (``asp.engine.methods``), for K targets at
    once.

    Parameters (each stored as given; checked in ``fit``):

    method: a registered method: ``adaptive`` (the paper's), ``soft``, ``ffn``, ``hard``,
        ``cross_stitch``, ``cll``, ``cll_leaky``, ``soft_extended``, ``l2_only``, ``mean_only``.
    hidden: hidden layer widths of each task network (the paper's 4 and 3).
    lam, lam_star, theta: the sharing penalty's coefficient (soft and round 0), its
        coefficient in the adaptive rounds, and the share of penalty terms pruned per round
        (floor(1/theta) rounds); used by the methods that have them. Defaults: see
        ``LAMBDA``, ``LAMBDA_STAR`` and ``THETA`` in this module (near the paper's values for
        min-max scaled data).
    schedule: ``constant`` lambda* in every round, or ``proportional`` to the share of terms
        still active.
    output: ``linear`` output layer, or ``sigmoid`` (the case studies: predictions stay in
        the range of the training targets).
    metric: ``mse`` or ``mae``, the validation metric of early stopping and round selection.
    batch_size, max_epochs, patience: Adam mini-batches and early stopping of stage 0 (soft,
        and every method trained from scratch); the workflow's ``training`` settings.
        ``batch_size="auto"`` is the workflow's 32 rows, or all training rows where there
        are fewer (49 % of the rows train); a number larger than the training rows is refused.
    round_max_epochs, round_patience: the same for each adaptive round.
    replicates: fits trained as one batch, on the splits and initial weights of replicates
        0 .. replicates-1; ``predict`` averages them.
    random_state: the base seed; with ``dataset`` and the number of rows it gives every
        replicate's split, initial weights and mini-batch order (``asp.engine.seeds``).
    dataset: the name the seeds are drawn under. ``dataset="air"`` and ``random_state`` equal
        to the config's ``base_seed`` reproduce the workflow's fits of that case study.
    compile: compile the fused training step with TorchInductor (seconds once, then faster).
    dtype: ``float32`` or ``float64``, the training precision.
    device: ``cpu``, ``cuda`` or ``auto``.

    Fitted attributes (a scalar per attribute with one replicate, an array of one value per
    replicate otherwise; losses on the min-max scaled targets, as the workflow's rows):

    history_: the validation metric per epoch (stage 0, then the adaptive rounds back to back);
        with several replicates an array (replicates, epochs), NaN after a fit's last epoch.
    n_epochs_: epochs trained (stage 0 and rounds). val_loss_: the selected weights'
        validation metric. test_loss_: their metric on the held-out test split.
    t_star_, theta_star_: the selected round and t* x theta (adaptive-round methods only).
    diverged_: whether a fit's loss became NaN or infinite.
    rows_: the workflow's rows of these fits (one per replicate), as its fits files hold them.
    n_features_in_, n_tasks_: M and K. network_, params_, x_scalers_, y_scalers_: what
    ``predict`` uses (the network family, each replicate's selected weights and scalers).
    """

    def __init__(
        self,
        method: str = "adaptive",
        hidden: tuple[int, ...] = (4, 3),
        lam: float = LAMBDA,
        lam_star: float = LAMBDA_STAR,
        theta: float = THETA,
        schedule: str = "constant",
        output: str = "linear",
        metric: str = "mse",
        batch_size: int | str = "auto",
        max_epochs: int = 600,
        patience: int = 100,
        round_max_epochs: int = 100,
        round_patience: int = 10,
        replicates: int = 1,
        random_state: int = 0,
        dataset: str = "arrays",
        compile: bool = False,
        dtype: str = "float32",
        device: str = "cpu",
    ):
        self.method = method
        self.hidden = hidden
        self.lam = lam
        self.lam_star = lam_star
        self.theta = theta
        self.schedule = schedule
        self.output = output
        self.metric = metric
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.round_max_epochs = round_max_epochs
        self.round_patience = round_patience
        self.replicates = replicates
        self.random_state = random_state
        self.dataset = dataset
        self.compile = compile
        self.dtype = dtype
        self.device = device

    def __sklearn_tags__(self) -> Any:
        """A regressor of one or several targets; no NaN in X (scikit-learn's defaults
        otherwise); ``poor_score``, see below."""
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        # scikit-learn's check_regressors_train asks for R² > 0.5 on 200 rows with one
        # informative input of ten and much noise (a linear fit: 0.81). At the defaults, the
        # paper's patience of 100 epochs, a (4, 3) network stops on its first plateau there,
        # predicting about the mean (R² near 0); with max_epochs=3000, patience=500 it reaches
        # 0.78. The defaults stay the paper's protocol, so the score is declared poor.
        tags.regressor_tags.poor_score = True
        return tags

    def _value(self, name: str) -> Any:
        """A parameter, or the generic default where this class does not take it (a named
        class fixes ``method`` and leaves out what its method does not use)."""
        default = inspect.signature(MultiTaskRegressor.__init__).parameters[name].default
        return getattr(self, name, default)

    # -- fitting ---------------------------------------------------------------------------------

    def _checked(self, n_rows: int) -> dict[str, Any]:
        """Every parameter, checked, with messages that name it."""
        v = {name: self._value(name) for name in MultiTaskRegressor._get_param_names()}
        get_method(v["method"])  # an unknown method names the known ones
        hidden = v["hidden"]
        if isinstance(hidden, int) or not all(
            isinstance(h, (int, np.integer)) and h >= 1 for h in hidden
        ):
            raise ValueError(f"hidden must be a sequence of positive layer widths, got {hidden!r}")
        choices = {
            "schedule": SCHEDULES,
            "output": OUTPUTS,
            "metric": METRICS,
            "dtype": tuple(DTYPES),
            "device": ("auto", "cpu", "cuda"),
        }
        for name, allowed in choices.items():
            if v[name] not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {v[name]!r}")
        for name in ("lam", "lam_star"):
            if not v[name] >= 0:
                raise ValueError(f"{name} must be >= 0, got {v[name]!r}")
        if not 0 < v["theta"] <= 1:
            raise ValueError(f"theta must be in (0, 1], got {v['theta']!r}")
        counts = ("max_epochs", "patience", "round_max_epochs", "round_patience", "replicates")
        if v["batch_size"] != "auto":
            counts = ("batch_size", *counts)
        for name in counts:
            if not isinstance(v[name], (int, np.integer)) or v[name] < 1:
                raise ValueError(f"{name} must be a positive integer, got {v[name]!r}")
        if not isinstance(v["random_state"], (int, np.integer)) or v["random_state"] < 0:
            raise ValueError(f"random_state must be an integer >= 0, got {v['random_state']!r}")
        n_train = split_sizes(n_rows)[0]  # fit asks for at least MIN_ROWS, which split
        if v["batch_size"] == "auto":
            v["batch_size"] = min(AUTO_BATCH_SIZE, n_train)
        # The workflow refuses this too: a mini-batch larger than the training rows would be
        # full-batch training under another name.
        elif v["batch_size"] > n_train:
            raise ValueError(
                f"batch_size {v['batch_size']} exceeds the {n_train} training rows of the "
                f"{n_rows} rows of X (49 % train, 21 % validation, 30 % test); "
                f"set batch_size <= {n_train}"
            )
        resolve_device(v["device"])
        return v

    def fit(self, X: Any, Y: Any) -> MultiTaskRegressor:
        """Train on X (n, M) and Y (n, K) through the workflow's entry point; returns the
        estimator. Y of one column, or (n,), is one task: the sharing methods then have
        nothing to share and train one network (so that scikit-learn's single-target tools
        work); ``predict`` returns the shape Y had."""
        x, y = _validated(
            self, X, Y, multi_output=True, y_numeric=True, ensure_min_samples=MIN_ROWS
        )
        single = y.ndim == 1
        y = y.reshape(len(y), -1)
        v = self._checked(len(x))
        n, reps = len(x), v["replicates"]
        replicates = [
            observed_replicate(x, y, replicate_seeds(v["random_state"], v["dataset"], n, r), r)
            for r in range(reps)
        ]
        stage0 = {k: v[k] for k in ("batch_size", "max_epochs", "patience", "compile")}
        rounds = {
            "batch_size": v["batch_size"],
            "max_epochs": v["round_max_epochs"],
            "patience": v["round_patience"],
            "compile": v["compile"],
        }
        values = {"lambda": v["lam"], "lambda_star": v["lam_star"], "theta": v["theta"]}
        job = methods_job(
            replicates,
            [v["method"]],
            values,
            stage0,
            rounds,
            metric=v["metric"],
            dtype=v["dtype"],
            device=v["device"],
            hidden=[int(h) for h in v["hidden"]],
            output=v["output"],
            schedule=v["schedule"],
            dataset=v["dataset"],
            n=n,
        )
        results = {r.cell["method"]: r for r in run_both(job, replicates)}
        self._store(results, v, replicates, single)
        return self

    def _store(self, results: dict[str, CellResult], v: dict, replicates: list, single: bool):
        """The fitted attributes from the job's results."""
        method = get_method(v["method"])
        mine = results[method.name]
        reps = len(replicates)
        rows = mine.rows.reset_index(drop=True)
        self.rows_ = rows
        self.n_tasks_ = replicates[0].data.y_train.shape[1]
        self._single_target = single
        self.network_ = mine.network
        self.params_ = [p.detach().cpu() for p in mine.params]
        self.x_scalers_ = [r.data.x_scaler for r in replicates]
        self.y_scalers_ = [r.data.y_scaler for r in replicates]
        key = f"val_{v['metric']}"
        # Each fit's column holds its own epochs first, NaN after; the adaptive-round methods
        # continue the fits of the method they start from.
        if not method.adaptive:
            pieces = [(mine.curves[key], mine.curves["epochs"])]
        else:
            start = results[method.starts_from]
            pieces = [
                (start.curves[key], start.curves["epochs"]),
                (mine.curves[key], mine.curves["round_epochs"].sum(axis=1)),
            ]
            self.t_star_ = _per_replicate(rows["t_star"].to_numpy(), reps)
            self.theta_star_ = _per_replicate(rows["theta_star"].to_numpy(), reps)
        history = [
            np.concatenate([curve[: int(epochs[r]), r] for curve, epochs in pieces])
            for r in range(reps)
        ]
        padded = np.full((reps, max(len(h) for h in history)), np.nan)
        for r, h in enumerate(history):
            padded[r, : len(h)] = h
        self.history_ = padded[0] if reps == 1 else padded
        self.n_epochs_ = _per_replicate(rows["epochs"].to_numpy(), reps)
        self.val_loss_ = _per_replicate(rows["val_best"].to_numpy(), reps)
        self.test_loss_ = _per_replicate(rows[f"test_{v['metric']}"].to_numpy(), reps)
        self.diverged_ = _per_replicate(rows["diverged"].to_numpy(), reps)
        if rows["diverged"].any():
            warnings.warn(
                f"{int(rows['diverged'].sum())} of {reps} fits diverged (their test loss is "
                "NaN); a smaller lam or lam_star may help",
                RuntimeWarning,
                stacklevel=3,
            )

    # -- prediction ------------------------------------------------------------------------------

    def _predictions(self, X: Any) -> np.ndarray:
        """(replicates, n, K) predictions in the targets' units."""
        check_is_fitted(self)
        x = _validated(self, X, reset=False)
        # Each replicate scales with the min and max of its own training rows, as in fit.
        scaled = np.stack([s.transform(x) for s in self.x_scalers_])
        # in the weights' own dtype (that of the fit, whatever dtype is set to since)
        inputs = torch.as_tensor(scaled, dtype=self.params_[0].dtype)
        with torch.no_grad():
            pred = self.network_.predict(self.params_, inputs)
        pred = pred.numpy().astype(np.float64)
        return np.stack(
            [s.inverse_transform(p) for s, p in zip(self.y_scalers_, pred, strict=True)]
        )

    def predict(
        self, X: Any, return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predictions (n, K) in the targets' own units ((n,) if Y was one column): the mean
        over the replicates, and with ``return_std`` also their standard deviation over the
        replicates (0 for one replicate)."""
        pred = self._predictions(X)
        mean, std = pred.mean(axis=0), pred.std(axis=0)
        if self._single_target:
            mean, std = mean[:, 0], std[:, 0]
        return (mean, std) if return_std else mean


class AdaptiveSoftSharing(MultiTaskRegressor):
    """The paper's adaptive soft parameter sharing (Algorithm 1): soft sharing at ``lam``,
    then floor(1/theta) rounds that each prune the largest share ``theta`` of the penalty terms
    and retrain at ``lam_star``; the round with the lowest validation metric is kept.

    Defaults: lam 0.01, lam_star 0.005, theta 0.05 (20 rounds). The paper tunes them per data
    set on min-max scaled data, as the estimator's are; these are round values near its Nanjing
    air case study's (0.0115, 0.0071, 0.045, Table 8) and the geometric mean of its MSE values
    over all five data sets (0.0065, 0.0023, 0.044), lam_star about the median ratio of its
    values to lam (0.44). For your data, tune them on ``val_loss_``. Parameters and fitted
    attributes: see :class:`MultiTaskRegressor`.
    """

    method = "adaptive"

    def __init__(
        self,
        hidden: tuple[int, ...] = (4, 3),
        lam: float = LAMBDA,
        lam_star: float = LAMBDA_STAR,
        theta: float = THETA,
        schedule: str = "constant",
        output: str = "linear",
        metric: str = "mse",
        batch_size: int | str = "auto",
        max_epochs: int = 600,
        patience: int = 100,
        round_max_epochs: int = 100,
        round_patience: int = 10,
        replicates: int = 1,
        random_state: int = 0,
        dataset: str = "arrays",
        compile: bool = False,
        dtype: str = "float32",
        device: str = "cpu",
    ):
        self.hidden = hidden
        self.lam = lam
        self.lam_star = lam_star
        self.theta = theta
        self.schedule = schedule
        self.output = output
        self.metric = metric
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.round_max_epochs = round_max_epochs
        self.round_patience = round_patience
        self.replicates = replicates
        self.random_state = random_state
        self.dataset = dataset
        self.compile = compile
        self.dtype = dtype
        self.device = device


class SoftSharing(MultiTaskRegressor):
    """Soft parameter sharing: per-task networks with the penalty lam Σ (w_j − w̄)² (paper
    eq. 2.3/2.4). Default lam 0.01, as :class:`AdaptiveSoftSharing`. Parameters and fitted
    attributes: see :class:`MultiTaskRegressor`."""

    method = "soft"

    def __init__(
        self,
        hidden: tuple[int, ...] = (4, 3),
        lam: float = LAMBDA,
        output: str = "linear",
        metric: str = "mse",
        batch_size: int | str = "auto",
        max_epochs: int = 600,
        patience: int = 100,
        replicates: int = 1,
        random_state: int = 0,
        dataset: str = "arrays",
        compile: bool = False,
        dtype: str = "float32",
        device: str = "cpu",
    ):
        self.hidden = hidden
        self.lam = lam
        self.output = output
        self.metric = metric
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.replicates = replicates
        self.random_state = random_state
        self.dataset = dataset
        self.compile = compile
        self.dtype = dtype
        self.device = device


class _SharedByShape(MultiTaskRegressor):
    """The methods without a sharing penalty (no lam): they share by their network's shape,
    or not at all."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (4, 3),
        output: str = "linear",
        metric: str = "mse",
        batch_size: int | str = "auto",
        max_epochs: int = 600,
        patience: int = 100,
        replicates: int = 1,
        random_state: int = 0,
        dataset: str = "arrays",
        compile: bool = False,
        dtype: str = "float32",
        device: str = "cpu",
    ):
        self.hidden = hidden
        self.output = output
        self.metric = metric
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.replicates = replicates
        self.random_state = random_state
        self.dataset = dataset
        self.compile = compile
        self.dtype = dtype
        self.device = device


class IndependentNets(_SharedByShape):
    """K independent single-task networks (the paper's FFN, lam = 0)."""

    method = "ffn"


class HardSharing(_SharedByShape):
    """Hard parameter sharing: hidden layers shared by the tasks, one output head per task."""

    method = "hard"


class CrossStitch(_SharedByShape):
    """Per-task networks mixed by learned K x K cross-stitch units after each hidden layer."""

    method = "cross_stitch"


class CorrelationLayer(_SharedByShape):
    """Per-task networks followed by a learned K -> K correlation learning layer."""

    method = "cll"
