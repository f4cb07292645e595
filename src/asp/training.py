"""One training loop for every method: B fits stacked into tensors and trained together.

The loss is summed over fits, so each fit's gradient is exactly its own and Adam, being
elementwise, stays exactly per fit. Each fit early-stops on its own validation metric; a fit that
has stopped (or diverged) is held at its best weights and no longer moves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from asp import metrics
from asp.network import Architecture, forward, weights
from asp.penalties import Penalty
from asp.preprocessing import PreparedData

log = logging.getLogger("asp")

CURVES = ("val_mse", "val_mae", "test_mse")


@dataclass(frozen=True)
class TrainSettings:
    """Adam as in the paper (eq. 3.3-3.7); batch size, epochs and patience are ours (SPEC §1d)."""

    batch_size: int = 64
    max_epochs: int = 1000
    patience: int = 50
    metric: str = "mse"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.99, 0.9999)
    eps: float = 1e-8
    log_every: int = 0  # epochs between progress lines; 0 = quiet

    def __post_init__(self) -> None:
        metrics.metric_fn(self.metric)
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError(f"batch_size, max_epochs and patience must be >= 1: {self}")


@dataclass
class FitData:
    """Scaled data of B fits as tensors (B, n, M) and (B, n, K)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @classmethod
    def stack(
        cls,
        prepared: list[PreparedData],
        replicate_of_fit: list[int],
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> FitData:
        """Fit b uses ``prepared[replicate_of_fit[b]]``; all replicates must share split sizes."""
        index = torch.as_tensor(replicate_of_fit, device=device)

        def stacked(attr: str) -> torch.Tensor:
            arrays = [getattr(p, attr) for p in prepared]
            if len({a.shape for a in arrays}) != 1:
                raise ValueError(f"replicates differ in the shape of {attr}: cannot batch them")
            t = torch.as_tensor(np.stack(arrays), dtype=dtype, device=device)
            return t.index_select(0, index)

        return cls(*(stacked(f) for f in cls.__dataclass_fields__))

    @property
    def n_fits(self) -> int:
        return self.x_train.shape[0]


class BatchSampler:
    """Mini-batch orders: one random permutation of the training rows per fit and epoch.

    Each fit draws from its own generator, so its order does not depend on which other fits share
    the batch (the batched and the per-fit trainers see the same mini-batches).
    """

    def __init__(self, seeds: list[np.random.SeedSequence], n_train: int, chunk: int = 16):
        self._rngs = [np.random.default_rng(s) for s in seeds]
        self._n = n_train
        self._chunk = chunk
        self._buffer: np.ndarray | None = None
        self._pos = chunk

    def next_epoch(self) -> np.ndarray:
        """(B, n_train) row orders for the next epoch."""
        if self._pos == self._chunk:
            base = np.broadcast_to(np.arange(self._n), (self._chunk, self._n))
            self._buffer = np.stack([rng.permuted(base, axis=1) for rng in self._rngs])
            self._pos = 0
        order = self._buffer[:, self._pos]
        self._pos += 1
        return order


def stage_seed(seq: np.random.SeedSequence, stage: int) -> np.random.SeedSequence:
    """A child stream of ``seq`` derived without mutating it (SeedSequence.spawn is stateful)."""
    return np.random.SeedSequence(entropy=seq.entropy, spawn_key=(*seq.spawn_key, stage))


@dataclass
class PenaltyTerm:
    """``coef[b] * penalty(W_b)`` over terms whose mask is 1; coef 0 switches it off for fit b."""

    penalty: Penalty
    coef: torch.Tensor  # (B,)
    masks: list[torch.Tensor]  # one (B, T, in, out) per weight matrix


@dataclass
class TrainOutcome:
    params: list[torch.Tensor]  # best weights of every fit
    best_val: torch.Tensor  # (B,) best validation metric; inf if the fit never trained
    best_epoch: torch.Tensor  # (B,) epoch (1-based) of best_val; 0 if never improved
    epochs: torch.Tensor  # (B,) epochs trained
    diverged: torch.Tensor  # (B,) bool: the loss or the validation metric became NaN/inf
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (E, B), NaN when idle

    def state_dict(self) -> dict:
        """Plain tensors and arrays, for torch.save (the adaptive jobs start from it)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> TrainOutcome:
        moved = {
            k: [p.to(device) for p in v] if k == "params" else v.to(device)
            for k, v in state.items()
            if k != "curves"
        }
        return cls(**moved, curves=state["curves"])


def make_adam(params: list[torch.Tensor], settings: TrainSettings) -> torch.optim.Adam:
    """Adam with the paper's constants; the fused kernel (torch >= 2.4) where it exists."""
    kwargs = {"lr": settings.lr, "betas": settings.betas, "eps": settings.eps}
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **kwargs)


def _per_fit(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.view(-1, *([1] * (like.dim() - 1)))


def penalty_total(terms: list[PenaltyTerm], params: list[torch.Tensor]) -> torch.Tensor | float:
    ws = weights(params)
    return sum((t.coef * t.penalty.value(ws, t.masks) for t in terms), 0.0)


def train(
    params0: list[torch.Tensor],
    data: FitData,
    arch: Architecture,
    penalties: list[PenaltyTerm],
    settings: TrainSettings,
    sampler: BatchSampler,
    active: torch.Tensor | None = None,
) -> TrainOutcome:
    """Train B fits together until each early-stops or ``max_epochs`` pass.

    ``active`` (B,) bool selects the fits that take part; the others are held at ``params0``.
    """
    n_fits = data.n_fits
    device = data.x_train.device
    params = [p.detach().clone().requires_grad_(True) for p in params0]
    best = [p.detach().clone() for p in params0]
    active = (
        torch.ones(n_fits, dtype=torch.bool, device=device) if active is None else active.clone()
    )
    diverged = torch.zeros(n_fits, dtype=torch.bool, device=device)
    best_val = torch.full((n_fits,), float("inf"), dtype=data.x_train.dtype, device=device)
    best_epoch = torch.zeros(n_fits, dtype=torch.long, device=device)
    since_best = torch.zeros(n_fits, dtype=torch.long, device=device)
    epochs = torch.zeros(n_fits, dtype=torch.long, device=device)
    opt = make_adam(params, settings)
    some_idle = not bool(active.all())
    val_metric = metrics.metric_fn(settings.metric)
    curves: dict[str, list[torch.Tensor]] = {c: [] for c in CURVES}
    n_train, n_inputs, n_tasks = data.x_train.shape[1], data.x_train.shape[2], data.y_train.shape[2]

    def hold_idle() -> None:
        with torch.no_grad():
            for p, b in zip(params, best, strict=True):
                p.copy_(torch.where(_per_fit(active, p), p, b))

    for epoch in range(settings.max_epochs):
        if not bool(active.any()):
            break
        order = torch.as_tensor(sampler.next_epoch(), device=device)
        x_epoch = torch.take_along_dim(data.x_train, order[..., None].expand(-1, -1, n_inputs), 1)
        y_epoch = torch.take_along_dim(data.y_train, order[..., None].expand(-1, -1, n_tasks), 1)
        for start in range(0, n_train, settings.batch_size):
            xb = x_epoch[:, start : start + settings.batch_size]
            yb = y_epoch[:, start : start + settings.batch_size]
            pred = forward(params, xb, arch)
            loss = (pred - yb).square().mean(dim=1).sum(dim=1) + penalty_total(penalties, params)
            # A NaN stays inside its own fit's slice; divergence is detected once per epoch.
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
            if some_idle:
                hold_idle()

        with torch.no_grad():
            pred_val = forward(params, data.x_val, arch)
            v_mse, v_mae = metrics.mse(pred_val, data.y_val), metrics.mae(pred_val, data.y_val)
            t_mse = metrics.mse(forward(params, data.x_test, arch), data.y_test)
            val = val_metric(pred_val, data.y_val)
            finite_params = torch.stack([p.flatten(1).isfinite().all(1) for p in params]).all(0)
            bad = active & ~(torch.isfinite(val) & finite_params)
            diverged |= bad
            trained = active & ~bad
            for name, value in zip(CURVES, (v_mse, v_mae, t_mse), strict=True):
                curves[name].append(
                    torch.where(trained, value, torch.full_like(value, float("nan")))
                )
            improved = trained & (val < best_val)
            best_val = torch.where(improved, val, best_val)
            best_epoch = torch.where(improved, epoch + 1, best_epoch)
            best = [
                torch.where(_per_fit(improved, p), p.detach(), b)
                for p, b in zip(params, best, strict=True)
            ]
            since_best = torch.where(improved, 0, since_best + 1)
            epochs += trained.long()
            active = trained & (since_best < settings.patience)
            some_idle = not bool(active.all())
            hold_idle()
        if settings.log_every and (epoch + 1) % settings.log_every == 0:
            finite = best_val[torch.isfinite(best_val)]
            log.info(
                "epoch %d: %d/%d fits training, median best val %s %.4g",
                epoch + 1,
                int(active.sum()),
                n_fits,
                settings.metric,
                float(finite.median()) if finite.numel() else float("nan"),
            )

    stacked = {
        k: torch.stack(v).cpu().numpy() if v else np.empty((0, n_fits)) for k, v in curves.items()
    }
    return TrainOutcome([b.detach() for b in best], best_val, best_epoch, epochs, diverged, stacked)
