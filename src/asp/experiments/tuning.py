"""Hyper-parameter search for Tables 1, 2, 8 and 10 (the paper does not say how it tuned them).

Two Optuna studies per (dataset, metric): first lambda for soft, then lambda* and theta for the
adaptive rounds that continue from soft at the chosen lambda. Each minimises the mean validation
metric over tuning replicates (disjoint from the evaluation replicates). Parameters are searched
log-uniformly between factors of the paper's values, or, for a data set the config gives no
values for, within the absolute ranges of ``tuning.ranges``.

Trials are asked in waves of ``trials_per_batch`` and a wave's fits (trials x replicates) train
as one batch. The TPE sampler is re-seeded at the start of every wave from (seed, number of
completed trials), so a study interrupted and resumed asks exactly the trials an uninterrupted one
would have asked, and raising the trial budget later continues the same sequence.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
import torch
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from asp.engine.methods import cell
from asp.engine.progress import stage
from asp.experiments.jobs import CellResult, StageState, config_hash, run_rounds, run_stage0
from asp.experiments.replicates import Replicate

PHASES = {"soft": ("lambda",), "adaptive": ("lambda_star", "theta")}


@dataclass(frozen=True)
class SearchSpace:
    """Log-uniform ranges, one per searched hyper-parameter."""

    ranges: dict[str, tuple[float, float]]

    @classmethod
    def around(
        cls,
        paper: dict[str, float],
        names: Sequence[str],
        factors: dict[str, Sequence[float]],
    ) -> SearchSpace:
        """[paper * low factor, paper * high factor] per name; theta is capped at 1."""
        ranges = {}
        for name in names:
            if name not in paper or paper[name] <= 0:
                raise ValueError(f"{name}: needs a positive paper value to search around")
            lo, hi = (paper[name] * f for f in factors[name])
            if name == "theta":
                hi = min(hi, 1.0)
            if not 0 < lo < hi:
                raise ValueError(
                    f"{name}: empty range [{lo:g}, {hi:g}] from factors {list(factors[name])}"
                )
            ranges[name] = (lo, hi)
        return cls(ranges)

    @classmethod
    def within(cls, names: Sequence[str], ranges: dict[str, Sequence[float]]) -> SearchSpace:
        """The absolute ranges [low, high] of ``names`` (no paper values to search around)."""
        out = {}
        for name in names:
            lo, hi = (float(v) for v in ranges[name])
            if not 0 < lo < hi:
                raise ValueError(f"{name}: empty range [{lo:g}, {hi:g}]")
            out[name] = (lo, hi)
        return cls(out)

    def distributions(self) -> dict[str, FloatDistribution]:
        return {k: FloatDistribution(lo, hi, log=True) for k, (lo, hi) in self.ranges.items()}


@dataclass(frozen=True)
class SearchPlan:
    """One Optuna search: its trials, how many run per batch, the random start-up trials and
    the sampler's seed (an Optuna "study"; the pipeline keeps that word for asp.studies)."""

    n_trials: int
    trials_per_batch: int
    startup_trials: int
    seed: int


@dataclass
class TrialResult:
    value: float  # mean validation metric over the tuning replicates; inf if any fit diverged
    attrs: dict[str, float] = field(default_factory=dict)


# A wave of trial parameters in, one result per trial out.
Evaluate = Callable[[list[dict[str, float]]], list[TrialResult]]


def wave_sampler(plan: SearchPlan, n_complete: int) -> optuna.samplers.TPESampler:
    """TPE seeded by (plan seed, completed trials): waves are the same after a resume."""
    seed = int(np.random.SeedSequence([plan.seed, n_complete]).generate_state(1)[0])
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=plan.startup_trials, constant_liar=True
    )


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def optimise(
    study: optuna.Study,
    space: SearchSpace,
    plan: SearchPlan,
    evaluate: Evaluate,
    progress: Callable[[str], None] = lambda _: None,
    first: dict[str, float] | None = None,
) -> optuna.Study:
    """Run waves until ``plan.n_trials`` trials are complete, continuing what is stored.

    Trials left RUNNING by an interrupted process are marked FAIL (and not counted). ``first``
    (the paper's values) is the first trial of a new study when it lies in the space, so the
    search never ends worse than it on its own objective and the history shows where it stood.
    """
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
        progress(f"trial {t.number} was interrupted; marked failed")
    dists = space.distributions()
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    if first is not None and not completed(study) and not waiting:
        if all(lo <= first[k] <= hi for k, (lo, hi) in space.ranges.items()):
            study.enqueue_trial({k: first[k] for k in space.ranges})
        else:
            progress(f"{first} lies outside {space.ranges}: not tried first")
    while (done := len(completed(study))) < plan.n_trials:
        study.sampler = wave_sampler(plan, done)
        wave = [study.ask(dists) for _ in range(min(plan.trials_per_batch, plan.n_trials - done))]
        share = (done / plan.n_trials, (done + len(wave)) / plan.n_trials)
        with stage(*share, f"trials {done + 1}-{done + len(wave)} of {plan.n_trials}"):
            results = evaluate([t.params for t in wave])
        for trial, res in zip(wave, results, strict=True):
            for k, v in res.attrs.items():
                trial.set_user_attr(k, v)
            if first is not None and all(trial.params[k] == first.get(k) for k in trial.params):
                trial.set_user_attr("paper_values", True)
            study.tell(trial, res.value)
        best = study.best_trial
        progress(
            f"{study.study_name}: {done + len(wave)}/{plan.n_trials} trials, "
            f"best {best.value:.5g} at {best.params}"
        )
    return study


@dataclass
class Tuner:
    """Batched objectives of a tune job (asp.pipeline.planning.tuning.TuningPlan.tune_job) over its
    tuning replicates. A wave's trials are the cells of one training job, trained as one batch by
    the workflow's own entry points (asp.experiments.jobs.run_stage0, run_rounds)."""

    job: dict
    replicates: list[Replicate]

    def _job(self, stage: str, cells: list[dict], training: dict) -> dict:
        keys = ("dataset", "n", "replicates", "base_seed", "device", "dtype", "hidden", "output")
        return {
            "stage": stage,
            "name": f"tune {self.job['dataset']} {self.job['metric']} {stage}",
            **{k: self.job[k] for k in keys},
            "cells": cells,
            "training": training,
            "schedule": self.job["schedule"],
        }

    def _cells(self, method: str, wave: list[dict[str, float]]) -> list[dict]:
        return [cell(self.job["metric"], method, values, "trial") for values in wave]

    def soft(self, lambdas: list[float]) -> list[CellResult]:
        """Soft stage 0 at each lambda, on every tuning replicate: one cell per lambda."""
        cells = self._cells("soft", [{"lambda": v} for v in lambdas])
        return run_stage0(self._job("stage0", cells, self.job["stage0"]), self.replicates)

    def soft_objective(self, wave: list[dict[str, float]]) -> list[TrialResult]:
        return [_trial(r.rows, "epochs") for r in self.soft([p["lambda"] for p in wave])]

    def adaptive_objective(self, lam: float) -> Evaluate:
        """Objective of (lambda*, theta) for adaptive rounds from soft at ``lam``."""

        @functools.cache
        def soft() -> StageState:  # trained at the first wave; every wave continues from it
            return self.soft([lam])[0].state

        def evaluate(wave: list[dict[str, float]]) -> list[TrialResult]:
            cells = self._cells("adaptive", [{"lambda": lam, **p} for p in wave])
            job = self._job("rounds", cells, self.job["rounds"])
            results = run_rounds(job, self.replicates, [soft()])
            return [_trial(r.rows, "theta_star", "t_star") for r in results]

        return evaluate


def _trial(rows: pd.DataFrame, *medians: str) -> TrialResult:
    """A trial's result from the rows of its cell (one per tuning replicate): the mean
    validation metric (inf if a fit diverged) and the median of each column of ``medians``."""

    def values(column: str) -> torch.Tensor:
        return torch.tensor(rows[column].to_numpy(dtype=float), dtype=torch.float64)

    bad = bool(rows["diverged"].any())
    return TrialResult(
        float("inf") if bad else float(values("val_best").mean()),
        {f"{k}_median": float(values(k).median()) for k in medians},
    )


def tuner_for(job: dict, replicates: list[Replicate]) -> Tuner:
    """The batched objectives of a tune job (the workflow's tune params)."""
    return Tuner(job, replicates)


def study_name(job: dict, phase: str, extra: dict) -> str:
    """A study's name: its dataset, metric and phase, and a hash of everything that defines it
    but the trial budget (other settings start a new study, a larger budget continues it)."""
    identity = {k: v for k, v in job.items() if k != "search"}
    identity["search"] = {k: v for k, v in job["search"].items() if k != "trials"}
    return f"{job['dataset']}_{job['metric']}_{phase}_{config_hash({**identity, **extra})}"


def run_phase(
    study: optuna.Study,
    job: dict,
    phase: str,
    evaluate: Evaluate,
    progress: Callable[[str], None] = lambda _: None,
) -> tuple[dict, pd.DataFrame]:
    """Run (or continue) one phase's study of a tune job; its summary and its trials."""
    search = job["search"]
    if job["paper"] is None:  # a data set without values in the config: absolute ranges
        space = SearchSpace.within(PHASES[phase], search["ranges"])
    else:
        space = SearchSpace.around(job["paper"], PHASES[phase], search["factors"])
    plan = SearchPlan(
        search["trials"][phase],
        search["trials_per_batch"],
        search["startup_trials"],
        search["seed"],
    )
    progress(f"{study.study_name}: ranges {space.ranges}, {len(study.trials)} trials stored")
    optimise(study, space, plan, evaluate, progress, first=job["paper"])
    best = study.best_trial
    progress(f"{study.study_name}: best {study.best_params}")
    paper = [t for t in completed(study) if t.user_attrs.get("paper_values")]
    trials = study.trials_dataframe(attrs=("number", "value", "params", "user_attrs", "state"))
    trials.insert(0, "phase", phase)
    summary = {
        "study": study.study_name,
        "ranges": {k: [float(lo), float(hi)] for k, (lo, hi) in space.ranges.items()},
        "trials": len(completed(study)),
        "best_trial": best.number,
        "best_value": float(best.value),
        "best_params": {k: float(v) for k, v in best.params.items()},
        "best_attrs": {k: float(v) for k, v in best.user_attrs.items() if not isinstance(v, bool)},
        # The paper's values as trial 0 (lambda* and theta continue from the chosen lambda).
        "paper_values_value": float(paper[0].value) if paper else None,
    }
    return summary, trials


def tuned_values(job: dict, soft: dict, adaptive: dict) -> dict:
    """The tune stage's output: the chosen values beside the paper's, and both studies."""
    search = job["search"]
    return {
        "dataset": job["dataset"],
        "metric": job["metric"],
        "n": job["n"],
        "chosen": {
            "lambda": soft["best_params"]["lambda"],
            "lambda_star": adaptive["best_params"]["lambda_star"],
            "theta": adaptive["best_params"]["theta"],
        },
        "paper": {k: float(v) for k, v in job["paper"].items()} if job["paper"] else None,
        "objective": f"mean validation {job['metric']} over the tuning replicates",
        "tuning_replicates": job["replicates"],
        "sampler": {
            "name": "TPE",
            "seed": search["seed"],
            "trials_per_batch": search["trials_per_batch"],
            "startup_trials": search["startup_trials"],
        },
        "studies": {"soft": soft, "adaptive": adaptive},
        "storage": job["storage"],
        "config_hash": config_hash(job),
    }


def studies_frame(summaries: list[dict]) -> pd.DataFrame:
    """One row per study of the tune stage's outputs: ranges, trials, the objective at the
    paper's values and at the best trial, and the tuned values beside the paper's."""
    return pd.DataFrame(
        [
            {
                "dataset": t["dataset"],
                "metric": t["metric"],
                "N": t["n"],
                "phase": phase,
                "trials": s["trials"],
                "searched in": ", ".join(
                    f"{k} [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in s["ranges"].items()
                ),
                "objective at paper's values": s["paper_values_value"],
                "best objective": s["best_value"],
                **{f"tuned {k}": v for k, v in s["best_params"].items()},
                **{f"paper {k}": (t["paper"] or {}).get(k) for k in s["best_params"]},
            }
            for t in summaries
            for phase, s in t["studies"].items()
        ]
    )
