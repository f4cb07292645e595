"""The CLL paper's image study (Xu 2023 §3.1, its Table 1), declared: which overlay data sets
can run (their source images found), its steps (a data set per source pair, one job per LeNet
model and data set, Table 1 and the validation curves, asp.studies.cll_images_steps) with their
paths and parameters, what the report lists as not run, and its report section.

A data set runs when the four idx files of each of its sources are found: in
``<data_dir>/<source>/`` for each of the config's ``data_dirs`` (``data/raw`` by default), or in
the folder where a system package installs them (Fashion-MNIST: Debian's
``dataset-fashion-mnist``). One whose files are missing is not run: the report names the files,
and its explicit targets refuse with the same message. Each file's sha256 is checked when the
data job reads it (asp.data.overlay_images.read_source).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from asp.analysis.cll_images_results import LABELS, findings, table1_layout
from asp.analysis.effects import Glance
from asp.data.overlay_images import IMAGE_SOURCES, PARTS, overlay_sources
from asp.engine.seeds import dataset_key
from asp.studies.declaration import BlockError, Study, StudySteps, register
from asp.studies.missing import Missing
from asp.studies.steps import Step

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
class ImagePlan:
    """The ``cll_images`` block of a config, and the files found for it."""

    block: dict
    found: dict[str, dict[str, str]]  # source -> part -> path, for the sources found

    @classmethod
    def from_config(cls, config: dict, exists: Callable[[str], bool] | None) -> ImagePlan:
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
    def missing(self) -> list[Missing]:
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

    def missing_data(self, dataset: str) -> Missing:
        lacking = [s for s in dict.fromkeys(overlay_sources(dataset)) if s not in self.found]
        return Missing(
            f"the CLL paper's data set {dataset!r}",
            tuple(
                f"{source}/{IMAGE_SOURCES[source].files[part][0]}"
                for source in lacking
                for part in PARTS
            ),
            tuple(f for s in lacking for f in self.folders(s)),
            "; ".join(IMAGE_SOURCES[s].obtain for s in lacking),
            f"leave {dataset} out of cll_images.datasets in the config",
        )

    def inputs(self, dataset: str) -> dict[str, str]:
        """The data job's source files, ``<source>_<part>`` -> path; a ValueError saying what
        to do when they are missing."""
        if dataset not in self.datasets:
            raise ValueError(
                f"{dataset!r} is not among cll_images.datasets ({', '.join(self.datasets)})"
            )
        if dataset not in self.present:
            raise ValueError(self.missing_data(dataset).message)
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
            raise ValueError(" ".join(m.message for m in self.missing))

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


# -- the declaration ------------------------------------------------------------------------

STEPS = "asp.studies.cll_images_steps"
TABLE = "results/tables/cll_images"
PAPER = "data/paper/cll_paper_tables.csv"
CURVES = f"{ROOT}/curves.csv"


def steps(config: dict, exists: Callable[[str], bool] | None) -> StudySteps | None:
    """Its rules: a data set per source pair, a job per model (ours in one) and data set, then
    Table 1 with its claims and curves, and the figure. A data set whose sources are missing
    is not run; the table and its figure refuse when none can run."""
    plan = ImagePlan.from_config(config, exists)
    if not plan.datasets:
        return None
    base_seed = config["base_seed"]
    sets = {"image_set": "|".join(plan.datasets)}

    def runs(w: dict) -> dict:
        plan.require_present()
        return {"runs": plan.run_files(), "curves": plan.curve_files(), "paper": PAPER}

    rules = (
        Step(
            "cll_images",
            "cll_images_data",
            f"{STEPS}:make_data",
            {"data": f"{ROOT}/{{image_set}}/data.npz"},
            input=lambda w: plan.inputs(w["image_set"]),
            params=lambda w: plan.data_params(w["image_set"], base_seed),
            constraints=sets,
        ),
        Step(
            "cll_images",
            "cll_images_run",
            f"{STEPS}:train",
            {
                "rows": f"{ROOT}/{{image_set}}/{{lenet_job}}.parquet",
                "curves": f"{ROOT}/{{image_set}}/{{lenet_job}}.curves.parquet",
            },
            input={"data": f"{ROOT}/{{image_set}}/data.npz"},
            params=lambda w: plan.job_params(w["image_set"], w["lenet_job"], base_seed),
            constraints=sets | {"lenet_job": "|".join(plan.jobs)},
            threads=True,
            gpu=plan.block.get("device") == "cuda",
        ),
        Step(
            "cll_images",
            "cll_images",
            f"{STEPS}:table",
            {"table": f"{TABLE}.csv", "claims": f"{TABLE}_claims.csv", "curves": CURVES},
            input=runs,
            params={"models": plan.models},
            report={"table": "Tables"},
        ),
        Step(
            "cll_images",
            "fig_cll_images",
            f"{STEPS}:figure",
            {"figure": "results/figures/fig_cll_images.png"},
            input={"curves": CURVES},
            report={"figure": "Figures"},
        ),
    )
    return StudySteps(rules, tuple(plan.missing), runs=bool(plan.present))


def _check(block: dict) -> None:
    """Splits the sources can fill."""
    if not block.get("datasets"):
        return
    images, batch = block["images"], block["training"]["batch_size"]
    if batch > images["train"]:
        raise BlockError(
            "training.batch_size",
            f"{batch} exceeds the {images['train']} training images (cll_images.images.train)",
        )


def _facts(table: pd.DataFrame, claims: pd.DataFrame, block: dict) -> dict:
    """The section's numbers: the models' labels, the smallest p-value the runs allow and the
    claims it leaves undecidable, the epochs each model trained."""
    # the signed-rank test's smallest two-sided p-value over n pairs: all n signs alike; Holm
    # multiplies a claim's smallest by its cells, so a claim whose product exceeds 5 % can
    # never be decided by these runs
    min_p = 2 / 2 ** block["runs"]
    cells = claims.groupby("claim", sort=False).size() if len(claims) else pd.Series()
    return {
        "labels": [LABELS.get(m, m) for m in block["models"]],
        "min_p": min_p,
        "undecidable": [f"{c} ({n} cells)" for c, n in cells.items() if n * min_p > 0.05],
        # the epochs each model trained: the adaptive rounds add theirs
        "epochs": table.groupby("model")["epochs"].max().to_dict(),
    }


def _findings(table: pd.DataFrame, claims: pd.DataFrame, block: dict, paper) -> list[dict]:
    protocol = (
        f"{block['images']['train']} training images, {block['runs']} runs, "
        f"{block['training']['epochs']} epochs"
    )
    return findings(table, claims, protocol)


register(
    Study(
        "cll_images",
        "Validation accuracy per epoch",
        """<b>The CLL paper's experiment</b> (§3.1), rerun: two-task images made by putting one
28 × 28 image in the top-left and another in the bottom-right corner of a 36 × 36 canvas (the
pixel-wise maximum where they overlap); task 1 is the top-left image's class, task 2 the
bottom-right one's. Models: {{ facts.labels | join(", ") }}, trained with Adam at
{{ block.training.lr }}, the learning rate halved every {{ block.training.halve_every }} epochs,
the two tasks' cross-entropies summed; each run's weights of its best epoch by validation
accuracy are tested ({{ reading("cll_table1") }}).</p>
<p class="note"><b>A reduced protocol, not the paper's:</b> {{ block.images.train }} training,
{{ block.images.val }} validation and {{ block.images.test }} test images per data set (the
paper: 120,000 training and 20,000 test), {{ block.runs }} runs per model (the paper: 10) and
{{ block.training.epochs }} epochs of mini-batches of {{ block.training.batch_size }} (the paper
gives neither). Every number below is under this protocol; the paper's runs on a GPU with
<code>config/cll_full.yaml</code>. <b>Ours:</b> the layer sizes, the correlation layer's and the
cross-stitch units' form and start, the validation hold-out, and the two rows "soft (ours)" and
"adaptive (ours)": the ASP paper's soft sharing between SingleLeNet's two networks (λ =
{{ block.sharing.lambda }}) and its adaptive rounds from that fit (λ* =
{{ block.sharing.lambda_star }}, θ = {{ block.sharing.theta }}, {{ block.sharing.round_epochs }}
epochs per round).""",
        config_key="cll_images",
        table_title="The CLL paper (Xu et al. 2023), Table 1: LeNet models on overlaid images",
        steps=steps,
        layout=lambda table, block: table1_layout(table, list(block["models"])),
        facts=_facts,
        legend="Each cell: mean (max) over runs of the test accuracy, as the paper reports it; "
        "the paper's in the last columns.",
        notes="""The claims, over runs in pairs (run r of every model and data set starts from
the same seed): each multi-task model is more accurate than SingleLeNet, MultiLeNet+ than
MultiLeNet, MultiLeNetCS+ than MultiLeNetCS; the multi-task gain over SingleLeNet follows the
paper's order of the data sets by relatedness (Multi-MNIST, Multi-FashionMNIST,
Multi-(Fashion+MNIST); tested only between data sets that ran); ours: adaptive than soft, soft
than SingleLeNet. Wilcoxon on the test errors, Holm across each claim's cells. With
{{ block.runs }} runs the smallest p-value the test can give is {{ "%.3g" % facts.min_p }}
(every run on one side), and Holm multiplies a claim's smallest by its number of
cells{% if facts.undecidable %}: <b>with so few runs these claims can be neither supported nor
contradicted at 5 %</b>: {{ facts.undecidable | join("; ") }}{% endif %}.
{%- if "lenet_adaptive" in facts.epochs %} Adaptive trains {{ facts.epochs.lenet_adaptive }}
epochs (its rounds included), the other models {{ block.training.epochs }}: where the models
are still improving at the end of the protocol, part of its lead is that budget.{% endif %}""",
        findings=_findings,
        paper_file=PAPER,
        # test accuracy: the difference in points
        glance=Glance(
            "Table 1",
            "test accuracy",
            "points",
            lambda c: c["dataset"] + " task " + c["task"].astype(str),
        ),
        check=_check,
    )
)
