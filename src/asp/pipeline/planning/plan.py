"""What one configuration asks the workflow to build, composed of its parts: the data
(asp.pipeline.planning.data, with what is missing), the sweeps, the results (tables, figures and
the files each reads), the training rules and jobs, the tune stage, the studies with steps of
their own, and the report. The .smk files only wire rules to a ``Plan``; everything here is
plain Python with unit tests, no Snakemake and no file I/O."""

from __future__ import annotations

from asp.pipeline.config import method_lists
from asp.pipeline.planning.data import DataPlan, Exists
from asp.pipeline.planning.report import ReportPlan
from asp.pipeline.planning.results import ResultsPlan
from asp.pipeline.planning.sweeps import ActiveStudy, active_sweeps, own_data
from asp.pipeline.planning.training import TrainingPlan
from asp.pipeline.planning.tuning import TuningPlan
from asp.studies.declaration import StudySteps
from asp.studies.missing import Missing
from asp.studies.registry import STUDIES
from asp.studies.steps import Step


class Plan:
    """The jobs, paths and parameters of one configuration (validated by the schema and
    asp.pipeline.config.check_config). ``exists`` tells whether a path is a file (what is
    missing is not run, and the report says so); without it every file is taken to be
    there."""

    def __init__(self, config: dict, exists: Exists | None = None):
        self.config = config
        self.data = DataPlan(config, exists)
        # what the run changes of the config, said at start-up (a study's replicates capped)
        self.notes: list[str] = []
        self.sweeps: dict[str, ActiveStudy] = active_sweeps(config, self.notes)
        # the studies with steps of their own (asp.studies.declaration.Study.steps) it runs
        self.step_studies: dict[str, StudySteps] = {
            s.id: steps
            for s in STUDIES.values()
            if s.steps is not None and (steps := s.steps(config, exists)) is not None
        }
        self.tuning = TuningPlan(config, self.data)
        self.results = ResultsPlan(
            config, self.data, self.sweeps, self.tuning, method_lists(config)
        )
        self.training = TrainingPlan(config, self.data, self.results, self.tuning)
        self.report = ReportPlan(self.data, self.results, self.tuning, self.step_studies)

    @property
    def steps(self) -> list[Step]:
        """The rules of the studies with steps of their own."""
        return [step for s in self.step_studies.values() for step in s.steps]

    @property
    def not_run(self) -> list[Missing]:
        """What the config asks for but this machine lacks the files of: each case study, then
        each study's (the report lists them, the run prints them)."""
        return list(self.data.missing.values()) + [
            m for s in self.step_studies.values() for m in s.missing
        ]

    @property
    def uses_gpu(self) -> bool:
        """Whether the training jobs ask for the GPU resource (``auto``: when torch sees
        one; torch is imported only then)."""
        if self.config["device"] != "auto":
            return self.config["device"] == "cuda"
        import torch  # a heavy import, only for this question

        return torch.cuda.is_available()

    def simulate_params(self, dataset: str, value: str | None = None, study: str | None = None):
        """A simulate job's parameters: the main run's data, or a sweep's at one value."""
        if study is None:
            return self.data.simulate_params(dataset)
        active = self.sweeps[study]
        case = active.study.case(active.cases[dataset], active.study.cast(value))
        return self.data.simulate_params(dataset, case, active.replicates)

    def floor_params(self, dataset: str, value: str | None = None, study: str | None = None):
        """A floor job's parameters: its data's simulation, and a sweep's value as the column
        its rows carry."""
        params = {"sim": self.simulate_params(dataset, value, study), "label": {}}
        if study is not None:
            s = self.sweeps[study].study
            params["label"] = {s.variable: s.cast(value)}
        return params

    @property
    def own_data_sweeps(self) -> list[ActiveStudy]:
        """The sweeps that simulate data of their own (a simulate and a floor rule each)."""
        return own_data(self.sweeps)
