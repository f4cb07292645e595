"""The study declaration: the only door through which an experiment enters the workflow, and
the lookups of the declared studies and their tables (the declarations themselves are in
asp.studies.sweeps, cll_rbf, bayesopt and cll_images; asp.studies.registry holds them all).

A study is either a sweep or a study with steps of its own.

A sweep varies one thing (its variable) over values listed in its config block and trains its
methods at focus_size in every simulation case, on the first ``replicates`` evaluation
replicates, with fits of its own under ``results/<id>/<prefix><value>/``. At its neutral value,
where its job would be the main run's own (``neutral``), it reads the main run's fits of the
methods the main run trains there and trains only the others (rule
``train_<id>_<prefix><value>``). Its declaration says everything the pipeline needs: the config
block that enables it, what one value does to a training job (its library function ``adjust``)
or to the simulated data (``case``), the metrics it trains on, its table (builder and claims),
its figure and report section, its findings, and its neutral value.
The workflow makes its rules from the declaration (``asp.pipeline.planning``); nothing else names
it.

A sweep's config block holds its values (under ``values_key``), ``replicates`` and
``methods``, and ``metric`` when it trains on one metric only. A study the package does not
declare under a key of its own goes under ``studies.<id>`` in the config.

A study with steps of its own (``steps``: the CLL paper's Tables 1 and 2, or a user's study in
a module the config names under ``study_modules``) declares its rules as asp.studies.steps.Step
values: its data, its jobs, then its table (``results/tables/<id>.csv`` and ``<id>_claims.csv``) and
its figure (``results/figures/fig_<id>.png``). The workflow makes one rule per step
(``workflow/rules/steps.smk``), and the report shows its table through ``layout``, its
section's text, findings and claims like any other's. What it needs but cannot find
(asp.studies.missing.Missing) is listed as not run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from asp.analysis import catalog, tables
from asp.analysis.catalog import TableSpec
from asp.analysis.effects import Glance
from asp.analysis.findings import findings
from asp.studies.missing import Missing
from asp.studies.steps import Step

Build = Callable[[pd.DataFrame, list[str]], tuple[pd.DataFrame, pd.DataFrame]]
# A study's findings from its table, its claims, its config block and its paper's tables
# (``paper_file``, None without one)
Findings = Callable[[pd.DataFrame, pd.DataFrame, dict, pd.DataFrame | None], list[dict]]
Exists = Callable[[str], bool]


class BlockError(ValueError):
    """A study's config block cannot run: ``key`` within the block, and why."""

    def __init__(self, key: str, why: str):
        super().__init__(f"{key}: {why}")
        self.key, self.why = key, why


@dataclass(frozen=True)
class StudySteps:
    """What a study with steps of its own runs under one config."""

    steps: tuple[Step, ...]
    # what it needs but this machine lacks; it is listed as not run
    missing: tuple[Missing, ...] = ()
    # whether its table can be made (some of its data is there): else the report leaves it out
    runs: bool = True


@dataclass(frozen=True)
class Study:
    id: str  # its table, figure (fig_<id>), training rules (train_<id>...) and results folder
    title: str  # the heading of its figure in the report
    # The report section's text: what the study asks and how (our HTML, a Jinja template given
    # its config block ``block``, ``facts`` and ``reading``)
    text: str
    config_key: str  # dotted key of its config block
    table_title: str  # the report section's heading
    # -- a sweep: it runs when its block lists values ------------------------------------------
    values_key: str = ""  # the block's list of values of the variable
    variable: str = ""  # the variable's column in the fit rows and the tables
    cast: Callable[[str], float] = float  # a value from its path (int: epochs, float: rho)
    prefix: str = ""  # a value's folder: results/<id>/<prefix><value>/
    axis: tuple[str, str] = ("", "linear")  # the figure's x label and scale ("linear", "log")
    # its table and the verdicts on its claims, from its fit rows
    build: Build | None = None
    # The job at one value (which the planning labels with it), given the study's config
    # block: e.g. its training settings.
    adjust: Callable[[dict, float, dict], dict] = lambda job, value, block: job
    # The simulation case at one value, when the study simulates data of its own.
    case: Callable[[dict, float], dict] | None = None
    # Data sets of its own instead of the main run's simulation cases at focus_size: name ->
    # simulation case (asp.data.simulation.case_from_config) before ``case`` applies a value, from
    # its config block, which also gives their N (``n``).
    datasets: Callable[[dict], dict[str, dict]] | None = None
    # Its cells' lambda, lambda_star and theta from its block's ``hyperparameters`` (a data set
    # of its own has no values in the config's hyperparameters), not the main run's.
    own_hyperparameters: bool = False
    # Its figure: its table's mean test loss against its variable (None), or the validation
    # curves of these methods, one panel per value (asp.analysis.plots.study_curves).
    curves: tuple[str, ...] | None = None
    findings: Findings | None = None
    # Whether its job at a value is the main run's own at focus_size (same data, settings and
    # hyper-parameters): there its table reads the main run's fits of the methods the main run
    # trains, and its jobs train only the rest (asp.pipeline.planning). tests/test_planning.py
    # trains both and checks that the fits are the same.
    neutral: Callable[[dict, float], bool] | None = None
    # Defaults of its config block, for a study under studies.<id> (the config schema holds
    # those of the blocks it names).
    defaults: dict = field(default_factory=dict)
    # -- a study with steps of its own -----------------------------------------------------------
    # Its rules under a config, or None when the config leaves it off
    steps: Callable[[dict, Exists | None], StudySteps | None] | None = None
    # The report's grid of its table, given its config block (else the long form only)
    layout: Callable[[pd.DataFrame, dict], pd.DataFrame] | None = None
    # What its text, legend and notes say beyond its config block: from its table, claims, block
    facts: Callable[[pd.DataFrame, pd.DataFrame, dict], dict] | None = None
    legend: str | None = None  # the legend above its table (Jinja, as ``text``)
    notes: str | None = None  # what follows its table: its claims, in words (Jinja)
    paper_file: str | None = None  # its paper's tables, for its findings
    glance: Glance | None = None  # its claims in the report's "At a glance"
    # A check of its config block beyond the schema (raises asp.pipeline.config.ConfigError)
    check: Callable[[dict], None] | None = None

    @property
    def sweep(self) -> bool:
        return self.steps is None

    @property
    def table(self) -> TableSpec:
        return TableSpec(
            self.id,
            self.table_title,
            None,
            "study",
            "simulation",
            "focus",
            (),
            study=self.id,
            variable=self.variable or None,
        )

    @property
    def figure(self) -> str:
        return f"fig_{self.id}"

    def block(self, config: dict) -> dict:
        """Its config block with the declared defaults (empty: the study is off)."""
        node: dict | None = config
        for part in self.config_key.split("."):
            node = (node or {}).get(part)
        return {**self.defaults, **(node or {})}

    def values(self, config: dict) -> list[str]:
        """A sweep's values as they appear in paths and wildcards (0.5, 1, 40)."""
        if not self.sweep:
            return []
        values = self.block(config).get(self.values_key, [])
        return [str(v) if isinstance(v, int) else f"{v:g}" for v in values]

    def metrics(self, config: dict) -> list[str]:
        metric = self.block(config).get("metric")
        return [metric] if metric else list(config["metrics"])


STUDIES: dict[str, Study] = {}


def register(study: Study) -> Study:
    if study.id in STUDIES:
        raise ValueError(f"study {study.id!r} is declared twice")
    STUDIES[study.id] = study
    return study


def get_study(study_id: str) -> Study:
    try:
        return STUDIES[study_id]
    except KeyError:
        raise ValueError(f"unknown study {study_id!r}; declared: {list(STUDIES)}") from None


def as_study_rows(rows: pd.DataFrame, label: dict) -> pd.DataFrame:
    """Rows of a main-run fit file that a study reuses at its neutral value
    (asp.pipeline.planning.results.ResultsPlan.reuse_labels): its first ``replicates`` replicates,
    with the study's variable set to the value, as the study's own jobs write them."""
    rows = rows[rows["replicate"] < label["replicates"]].reset_index(drop=True)
    return rows.assign(**{label["variable"]: label["value"]})


def get_table(table_id: str) -> TableSpec:
    """Any declared table: the paper's (asp.analysis.catalog) or a study's."""
    if table_id in STUDIES:
        return STUDIES[table_id].table
    if table_id in catalog.TABLES:
        return catalog.TABLES[table_id]
    declared = list(catalog.TABLES) + list(STUDIES)
    raise ValueError(f"unknown table {table_id!r}; declared: {declared}")


def table_spec(table: str | dict) -> TableSpec:
    """A table of the workflow's params: a declared table by its id, or a case study's own
    table (asp.analysis.catalog.case_study_tables) by its fields."""
    if isinstance(table, str):
        return get_table(table)
    return TableSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()})


def table_param(spec: TableSpec) -> str | dict:
    """How a rule passes ``spec`` to its script (`table_spec` reads it back): the id of a
    declared table, the fields of any other."""
    if spec.id in STUDIES or spec.id in catalog.TABLES:
        return spec.id
    return dataclasses.asdict(spec)


def build_table(
    spec: TableSpec,
    fits: pd.DataFrame,
    paper: pd.DataFrame,
    methods: list[str],
    tuned: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Any declared table and its claims: a study's by its declaration, the paper's by
    asp.analysis.tables.build."""
    if spec.study is not None:
        return get_study(spec.study).build(fits, methods)
    return tables.build(spec, fits, paper, methods, tuned)


def all_findings(
    tables_by_id: dict[str, pd.DataFrame],
    claims_by_id: dict[str, pd.DataFrame],
    config: dict,
    case_study_tables: list[str] | None = None,
    papers: dict[str, pd.DataFrame] | None = None,
) -> list[dict]:
    """The findings on the paper's claims, then those of every study whose table is here, each
    naming the study's table (``case_study_tables``: the case studies' results tables,
    asp.analysis.findings.findings; ``papers``: the studies' paper tables by file,
    Study.paper_file)."""
    out = findings(tables_by_id, claims_by_id, case_study_tables)
    for study in STUDIES.values():
        claims = claims_by_id.get(study.id)
        if study.findings is not None and claims is not None and len(claims):
            paper = (papers or {}).get(study.paper_file) if study.paper_file else None
            found = study.findings(tables_by_id[study.id], claims, study.block(config), paper)
            out += [f | {"tables": study.id} for f in found]  # its findings rest on its table
    return out
