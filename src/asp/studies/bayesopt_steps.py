"""The CLL paper's Bayesian optimisation's steps (asp.studies.bayesopt): one surrogate on every
test-function pair in turn, then Table 2 with its claims and curves, and the figure. Each takes
an asp.studies.steps.StepCall and returns its outputs; ``workflow/scripts/step.py`` reads and writes
the files."""

from __future__ import annotations

import logging
import time

import pandas as pd

from asp.analysis.bayesopt_results import LABELS, claims, curves, table2
from asp.analysis.plots import bayesopt_curves
from asp.engine.progress import Progress
from asp.experiments.bayesopt import run_pair
from asp.experiments.surrogates import make_surrogate
from asp.studies.steps import StepCall

log = logging.getLogger("asp")


def optimise_pairs(call: StepCall) -> dict:
    """Every run at every p of each pair as one batch, one pair after the other, with a
    progress line at least every 30 s: a file per pair, its rows carrying its seconds."""
    p, name = call.params, call.wildcards["surrogate"]
    block = dict(p["block"])
    surrogate = make_surrogate(name, block, bool(p["compile"]))
    progress = Progress(f"bayesopt {name}", [(pair, 1) for pair in p["pairs"]])
    out = []
    for i, pair in enumerate(p["pairs"]):
        start = time.perf_counter()
        with progress.part(i):
            rows = run_pair(block, pair, surrogate, int(p["base_seed"]))
        seconds = time.perf_counter() - start
        out.append(rows.assign(seconds=seconds))
        log.info("%s %s: %d rows in %.0f s", pair, name, len(rows), seconds)
    return {"runs": out}


def table(call: StepCall) -> dict:
    """The CLL paper's Table 2 beside ours, the paired claims and the best-so-far curves."""
    rows = pd.concat(call.inputs["runs"], ignore_index=True)
    out = table2(rows, call.inputs["paper"], list(call.params["surrogates"]))
    verdicts = claims(rows)
    log.info("Table 2 (CLL paper): %d rows, %d claim cells", len(out), len(verdicts))
    return {"table": out, "claims": verdicts, "curves": curves(rows)}


def figure(call: StepCall) -> dict:
    """Best value found so far against evaluations, per pair and p."""
    title = (
        "The CLL paper's Bayesian optimisation: best value found so far (mean over runs and "
        "both tasks, 25-75 % band)"
    )
    return {"figure": bayesopt_curves(call.inputs["curves"], LABELS, title)}
