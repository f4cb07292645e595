"""The data a configuration runs on: the simulation cases, the case studies with their files
(found, or missing: asp.studies.missing.Missing, one protocol for every kind of missing input),
the header check of each file, and the simulate jobs' parameters."""

from __future__ import annotations

from collections.abc import Callable

from asp.data.realdata import (
    DataFormatError,
    check_columns,
    expected_sha256,
    header_of,
    obtain,
    resolve_entry,
)
from asp.data.simulation import case_dimensions
from asp.pipeline.planning.paths import PlanError
from asp.studies.missing import Missing

Exists = Callable[[str], bool]


class DataPlan:
    """The configuration's data sets: ``exists`` tells whether a path is a file; a case study
    whose raw file is in none of case_studies.data_dirs is not run (the report names it);
    without ``exists`` every case study is taken to be there."""

    def __init__(self, config: dict, exists: Exists | None = None):
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

    def _find_raw(self, dataset: str, exists: Exists) -> str | None:
        name = self.entries[dataset]["file"]
        for folder in self.config["case_studies"]["data_dirs"]:
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

    def raw_file(self, dataset: str, exists: Exists) -> str:
        """The raw case-study file, from the first of case_studies.data_dirs that has it."""
        found = self._find_raw(dataset, exists)
        if found is None:
            raise PlanError(self.missing_data(dataset).message)
        return found

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

    def job_common(self, dataset: str, n: str) -> dict:
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

    def simulate_params(
        self, dataset: str, case: dict | None = None, replicates: int | None = None
    ) -> dict:
        """A simulate job's parameters: the main run's data, or ``case`` (a study's at one
        value) with its ``replicates``."""
        sim = self.config["simulation"]
        case = sim["cases"].get(dataset) if case is None else case
        n_inputs, n_tasks = case_dimensions(case, sim["n_inputs"], sim["n_tasks"])
        return {
            "case": case,
            "n_inputs": n_inputs,
            "n_tasks": n_tasks,
            "replicates": self.config["replicates"] if replicates is None else replicates,
            "base_seed": self.config["base_seed"],
        }
