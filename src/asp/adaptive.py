"""The adaptive algorithm (paper Alg. 1, read as SPEC §1b-c).

Round 0 is the soft fit. Round t = 1..floor(1/theta) deletes, among the still-active penalty
terms, the round(theta * total) with the largest |deviation| measured on round t-1's best weights,
warm-starts from those weights with a fresh Adam and trains with lambda* to convergence. The round
with the lowest validation metric (round 0 included) is kept; theta* = t* * theta.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from asp.network import Architecture, weights
from asp.penalties import Penalty, get_penalty
from asp.training import BatchSampler, FitData, PenaltyTerm, TrainOutcome, TrainSettings, train

SCHEDULES = ("constant", "proportional")


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
    epochs: torch.Tensor  # (B,) epochs trained over rounds 1..R
    selected_epoch: torch.Tensor  # (B,) epochs after the soft minimum where t*'s weights were
    diverged: torch.Tensor  # (B,)
    curves: dict[str, np.ndarray]  # name -> (E, B): rounds 1..R back to back per fit, NaN padded


def _compact(curve: np.ndarray) -> np.ndarray:
    """Move each fit's non-NaN values to the top of its column (rounds end at different epochs)."""
    out = np.full_like(curve, np.nan)
    for b in range(curve.shape[1]):
        col = curve[:, b]
        kept = col[~np.isnan(col)]
        out[: kept.size, b] = kept
    return out


def run_rounds(
    soft: TrainOutcome,
    data: FitData,
    arch: Architecture,
    penalty_of_fit: list[str],
    lam: torch.Tensor,
    lam_star: torch.Tensor,
    theta: torch.Tensor,
    settings: TrainSettings,
    sampler_for_round: Callable[[int], BatchSampler],
    schedule: str = "constant",
) -> AdaptiveOutcome:
    """Adaptive rounds 1..floor(1/theta) for B fits starting from their soft outcome (round 0).

    Fit b prunes and penalises with ``penalty_of_fit[b]`` (fits with different penalties train in
    one batch). ``lam`` is the soft coefficient (reported as the effective one when t* = 0);
    ``lam_star`` and ``theta`` are per fit. Schedule "proportional" scales lambda* by the
    fraction of terms still active. Each round draws its mini-batches from its own stream
    ``sampler_for_round(t)``, so a fit's data order never depends on the other fits.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"lambda_star_schedule must be one of {SCHEDULES}, got {schedule!r}")
    if len(penalty_of_fit) != data.n_fits:
        raise ValueError(f"{len(penalty_of_fit)} penalties for {data.n_fits} fits")
    device = data.x_train.device
    n_fits = data.n_fits
    thetas = theta.tolist()
    rounds = torch.tensor([n_rounds(t) for t in thetas], device=device)
    groups = [
        _Group.start(name, penalty_of_fit, soft.params, thetas)
        for name in dict.fromkeys(penalty_of_fit)
    ]

    params = soft.params
    diverged = soft.diverged.clone()
    sel_params = [p.clone() for p in params]
    sel_val = soft.best_val.clone()
    t_star = torch.zeros(n_fits, dtype=torch.long, device=device)
    # Reported hyper-parameters in float64 whatever the training dtype (0.84, not 0.8400000036).
    eff_lambda = lam.to(torch.float64)
    active_frac = torch.ones(n_fits, dtype=torch.float64, device=device)
    round_val = np.full((n_fits, int(rounds.max()) + 1), np.nan)
    round_val[:, 0] = soft.best_val.cpu().numpy()
    epochs = torch.zeros(n_fits, dtype=torch.long, device=device)
    selected_epoch = torch.zeros(n_fits, dtype=torch.long, device=device)
    pieces: dict[str, list[np.ndarray]] = {}

    for t in range(1, int(rounds.max()) + 1):
        taking_part = (rounds >= t) & ~diverged
        if not bool(taking_part.any()):
            break
        fraction = torch.zeros(n_fits, dtype=torch.float64, device=device)
        for g in groups:
            g.prune(params, taking_part)
            fraction = torch.where(g.members, g.active_fraction(), fraction)
        coef = lam_star.to(torch.float64) * (fraction if schedule == "proportional" else 1.0)
        train_coef = coef.to(sel_val.dtype)
        terms = [
            PenaltyTerm(g.penalty, torch.where(g.members, train_coef, 0.0), g.masks) for g in groups
        ]
        out = train(params, data, arch, terms, settings, sampler_for_round(t), taking_part)
        diverged |= out.diverged
        better = taking_part & ~out.diverged & (out.best_val < sel_val)
        selected_epoch = torch.where(better, epochs + out.best_epoch, selected_epoch)
        epochs += out.epochs
        sel_val = torch.where(better, out.best_val, sel_val)
        t_star = torch.where(better, t, t_star)
        eff_lambda = torch.where(better, coef, eff_lambda)
        active_frac = torch.where(better, fraction, active_frac)
        sel_params = [
            torch.where(better.view(-1, *[1] * (p.dim() - 1)), p, s)
            for p, s in zip(out.params, sel_params, strict=True)
        ]
        round_val[:, t] = np.where(taking_part.cpu().numpy(), out.best_val.cpu().numpy(), np.nan)
        params = out.params
        for name, curve in out.curves.items():
            pieces.setdefault(name, []).append(curve)

    curves = {name: _compact(np.concatenate(parts)) for name, parts in pieces.items()}
    return AdaptiveOutcome(
        params=sel_params,
        t_star=t_star,
        theta_star=t_star.to(torch.float64) * theta.to(torch.float64),
        effective_lambda=eff_lambda,
        active_fraction=active_frac,
        best_val=sel_val,
        round_val=round_val,
        epochs=epochs,
        selected_epoch=selected_epoch,
        diverged=diverged,
        curves=curves,
    )


@dataclass
class _Group:
    """The fits that share one penalty: its term masks and deletions per round."""

    penalty: Penalty
    members: torch.Tensor  # (B,) bool
    masks: list[torch.Tensor]
    per_round: torch.Tensor  # (B,) terms deleted per round
    total: int

    @classmethod
    def start(
        cls, name: str, penalty_of_fit: list[str], params: list[torch.Tensor], thetas: list[float]
    ) -> _Group:
        penalty = get_penalty(name)
        masks = full_masks(penalty, weights(params))
        total = sum(m[0].numel() for m in masks)
        device = params[0].device
        members = torch.tensor([p == name for p in penalty_of_fit], device=device)
        per_round = torch.tensor([terms_per_round(t, total) for t in thetas], device=device)
        return cls(penalty, members, masks, per_round, total)

    def prune(self, params: list[torch.Tensor], taking_part: torch.Tensor) -> None:
        k = torch.where(
            taking_part & self.members, self.per_round, torch.zeros_like(self.per_round)
        )
        deviations = [self.penalty.deviations(w) for w in weights(params)]
        self.masks = prune_largest_terms(deviations, self.masks, k)

    def active_fraction(self) -> torch.Tensor:
        active = torch.stack([m.flatten(1).sum(1) for m in self.masks]).sum(0)
        return active.to(torch.float64) / self.total
