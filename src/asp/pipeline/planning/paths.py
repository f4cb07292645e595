"""The plan's paths and the training rule: where fits and data go, the rules' priorities, and
a training rule with its jobs' outputs, inputs and log names.

Paths are Snakemake templates: ``{dataset}``, ``{n}``, ``{block}`` (a block of replicates
trained as one batch) and, in a study's paths, ``{value}`` (a value of its variable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

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


def main_fit(dataset: str, n, metric: str, method: str, block: int) -> str:
    """The main run's fit file of one (dataset, N, metric, method, block)."""
    return f"{FITS}/{dataset}/N{n}/{metric}/{method}/block{block}.parquet"


def blocks(config: dict, total: int) -> list[int]:
    """The blocks of ``total`` evaluation replicates (replicate_block each)."""
    return list(range(math.ceil(total / config["replicate_block"])))


def block_replicates(config: dict, block: int | str, total: int | None = None) -> list[int]:
    """Replicates of one block of the evaluation replicates 0..total-1 (default: all)."""
    size = config["replicate_block"]
    total = config["replicates"] if total is None else total
    return list(range(int(block) * size, min((int(block) + 1) * size, total)))


@dataclass(frozen=True)
class TrainingRule:
    """One training rule: each of its jobs trains ``methods`` x ``metrics`` of one (dataset,
    block) at every value of ``fold`` (the sizes N of the main run's rules, the values of a
    study's), one value after the other in one process, both stages of each
    (asp.experiments.jobs.run_both). A process costs seconds before it trains (imports, loading
    its compiled steps, which all values share), as much as a small value's training."""

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
    prefix: str = ""  # a study's value folder prefix (its logs' names)
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
        return f"{self.stage}/{{dataset}}_N{{n}}_{self.prefix}{values}_block{{block}}"
