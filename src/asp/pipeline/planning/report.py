"""What the report shows of a configuration: its tables and figures (nothing of a data set
whose files are missing), each figure beside its table, each study's section, and every file
the report reads."""

from __future__ import annotations

from asp.analysis.catalog import FigureSpec, TableSpec
from asp.pipeline.planning.data import DataPlan
from asp.pipeline.planning.results import ResultsPlan
from asp.pipeline.planning.sweeps import own_data
from asp.pipeline.planning.tuning import TuningPlan
from asp.studies.declaration import Study, StudySteps
from asp.studies.registry import STUDIES


class ReportPlan:
    def __init__(
        self,
        data: DataPlan,
        results: ResultsPlan,
        tuning: TuningPlan,
        step_studies: dict[str, StudySteps],
    ):
        self.data = data
        self.results = results
        self.tuning = tuning
        # the studies with steps whose table can be made (some of their data is there)
        self.step_studies = [STUDIES[k] for k, s in step_studies.items() if s.runs]
        missing = set(data.missing)
        self.tables: list[TableSpec] = [
            t for t in results.tables if not set(results.table_datasets(t)) & missing
        ] + [s.table for s in self.step_studies]
        self.figures: list[FigureSpec] = [f for f in results.figures if f.dataset not in missing]

    @property
    def studies(self) -> list[Study]:
        """The studies the report shows, in the order of their sections: the sweeps, then those
        with steps whose table can be made."""
        return [a.study for a in self.results.sweeps.values()] + self.step_studies

    def sections(self) -> list[dict]:
        """The report's section of each study, in the order of its figures."""
        return [
            {"id": s.id, "title": s.title, "text": s.text, "legend": s.legend, "notes": s.notes}
            for s in self.studies
        ]

    def figure_table(self, fig: FigureSpec) -> str | None:
        """The table a figure illustrates, which the report puts it beside: a case study's
        results table, or the simulation's loss table of the figure's metric."""
        for spec in self.tables:
            if fig.dataset in self.data.real:
                if spec.builder == "case_study" and spec.datasets == fig.dataset:
                    return spec.id
            elif spec.builder == "loss" and spec.metric == self.results.figure_metric:
                return spec.id
        return None

    def inputs(self) -> dict[str, list[str]]:
        """Every file the report reads, by kind (nothing of a case study whose data is
        missing)."""
        data, results = self.data, self.results
        checksums = [f"results/data/{d}/N{n}.sha256" for d in data.cases for n in data.sizes] + [
            f"{a.root.format(value=v)}/data/{d}/N{a.n}.sha256"
            for a in own_data(results.sweeps)
            for v in a.values
            for d in a.datasets
        ]
        tuned = self.tuning.report_inputs
        return {
            "tables": [f"results/tables/{t.id}.csv" for t in self.tables],
            "claims": [f"results/tables/{t.id}_claims.csv" for t in self.tables],
            "figures": [f"results/figures/{f.id}.png" for f in self.figures],
            "checksums": checksums,
            "case_studies": [
                f"results/data/{d}/Nall.json" for d in data.real if d not in data.missing
            ],
            "fits": sorted({f for t in self.tables for f in results.table_inputs(t)}),
            "tuned": tuned,
            "tuning_figure": ["results/figures/tuning_history.png"] if tuned else [],
            "study_figures": [f"results/figures/{s.figure}.png" for s in self.studies],
            # the paper tables of the studies with steps (their findings read them)
            "papers": sorted({s.paper_file for s in self.step_studies if s.paper_file}),
        }
