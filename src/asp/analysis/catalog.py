"""The tables and figures the pipeline builds, each declared once.

The workflow makes one rule per declaration (its inputs from the declaration), the table script
builds a table with its declared builder, and the report takes titles and notes from here. An
unknown id is an error that names it.

A table's fits are every (dataset, N, metric, method) of its declaration:

- ``datasets``: "simulation" (every configured simulation case) or one case study;
- ``sizes``: "every" (simulation.sizes), "focus" (focus_size) or "all" (a case study's rows);
- ``metric``: the table's one metric (it is left out when the config lacks it), or None for
  every configured metric;
- ``methods``: a config key holding a method list, or the methods themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

# "study": a table of a study beyond the paper, built by its declaration (asp.studies.declaration)
BUILDERS = ("hyper", "loss", "timing", "case_study", "study")
METHOD_LISTS = ("methods", "penalty_methods", "case_studies.methods")


@dataclass(frozen=True)
class TableSpec:
    id: str  # rule, file and anchor name
    title: str
    paper: int | None  # the paper's table number in paper_tables.csv; None beyond the paper
    builder: str  # a function of asp.analysis.tables (BUILDERS)
    datasets: str
    sizes: str
    methods: str | tuple[str, ...]
    metric: str | None = None
    # "orderings" (asp.engine.methods.claim_pairs), "improvement", "versus" (each method against ffn
    # and adaptive against each) or None
    claims: str | None = None
    tuned: bool = False  # shows the tuned values beside the paper's when training uses them
    study: str | None = (
        None  # a study of asp.studies.declaration: the table reads that study's fits
    )
    variable: str | None = None  # a sweep's variable: a row of its table per value

    def __post_init__(self) -> None:
        if self.builder not in BUILDERS:
            raise ValueError(f"table {self.id}: builder must be one of {BUILDERS}")
        if self.sizes not in ("every", "focus", "all"):
            raise ValueError(f"table {self.id}: sizes must be every, focus or all")
        if (self.sizes == "all") == (self.datasets == "simulation"):
            raise ValueError(f"table {self.id}: sizes 'all' is for a case study, and only it")
        if isinstance(self.methods, str) and self.methods not in METHOD_LISTS:
            raise ValueError(f"table {self.id}: methods must name one of {METHOD_LISTS}")
        if (self.builder == "study") != (self.study is not None):
            raise ValueError(f"table {self.id}: the study builder is for a study's table only")
        if self.claims not in (None, "orderings", "improvement", "versus"):
            raise ValueError(
                f"table {self.id}: claims must be orderings, improvement, versus or None"
            )


@dataclass(frozen=True)
class FigureSpec:
    """Validation curves after the soft minimum: soft continued vs. the adaptive rounds."""

    id: str
    dataset: str  # a simulation case (at focus_size) or a case study (every row)
    paper: int | None  # the paper's figure number; None for a case the paper does not have

    @property
    def label(self) -> str:
        return f"Figure {self.paper}" if self.paper else f"Figure ({self.dataset})"


def _hyper(k: int, what: str, datasets: str, sizes: str, metric: str | None) -> TableSpec:
    return TableSpec(
        f"table{k}",
        f"Table {k}. Hyper-parameters, {what}",
        k,
        "hyper",
        datasets,
        sizes,
        ("adaptive",),
        metric,
        tuned=True,
    )


TABLES: dict[str, TableSpec] = {
    t.id: t
    for t in [
        _hyper(
            1,
            "MSE runs: used (paper's or tuned), theta* / lambda* observed",
            "simulation",
            "every",
            "mse",
        ),
        _hyper(
            2,
            "MAE runs: used (paper's or tuned), theta* / lambda* observed",
            "simulation",
            "every",
            "mae",
        ),
        TableSpec(
            "table3",
            "Table 3. Mean test MSE over replicates (95 % CI)",
            3,
            "loss",
            "simulation",
            "every",
            "methods",
            "mse",
            "orderings",
        ),
        TableSpec(
            "table4",
            "Table 4. Mean test MAE over replicates (95 % CI)",
            4,
            "loss",
            "simulation",
            "every",
            "methods",
            "mae",
            "orderings",
        ),
        TableSpec(
            "table5",
            "Table 5. Seconds per fit and improvement p = (s - a)/s, MSE runs",
            5,
            "timing",
            "simulation",
            "focus",
            "methods",
            "mse",
            "improvement",
        ),
        TableSpec(
            "table6",
            "Table 6. Seconds per fit and improvement p = (s - a)/s, MAE runs",
            6,
            "timing",
            "simulation",
            "focus",
            "methods",
            "mae",
            "improvement",
        ),
        TableSpec(
            "table7",
            "Table 7. Penalty forms inside the adaptive algorithm (l2_only, mean_only, combined)",
            7,
            "loss",
            "simulation",
            "focus",
            "penalty_methods",
            None,
            "orderings",
        ),
        _hyper(8, "Nanjing air pollution (used, theta* / lambda* observed)", "air", "all", None),
        TableSpec(
            "table9",
            "Table 9. Nanjing air pollution: test loss, extra seconds and improvement of adaptive",
            9,
            "case_study",
            "air",
            "all",
            "case_studies.methods",
            None,
            "orderings",
        ),
        _hyper(
            10, "student performance (used, and theta* / lambda* observed)", "student", "all", None
        ),
        TableSpec(
            "table11",
            "Table 11. Student performance: test loss, extra seconds and improvement of adaptive",
            11,
            "case_study",
            "student",
            "all",
            "case_studies.methods",
            None,
            "orderings",
        ),
    ]
}

FIGURES: dict[str, FigureSpec] = {
    f.id: f
    for f in [
        FigureSpec("fig3", "case1", 3),
        FigureSpec("fig4", "case2", 4),
        FigureSpec("fig5", "case3", 5),
        FigureSpec("fig6", "air", 6),
        FigureSpec("fig7", "student", 7),
    ]
}
FIGURE_METHODS = ("soft", "adaptive")  # the curves every figure draws


def get_table(table_id: str) -> TableSpec:
    """A table of the paper (asp.studies.declaration.get_table also finds a study's)."""
    try:
        return TABLES[table_id]
    except KeyError:
        raise ValueError(f"unknown table {table_id!r}; declared: {list(TABLES)}") from None


def get_figure(figure_id: str) -> FigureSpec:
    try:
        return FIGURES[figure_id]
    except KeyError:
        raise ValueError(f"unknown figure {figure_id!r}; declared: {list(FIGURES)}") from None


def case_study_tables(dataset: str) -> list[TableSpec]:
    """The tables of a case study the paper does not have (a data set declared in the config):
    its hyper-parameters and its results, laid out as Tables 8-11, with no paper values."""
    return [
        TableSpec(
            f"{dataset}_hyperparameters",
            f"Hyper-parameters, {dataset} (used, theta* / lambda* observed)",
            None,
            "hyper",
            dataset,
            "all",
            ("adaptive",),
            None,
            tuned=True,
        ),
        TableSpec(
            dataset,
            f"{dataset}: test loss, extra seconds and improvement of adaptive",
            None,
            "case_study",
            dataset,
            "all",
            "case_studies.methods",
            None,
            "orderings",
        ),
    ]


def declared_case_studies() -> set[str]:
    """The case studies with tables of the paper (air, student)."""
    return {t.datasets for t in TABLES.values() if t.sizes == "all"}


def figures_for(datasets: list[str]) -> list[FigureSpec]:
    """The figures of the configured datasets: the declared one where there is one, otherwise
    ``fig_<dataset>`` (a simulation case the paper does not have gets its own figure)."""
    declared = {f.dataset: f for f in FIGURES.values()}
    return [declared.get(d, FigureSpec(f"fig_{d}", d, None)) for d in datasets]
