"""The adaptive algorithm (paper Alg. 1, read as docs/method.md §2–4).

Round 0 is the soft fit. Round t = 1..floor(1/theta) deletes, among the still-active penalty
terms, the round(theta * total) with the largest |deviation| measured on round t-1's best weights,
warm-starts from those weights with a fresh Adam and trains with lambda* to convergence. The round
with the lowest validation metric (round 0 included) is kept; theta* = t* * theta. Each fit
moves through its rounds on its own clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from asp.engine.methods import SCHEDULES
from asp.engine.networks import Network
from asp.engine.penalties import Penalty, get_penalty
from asp.engine.training import (
    BatchSampler,
    FitData,
    Trainer,
    TrainOutcome,
    TrainSettings,
    flat_masks,
    stage_seeds,
)


def n_rounds(theta: float) -> int:
    """floor(1/theta), robust to 1/theta landing just below an integer in floating point."""
    if not 0.0 < theta <= 1.0:
        raise ValueError(f"theta must be in (0, 1], got {theta}")
    return int(math.floor(1.0 / theta + 1e-9))


def terms_per_round(theta: float, total: int) -> int:
    """round(theta * total) terms deleted per round, half rounded up, at least one."""
    return max(1, int(math.floor(theta * total + 0.5)))


def full_masks(penalty: Penalty, ws: list[torch.Tensor]) -> list[torch.Tensor]:
    """All terms active: one (B, T, in, out) mask per weight matrix."""
    return [torch.ones_like(penalty.deviations(w)) for w in ws]


def prune_largest_terms(
    deviations: list[torch.Tensor], masks: list[torch.Tensor], k: torch.Tensor
) -> list[torch.Tensor]:
    """Deactivate, per fit b, the k[b] active terms with the largest |deviation| (ties: first)."""
    flat_dev = torch.cat([d.detach().abs().flatten(1) for d in deviations], dim=1)
    flat_mask = torch.cat([m.flatten(1) for m in masks], dim=1)
    score = flat_dev.masked_fill(flat_mask == 0, float("-inf"))
    order = torch.argsort(score, dim=1, descending=True, stable=True)
    positions = torch.arange(score.shape[1], device=score.device).expand_as(order)
    rank = torch.empty_like(order).scatter_(1, order, positions)
    n_active = flat_mask.sum(dim=1).long()
    remove = rank < torch.minimum(k, n_active).unsqueeze(1)
    flat_new = flat_mask.masked_fill(remove, 0)
    out, start = [], 0
    for m in masks:
        size = m[0].numel()
        out.append(flat_new[:, start : start + size].reshape(m.shape))
        start += size
    return out


@dataclass
class AdaptiveOutcome:
    params: list[torch.Tensor]  # weights of the selected round t*
    t_star: torch.Tensor  # (B,) selected round, 0 = the soft fit itself
    theta_star: torch.Tensor  # (B,) t* * theta
    effective_lambda: torch.Tensor  # (B,) penalty coefficient in force in round t*
    active_fraction: torch.Tensor  # (B,) fraction of penalty terms still active in round t*
    best_val: torch.Tensor  # (B,) validation metric of round t*
    round_val: np.ndarray  # (B, R+1) best validation metric per round; NaN where not run
    round_epochs: np.ndarray  # (B, R) epochs trained in rounds 1..R; 0 where not run
    epochs: torch.Tensor  # (B,) epochs trained over rounds 1..R
    selected_epoch: torch.Tensor  # (B,) epochs after the soft minimum where t*'s weights were
    diverged: torch.Tensor  # (B,)
    curves: dict[str, np.ndarray]  # "val" -> (E, B): rounds 1..R back to back, NaN after


class AdaptiveRounds:
    """The state of every fit's rounds: which round each is in, its penalty terms, and the best
    round so far; ``begin`` prunes and starts fits' next rounds, ``finish`` books the rounds
    that ended, ``run`` trains them all to their end."""

    def __init__(
        self,
        soft: TrainOutcome,
        data: FitData,
        network: Network,
        penalty_of_fit: list[str],
        lam: torch.Tensor,
        lam_star: torch.Tensor,
        theta: torch.Tensor,
        settings: TrainSettings,
        batch_seeds: list[np.random.SeedSequence],
        schedule: str = "constant",
        metric_of_fit: list[str] | None = None,
        prune_of_fit: list[bool] | None = None,
        round_budget: np.ndarray | None = None,
    ):
        """Adaptive rounds 1..floor(1/theta) for B fits starting from their soft outcome (round 0).

        Fit b prunes and penalises with ``penalty_of_fit[b]`` (fits with different penalties train
        in one batch). ``lam`` is the soft coefficient (reported as the effective one when t* = 0);
        ``lam_star`` and ``theta`` are per fit. Schedule "proportional" scales lambda* by the
        fraction of terms still active. Round t of fit b draws its mini-batches from its own stream
        ``stage_seed(batch_seeds[b], t)``, so a fit's data order never depends on the other fits.

        Each fit keeps its own clock: when its round ends it is pruned and starts the next round in
        the next epoch, whatever the other fits are doing. ``metric_of_fit`` gives each fit's
        validation metric (default: ``settings.metric``).

        The matched-budget control: fits with ``prune_of_fit[b]`` False keep every penalty term,
        and ``round_budget`` (B, R) fixes each round's length (rounds 1..R, a 0 ends the fit's
        rounds): such a fit runs as many rounds as it has positive entries, each exactly that many
        epochs, keeping the best weights of each round and the best round. A row of -1 leaves that
        fit to theta, patience and ``settings.max_epochs``.
        """
        if schedule not in SCHEDULES:
            raise ValueError(f"lambda_star_schedule must be one of {SCHEDULES}, got {schedule!r}")
        if len(penalty_of_fit) != data.n_fits:
            raise ValueError(f"{len(penalty_of_fit)} penalties for {data.n_fits} fits")
        self.network, self.theta, self.schedule = network, theta, schedule
        self.lam_star, self.batch_seeds = lam_star, batch_seeds
        device, self.dtype = data.x_train.device, data.x_train.dtype
        n_fits = data.n_fits
        thetas = theta.tolist()
        prunes = [True] * n_fits if prune_of_fit is None else list(prune_of_fit)
        budget = np.full((n_fits, 1), -1) if round_budget is None else np.asarray(round_budget)
        fixed = budget[:, 0] >= 0
        counts = [
            int(np.cumprod(budget[b] > 0).sum()) if fixed[b] else n_rounds(t)
            for b, t in enumerate(thetas)
        ]
        self.rounds = torch.tensor(counts, device=device)
        self.budget = torch.as_tensor(budget, device=device)
        self.groups = [
            _Group.start(name, prune, penalty_of_fit, prunes, network, soft.params, thetas)
            for name, prune in dict.fromkeys(zip(penalty_of_fit, prunes, strict=True))
        ]
        first = stage_seeds(batch_seeds, [1] * n_fits)
        self.sampler = BatchSampler(first, data.x_train.shape[1])
        self.trainer = Trainer(
            data,
            network,
            tuple(g.penalty for g in self.groups),
            settings,
            self.sampler,
            network.to_flat(soft.params),
            metric_of_fit,
        )
        self.diverged = soft.diverged.clone()
        self.sel_theta = self.trainer.theta.clone()
        self.sel_val = soft.best_val.clone()
        self.t_star = torch.zeros(n_fits, dtype=torch.long, device=device)
        # Reported hyper-parameters in float64 whatever the training dtype (0.84, not
        # 0.8400000036).
        self.eff_lambda = lam.to(torch.float64)
        self.active_frac = torch.ones(n_fits, dtype=torch.float64, device=device)
        self.round_val = np.full((n_fits, int(self.rounds.max()) + 1), np.nan)
        self.round_val[:, 0] = soft.best_val.cpu().numpy()
        self.round_epochs = np.zeros((n_fits, int(self.rounds.max())), dtype=np.int64)
        self.current = torch.zeros(n_fits, dtype=torch.long, device=device)  # each fit's round
        self.done_epochs = torch.zeros(n_fits, dtype=torch.long, device=device)  # finished rounds
        self.selected_epoch = torch.zeros(n_fits, dtype=torch.long, device=device)
        self.coef = torch.zeros(n_fits, dtype=torch.float64, device=device)
        self.fraction = torch.ones(n_fits, dtype=torch.float64, device=device)
        self.step_coefs: list[torch.Tensor] = []
        self.step_masks: list[torch.Tensor] = []

    def begin(self, fits: torch.Tensor) -> None:
        """Prune and start the next round of ``fits`` from their current (best) weights."""
        self.current.add_(fits.long())
        params = self.network.to_list(self.trainer.theta)
        for g in self.groups:
            g.prune(params, fits)
            self.fraction = torch.where(g.members & fits, g.active_fraction(), self.fraction)
        scale = self.fraction if self.schedule == "proportional" else 1.0
        self.coef = torch.where(fits, self.lam_star.to(torch.float64) * scale, self.coef)
        self.step_coefs = [
            torch.where(g.members, self.coef, 0.0).to(self.dtype) for g in self.groups
        ]
        self.step_masks = [flat_masks(g.masks).to(self.dtype) for g in self.groups]
        starting = torch.nonzero(fits).flatten().tolist()
        rounds_now = self.current.tolist()
        seeds = stage_seeds(
            [self.batch_seeds[b] for b in starting], [rounds_now[b] for b in starting]
        )
        self.sampler.restart(starting, seeds)
        idx = (self.current - 1).clamp(0, self.budget.shape[1] - 1).unsqueeze(1)
        self.trainer.start(fits, self.budget.gather(1, idx).squeeze(1))  # -1: patience decides

    def finish(self, ended: torch.Tensor) -> None:
        """Bookkeeping of the fits whose round ended; the healthy ones go on to their next."""
        trainer, current = self.trainer, self.current
        ok = ended & ~trainer.diverged
        self.diverged.logical_or_(ended & trainer.diverged)
        idx = torch.nonzero(ended).flatten().cpu().numpy()
        self.round_val[idx, current[ended].cpu().numpy()] = trainer.best_val[ended].cpu().numpy()
        self.round_epochs[idx, current[ended].cpu().numpy() - 1] = (
            trainer.epochs[ended].cpu().numpy()
        )
        better = ok & (trainer.best_val < self.sel_val)
        self.selected_epoch = torch.where(
            better, self.done_epochs + trainer.best_epoch, self.selected_epoch
        )
        self.done_epochs.add_(torch.where(ended, trainer.epochs, 0))
        self.sel_val = torch.where(better, trainer.best_val, self.sel_val)
        self.t_star = torch.where(better, current, self.t_star)
        self.eff_lambda = torch.where(better, self.coef, self.eff_lambda)
        self.active_frac = torch.where(better, self.fraction, self.active_frac)
        self.sel_theta = torch.where(better.view(-1, 1, 1), trainer.best, self.sel_theta)
        following = ok & (current < self.rounds)
        if bool(following.any()):
            self.begin(following)

    def _median_round(self) -> str:
        return f", median round {float(self.current.float().median()):.0f}"

    def run(self) -> AdaptiveOutcome:
        """Every fit's rounds to their end: in native rounds where the trainer can, else in
        Python epochs."""
        trainer = self.trainer
        self.begin((self.rounds >= 1) & ~self.diverged)
        total = max(1, int(self.rounds.sum()))  # the job's progress: rounds begun of all rounds
        if trainer.native_ready(self.step_coefs, self.step_masks):
            while bool(trainer.active.any()):
                # rounds begun, less the ones now running, plus their share done
                before, running = float(self.current.sum()), int(trainer.active.sum())
                ended = trainer.run_round(
                    self.step_coefs,
                    self.step_masks,
                    lambda done, before=before, running=running: trainer.report_native(
                        (before - running + done * running) / total, self._median_round()
                    ),
                )
                self.finish(ended)
        else:
            epoch = 0
            while bool(trainer.active.any()):
                ended = trainer.epoch(self.step_coefs, self.step_masks)
                epoch += 1
                if bool(ended.any()):
                    self.finish(ended)
                trainer.log_progress(
                    epoch, self._median_round, lambda: float(self.current.sum()) / total
                )
        return AdaptiveOutcome(
            params=self.network.to_list(self.sel_theta),
            t_star=self.t_star,
            theta_star=self.t_star.to(torch.float64) * self.theta.to(torch.float64),
            effective_lambda=self.eff_lambda,
            active_fraction=self.active_frac,
            best_val=self.sel_val,
            round_val=self.round_val,
            round_epochs=self.round_epochs,
            epochs=self.done_epochs,
            selected_epoch=self.selected_epoch,
            diverged=self.diverged,
            curves=trainer.curves(),
        )


@dataclass
class _Group:
    """The fits that share one penalty: its term masks and deletions per round."""

    penalty: Penalty
    prunes: bool  # False: every term stays (the matched-budget control)
    network: Network
    members: torch.Tensor  # (B,) bool
    masks: list[torch.Tensor]
    per_round: torch.Tensor  # (B,) terms deleted per round
    total: int

    @classmethod
    def start(
        cls,
        name: str,
        prunes: bool,
        penalty_of_fit: list[str],
        prune_of_fit: list[bool],
        network: Network,
        params: list[torch.Tensor],
        thetas: list[float],
    ) -> _Group:
        penalty = get_penalty(name)
        masks = full_masks(penalty, network.weights(params))
        total = sum(m[0].numel() for m in masks)
        device = params[0].device
        members = torch.tensor(
            [p == name and q == prunes for p, q in zip(penalty_of_fit, prune_of_fit, strict=True)],
            device=device,
        )
        per_round = torch.tensor([terms_per_round(t, total) for t in thetas], device=device)
        return cls(penalty, prunes, network, members, masks, per_round, total)

    def prune(self, params: list[torch.Tensor], taking_part: torch.Tensor) -> None:
        if not self.prunes:
            return
        # Only the fits starting a round change: sorting every fit's terms each time one ends
        # would cost about as much as the epoch itself in a batch of hundreds.
        rows = torch.nonzero(taking_part & self.members).flatten()
        if len(rows) == 0:
            return
        weights = [w.index_select(0, rows) for w in self.network.weights(params)]
        deviations = [self.penalty.deviations(w) for w in weights]
        masks = [m.index_select(0, rows) for m in self.masks]
        pruned = prune_largest_terms(deviations, masks, self.per_round.index_select(0, rows))
        self.masks = [m.index_copy(0, rows, new) for m, new in zip(self.masks, pruned, strict=True)]

    def active_fraction(self) -> torch.Tensor:
        active = torch.stack([m.flatten(1).sum(1) for m in self.masks]).sum(0)
        return active.to(torch.float64) / self.total
