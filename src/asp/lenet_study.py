"""The plan of the CLL paper's image study (Xu 2023 §3.1, its Table 1): which overlay data sets
can run (their source images found), the jobs that train the LeNet models on each, their paths
and parameters, and what the report lists as not run.

A data set runs when the four idx files of each of its sources are found: in
``<data_dir>/<source>/`` for each of the config's ``data_dirs`` (``data/raw`` by default), or in
the folder where a system package installs them (Fashion-MNIST: Debian's
``dataset-fashion-mnist``). One whose files are missing is not run: the report names the files,
and its explicit targets refuse with the same message. Each file's sha256 is checked when the
data job reads it (asp.overlay_images.read_source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from asp.overlay_images import IMAGE_SOURCES, PARTS, overlay_sources
from asp.seeds import dataset_key

# ours, the ASP paper's methods between single_lenet's two networks: one job trains both, the
# soft fit being the adaptive rounds' round 0
SHARING = ("lenet_soft", "lenet_adaptive")
SHARING_JOB = "lenet_sharing"
ROOT = "results/cll_images"


def data_seed(base_seed: int, dataset: str) -> np.random.SeedSequence:
    """The seed of a data set's overlays (which images, where held out)."""
    return np.random.SeedSequence(
        base_seed, spawn_key=(dataset_key("cll_images"), dataset_key(dataset))
    )


def run_seeds(base_seed: int, runs: list[int]) -> list[np.random.SeedSequence]:
    """Run r's seed (initial weights, mini-batch orders): the same for every model and data
    set, so that the claims compare runs in pairs."""
    return [
        np.random.SeedSequence(
            base_seed, spawn_key=(dataset_key("cll_images"), dataset_key("runs"), r)
        )
        for r in runs
    ]


@dataclass(frozen=True)
class ImageStudy:
    """The ``cll_images`` block of a config, and the files found for it."""

    block: dict
    found: dict[str, dict[str, str]]  # source -> part -> path, for the sources found

    @classmethod
    def from_config(cls, config: dict, exists: Callable[[str], bool] | None) -> ImageStudy:
        """``exists`` tells whether a path is a file; without it every source is taken to be
        there (a plan outside a machine's files)."""
        block = dict(config.get("cll_images") or {})
        study = cls(block, {})
        sources = {s for d in study.datasets for s in overlay_sources(d)}
        for source in sorted(sources):
            paths = study.source_paths(source, exists)
            if paths is not None:
                study.found[source] = paths
        return study

    # -- what runs ----------------------------------------------------------------------------

    @property
    def datasets(self) -> list[str]:
        """The configured data sets (none: the study is off)."""
        return list(self.block.get("datasets", []))

    @property
    def present(self) -> list[str]:
        return [d for d in self.datasets if set(overlay_sources(d)) <= set(self.found)]

    @property
    def missing(self) -> list[dict]:
        """For the report: each data set not run, the files it needs and where they were
        looked for."""
        return [self.missing_data(d) for d in self.datasets if d not in self.present]

    def folders(self, source: str) -> list[str]:
        """Where a source's files are looked for, in order."""
        dirs = [f"{d.rstrip('/')}/{source}" for d in self.block.get("data_dirs", ["data/raw"])]
        package = IMAGE_SOURCES[source].package_dir
        return dirs + ([package] if package else [])

    def source_paths(
        self, source: str, exists: Callable[[str], bool] | None
    ) -> dict[str, str] | None:
        """The four files of a source from the first folder that has all of them, or None."""
        files = IMAGE_SOURCES[source].files
        for folder in self.folders(source):
            paths = {part: f"{folder}/{files[part][0]}" for part in PARTS}
            if exists is None or all(exists(p) for p in paths.values()):
                return paths
        return None

    def missing_data(self, dataset: str) -> dict:
        lacking = [s for s in dict.fromkeys(overlay_sources(dataset)) if s not in self.found]
        return {
            "dataset": dataset,
            "files": [
                f"{source}/{IMAGE_SOURCES[source].files[part][0]}"
                for source in lacking
                for part in PARTS
            ],
            "searched": [f for s in lacking for f in self.folders(s)],
            "obtain": "; ".join(IMAGE_SOURCES[s].obtain for s in lacking),
        }

    def missing_message(self, dataset: str) -> str:
        m = self.missing_data(dataset)
        return (
            f"the CLL paper's data set {dataset!r} needs {', '.join(m['files'])}, found in none "
            f"of {m['searched']}: {m['obtain']}. Or leave {dataset} out of cll_images.datasets "
            f"in the config."
        )

    def inputs(self, dataset: str) -> dict[str, str]:
        """The data job's source files, ``<source>_<part>`` -> path; a ValueError saying what
        to do when they are missing."""
        if dataset not in self.datasets:
            raise ValueError(
                f"{dataset!r} is not among cll_images.datasets ({', '.join(self.datasets)})"
            )
        if dataset not in self.present:
            raise ValueError(self.missing_message(dataset))
        return {
            f"{source}_{part}": path
            for source in dict.fromkeys(overlay_sources(dataset))
            for part, path in self.found[source].items()
        }

    # -- jobs ---------------------------------------------------------------------------------

    @property
    def models(self) -> list[str]:
        return list(self.block.get("models", []))

    @property
    def jobs(self) -> list[str]:
        """One training job per paper model, and one for ours (soft and adaptive) if asked."""
        paper = [m for m in self.models if m not in SHARING]
        return paper + ([SHARING_JOB] if set(SHARING) & set(self.models) else [])

    def data_file(self, dataset: str) -> str:
        return f"{ROOT}/{dataset}/data.npz"

    def require_present(self) -> None:
        """A ValueError saying why no data set can run (the study's own targets ask)."""
        if not self.datasets:
            raise ValueError("cll_images.datasets is empty in the config: the study is off")
        if not self.present:
            raise ValueError(" ".join(self.missing_message(d) for d in self.datasets))

    def run_files(self) -> list[str]:
        return [f"{ROOT}/{d}/{job}.parquet" for d in self.present for job in self.jobs]

    def curve_files(self) -> list[str]:
        return [f"{ROOT}/{d}/{job}.curves.parquet" for d in self.present for job in self.jobs]

    def job_params(self, dataset: str, job: str, base_seed: int) -> dict:
        """Everything a training job needs besides its data."""
        if job not in self.jobs:
            raise ValueError(f"{job!r} is not a job of cll_images ({', '.join(self.jobs)})")
        block = self.block
        params = {
            "dataset": dataset,
            "job": job,
            "base_seed": base_seed,
            "runs": block["runs"],
            "runs_per_batch": block["runs_per_batch"],
            "training": dict(block["training"]),
            "device": block["device"],
            "dtype": block["dtype"],
        }
        if job == SHARING_JOB:
            params["models"] = [m for m in SHARING if m in self.models]
            params["sharing"] = dict(block["sharing"])
        return params

    def data_params(self, dataset: str, base_seed: int) -> dict:
        return {
            "dataset": dataset,
            "base_seed": base_seed,
            "images": dict(self.block["images"]),
            "validation": self.block["validation"],
        }

    @property
    def outputs(self) -> list[str]:
        """The report's files of the study: empty when no data set can run."""
        if not self.present:
            return []
        return [
            "results/tables/cll_images.csv",
            "results/tables/cll_images_claims.csv",
            "data/paper/cll_paper_tables.csv",
            "results/figures/fig_cll_images.png",
        ]
