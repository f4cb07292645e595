"""Replicates and batches: from seeds to prepared data, from a batch of fits to trained
outcomes, and from outcomes to one row per fit.

Stage 0 trains the stage-0 methods of ``asp.engine.methods`` from scratch; the rounds methods
continue from a stage-0 outcome of the same replicate. ``asp.experiments.jobs`` runs both for the
workflow's jobs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch

from asp.data.simulation import SimulationCase, simulated_arrays
from asp.engine import metrics
from asp.engine.adaptive import AdaptiveOutcome, AdaptiveRounds, full_masks
from asp.engine.methods import HyperParams, get_method
from asp.engine.networks import Architecture, Network, get_network
from asp.engine.penalties import get_penalty
from asp.engine.preprocessing import PreparedData, prepare, split_indices
from asp.engine.seeds import replicate_seeds, torch_seed
from asp.engine.training import (
    BatchSampler,
    FitData,
    PenaltyTerm,
    TrainOutcome,
    TrainSettings,
    stage_seeds,
    train,
)


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was asked for but torch.cuda.is_available() is False")
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


@dataclass
class Replicate:
    """One replicate: its index, its seed streams and its scaled split data. A network that
    starts from its inputs (the RBF families' k-means) starts from ``start_inputs`` where
    given, else from the training inputs: the members of a bootstrap ensemble
    (asp.experiments.surrogates) start from one k-means of all their points."""

    index: int
    seeds: dict[str, np.random.SeedSequence]
    data: PreparedData
    start_inputs: np.ndarray | None = field(default=None, compare=False)


def simulated_replicate(
    case: SimulationCase, n: int, n_inputs: int, n_tasks: int, base_seed: int, index: int
) -> Replicate:
    x, y = simulated_arrays(case, n, n_inputs, n_tasks, base_seed, index)
    return observed_replicate(x, y, replicate_seeds(base_seed, case.name, n, index), index)


def observed_replicate(
    x: np.ndarray, y: np.ndarray, seeds: dict[str, np.random.SeedSequence], index: int
) -> Replicate:
    """A replicate of fixed data (real data): only the split and initialisation vary."""
    split = split_indices(len(x), np.random.default_rng(seeds["split"]))
    return Replicate(index, seeds, prepare(x, y, split))


@dataclass
class Batch:
    """B fits over replicates: data, initial weights and mini-batch streams, aligned by fit."""

    replicates: list[Replicate]
    fit_replicate: list[int]  # position in ``replicates`` of each fit
    arch: Architecture
    device: torch.device
    dtype: torch.dtype
    family: str = "per_task_mlp"  # network family of every fit (asp.engine.networks)
    options: dict = field(default_factory=dict)  # the family's options (Network.job_options)

    @cached_property
    def network(self) -> Network:
        return get_network(self.family, self.arch, **self.options)

    @cached_property
    def data(self) -> FitData:
        """The fits' data as tensors, stacked once per batch."""
        prepared = [r.data for r in self.replicates]
        return FitData.stack(prepared, self.fit_replicate, self.device, self.dtype)

    def initial_params(self) -> list[torch.Tensor]:
        net = self.network
        per_rep = [
            net.init_params(
                torch_seed(r.seeds["init"]),
                r.data.x_train if r.start_inputs is None else r.start_inputs,
            )
            if net.needs_inputs
            else net.init_params(torch_seed(r.seeds["init"]))
            for r in self.replicates
        ]
        return [
            torch.as_tensor(
                np.stack([per_rep[i][k] for i in self.fit_replicate]), dtype=self.dtype
            ).to(self.device)
            for k in range(len(per_rep[0]))
        ]

    def sampler(self, stage: int) -> BatchSampler:
        """Mini-batch orders of stage 0 (``stage=0``) or adaptive round ``stage``."""
        seeds = stage_seeds(self.batch_seeds, [stage] * len(self.fit_replicate))
        return BatchSampler(seeds, self.replicates[0].data.x_train.shape[0])

    @property
    def batch_seeds(self) -> list[np.random.SeedSequence]:
        """Each fit's mini-batch stream; stage t draws from ``stage_seed(seed, t)``."""
        return [self.replicates[i].seeds["batches"] for i in self.fit_replicate]

    def per_fit(self, values: list[float], dtype: torch.dtype | None = None) -> torch.Tensor:
        return torch.as_tensor(values, dtype=dtype or self.dtype, device=self.device)


def train_stage0(
    batch: Batch,
    methods: list[str],
    lam: list[float],
    settings: TrainSettings,
    metrics: list[str] | None = None,
) -> TrainOutcome:
    """Stage-0 fits from their initial weights: fit b with its method's stage-0 penalty at
    coefficient ``lam[b]`` (0 for independent networks; none for a family without one).

    ``metrics`` gives each fit's validation metric (default ``settings.metric``)."""
    specs = [get_method(m) for m in methods]
    if any(m.stage != "stage0" for m in specs) or len(specs) != len(lam):
        raise ValueError(f"stage 0 needs one stage0 method and one lambda per fit: {methods}")
    params = batch.initial_params()
    ws = batch.network.weights(params)
    terms = []
    for name in dict.fromkeys(m.stage0_penalty for m in specs if m.stage0_penalty):
        penalty = get_penalty(name)
        coef = [c if m.stage0_penalty == name else 0.0 for m, c in zip(specs, lam, strict=True)]
        terms.append(PenaltyTerm(penalty, batch.per_fit(coef), full_masks(penalty, ws)))
    return train(params, batch.data, batch.network, terms, settings, batch.sampler(0), metrics)


def train_rounds(
    batch: Batch,
    soft: TrainOutcome,
    methods: list[str],
    hp: HyperParams | list[HyperParams],
    settings: TrainSettings,
    metrics: list[str] | None = None,
    round_budget: np.ndarray | None = None,
) -> AdaptiveOutcome:
    """The adaptive rounds of each fit's method, from the soft outcome of the same replicate.

    ``hp`` is shared by all fits or given per fit (one schedule for all); ``metrics`` gives
    each fit's validation metric (default ``settings.metric``). Each method says whether its
    rounds prune and whether they apply lambda* or lambda; ``round_budget`` (B, R) fixes the
    rounds and epochs of matched fits (-1 rows: the others;
    see ``asp.engine.adaptive.AdaptiveRounds``).
    """
    specs = [get_method(m) for m in methods]
    if any(not m.adaptive for m in specs):
        raise ValueError(f"methods {methods} include one without adaptive rounds")
    hps = [hp] * len(methods) if isinstance(hp, HyperParams) else list(hp)
    if len(hps) != len(methods):
        raise ValueError(f"{len(hps)} hyper-parameter sets for {len(methods)} fits")
    schedules = {h.schedule for h in hps}
    if len(schedules) != 1:
        raise ValueError(f"one lambda* schedule per batch, got {sorted(schedules)}")
    coefs = [
        h.lam if m.round_coefficient == "lambda" else h.lam_star
        for m, h in zip(specs, hps, strict=True)
    ]
    return AdaptiveRounds(
        soft,
        batch.data,
        batch.network,
        [m.round_penalty for m in specs],
        # float64: reported theta* and lambda* are exact (0.98, not 0.9800000042)
        batch.per_fit([h.lam for h in hps], torch.float64),
        batch.per_fit(coefs, torch.float64),
        batch.per_fit([h.theta for h in hps], torch.float64),
        settings,
        batch.batch_seeds,
        schedules.pop(),
        metrics,
        [m.prunes for m in specs],
        round_budget,
    ).run()


def test_metrics(params: list[torch.Tensor], data: FitData, network: Network) -> dict:
    """Standard and literal test metrics per fit, as numpy arrays."""
    with torch.no_grad():
        pred = network.predict(params, data.x_test)
        return {
            f"test_{k}": v.cpu().numpy() for k, v in metrics.evaluate(pred, data.y_test).items()
        }


def epoch_share(
    seconds: float, epochs: torch.Tensor, stepped: torch.Tensor | None = None
) -> np.ndarray:
    """A batch's training seconds attributed to its fits in proportion to the epochs each
    trained (per-fit cost of a batched job; the fits of a batch share every step). Where fits
    took epochs from a twin (``stepped``: the epochs each computed), the batch's seconds per
    computed epoch are charged for every epoch: what the fit costs trained alone in the batch."""
    e = epochs.cpu().numpy().astype(float)
    done = e if stepped is None else stepped.cpu().numpy().astype(float)
    return (
        seconds * e / done.sum() if done.sum() > 0 else np.full(e.shape, seconds / max(e.size, 1))
    )


def concat(outcomes: list[TrainOutcome]) -> TrainOutcome:
    """The fits of several outcomes, one after the other (curves NaN-padded to one length)."""
    n_epochs = max(o.curves["val"].shape[0] for o in outcomes)

    def padded(c: np.ndarray) -> np.ndarray:
        return np.pad(c, ((0, n_epochs - c.shape[0]), (0, 0)), constant_values=np.nan)

    return TrainOutcome(
        params=[torch.cat(ps) for ps in zip(*(o.params for o in outcomes), strict=True)],
        best_val=torch.cat([o.best_val for o in outcomes]),
        best_epoch=torch.cat([o.best_epoch for o in outcomes]),
        epochs=torch.cat([o.epochs for o in outcomes]),
        diverged=torch.cat([o.diverged for o in outcomes]),
        curves={"val": np.concatenate([padded(o.curves["val"]) for o in outcomes], axis=1)},
        stepped=None
        if any(o.stepped is None for o in outcomes)
        else torch.cat([o.stepped for o in outcomes]),
    )


def select(outcome: TrainOutcome, index: list[int]) -> TrainOutcome:
    """The fits ``index`` of an outcome (curves included)."""
    idx = torch.as_tensor(index, device=outcome.best_val.device)
    return TrainOutcome(
        params=[p.index_select(0, idx) for p in outcome.params],
        best_val=outcome.best_val[idx],
        best_epoch=outcome.best_epoch[idx],
        epochs=outcome.epochs[idx],
        diverged=outcome.diverged[idx],
        curves={k: v[:, index] for k, v in outcome.curves.items()},
        stepped=None if outcome.stepped is None else outcome.stepped[idx],
    )


def _rows(
    batch: Batch,
    params: list[torch.Tensor],
    methods: list[str],
    seconds: float | np.ndarray,
    **per_fit,
) -> list[dict]:
    """One row per fit: test metrics (NaN if diverged), the seconds of each fit (one value
    for all or per fit) and the per-fit values given."""
    seconds = np.broadcast_to(np.asarray(seconds, dtype=float), (len(methods),))
    tm = test_metrics(params, batch.data, batch.network)
    diverged = per_fit.pop("diverged")
    rows = []
    for b, method in enumerate(methods):
        bad = bool(diverged[b])
        rows.append(
            {
                "replicate": batch.replicates[batch.fit_replicate[b]].index,
                "method": method,
                **{k: float("nan") if bad else float(v[b]) for k, v in tm.items()},
                **{k: v[b].item() for k, v in per_fit.items()},
                "diverged": bad,
                "seconds": float(seconds[b]),
            }
        )
    return rows


def stage0_rows(
    batch: Batch, outcome: TrainOutcome, methods: list[str], seconds: float | np.ndarray
) -> list[dict]:
    n = len(methods)
    return _rows(
        batch,
        outcome.params,
        methods,
        seconds,
        val_best=outcome.best_val,
        epochs=outcome.epochs,
        best_epoch=outcome.best_epoch,
        t_star=torch.zeros(n, dtype=torch.long),
        theta_star=torch.zeros(n, dtype=torch.float64),
        effective_lambda=torch.full((n,), float("nan"), dtype=torch.float64),
        active_fraction=torch.ones(n, dtype=torch.float64),
        diverged=outcome.diverged,
    )


def rounds_rows(
    batch: Batch,
    soft: TrainOutcome,
    out: AdaptiveOutcome,
    methods: list[str],
    seconds: float | np.ndarray,
) -> list[dict]:
    """Rows of adaptive-family fits; epochs and seconds include the soft stage they continue."""
    return _rows(
        batch,
        out.params,
        methods,
        seconds,
        val_best=out.best_val,
        epochs=soft.epochs + out.epochs,
        best_epoch=soft.best_epoch + out.selected_epoch,
        t_star=out.t_star,
        theta_star=out.theta_star,
        effective_lambda=out.effective_lambda,
        active_fraction=out.active_fraction,
        diverged=out.diverged,
    )
