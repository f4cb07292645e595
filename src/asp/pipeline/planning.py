"""What one configuration asks the workflow to build: its training, simulation and tune jobs
with their paths and parameters, its tables and figures with the fits each reads, and the
report's inputs. The .smk files only wire rules to a ``Plan``; everything here is plain Python
with unit tests, no Snakemake and no file I/O.

Paths are Snakemake templates: ``{dataset}``, ``{n}``, ``{block}`` (a block of replicates
trained as one batch) and, in a study's paths, ``{value}`` (a value of its variable).

A training job trains both stages (stage 0, then the rounds from its states) of one (dataset,
N, block), every metric, in one process. It trains what the tables and figures of that
(dataset, N) read, nothing more: the main run has one rule for the simulation cases at focus_size
(Table 7's penalty forms too), one for them at the other sizes, and one for the case studies
(with the baselines beyond the paper). A study (asp.studies.declaration) trains in one job per
(value, case, block) at focus_size; at its neutral value its table reads the main run's fits of the
methods the main run trains, and its jobs train only the rest.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from asp.analysis.catalog import (
    FIGURE_METHODS,
    TABLES,
    FigureSpec,
    TableSpec,
    case_study_tables,
    declared_case_studies,
    figures_for,
)
from asp.data.realdata import (
    DataFormatError,
    check_columns,
    expected_sha256,
    header_of,
    obtain,
    resolve_entry,
)
from asp.data.simulation import case_dimensions
from asp.engine.methods import cell as job_cell
from asp.engine.methods import split_stages
from asp.engine.preprocessing import split_sizes
from asp.pipeline.config import method_lists
from asp.studies.declaration import Study, StudySteps
from asp.studies.missing import Missing
from asp.studies.registry import STUDIES
from asp.studies.steps import Step

FITS = "results/fits"
DATA_FILE = "{dataset}/N{n}.parquet"
DATA = f"results/data/{DATA_FILE}"
CELL = "{dataset}/N{n}/%s/%s/block{block}.%s"  # metric, method, extension


# The training rules' priorities by stage: the focus_size jobs (most methods, largest per-job
# work), then the main run's other jobs; the studies' shorter jobs fill the gaps.
PRIORITY = {"focus": 3, "case_study": 2, "main": 1}
# The simulate jobs come before every training job: they take a second each, and a training
# job cannot start before its data (Snakemake's priorities do not pass to a job's inputs).
SIMULATE_PRIORITY = max(PRIORITY.values()) + 1


class PlanError(ValueError):
    """The configuration asks for something that cannot be built (a missing raw file)."""


@dataclass(frozen=True)
class TrainingRule:
    """One training rule: each of its jobs trains ``methods`` x ``metrics`` of one (dataset,
    block) at every value of ``fold`` (the sizes N of the main run's rules, the values of a
    study's), one value after the other in one process, both stages of each
    (asp.experiments.jobs.run_both). A process costs seconds before it trains (imports, loading its
    compiled steps, which all values share), as much as a small value's training."""

    name: str
    doc: str
    # main, focus, case_study, a study's id, or <id>_<prefix><value> at the study's neutral
    # value: the rule's name without train_, and its jobs' names, logs and benchmarks
    stage: str
    methods: tuple[str, ...]
    metrics: tuple[str, ...]
    root: str  # the folder of its fits
    data: str
    fold: str  # the wildcard a job runs every value of: n, or a study's value
    values: tuple[str, ...]  # its values, as in paths
    constraints: dict[str, str] = field(default_factory=dict)  # of the other wildcards
    study: str | None = None
    # Snakemake's priority: the longest jobs start first, so that the run does not end on one
    # core with the longest chain (the focus_size jobs train the most fits at a large N)
    priority: int = 0

    @property
    def cells(self) -> list[tuple[str, str]]:
        """(metric, method) of every cell, in the order of one value's outputs."""
        return [(metric, method) for metric in self.metrics for method in self.methods]

    def at(self, pattern: str, value: str) -> str:
        """``pattern`` with the folded wildcard set to ``value``."""
        return pattern.replace(f"{{{self.fold}}}", value)

    def files(self, ext: str) -> list[str]:
        """A job's output files: every cell at the first value, then at the next, ..."""
        cells = [f"{self.root}/{CELL % (metric, method, ext)}" for metric, method in self.cells]
        return [self.at(f, v) for v in self.values for f in cells]

    @property
    def outputs(self) -> dict[str, list[str]]:
        return {"fits": self.files("parquet"), "curves": self.files("curves.npz")}

    @property
    def inputs(self) -> list[str]:
        """Its data files, one per value, in the order of the values."""
        return [self.at(self.data, v) for v in self.values]

    @property
    def tag(self) -> str:
        """Its logs' and benchmarks' file name (without extension): a folder per stage (the
        rule's name without ``train_``; ``main`` for ``train``), the values joined by -."""
        values = "-".join(self.values)
        if self.study is None:
            return f"{self.stage}/{{dataset}}_N{values}_block{{block}}"
        return (
            f"{self.stage}/{{dataset}}_N{{n}}_{STUDIES[self.study].prefix}{values}_block{{block}}"
        )


@dataclass(frozen=True)
class ActiveStudy:
    study: Study
    values: list[str]  # as in paths and wildcards
    replicates: int
    methods: list[str]
    metrics: list[str]
    # its data sets (the main run's simulation cases, or its own:
    # asp.studies.declaration.Study.datasets) and their simulation cases before a value applies, and
    # the N it trains at
    cases: dict[str, dict]
    n: int
    block: dict  # its config block, with the declared defaults
    # value -> the methods whose fits at that value are the main run's (the study's neutral
    # value, asp.studies.declaration.Study.neutral): its table reads those, its jobs train the rest
    reused: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def datasets(self) -> list[str]:
        return list(self.cases)

    @property
    def root(self) -> str:
        return f"results/{self.study.id}/{self.study.prefix}{{value}}"

    @property
    def data(self) -> str:
        """Its own simulated data, or the main run's."""
        return f"{self.root}/data/{DATA_FILE}" if self.study.case else DATA


class Plan:
    """The jobs, paths and parameters of one configuration (validated by the schema and
    asp.pipeline.config.check_config)."""

    def __init__(self, config: dict, exists: Callable[[str], bool] | None = None):
        """``exists`` tells whether a path is a file: a case study whose raw file is in none of
        case_studies.data_dirs is not run (the report names it); without ``exists`` every
        case study is taken to be there."""
        self.config = config
        self._exists = exists
        sim = config["simulation"]
        self.cases = list(sim["cases"])
        sets = config["case_studies"]["sets"]
        self.real = list(sets)  # paper §4: air, student; and any data set the config declares
        # each case study's entry: the built-in one of air or student merged with the config's
        self.entries = {d: resolve_entry(d, sets[d]) for d in self.real}
        self.datasets = self.cases + self.real
        self.missing = {
            d: self.missing_data(d) for d in self.real if exists and not self._find_raw(d, exists)
        }
        # what the report shows: all but the case studies whose data is missing (their own
        # targets still refuse, naming the file)
        self.present = [d for d in self.datasets if d not in self.missing]
        self.sizes = list(sim["sizes"])
        self.metrics = list(config["metrics"])
        self.focus = config["focus_size"]
        self.tuned = config["hyperparameters"]["source"] == "tuned"
        # A case study without hyper-parameters in the config trains with tuned values,
        # whatever hyperparameters.source says for the others.
        paper = config["hyperparameters"]["paper"]
        self.tuned_sets = [d for d in self.datasets if self.tuned or d not in paper]
        self.blocks = self._blocks(config["replicates"])
        self.method_lists = method_lists(config)
        # what the run changes of the config, said at start-up (a study's replicates capped)
        self.notes: list[str] = []
        self.studies = self._studies()
        # the studies with steps of their own (asp.studies.declaration.Study.steps) this config runs
        self.step_studies: dict[str, StudySteps] = {
            s.id: plan
            for s in STUDIES.values()
            if s.steps is not None and (plan := s.steps(config, exists)) is not None
        }
        self.tables = self._tables()
        self.figures: list[FigureSpec] = figures_for(self.datasets)
        self.report_tables = [
            t for t in self.tables if not set(self.table_datasets(t)) & set(self.missing)
        ] + [STUDIES[k].table for k, s in self.step_studies.items() if s.runs]
        self.report_figures = [f for f in self.figures if f.dataset not in self.missing]
        # Figures draw the curves of one metric: MSE when the config has it.
        self.figure_metric = "mse" if "mse" in self.metrics else self.metrics[0]
        training = config["training"]
        self.stage0_training = {
            k: training[k] for k in ("batch_size", "max_epochs", "patience", "compile")
        }
        self.rounds_training = {
            "batch_size": training["batch_size"],
            "max_epochs": training["round_max_epochs"],
            "patience": training["round_patience"],
            "compile": training["compile"],
        }
        self.studies = {k: self._with_reuse(a) for k, a in self.studies.items()}
        self.training_rules = self._training_rules()

    @property
    def steps(self) -> list[Step]:
        """The rules of the studies with steps of their own."""
        return [step for s in self.step_studies.values() for step in s.steps]

    @property
    def not_run(self) -> list[Missing]:
        """What the config asks for but this machine lacks the files of: each case study, then
        each study's (the report lists them, the run prints them)."""
        return list(self.missing.values()) + [
            m for s in self.step_studies.values() for m in s.missing
        ]

    # -- replicates and studies ---------------------------------------------------------------

    def _blocks(self, total: int) -> list[int]:
        return list(range(math.ceil(total / self.config["replicate_block"])))

    def block_replicates(self, block: int | str, total: int | None = None) -> list[int]:
        """Replicates of one block of the evaluation replicates 0..total-1 (default: all)."""
        size = self.config["replicate_block"]
        total = self.config["replicates"] if total is None else total
        block = int(block)
        return list(range(block * size, min((block + 1) * size, total)))

    def _studies(self) -> dict[str, ActiveStudy]:
        """The declared studies this config runs (those whose block lists values)."""
        active = {}
        for study in STUDIES.values():
            values = study.values(self.config)
            if values:
                block = study.block(self.config)
                replicates = block["replicates"]
                if study.datasets is None and not self.cases:
                    continue  # on the main run's cases, and there are none (no main run)
                if study.datasets is None:
                    cases, n = self.config["simulation"]["cases"], self.focus
                    # the first of the evaluation replicates, paired with the main run's: at
                    # most all of them (an overlay `replicates: 3` shrinks every study too)
                    if replicates > self.config["replicates"]:
                        replicates = self.config["replicates"]
                        self.notes.append(
                            f"{study.config_key}: the run's {replicates} replicates, not the "
                            f"{block['replicates']} configured (a study's replicates are the "
                            "first evaluation replicates)"
                        )
                else:
                    cases, n = study.datasets(self.config), int(block["n"])
                active[study.id] = ActiveStudy(
                    study,
                    values,
                    replicates,
                    list(block["methods"]),
                    study.metrics(self.config),
                    dict(cases),
                    n,
                    block,
                )
        return active

    def _with_reuse(self, active: ActiveStudy) -> ActiveStudy:
        """``active`` with the main run's fits it reuses at its neutral value: the methods the
        main run trains at focus_size in every case, when the study's metrics and replicates
        are among the main run's."""
        study = active.study
        if study.neutral is None or study.datasets is not None:
            return active
        if not set(active.metrics) <= set(self.metrics):
            return active
        main = set.intersection(*(set(self.main_methods(d, self.focus)) for d in self.cases))
        neutral = [v for v in active.values if study.neutral(self.config, study.cast(v))]
        reused = tuple(m for m in active.methods if m in main)
        if not neutral or not reused:
            return active
        # a study's neutral value is the main run's own setting: one value at most
        return dataclasses.replace(active, reused={neutral[0]: reused})

    # -- tables and figures -------------------------------------------------------------------

    def _tables(self) -> list[TableSpec]:
        paper = [
            spec
            for spec in TABLES.values()
            if self.table_datasets(spec) and (spec.metric is None or spec.metric in self.metrics)
        ]
        own = [  # a case study the paper does not have: its tables in the layout of Tables 8-11
            spec
            for d in self.real
            if d not in declared_case_studies()
            for spec in case_study_tables(d)
            if spec.id not in TABLES
        ]
        return paper + own + [s.study.table for s in self.studies.values()]

    def table_datasets(self, spec: TableSpec) -> list[str]:
        if spec.study in self.step_studies:
            return []  # its steps read what they need
        if spec.study is not None:
            return self.studies[spec.study].datasets
        if spec.datasets == "simulation":
            return self.cases
        return [spec.datasets] if spec.datasets in self.real else []

    def table_sizes(self, spec: TableSpec) -> list:
        if spec.study is not None:
            return [self.studies[spec.study].n]
        return {"every": self.sizes, "focus": [self.focus], "all": ["all"]}[spec.sizes]

    def table_methods(self, spec: TableSpec) -> list[str]:
        if spec.study in self.step_studies:
            return []
        if spec.study is not None:
            return self.studies[spec.study].methods
        if isinstance(spec.methods, str):
            return self.method_lists[spec.methods]
        return list(spec.methods)

    def table_metrics(self, spec: TableSpec) -> list[str]:
        if spec.study is not None:
            return self.studies[spec.study].metrics
        return [spec.metric] if spec.metric else self.metrics

    def fits(self, dataset: str, n, metric: str, method: str, study: str | None = None):
        """The fit files of one (dataset, N, metric, method): every block (and value). A
        study's at its neutral value are the main run's of the methods it reuses."""
        cell = f"{dataset}/N{n}/{metric}/{method}/block%d.parquet"
        if study is None:
            return [self.main_fit(dataset, n, metric, method, b) for b in self.blocks]
        active = self.studies[study]
        return [
            self.main_fit(dataset, n, metric, method, b)
            if method in active.reused.get(v, ())
            else f"{active.root.format(value=v)}/fits/{cell}" % b
            for v in active.values
            for b in self._blocks(active.replicates)
        ]

    @staticmethod
    def main_fit(dataset: str, n, metric: str, method: str, block: int) -> str:
        """The main run's fit file of one (dataset, N, metric, method, block)."""
        return f"{FITS}/{dataset}/N{n}/{metric}/{method}/block{block}.parquet"

    def reuse_labels(self, spec: TableSpec) -> dict[str, dict]:
        """The main run's fit files a study's table reads at its neutral value, each with what
        makes its rows the study's (asp.studies.declaration.as_study_rows): the study's variable and
        value, and its number of replicates."""
        if spec.study is None:
            return {}
        active = self.studies[spec.study]
        study = active.study
        return {
            self.main_fit(d, self.focus, metric, m, b): {
                "variable": study.variable,
                "value": study.cast(v),
                "replicates": active.replicates,
            }
            for v, methods in active.reused.items()
            for d in self.table_datasets(spec)
            for metric in active.metrics
            for m in methods
            for b in self._blocks(active.replicates)
        }

    def table_inputs(self, spec: TableSpec) -> list[str]:
        """Fit files a table needs (an explicit list: a table rebuilds only from its own fits)."""
        return [
            f
            for d in self.table_datasets(spec)
            for n in self.table_sizes(spec)
            for metric in self.table_metrics(spec)
            for method in self.table_methods(spec)
            for f in self.fits(d, n, metric, method, spec.study)
        ]

    def floor_inputs(self, spec: TableSpec) -> list[str]:
        """The floor files (asp.data.floor) of a loss table on simulated data: one per case and N
        (and value, for a study with data of its own)."""
        if spec.datasets != "simulation" or spec.builder not in ("loss", "study"):
            return []
        files = [
            f"results/data/{d}/N{n}.floor.csv"
            for d in self.table_datasets(spec)
            for n in self.table_sizes(spec)
        ]
        active = self.studies.get(spec.study)
        if active is not None and active.study.case is not None:
            floor = active.data.replace(".parquet", ".floor.csv")
            files = [
                floor.format(value=v, dataset=d, n=active.n)
                for v in active.values
                for d in self.table_datasets(spec)
            ]
        return files

    def floor_params(self, dataset: str, value: str | None = None, study: str | None = None):
        """A floor job's parameters: its data's simulation, and a study's value as the column
        its rows carry."""
        params = {"sim": self.simulate_params(dataset, value, study), "label": {}}
        if study is not None:
            s = self.studies[study].study
            params["label"] = {s.variable: s.cast(value)}
        return params

    def tuned_path(self, dataset: str, metric: str) -> str:
        return f"results/tuned/{dataset}_{metric}.yaml"

    def is_tuned(self, dataset: str) -> bool:
        """Whether ``dataset`` trains with the tune stage's values: all data sets when
        hyperparameters.source is tuned, and a case study the config gives no values for."""
        return dataset in self.tuned_sets

    def tuned_inputs(self, dataset: str) -> list[str]:
        """The tuned values a training job depends on: one file per metric when training uses
        tuned values (new values for one metric rerun the jobs that train that metric)."""
        return [self.tuned_path(dataset, m) for m in self.metrics] if self.is_tuned(dataset) else []

    def tuned_table_inputs(self, spec: TableSpec) -> list[str]:
        """The tuned values beside a hyper-parameter table (when training uses them)."""
        if not spec.tuned:
            return []
        return [
            self.tuned_path(d, m)
            for d in self.table_datasets(spec)
            if self.is_tuned(d)
            for m in self.table_metrics(spec)
        ]

    @property
    def tuning_figure_datasets(self) -> list[str]:
        """The studies the tuning figure draws: those training uses, else every present data
        set (the ``tuning`` target)."""
        return [d for d in self.present if self.is_tuned(d)] or list(self.present)

    def figure_n(self, fig: FigureSpec):
        return "all" if fig.dataset in self.real else self.focus

    def figure_table(self, fig: FigureSpec) -> str | None:
        """The table a figure illustrates, which the report puts it beside: a case study's
        results table, or the simulation's loss table of the figure's metric."""
        for spec in self.report_tables:
            if fig.dataset in self.real:
                if spec.builder == "case_study" and spec.datasets == fig.dataset:
                    return spec.id
            elif spec.builder == "loss" and spec.metric == self.figure_metric:
                return spec.id
        return None

    def figure_inputs(self, fig: FigureSpec) -> dict[str, list[str]]:
        """The curves a figure draws: soft's and adaptive's, every block."""
        n = self.figure_n(fig)
        return {
            role: [
                f"{FITS}/{CELL % (self.figure_metric, method, 'curves.npz')}".format(
                    dataset=fig.dataset, n=n, block=b
                )
                for b in self.blocks
            ]
            for role, method in zip(("soft", "adaptive"), FIGURE_METHODS, strict=True)
        }

    def _study_curve_files(self, study: str) -> list[tuple[str, dict]]:
        """(curves file, its value and method) of every method of a study's ``curves`` that
        it trains, at every value, data set and block; none when its figure draws its table."""
        active = self.studies[study]
        names = [m for m in active.study.curves or () if m in active.methods]
        cell = f"{{root}}/fits/{CELL % (active.metrics[0], '{method}', 'curves.npz')}"
        return [
            (
                cell.format(
                    root=active.root.format(value=v), method=m, dataset=d, n=active.n, block=b
                ),
                {"value": v, "method": m},
            )
            for v in active.values
            for m in names
            for d in active.datasets
            for b in self._blocks(active.replicates)
        ]

    def study_curves(self, study: str) -> list[str]:
        """The curves files a study's figure draws (its rule's inputs)."""
        return [path for path, _ in self._study_curve_files(study)]

    def study_curve_params(self, study: str) -> dict:
        """What the figure needs to read its curves: each file's value and method (in the
        order of ``study_curves``), the metric, and the mini-batch steps of one epoch of its
        jobs (the x axis counts iterations)."""
        active = self.studies[study]
        if not active.study.curves:
            return {}
        job = active.study.adjust(
            {"training": self.stage0_training, "round_training": self.rounds_training},
            active.study.cast(active.values[0]),
            active.block,
        )
        n_train = split_sizes(active.n)[0]
        return {
            "files": [label for _, label in self._study_curve_files(study)],
            "metric": active.metrics[0],
            "steps_per_epoch": -(-n_train // job["training"]["batch_size"]),
        }

    # -- training -----------------------------------------------------------------------------

    def main_methods(self, dataset: str, n) -> tuple[str, ...]:
        """The methods the main run trains on (``dataset``, ``n``): those a paper table or
        figure there reads, with the stage-0 methods the rounds start from and the twins of
        matched-budget methods (asp.engine.methods.split_stages), stage 0 first. Nothing no table
        reads: the baselines beyond the paper train only where a table shows them."""
        names = set()
        for spec in self.tables:
            if spec.study is None and dataset in self.table_datasets(spec):
                if str(n) in map(str, self.table_sizes(spec)):
                    names.update(self.table_methods(spec))
        for fig in self.figures:
            if fig.dataset == dataset and str(self.figure_n(fig)) == str(n):
                names.update(FIGURE_METHODS)
        return tuple(sum(split_stages(names), [])) if names else ()

    def _training_rules(self) -> list[TrainingRule]:
        """One rule per set of (dataset, N) whose jobs train the same methods: the simulation
        cases at every N, at focus_size (Table 7's penalty forms too), and the case studies.
        Each job trains both stages of one (dataset, N, block), every metric, as one batch per
        network family. Then each study's rules (asp.studies.declaration)."""
        groups: dict[tuple[str, tuple[str, ...]], dict[str, list[str]]] = {}
        for kind, datasets in (("simulation", self.cases), ("case_study", self.real)):
            for d in datasets:
                for n in self.sizes if kind == "simulation" else ["all"]:
                    methods = self.main_methods(d, n)
                    if methods:
                        group = groups.setdefault((kind, methods), {})
                        group.setdefault(d, []).append(str(n))
        parts = []  # (stage, what, methods, datasets, sizes)
        for (kind, methods), sizes_of in groups.items():
            by_sizes: dict[tuple[str, ...], list[str]] = {}
            for d, sizes in sizes_of.items():
                by_sizes.setdefault(tuple(sizes), []).append(d)
            for sizes, datasets in by_sizes.items():
                if kind == "case_study":
                    stage, what = "case_study", "a case study"
                elif sizes == (str(self.focus),) and len(self.sizes) > 1:
                    stage, what = "focus", "a simulation case at focus_size"
                else:
                    stage, what = "main", "a simulation case"
                parts.append((stage, what, methods, datasets, sizes))
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
                    tuple(self.metrics),
                    FITS,
                    DATA,
                    fold="n",
                    values=tuple(sizes),
                    constraints={"dataset": "|".join(map(re.escape, datasets))},
                    priority=priority,
                )
            )
        return rules + [r for a in self.studies.values() for r in self._study_rules(a)]

    def _study_rules(self, active: ActiveStudy) -> list[TrainingRule]:
        """A study's rules: every method at each value, both stages in one job per (value,
        case, block); at a value where the study's job is the main run's own (its neutral
        value), only the methods the main run does not train there."""
        focus_only = {"dataset": "|".join(map(re.escape, active.datasets)), "n": str(active.n)}
        study = active.study
        plain = [v for v in active.values if v not in active.reused]
        parts = [(study.id, plain, active.methods)] if plain else []
        for value, reused in active.reused.items():
            rest = [m for m in active.methods if m not in reused]
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
            )
            for stage, values, methods in parts
        ]

    def _cell(self, dataset: str, metric: str, method: str) -> dict:
        """A cell with the paper's values from config, or, when tuned, the names of those its
        job reads from the tuned input file of its metric (which ties the job to that file)."""
        tuned = self.is_tuned(dataset)
        values = None if tuned else self.config["hyperparameters"]["paper"][dataset][metric]
        return job_cell(metric, method, values)

    def _job_common(self, dataset: str, n: str) -> dict:
        """The slice of config every training and tune job depends on."""
        return {
            "dataset": dataset,
            "n": n if n == "all" else int(n),
            "base_seed": self.config["base_seed"],
            "device": self.config["device"],
            "dtype": self.config["dtype"],
            "hidden": self.config["network"]["hidden"],
            # Real data: sigmoid output (paper eq. 4.2) on targets scaled to [0, 1], unless the
            # data set's entry asks for a linear one.
            "output": self.entries[dataset]["output"] if dataset in self.real else "linear",
        }

    def training_jobs(self, rule: TrainingRule, wildcards: dict[str, str]) -> list[dict]:
        """What one job of ``rule`` trains, in the order of its outputs: at each value of
        its folded wildcard."""
        return [self.training_job(rule, wildcards | {rule.fold: v}) for v in rule.values]

    def training_job(self, rule: TrainingRule, wildcards: dict[str, str]) -> dict:
        """The training at one value of one rule's job (every wildcard given): what
        asp.experiments.jobs' entry points train."""
        w = wildcards
        name = f"{rule.stage} {w['dataset']} N{w['n']}"
        total, active = None, None
        if rule.study is not None:
            active = self.studies[rule.study]
            name += f" {active.study.prefix}{w['value']}"
            total = active.replicates
        common = self._job_common(w["dataset"], w["n"])
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
            "replicates": self.block_replicates(w["block"], total),
            **common,
            "cells": cells,
        }
        job |= {
            "training": self.stage0_training,
            "round_training": self.rounds_training,
            "schedule": self.config["training"]["lambda_star_schedule"],
        }
        if active is None:
            return job
        study = active.study
        value = study.cast(w["value"])
        job |= {"variable": study.variable, study.variable: value}
        return study.adjust(job, value, active.block)

    # -- data ---------------------------------------------------------------------------------

    def simulate_params(self, dataset: str, value: str | None = None, study: str | None = None):
        """A simulate job's parameters: the main run's data, or a study's at one value."""
        sim = self.config["simulation"]
        case = sim["cases"].get(dataset)
        replicates = self.config["replicates"]
        if study is not None:
            active = self.studies[study]
            case = active.study.case(active.cases[dataset], active.study.cast(value))
            replicates = active.replicates
        n_inputs, n_tasks = case_dimensions(case, sim["n_inputs"], sim["n_tasks"])
        return {
            "case": case,
            "n_inputs": n_inputs,
            "n_tasks": n_tasks,
            "replicates": replicates,
            "base_seed": self.config["base_seed"],
        }

    @property
    def own_data_studies(self) -> list[ActiveStudy]:
        return [a for a in self.studies.values() if a.study.case is not None]

    def _find_raw(self, dataset: str, exists: Callable[[str], bool]) -> str | None:
        studies = self.config["case_studies"]
        name = self.entries[dataset]["file"]
        for folder in studies["data_dirs"]:
            path = f"{folder.rstrip('/')}/{name}"
            if exists(path):
                return path
        return None

    def missing_data(self, dataset: str) -> Missing:
        """What a case study needs, for a message when its raw file is missing."""
        entry = self.entries[dataset]
        return Missing(
            f"case study {dataset!r}",
            (entry["file"],),
            tuple(self.config["case_studies"]["data_dirs"]),
            f"put it in data/raw/; obtain it from {obtain(entry)}",
            f"leave {dataset} out of case_studies.sets in the config",
            (expected_sha256(entry) or "unknown",),
        )

    def check_headers(self, first_line: Callable[[str], bytes]) -> None:
        """Every column the config names is in its case study's file (``first_line`` reads a
        file's header line): a ValueError naming the key, the column and the file's columns;
        a missing file is "not run" instead."""
        for name in self.real:
            if name in self.missing:
                continue
            path = self.raw_file(name, self._exists or (lambda p: True))
            try:
                header = header_of(first_line(path), path, name)
                check_columns(name, self.entries[name], header, path)
            except DataFormatError as err:
                raise ValueError(f"config: {err}") from None

    @property
    def uses_gpu(self) -> bool:
        """Whether the training jobs ask for the GPU resource (``auto``: when torch sees
        one; torch is imported only then)."""
        if self.config["device"] != "auto":
            return self.config["device"] == "cuda"
        import torch  # a heavy import, only for this question

        return torch.cuda.is_available()

    def raw_file(self, dataset: str, exists: Callable[[str], bool]) -> str:
        """The raw case-study file, from the first of case_studies.data_dirs that has it."""
        found = self._find_raw(dataset, exists)
        if found is None:
            raise PlanError(self.missing_data(dataset).message)
        return found

    # -- tuning -------------------------------------------------------------------------------

    def tune_job(self, dataset: str, metric: str) -> dict:
        """Everything a tune job depends on; the storage path is where an interrupted study
        resumes."""
        tuning = self.config["tuning"]
        real = dataset in self.real
        first = tuning["first_replicate"]
        common = self._job_common(dataset, "all" if real else tuning["n"])
        paper = self.config["hyperparameters"]["paper"].get(dataset, {}).get(metric)
        # Around the paper's values when the config has them, else within absolute ranges
        # (a data set the paper does not have); only the key in use enters the study's name.
        around = "factors" if paper is not None else "ranges"
        job = {
            "dataset": common.pop("dataset"),
            "metric": metric,
            "n": common.pop("n"),
            "replicates": list(range(first, first + tuning["replicates"])),
            **common,
            "paper": paper,
            "stage0": self.stage0_training,
            "rounds": self.rounds_training,
            "schedule": self.config["training"]["lambda_star_schedule"],
            "search": {
                k: tuning[k]
                for k in ("seed", "trials", "trials_per_batch", "startup_trials", around)
            },
            "storage": f"results/tuned/studies/{dataset}_{metric}.sqlite3",
        }
        if not real:
            sim = self.config["simulation"]
            job["simulation"] = {
                "case": sim["cases"][dataset],
                "n_inputs": sim["n_inputs"],
                "n_tasks": sim["n_tasks"],
            }
        return job

    # -- report -------------------------------------------------------------------------------

    def report_inputs(self) -> dict[str, list[str]]:
        """Every file the report reads, by kind (nothing of a case study whose data is
        missing)."""
        checksums = [f"results/data/{d}/N{n}.sha256" for d in self.cases for n in self.sizes] + [
            f"{a.root.format(value=v)}/data/{d}/N{a.n}.sha256"
            for a in self.own_data_studies
            for v in a.values
            for d in a.datasets
        ]
        tuned = [
            self.tuned_path(d, m) for d in self.present if self.is_tuned(d) for m in self.metrics
        ]
        return {
            "tables": [f"results/tables/{t.id}.csv" for t in self.report_tables],
            "claims": [f"results/tables/{t.id}_claims.csv" for t in self.report_tables],
            "figures": [f"results/figures/{f.id}.png" for f in self.report_figures],
            "checksums": checksums,
            "case_studies": [
                f"results/data/{d}/Nall.json" for d in self.real if d not in self.missing
            ],
            "fits": sorted({f for t in self.report_tables for f in self.table_inputs(t)}),
            "tuned": tuned,
            "tuning_figure": ["results/figures/tuning_history.png"] if tuned else [],
            "study_figures": [
                f"results/figures/{s.figure}.png" for s in self.report_study_declarations
            ],
            # the paper tables of the studies with steps (their findings read them)
            "papers": sorted(
                {
                    p
                    for k, st in self.step_studies.items()
                    if st.runs and (p := STUDIES[k].paper_file)
                }
            ),
        }

    @property
    def report_study_declarations(self) -> list[Study]:
        """The studies the report shows, in the order of their sections: the sweeps, then those
        with steps whose table can be made."""
        return [a.study for a in self.studies.values()] + [
            STUDIES[k] for k, s in self.step_studies.items() if s.runs
        ]

    def report_studies(self) -> list[dict]:
        """The report's section of each study, in the order of its figures."""
        return [
            {"id": s.id, "title": s.title, "text": s.text, "legend": s.legend, "notes": s.notes}
            for s in self.report_study_declarations
        ]
