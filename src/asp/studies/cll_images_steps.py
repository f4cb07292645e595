"""The CLL paper's image study's steps (asp.studies.cll_images): an overlay data set from its
sources' idx files, every run of one LeNet model (or of ours, soft and adaptive sharing) on it,
then Table 1 with its claims and curves, and the figure. Each takes an asp.studies.steps.StepCall
and
returns its outputs; ``workflow/scripts/step.py`` reads and writes the files."""

from __future__ import annotations

import logging

import pandas as pd
import torch

from asp.analysis.cll_images_results import LABELS, claims, curves, run_rows, table1
from asp.analysis.plots import lenet_curves
from asp.data.overlay_images import PARTS, OverlaySplit, build_overlay, overlay_sources, read_source
from asp.engine.progress import Progress
from asp.experiments.lenet_training import ImageTraining, Sharing, train_runs
from asp.studies.cll_images import SHARING_JOB, data_seed, run_seeds
from asp.studies.steps import StepCall

log = logging.getLogger("asp")


def make_data(call: StepCall) -> dict:
    """One overlay data set; each source file's sha256 is checked as it is read."""
    p = call.params
    dataset = p["dataset"]
    sources = {}
    for source in dict.fromkeys(overlay_sources(dataset)):
        names = {part: f"{source}_{part}" for part in PARTS}
        raw = {part: call.inputs[name] for part, name in names.items()}
        paths = {part: call.paths[name] for part, name in names.items()}
        sources[source] = s = read_source(source, raw, paths)
        log.info(
            "%s: %d training and %d test images", source, len(s.train_images), len(s.test_images)
        )
    splits = build_overlay(
        dataset, sources, p["images"], p["validation"], data_seed(p["base_seed"], dataset)
    )
    arrays = {}
    for split, part in splits.items():
        arrays |= {f"{split}_images": part.images, f"{split}_labels": part.labels}
        arrays[f"{split}_sources"] = part.sources
    log.info("%s: %s", dataset, {k: len(v.images) for k, v in splits.items()})
    return {"data": arrays}


def train(call: StepCall) -> dict:
    """Every run of one model on one data set: test accuracy per run and task, and the
    validation curves; runs in batches of ``runs_per_batch``, with a progress line at least
    every 30 s."""
    p, data = call.params, call.inputs["data"]
    dataset, job = p["dataset"], p["job"]
    splits = {
        s: OverlaySplit(data[f"{s}_images"], data[f"{s}_labels"], data[f"{s}_sources"])
        for s in ("train", "val", "test")
    }
    settings = ImageTraining(**p["training"])
    sharing = None
    if job == SHARING_JOB:
        s = p["sharing"]
        adaptive = "lenet_adaptive" in p["models"]
        sharing = Sharing(
            s["lambda"], s["lambda_star"], s["theta"] if adaptive else None, s["round_epochs"]
        )
    model = "single_lenet" if job == SHARING_JOB else job
    runs = list(range(p["runs"]))
    size = p["runs_per_batch"]
    chunks = [runs[lo : lo + size] for lo in range(0, len(runs), size)]
    progress = Progress(
        f"cll_images_run {dataset} {job}", [(f"runs {c[0]}-{c[-1]}", len(c)) for c in chunks]
    )
    rows, curve_rows = [], []
    for i, chunk in enumerate(chunks):
        label = f"{dataset} {job} runs {chunk[0]}-{chunk[-1]} of {len(runs)}"
        with progress.part(i):
            out = train_runs(
                model,
                run_seeds(p["base_seed"], chunk),
                splits,
                settings,
                getattr(torch, p["dtype"]),
                progress=label,
                sharing=sharing,
                device=p["device"],
            )
        if job == SHARING_JOB:
            # soft: the rounds' round 0 where the rounds ran
            parts = {"lenet_soft": out.soft or out}
            if out.soft is not None:
                parts["lenet_adaptive"] = out
            parts = {m: parts[m] for m in p["models"]}
        else:
            parts = {job: out}
        for name, result in parts.items():
            r, c = run_rows(dataset, result, chunk[0], name)
            rows.append(r)
            curve_rows.append(c)
    return {
        "rows": pd.concat(rows, ignore_index=True),
        "curves": pd.concat(curve_rows, ignore_index=True),
    }


def table(call: StepCall) -> dict:
    """The CLL paper's Table 1 beside ours, the claims and the validation curves."""
    rows = pd.concat(call.inputs["runs"], ignore_index=True)
    out = table1(rows, call.inputs["paper"], list(call.params["models"]))
    verdicts = claims(rows)
    log.info("Table 1 (CLL paper): %d rows, %d claim cells", len(out), len(verdicts))
    mean_curves = curves(pd.concat(call.inputs["curves"], ignore_index=True))
    return {"table": out, "claims": verdicts, "curves": mean_curves}


def figure(call: StepCall) -> dict:
    """Validation accuracy per epoch, per data set and model."""
    title = "The CLL paper's image study: validation accuracy per epoch (mean over runs, per task)"
    return {"figure": lenet_curves(call.inputs["curves"], LABELS, title)}
