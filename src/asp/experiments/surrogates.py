"""Surrogate models of Bayesian optimisation (asp.experiments.bayesopt): each fits G data sets at
once (the runs of a problem) and predicts a mean and a spread for every task.

- :class:`EnsembleSurrogate`: an ensemble of networks of a registered method (``single_rbf``,
  ``rbf_soft`` = RMLA, ``bay_mrbfcor``, ``rbf_adaptive``), trained by the workflow's own engine
  (``asp.experiments.jobs.run_both``): every member of every run is one fit of one batch. A network
  gives no predictive spread, so each member trains on its own bootstrap resample of the run's
  points (rows drawn with replacement); the ensemble's mean and standard deviation are the
  surrogate's. Each member's validation rows (early stopping and the adaptive rounds' selection) are
  all of the run's points. Targets are min-max scaled per run and task (as every fit of the engine
  is), inputs arrive scaled to the unit box.
- :class:`GPSurrogate`: what a Bayesian-optimisation user would pick instead: BoTorch's
  ``SingleTaskGP`` (a Matern-5/2 kernel with a length scale per input, fitted by maximum
  marginal likelihood), one independent GP per task, batched over the runs. BoTorch is an
  optional dependency (the workflow's ``bayesopt`` extra).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import numpy as np
import torch

from asp.engine.methods import get_method
from asp.engine.preprocessing import PreparedData
from asp.engine.seeds import child
from asp.experiments.jobs import methods_job, run_both
from asp.experiments.replicates import Replicate

# (mean, sd), each (G, Q, T), of queries (G, Q, D)
Predictor = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class Surrogate(Protocol):
    """What asp.experiments.bayesopt.optimise asks of a surrogate: its name, the tasks one model
    predicts (1: one optimisation per task, 2: both tasks at once), and a fit of G runs' points x
    (G, n, D) in [0, 1] and targets y (G, n, T) returning a predictor of (mean, sd), each (G, Q, T),
    at queries (G, Q, D). ``previous`` is the last iteration's predictor (a surrogate may start from
    it); ``seeds[g]`` is run g's stream for this fit."""

    method: str

    @property
    def n_tasks(self) -> int: ...

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        seeds: list[np.random.SeedSequence],
        previous: Predictor | None = None,
    ) -> Predictor: ...


def _scale_targets(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y (G, n, T) min-max scaled per run and task, with the low and span to undo it."""
    low = y.min(axis=1, keepdims=True)
    span = y.max(axis=1, keepdims=True) - low
    span = np.where(span > 0, span, 1.0)
    return (y - low) / span, low, span


@dataclass(frozen=True)
class EnsembleSurrogate:
    """``members`` networks of ``method`` per run. Training: Adam at ``lr``, mini-batches of
    ``batch_size`` rows (all of them while a run has fewer), at most ``epochs`` epochs with
    early stopping after ``patience`` (validation on all of the run's points); the adaptive
    rounds (``rbf_adaptive``) run ``round_epochs`` epochs each at most. ``centres`` Gaussian
    units from a k-means of ``kmeans_starts`` starts. ``values``: lambda, lambda_star, theta."""

    method: str
    members: int
    centres: int
    epochs: int
    patience: int
    round_epochs: int
    round_patience: int
    batch_size: int
    lr: float
    values: dict
    kmeans_starts: int = 1
    compile: bool = False
    dtype: str = "float32"

    @property
    def n_tasks(self) -> int:
        return surrogate_tasks(self.method)

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        seeds: list[np.random.SeedSequence],
        previous: Predictor | None = None,
    ) -> Predictor:
        """Train on x (G, n, D) in [0, 1] and y (G, n, T); ``seeds[g]`` draws run g's
        bootstrap rows, initial centres and mini-batch orders. Every fit starts afresh
        (``previous``, the last iteration's predictor, is not used)."""
        get_method(self.method)
        scaled, low, span = _scale_targets(y)
        reps = []
        for g, seq in enumerate(seeds):
            # Every member of a run starts from the same centres, one k-means of all the run's
            # points (the RBF families compute it once, not once per member); the members
            # differ in their bootstrap rows and mini-batch orders.
            init = child(seq, self.members)
            for m in range(self.members):
                stream = child(seq, m)
                rows = np.random.default_rng(child(stream, 0)).integers(0, len(x[g]), len(x[g]))
                data = PreparedData(x[g][rows], scaled[g][rows], x[g], scaled[g], x[g], scaled[g])
                streams = {"data": child(stream, 1), "split": child(stream, 2), "init": init}
                streams["batches"] = child(stream, 3)
                reps.append(Replicate(len(reps), streams, data, start_inputs=x[g]))
        # the first fits of a small initial design may have fewer rows than a mini-batch
        batch = min(self.batch_size, x.shape[1])
        training = {"batch_size": batch, "compile": self.compile, "lr": self.lr}
        job = methods_job(
            reps,
            [self.method],
            self.values,
            training | {"max_epochs": self.epochs, "patience": self.patience},
            training | {"max_epochs": self.round_epochs, "patience": self.round_patience},
            rbf_centres=[self.centres],
            kmeans_starts=self.kmeans_starts,
            dtype=self.dtype,
            dataset="bayesopt",
        )
        with warnings.catch_warnings():
            # a bootstrap resample of few points can hold fewer distinct rows than centres:
            # k-means then places some centres on the same points, which is harmless here
            warnings.filterwarnings("ignore", message="Number of distinct clusters")
            result = next(r for r in run_both(job, reps) if r.cell["method"] == self.method)
        params = [p.detach() for p in result.params]
        network, n_members = result.network, self.members
        low_t, span_t = torch.as_tensor(low), torch.as_tensor(span)

        def predict(q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            inputs = q.to(params[0].dtype).repeat_interleave(n_members, 0)  # fit g * M + m
            with torch.no_grad():
                pred = network.predict(params, inputs).to(torch.float64)
            pred = pred.unflatten(0, (len(q), n_members))  # (G, M, Q, T)
            mean, sd = pred.mean(1), pred.std(1, correction=0)
            return mean * span_t + low_t, sd * span_t

        return predict


@dataclass(frozen=True)
class GPSurrogate:
    """BoTorch's SingleTaskGP, one independent GP per task and run (outputs standardised).
    Its hyper-parameters are fitted on the marginal likelihood by Adam at ``lr``: ``steps``
    steps from GPyTorch's defaults at the first iteration, then ``warm_steps`` from the last
    values at every ``refit_every``-th iteration; in between the GP conditions on the new
    points with the hyper-parameters it has (a common economy of Bayesian optimisation).
    Adam's update is elementwise and the summed likelihood separable, so each run of a batch
    is fitted as it would be alone (a batched L-BFGS would couple them)."""

    steps: int = 200
    warm_steps: int = 50
    refit_every: int = 10
    lr: float = 0.1
    n_tasks: int = 1
    method: str = "gp"

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        seeds: list[np.random.SeedSequence],
        previous: Predictor | None = None,
    ) -> Predictor:
        try:
            from botorch.models import SingleTaskGP
            from botorch.models.transforms.outcome import Standardize
            from botorch.optim.fit import fit_gpytorch_mll_torch
            from gpytorch.mlls import ExactMarginalLogLikelihood
        except ImportError as err:
            raise ImportError(
                "the Gaussian-process baseline needs BoTorch: pip install -e '.[bayesopt]'"
            ) from err
        tx = torch.as_tensor(x, dtype=torch.float64)
        ty = torch.as_tensor(y, dtype=torch.float64)
        model = SingleTaskGP(
            tx, ty, outcome_transform=Standardize(m=ty.shape[-1], batch_shape=tx.shape[:-2])
        )
        steps, count = self.steps, 0
        if isinstance(previous, _GPPredictor):
            model.load_state_dict(previous.hyper, strict=False)
            count = previous.count + 1
            steps = self.warm_steps if count % self.refit_every == 0 else 0
        if steps:
            mll = ExactMarginalLogLikelihood(model.likelihood, model)
            mll.train()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # GPyTorch's notes on jitter and scaling
                fit_gpytorch_mll_torch(
                    mll,
                    step_limit=steps,
                    stopping_criterion=None,  # a fixed number of steps, no test on the sum
                    optimizer=partial(torch.optim.Adam, lr=self.lr),
                )
        model.eval()
        return _GPPredictor(model, count)


class _GPPredictor:
    """The fitted GPs' posterior mean and sd, and their hyper-parameters (the next fit's
    start)."""

    def __init__(self, model, count: int) -> None:
        self.model, self.count = model, count  # count: fits before this one
        # kernel, likelihood and mean; not the outcome transform, which each fit sets from
        # its own targets
        self.hyper = {
            k: v.detach().clone()
            for k, v in model.state_dict().items()
            if not k.startswith("outcome_transform")
        }

    def __call__(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            post = self.model.posterior(q.to(torch.float64))
            return post.mean, post.variance.clamp_min(0).sqrt()


def make_surrogate(
    name: str, block: dict, compile: bool = False
) -> EnsembleSurrogate | GPSurrogate:
    """Surrogate ``name`` of a config's ``bayesopt`` block: ``gp``, or an ensemble of a
    registered method on RBF networks (its ``ensemble`` and ``hyperparameters``)."""
    if name == "gp":
        gp = block.get("gp", {})
        return GPSurrogate(
            int(gp.get("steps", 200)),
            int(gp.get("warm_steps", 50)),
            int(gp.get("refit_every", 10)),
            float(gp.get("lr", 0.1)),
        )
    check_surrogate(name)
    ens = block.get("ensemble", {})
    rounds = ens.get("rounds", {})
    values = {"lambda": 0.1, "lambda_star": 0.1, "theta": 0.5} | block.get("hyperparameters", {})
    return EnsembleSurrogate(
        name,
        members=int(ens.get("members", 4)),
        centres=int(ens.get("centres", 8)),
        epochs=int(ens.get("epochs", 100)),
        patience=int(ens.get("patience", 10)),
        round_epochs=int(rounds.get("max_epochs", 50)),
        round_patience=int(rounds.get("patience", 10)),
        batch_size=int(ens.get("batch_size", 20)),
        lr=float(ens.get("lr", 0.02)),
        values=values,
        kmeans_starts=int(ens.get("kmeans_starts", 1)),
        compile=compile,
    )


def surrogate_tasks(name: str) -> int:
    """Tasks one model of the surrogate predicts: 1 for one model per task (``single_rbf``,
    ``gp``: one optimisation per task), else 2 (both tasks, one point each per iteration)."""
    return 1 if name in ("single_rbf", "gp") else 2


def check_surrogate(name: str) -> None:
    """``gp`` or a registered method on RBF networks; else a ValueError saying which are."""
    if name == "gp":
        return
    method = get_method(name)
    if "rbf" not in method.network:
        raise ValueError(
            f"surrogate {name!r} is not on RBF networks (its network: {method.network}); a "
            "surrogate is gp or a method of an RBF family (single_rbf, rbf_soft, bay_mrbfcor, "
            "rbf_adaptive, multi_rbf, multi_rbf_cll, ...)"
        )
