"""Training jobs: the one entry point of the workflow's training rules, the tests and the
benchmark.

A job is a plain dict (the workflow builds it from the config; it is hashed into every row and
stored beside the fits): the dataset, N, replicates, seeds, device and dtype, the network's
hidden widths and output, the training settings, and its ``cells``, each a (metric, method)
with the hyper-parameters it trains with. ``run_both`` (the workflow's jobs) trains its stage-0
cells from scratch, then continues each rounds cell from the stage-0 state of the method its
method ``starts_from``; ``run_stage0`` and ``run_rounds`` are the two stages alone (the tune
stage). Each trains its cells as one batch per network family and returns, per cell, its rows,
curves and (stage 0) the state the rounds start from. An entry point parses its job once
(``ParsedJob``: the device, the dtype, the training settings, each cell's method, its hash) and
passes that down.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from asp.data.simulation import SimulationCase
from asp.engine import progress
from asp.engine.methods import HyperParams, Method, get_method, split_stages
from asp.engine.methods import cell as job_cell
from asp.engine.networks import NETWORKS, Architecture, Network
from asp.engine.seeds import replicate_seeds
from asp.engine.training import TrainOutcome, TrainSettings
from asp.experiments.replicates import (
    Batch,
    Replicate,
    concat,
    epoch_share,
    observed_replicate,
    resolve_device,
    rounds_rows,
    select,
    simulated_replicate,
    stage0_rows,
    train_rounds,
    train_stage0,
)

log = logging.getLogger("asp")

DTYPES = {"float32": torch.float32, "float64": torch.float64}
LOG_EVERY = 50  # epochs between progress lines in a job's log


def config_hash(params: dict) -> str:
    """Short hash of a job's own config slice: rows carry it so results can be traced."""
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ParsedJob:
    """A job as its stages use it, parsed once at the entry point: the job itself (what its
    hash covers), that hash, the device and dtype it trains in, its training settings, and the
    registered method of each of its cells."""

    job: dict
    digest: str
    device: torch.device
    dtype: torch.dtype
    settings: TrainSettings
    methods: dict[str, Method] = field(default_factory=dict)

    @classmethod
    def of(cls, job: dict) -> ParsedJob:
        return cls(
            job,
            config_hash(job),
            resolve_device(job["device"]),
            DTYPES[job["dtype"]],
            TrainSettings(**job["training"], log_every=LOG_EVERY),
            {c["method"]: get_method(c["method"]) for c in job["cells"]},
        )

    def stage(self, cells: list[dict], training: dict) -> ParsedJob:
        """The job of one stage: some of its cells, with that stage's training settings."""
        job = {**self.job, "cells": cells, "training": training}
        settings = TrainSettings(**training, log_every=LOG_EVERY)
        methods = {c["method"]: self.methods[c["method"]] for c in cells}
        return ParsedJob(job, config_hash(job), self.device, self.dtype, settings, methods)

    @property
    def cells(self) -> list[dict]:
        return self.job["cells"]

    @property
    def name(self) -> str:
        return self.job["name"]


def with_tuned_values(job: dict, tuned: list[tuple[str, dict]]) -> dict:
    """The job with the values its cells name in ``from_tuned_file`` taken from the tune stage's
    output of their metric; ``tuned`` holds (source, contents) of those outputs. Cells on the
    paper's values stay as they are."""
    chosen = {values["metric"]: (source, values["chosen"]) for source, values in tuned}
    cells = []
    for cell in job["cells"]:
        keys = cell.get("from_tuned_file")
        if keys is not None:
            if cell["metric"] not in chosen:
                raise ValueError(f"{job['name']}: no tuned input for metric {cell['metric']}")
            source, values = chosen[cell["metric"]]
            missing = [k for k in keys if k not in values]
            if missing:
                raise ValueError(f"{source}: 'chosen' lacks {missing}")
            cell = {k: v for k, v in cell.items() if k != "from_tuned_file"}
            cell |= {k: float(values[k]) for k in keys}
        cells.append(cell)
    return {**job, "cells": cells}


def job_replicates(
    job: dict, arrays: dict[int, tuple[np.ndarray, np.ndarray]] | None = None
) -> list[Replicate]:
    """The job's replicates: from ``arrays`` (replicate -> X, Y of a simulate or ingest output),
    or simulated from ``job["simulation"]`` (the tuning replicates of a simulation case)."""
    if arrays is None:
        sim = job["simulation"]
        case = SimulationCase.from_config(job["dataset"], sim["case"])
        return [
            simulated_replicate(
                case, job["n"], sim["n_inputs"], sim["n_tasks"], job["base_seed"], r
            )
            for r in job["replicates"]
        ]
    reps = []
    for r in job["replicates"]:
        x, y = arrays[r]
        n = len(x) if job["n"] == "all" else job["n"]  # case studies: N = usable rows
        seeds = replicate_seeds(job["base_seed"], job["dataset"], n, r)
        reps.append(observed_replicate(x, y, seeds, r))
    return reps


def architecture(job: dict, replicates: list[Replicate], family: str) -> Architecture:
    """The architecture of a network ``family`` in this job: its hidden widths from the job's
    key the family names (``hidden``; the RBF families' ``rbf_centres``)."""
    data = replicates[0].data
    n_in, n_out = data.x_train.shape[1], data.y_train.shape[1]
    key = NETWORKS[family].hidden_key
    if key not in job:
        raise ValueError(f"{job['name']}: the {family} networks need the job key {key!r}")
    return Architecture(n_in, tuple(job[key]), n_out, job["output"])


def check_batch_size(job: dict, replicates: list[Replicate]) -> None:
    """A mini-batch larger than the training split would silently be full-batch training."""
    n_train = replicates[0].data.x_train.shape[0]
    size = job["training"]["batch_size"]
    if size > n_train:
        raise ValueError(
            f"training.batch_size {size} exceeds the {n_train} training rows of "
            f"{job['dataset']} N={job['n']}; lower it or raise the sample size"
        )


@dataclass
class StageState:
    """What a stage-0 cell hands to the rounds that start from it."""

    outcome: TrainOutcome
    seconds: np.ndarray  # per fit
    replicates: list[int]
    metric: str
    method: str


@dataclass
class CellResult:
    cell: dict
    rows: pd.DataFrame  # one row per fit
    curves: dict[str, np.ndarray]  # replicates, val_<metric> (epochs x fits), epochs of note
    state: StageState | None = None  # stage 0 only
    # The fits' selected weights (list layout, leading axis: the fits in replicate order) and
    # the network they belong to: what predicts with them (asp.estimator). Kept in memory
    # only; the workflow writes rows and curves.
    params: list[torch.Tensor] | None = None
    network: Network | None = None


def _family_groups(job: ParsedJob, positions: list[int] | None = None) -> dict[str, list[int]]:
    """Cell positions (of ``positions``, default all) by network family: the fits of one
    family train as one batch, whatever their penalties. One batch pays less per fit-step
    than several (fewer step calls, one compiled graph); every fit of it computes each
    penalty form in it (a few per cent of a step: the data gradient dominates), and its
    seconds are the batch's shared by epochs (docs/method.md §14). A fit's numbers do not
    depend on its batch."""
    groups: dict[str, list[int]] = {}
    for i in range(len(job.cells)) if positions is None else positions:
        groups.setdefault(job.methods[job.cells[i]["method"]].network, []).append(i)
    return groups


def _per_fit(cells: list[dict], n_reps: int, key: str, default=None) -> list:
    """A cell value for every fit of a batch (cell-major: each cell's replicates in turn)."""
    return [c.get(key, default) for c in cells for _ in range(n_reps)]


def cell_frame(rows: list[dict], job: ParsedJob, cell: dict, job_seconds: float) -> pd.DataFrame:
    """One cell's rows, with the hyper-parameters it trained with (Tables 1, 2, 8, 10 read them
    from here), the job's config hash and wall time."""
    df, spec = pd.DataFrame(rows), job.job
    for key in ("dataset", "n"):
        df.insert(0, key, spec[key])
    df.insert(2, "metric", cell["metric"])
    for key in ("lambda", "lambda_star", "theta"):
        df[key] = float(cell.get(key, float("nan")))
    df["hyperparameters"] = cell["hyperparameters"]
    df["device"] = str(job.device)
    df["config_hash"] = job.digest
    df["job"] = spec["name"]
    df["job_seconds"] = job_seconds
    if "variable" in spec:  # a sweep's job (asp.studies.declaration): the value of its variable
        df[spec["variable"]] = spec[spec["variable"]]
    return df


def _batch(job: ParsedJob, replicates: list[Replicate], n_cells: int, arch, family: str) -> Batch:
    """The fits of ``n_cells`` cells on every replicate (cell-major), with the family's options
    from the job (asp.engine.networks.Network.job_options)."""
    fit_replicate = list(range(len(replicates))) * n_cells
    options = NETWORKS[family].job_options(job.job)
    return Batch(replicates, fit_replicate, arch, job.device, job.dtype, family, options)


def _share(trained: list[tuple], cells: int, total: int) -> tuple[float, float]:
    """The share of a stage's progress of the batch of ``cells`` cells after those ``trained``
    (each a tuple whose first item holds its cells' positions), of ``total`` cells."""
    before = sum(len(t[0]) for t in trained)
    return before / total, (before + cells) / total


def run_stage0(job: dict | ParsedJob, replicates: list[Replicate]) -> list[CellResult]:
    """Train every cell of a stage-0 job from scratch; one result per cell, in job order."""
    job = job if isinstance(job, ParsedJob) else ParsedJob.of(job)
    check_batch_size(job.job, replicates)
    n_reps = len(replicates)
    cells = job.cells
    trained = []
    start = time.perf_counter()
    for family, positions in _family_groups(job).items():
        part = [cells[i] for i in positions]
        arch = architecture(job.job, replicates, family)
        batch = _batch(job, replicates, len(part), arch, family)
        methods = _per_fit(part, n_reps, "method")
        log.info("%s: %d %s fits on %s", job.name, len(methods), family, job.device)
        t0 = time.perf_counter()
        # each family's batch its share of the stage's progress, by its cells (asp.engine.progress)
        with progress.stage(*_share(trained, len(part), len(cells)), ""):
            out = train_stage0(
                batch,
                methods,
                _per_fit(part, n_reps, "lambda", 0.0),
                job.settings,
                _per_fit(part, n_reps, "metric"),
            )
        seconds = time.perf_counter() - t0
        log.info("%s fits done in %.1f s; %d diverged", family, seconds, int(out.diverged.sum()))
        fit_seconds = epoch_share(seconds, out.epochs, out.stepped)
        trained.append(
            (positions, batch, out, stage0_rows(batch, out, methods, fit_seconds), fit_seconds)
        )
    job_seconds = time.perf_counter() - start
    results: list[CellResult | None] = [None] * len(cells)
    for positions, batch, out, rows, fit_seconds in trained:
        for j, i in enumerate(positions):
            part = slice(j * n_reps, (j + 1) * n_reps)
            mine = select(out, list(range(part.start, part.stop)))
            cell = cells[i]
            state = StageState(
                mine, fit_seconds[part], job.job["replicates"], cell["metric"], cell["method"]
            )
            curves = {
                "replicates": np.asarray(job.job["replicates"]),
                f"val_{cell['metric']}": mine.curves["val"],
                "best_epoch": mine.best_epoch.cpu().numpy(),
                "epochs": mine.epochs.cpu().numpy(),
            }
            frame = cell_frame(rows[part], job, cell, job_seconds)
            results[i] = CellResult(cell, frame, curves, state, mine.params, batch.network)
    return results


def run_rounds(
    job: dict | ParsedJob, replicates: list[Replicate], starts: list[StageState]
) -> list[CellResult]:
    """Continue every cell of a rounds job from the stage-0 state of its method's
    ``starts_from`` (same metric and replicates) with the adaptive rounds.

    Cells of a matched-budget method (``Method.matches``) train after the others, each fit
    with the rounds and epochs of its twin of the same metric and replicate in this job."""
    job = job if isinstance(job, ParsedJob) else ParsedJob.of(job)
    check_batch_size(job.job, replicates)
    n_reps = len(replicates)
    by_key = {}
    for s in starts:
        if s.replicates != job.job["replicates"]:
            raise ValueError(
                f"{job.name}: the {s.method} {s.metric} state holds replicates "
                f"{s.replicates}, not this job's {job.job['replicates']}"
            )
        by_key[(s.metric, s.method)] = s
    cells = job.cells
    matched = [i for i, c in enumerate(cells) if job.methods[c["method"]].matches]
    first = [i for i in range(len(cells)) if i not in matched]
    budgets: dict[tuple[str, str], np.ndarray] = {}  # (metric, method) -> (reps, R) epochs
    trained = []
    start = time.perf_counter()
    for positions in (first, matched):
        for family, members in _family_groups(job, positions).items():
            part = [cells[i] for i in members]
            arch = architecture(job.job, replicates, family)
            with progress.stage(*_share(trained, len(part), len(cells)), ""):
                out, batch, rows = _train_rounds_part(
                    job, replicates, part, family, by_key, budgets, arch
                )
            for j, c in enumerate(part):
                budgets[(c["metric"], c["method"])] = out.round_epochs[
                    j * n_reps : (j + 1) * n_reps
                ]
            trained.append((members, batch, out, rows))
    job_seconds = time.perf_counter() - start
    results: list[CellResult | None] = [None] * len(cells)
    for positions, batch, out, rows in trained:
        for j, i in enumerate(positions):
            part = slice(j * n_reps, (j + 1) * n_reps)
            cell = cells[i]
            curves = {
                "replicates": np.asarray(job.job["replicates"]),
                f"val_{cell['metric']}": out.curves["val"][:, part],
                "selected_epoch": out.selected_epoch[part].cpu().numpy(),
                "t_star": out.t_star[part].cpu().numpy(),
                "round_epochs": out.round_epochs[part],
            }
            results[i] = CellResult(
                cell,
                cell_frame(rows[part], job, cell, job_seconds),
                curves,
                params=[p[part] for p in out.params],
                network=batch.network,
            )
    return results


def methods_job(
    replicates: list, methods: list[str], values: dict, stage0: dict, rounds: dict, **keys
) -> dict:
    """A job outside a config (benchmarks, tests, a script): ``methods`` on ``replicates``
    (asp.experiments.replicates.Replicate) with one set of ``values`` (lambda, lambda_star, theta),
    both stages in one job for ``run_both``. ``stage0`` and ``rounds`` hold the training keys of the
    two stages (batch_size, max_epochs, patience, compile); ``keys`` override the job's others
    (metric, dtype, device, hidden, output, schedule, dataset, n). A method the rounds start from is
    trained too, whether ``methods`` has it or not."""
    metric = keys.pop("metric", "mse")
    first, later = split_stages(methods)
    job = {
        "stage": "both",
        "name": f"both {keys.get('dataset', 'arrays')}",
        "dataset": "arrays",
        "n": replicates[0].data.x_train.shape[0],
        "replicates": [r.index for r in replicates],
        "device": "cpu",
        "dtype": "float32",
        "hidden": [4, 3],
        "output": "linear",
        "cells": [job_cell(metric, m, values) for m in first + later],
        "training": stage0,
        "round_training": rounds,
        "schedule": "constant",
    }
    return job | keys


def run_both(job: dict, replicates: list[Replicate]) -> list[CellResult]:
    """A job that trains both stages (every workflow job): its stage-0 cells with
    ``job["training"]``, then its rounds cells from their states with ``job["round_training"]``.
    Results in the job's cell order; every row carries the whole job's config hash and its
    training seconds (both stages). The job is parsed once, here."""
    parsed = ParsedJob.of(job)
    cells = job["cells"]
    first = [c for c in cells if not parsed.methods[c["method"]].adaptive]
    later = [c for c in cells if parsed.methods[c["method"]].adaptive]
    start = time.perf_counter()
    # the job's progress: stage 0 as half of it where rounds follow (asp.engine.progress)
    with progress.stage(0.0, 0.5 if later else 1.0, "stage 0"):
        results = run_stage0(parsed.stage(first, job["training"]), replicates)
    if later:
        rounds = parsed.stage(later, job["round_training"])
        with progress.stage(0.5, 1.0, "adaptive rounds"):
            results += run_rounds(rounds, replicates, [r.state for r in results])
    seconds = time.perf_counter() - start
    for r in results:
        r.rows["job_seconds"] = seconds
        r.rows["config_hash"] = parsed.digest
    by_cell = {(r.cell["metric"], r.cell["method"]): r for r in results}
    return [by_cell[(c["metric"], c["method"])] for c in cells]


def _train_rounds_part(job: ParsedJob, replicates, part, family, by_key, budgets, arch):
    """One batch of a rounds job: the cells ``part`` of one network family."""
    n_reps = len(replicates)
    begin = []
    for c in part:
        key = (c["metric"], job.methods[c["method"]].starts_from)
        if key not in by_key:
            raise ValueError(f"{job.name}: no stage-0 state of {key[1]} for {key[0]}")
        begin.append(by_key[key])
    soft = concat([TrainOutcome.from_state(s.outcome.state_dict(), job.device) for s in begin])
    soft_seconds = np.concatenate([s.seconds for s in begin])
    hps = [
        HyperParams(c["lambda"], c["lambda_star"], c["theta"], job.job["schedule"])
        for c in part
        for _ in range(n_reps)
    ]
    budget = None
    twins = [job.methods[c["method"]].matches for c in part]
    if any(twins):
        rows = []
        for c, twin in zip(part, twins, strict=True):
            if (c["metric"], twin) not in budgets:
                raise ValueError(f"{job.name}: {c['method']} needs its twin {twin} in this job")
            rows.append(budgets[(c["metric"], twin)])
        width = max(r.shape[1] for r in rows)
        budget = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1]))) for r in rows])
    methods = _per_fit(part, n_reps, "method")
    batch = _batch(job, replicates, len(part), arch, family)
    log.info("%s: %d %s fits from stage 0 on %s", job.name, len(methods), family, job.device)
    t0 = time.perf_counter()
    metrics = _per_fit(part, n_reps, "metric")
    out = train_rounds(batch, soft, methods, hps, job.settings, metrics, budget)
    seconds = time.perf_counter() - t0
    log.info(
        "%s fits done in %.1f s; t* median %s; %d diverged",
        family,
        seconds,
        float(out.t_star.float().median()),
        int(out.diverged.sum()),
    )
    fit_seconds = soft_seconds + epoch_share(seconds, out.epochs)
    return out, batch, rounds_rows(batch, soft, out, methods, fit_seconds)
