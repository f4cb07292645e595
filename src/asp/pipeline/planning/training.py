"""The training rules of a configuration and what each job trains.

A training job trains both stages (stage 0, then the rounds from its states) of one (dataset,
N, block), every metric, in one process. It trains what the tables and figures of that
(dataset, N) read, nothing more: the main run has one rule for the simulation cases at
focus_size (Table 7's penalty forms too), one for them at the other sizes, and one for the case
studies (with the baselines beyond the paper). A sweep trains in one job per (value, case,
block) at focus_size; at its neutral value its table reads the main run's fits of the methods
the main run trains, and its jobs train only the rest.
"""

from __future__ import annotations

import re

from asp.engine.methods import cell as job_cell
from asp.engine.methods import split_stages
from asp.pipeline.planning.data import DataPlan
from asp.pipeline.planning.paths import DATA, FITS, PRIORITY, TrainingRule, block_replicates
from asp.pipeline.planning.results import ResultsPlan
from asp.pipeline.planning.sweeps import ActiveStudy
from asp.pipeline.planning.tuning import TuningPlan, rounds_settings, stage0_settings


class TrainingPlan:
    """The training rules (``rules``) and the jobs of each."""

    def __init__(self, config: dict, data: DataPlan, results: ResultsPlan, tuning: TuningPlan):
        self.config = config
        self.data = data
        self.results = results
        self.tuning = tuning
        self.rules = self._main_rules() + [
            r for a in results.sweeps.values() for r in self._sweep_rules(a)
        ]

    def _groups(self) -> list[tuple[str, str, tuple[str, ...], list[str], tuple[str, ...]]]:
        """(stage, what, methods, datasets, sizes): the (dataset, N) whose jobs train the same
        methods, grouped by the sizes each data set has them at."""
        groups: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}
        for kind, datasets in (("simulation", self.data.cases), ("case_study", self.data.real)):
            for d in datasets:
                for n in self.data.sizes if kind == "simulation" else ["all"]:
                    methods = self.results.main_methods(d, n)
                    if methods:
                        group = groups.setdefault((kind, methods), {})
                        group.setdefault(d, []).append(str(n))
        parts = []
        focus, several = str(self.config["focus_size"]), len(self.data.sizes) > 1
        for (kind, methods), sizes_of in groups.items():
            by_sizes: dict[tuple[str, ...], list[str]] = {}
            for d, sizes in sizes_of.items():
                by_sizes.setdefault(tuple(sizes), []).append(d)
            for sizes, datasets in by_sizes.items():
                if kind == "case_study":
                    stage, what = "case_study", "a case study"
                elif sizes == (focus,) and several:
                    stage, what = "focus", "a simulation case at focus_size"
                else:
                    stage, what = "main", "a simulation case"
                parts.append((stage, what, methods, datasets, sizes))
        return parts

    def _main_rules(self) -> list[TrainingRule]:
        """One rule per set of (dataset, N) whose jobs train the same methods: the simulation
        cases at every N, at focus_size (Table 7's penalty forms too), and the case studies.
        Each job trains both stages of one (dataset, N, block), every metric, as one batch per
        network family."""
        parts = self._groups()
        stages = [p[0] for p in parts]
        rules = []
        for stage, what, methods, datasets, sizes in parts:
            priority = PRIORITY.get(stage, 0)
            if stages.count(stage) > 1:  # an unusual config: name the groups apart
                stage += "_" + "_".join(datasets + list(sizes))
            rules.append(
                TrainingRule(
                    "train" if stage == "main" else f"train_{stage}",
                    f"Both stages of {what} on one block of replicates, every metric: "
                    f"{', '.join(methods)}.",
                    stage,
                    methods,
                    tuple(self.config["metrics"]),
                    FITS,
                    DATA,
                    fold="n",
                    values=tuple(sizes),
                    constraints={"dataset": "|".join(map(re.escape, datasets))},
                    priority=priority,
                )
            )
        return rules

    def _sweep_rules(self, active: ActiveStudy) -> list[TrainingRule]:
        """A sweep's rules: every method at each value, both stages in one job per (value,
        case, block); at a value where the study's job is the main run's own (its neutral
        value), only the methods the main run does not train there."""
        focus_only = {"dataset": "|".join(map(re.escape, active.datasets)), "n": str(active.n)}
        study = active.study
        reused = self.results.reused[study.id]
        plain = [v for v in active.values if v not in reused]
        parts = [(study.id, plain, active.methods)] if plain else []
        for value, methods in reused.items():
            rest = [m for m in active.methods if m not in methods]
            if rest:
                parts.append((f"{study.id}_{study.prefix}{value}", [value], rest))
        return [
            TrainingRule(
                f"train_{stage}",
                f"The {study.id} study's methods on one block of replicates at one value, both "
                f"stages: {', '.join(methods)}.",
                stage,
                # the stage-0 methods (with those the rounds start from), then the rounds
                tuple(sum(split_stages(methods), [])),
                tuple(active.metrics),
                f"{active.root}/fits",
                active.data,
                fold="value",
                values=tuple(values),
                constraints=focus_only,
                study=study.id,
                prefix=study.prefix,
            )
            for stage, values, methods in parts
        ]

    def _cell(self, dataset: str, metric: str, method: str) -> dict:
        """A cell with the paper's values from config, or, when tuned, the names of those its
        job reads from the tuned input file of its metric (which ties the job to that file)."""
        tuned = self.tuning.is_tuned(dataset)
        values = None if tuned else self.config["hyperparameters"]["paper"][dataset][metric]
        return job_cell(metric, method, values)

    def jobs(self, rule: TrainingRule, wildcards: dict[str, str]) -> list[dict]:
        """What one job of ``rule`` trains, in the order of its outputs: at each value of
        its folded wildcard."""
        return [self.job(rule, wildcards | {rule.fold: v}) for v in rule.values]

    def job(self, rule: TrainingRule, wildcards: dict[str, str]) -> dict:
        """The training at one value of one rule's job (every wildcard given): what
        asp.experiments.jobs' entry points train."""
        w = wildcards
        name = f"{rule.stage} {w['dataset']} N{w['n']}"
        total, active = None, None
        if rule.study is not None:
            active = self.results.sweeps[rule.study]
            name += f" {active.study.prefix}{w['value']}"
            total = active.replicates
        common = self.data.job_common(w["dataset"], w["n"])
        if active is not None and active.study.own_hyperparameters:
            values = active.block["hyperparameters"]
            cells = [job_cell(t, m, values, source="ours") for t, m in rule.cells]
        else:
            cells = [self._cell(w["dataset"], t, m) for t, m in rule.cells]
        job = {
            "stage": rule.stage,
            "name": f"{name} block{w['block']}",
            "dataset": common.pop("dataset"),
            "n": common.pop("n"),
            "replicates": block_replicates(self.config, w["block"], total),
            **common,
            "cells": cells,
            "training": stage0_settings(self.config),
            "round_training": rounds_settings(self.config),
            "schedule": self.config["training"]["lambda_star_schedule"],
        }
        if active is None:
            return job
        study = active.study
        value = study.cast(w["value"])
        job |= {"variable": study.variable, study.variable: value}
        return study.adjust(job, value, active.block)
