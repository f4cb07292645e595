"""What a configuration's results are built from: its tables (the paper's, a case study's own,
each sweep's) and figures, the fit files each reads, the floor and tuned files beside them,
the main run's methods at each data set and N (what its tables and figures read), and the main
run's fits each sweep reuses at its neutral value."""

from __future__ import annotations

from functools import cached_property

from asp.analysis.catalog import (
    FIGURE_METHODS,
    TABLES,
    FigureSpec,
    TableSpec,
    case_study_tables,
    declared_case_studies,
    figures_for,
)
from asp.engine.methods import split_stages
from asp.engine.preprocessing import split_sizes
from asp.pipeline.planning.data import DataPlan
from asp.pipeline.planning.paths import CELL, FITS, blocks, main_fit
from asp.pipeline.planning.sweeps import ActiveStudy, neutral_reuse
from asp.pipeline.planning.tuning import TuningPlan, rounds_settings, stage0_settings


class ResultsPlan:
    """The tables and figures of a configuration and the files each reads."""

    def __init__(
        self,
        config: dict,
        data: DataPlan,
        sweeps: dict[str, ActiveStudy],
        tuning: TuningPlan,
        method_lists: dict[str, list[str]],
    ):
        self.config = config
        self.data = data
        self.sweeps = sweeps
        self.tuning = tuning
        self.method_lists = method_lists
        self.metrics = list(config["metrics"])
        self.focus = config["focus_size"]
        self.blocks = blocks(config, config["replicates"])
        self.tables = self._tables()
        self.figures: list[FigureSpec] = figures_for(data.datasets)
        # Figures draw the curves of one metric: MSE when the config has it.
        self.figure_metric = "mse" if "mse" in self.metrics else self.metrics[0]

    def _tables(self) -> list[TableSpec]:
        paper = [
            spec
            for spec in TABLES.values()
            if self.table_datasets(spec) and (spec.metric is None or spec.metric in self.metrics)
        ]
        own = [  # a case study the paper does not have: its tables in the layout of Tables 8-11
            spec
            for d in self.data.real
            if d not in declared_case_studies()
            for spec in case_study_tables(d)
            if spec.id not in TABLES
        ]
        return paper + own + [s.study.table for s in self.sweeps.values()]

    # -- what a table reads ---------------------------------------------------------------------

    def table_datasets(self, spec: TableSpec) -> list[str]:
        if spec.study is not None:  # a sweep's; a study with steps reads what its steps say
            return self.sweeps[spec.study].datasets if spec.study in self.sweeps else []
        if spec.datasets == "simulation":
            return self.data.cases
        return [spec.datasets] if spec.datasets in self.data.real else []

    def table_sizes(self, spec: TableSpec) -> list:
        if spec.study is not None:
            return [self.sweeps[spec.study].n]
        return {"every": self.data.sizes, "focus": [self.focus], "all": ["all"]}[spec.sizes]

    def table_methods(self, spec: TableSpec) -> list[str]:
        if spec.study is not None:
            return self.sweeps[spec.study].methods if spec.study in self.sweeps else []
        if isinstance(spec.methods, str):
            return self.method_lists[spec.methods]
        return list(spec.methods)

    def table_metrics(self, spec: TableSpec) -> list[str]:
        if spec.study is not None:
            return self.sweeps[spec.study].metrics
        return [spec.metric] if spec.metric else self.metrics

    def main_methods(self, dataset: str, n) -> tuple[str, ...]:
        """The methods the main run trains on (``dataset``, ``n``): those a paper table or
        figure there reads, with the stage-0 methods the rounds start from and the twins of
        matched-budget methods (asp.engine.methods.split_stages), stage 0 first. Nothing no
        table reads: the baselines beyond the paper train only where a table shows them."""
        names = set()
        for spec in self.tables:
            if spec.study is None and dataset in self.table_datasets(spec):
                if str(n) in map(str, self.table_sizes(spec)):
                    names.update(self.table_methods(spec))
        for fig in self.figures:
            if fig.dataset == dataset and str(self.figure_n(fig)) == str(n):
                names.update(FIGURE_METHODS)
        return tuple(sum(split_stages(names), [])) if names else ()

    @cached_property
    def reused(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """Per sweep, the main run's fits it reuses at its neutral value (value -> methods)."""
        return {k: neutral_reuse(a, self.config, self.main_methods) for k, a in self.sweeps.items()}

    def fits(self, dataset: str, n, metric: str, method: str, study: str | None = None):
        """The fit files of one (dataset, N, metric, method): every block (and value). A
        study's at its neutral value are the main run's of the methods it reuses."""
        cell = f"{dataset}/N{n}/{metric}/{method}/block%d.parquet"
        if study is None:
            return [main_fit(dataset, n, metric, method, b) for b in self.blocks]
        active, reused = self.sweeps[study], self.reused[study]
        return [
            main_fit(dataset, n, metric, method, b)
            if method in reused.get(v, ())
            else f"{active.root.format(value=v)}/fits/{cell}" % b
            for v in active.values
            for b in blocks(self.config, active.replicates)
        ]

    def reuse_labels(self, spec: TableSpec) -> dict[str, dict]:
        """The main run's fit files a study's table reads at its neutral value, each with what
        makes its rows the study's (asp.studies.declaration.as_study_rows): the study's
        variable and value, and its number of replicates."""
        if spec.study is None:
            return {}
        active = self.sweeps[spec.study]
        study = active.study
        return {
            main_fit(d, self.focus, metric, m, b): {
                "variable": study.variable,
                "value": study.cast(v),
                "replicates": active.replicates,
            }
            for v, methods in self.reused[spec.study].items()
            for d in self.table_datasets(spec)
            for metric in active.metrics
            for m in methods
            for b in blocks(self.config, active.replicates)
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
        """The floor files (asp.data.floor) of a loss table on simulated data: one per case and
        N (and value, for a study with data of its own)."""
        if spec.datasets != "simulation" or spec.builder not in ("loss", "study"):
            return []
        files = [
            f"results/data/{d}/N{n}.floor.csv"
            for d in self.table_datasets(spec)
            for n in self.table_sizes(spec)
        ]
        active = self.sweeps.get(spec.study)
        if active is not None and active.study.case is not None:
            floor = active.data.replace(".parquet", ".floor.csv")
            files = [
                floor.format(value=v, dataset=d, n=active.n)
                for v in active.values
                for d in self.table_datasets(spec)
            ]
        return files

    def tuned_table_inputs(self, spec: TableSpec) -> list[str]:
        """The tuned values beside a hyper-parameter table (when training uses them)."""
        if not spec.tuned:
            return []
        return [
            self.tuning.tuned_path(d, m)
            for d in self.table_datasets(spec)
            if self.tuning.is_tuned(d)
            for m in self.table_metrics(spec)
        ]

    # -- figures ----------------------------------------------------------------------------------

    def figure_n(self, fig: FigureSpec):
        return "all" if fig.dataset in self.data.real else self.focus

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
        active = self.sweeps[study]
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
            for b in blocks(self.config, active.replicates)
        ]

    def study_curves(self, study: str) -> list[str]:
        """The curves files a study's figure draws (its rule's inputs)."""
        return [path for path, _ in self._study_curve_files(study)]

    def study_curve_params(self, study: str) -> dict:
        """What the figure needs to read its curves: each file's value and method (in the
        order of ``study_curves``), the metric, and the mini-batch steps of one epoch of its
        jobs (the x axis counts iterations)."""
        active = self.sweeps[study]
        if not active.study.curves:
            return {}
        job = active.study.adjust(
            {
                "training": stage0_settings(self.config),
                "round_training": rounds_settings(self.config),
            },
            active.study.cast(active.values[0]),
            active.block,
        )
        n_train = split_sizes(active.n)[0]
        return {
            "files": [label for _, label in self._study_curve_files(study)],
            "metric": active.metrics[0],
            "steps_per_epoch": -(-n_train // job["training"]["batch_size"]),
        }
