"""Training B runs of one LeNet model (asp.experiments.lenet) on an overlay data set
(asp.data.overlay_images) as one batch, as Xu 2023 §3.1 trains one: Adam at 1e-3, the learning rate
halved every 15 epochs, the cross-entropy of the two tasks summed; the run's weights of its best
epoch by validation accuracy (the mean of the two tasks') are the ones tested.

Every run draws its initial weights and its mini-batch orders from its own seed, and Adam's
update is elementwise, so a run's numbers do not depend on the other runs of its batch (tested).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from asp.data.overlay_images import OverlaySplit
from asp.engine import progress
from asp.engine.adaptive import full_masks, n_rounds, prune_largest_terms, terms_per_round
from asp.engine.penalties import get_penalty
from asp.engine.seeds import child, torch_seed
from asp.experiments.lenet import BatchedRuns, make_model, task_losses

log = logging.getLogger("asp")

EVAL_CHUNK = 1000  # images per batched evaluation call


@dataclass(frozen=True)
class ImageTraining:
    """Xu 2023's schedule; ``epochs`` and ``batch_size`` are ours (it gives neither)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    halve_every: int = 15  # epochs


@dataclass(frozen=True)
class ImageRuns:
    """What B runs of one model give: test accuracy per run and task (B, 2) at each run's best
    epoch (B,), and the validation accuracy per epoch, run and task (epochs, B, 2)."""

    model: str
    test_accuracy: np.ndarray
    best_epoch: np.ndarray
    val_accuracy: np.ndarray
    seconds: float
    theta_star: np.ndarray  # (B,): the adaptive rounds' t* x theta (0 without them)
    params: dict[str, torch.Tensor]  # the tested weights, each (B, ...)
    # with the adaptive rounds: the soft fit they start from (round 0), tested too
    soft: ImageRuns | None = None


def images(
    split: OverlaySplit, dtype: torch.dtype, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's images as (n, 1, 36, 36) in [0, 1] and its labels (n, 2), on ``device``."""
    x = torch.as_tensor(split.images).to(device=device, dtype=dtype).div_(255.0).unsqueeze(1)
    return x, torch.as_tensor(split.labels).to(device)


def accuracy(runs: BatchedRuns, params: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Accuracy per run and task (B, 2) on the images x (n, 1, 36, 36) every run sees."""
    correct = torch.zeros(runs.n_runs, 2, dtype=torch.long, device=x.device)
    with torch.no_grad():
        for start in range(0, len(x), EVAL_CHUNK):
            xb = x[start : start + EVAL_CHUNK]
            logits = runs.forward(xb.expand(runs.n_runs, *xb.shape), params)
            correct += (logits.argmax(-1) == y[start : start + EVAL_CHUNK]).sum(1)
    return correct.cpu().double() / len(x)


@dataclass(frozen=True)
class Sharing:
    """Ours, the ASP paper's methods on Xu 2023's benchmark: soft sharing between
    ``single_lenet``'s two networks (the squared deviation of each weight from the tasks' mean,
    biases excluded, times ``lam``), and with ``theta`` the adaptive rounds: each deletes the
    round(theta x total) active terms of largest |deviation| on the last round's best weights,
    then trains ``round_epochs`` epochs with ``lam_star`` from those weights with a fresh Adam;
    the round of best validation accuracy (the soft fit is round 0) is kept."""

    lam: float
    lam_star: float = 0.0
    theta: float | None = None
    round_epochs: int = 10


def task_weights(params: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """``single_lenet``'s corresponding weights of its two networks, each (B, 2, ...)."""
    pairs = [
        (k, k.replace(".0.", ".1.", 1))
        for k in params
        if k.endswith(".weight") and ".0." in k and k.split(".")[0] in ("trunks", "tasks")
    ]
    return [torch.stack([params[a], params[b]], 1) for a, b in pairs]


def train_runs(
    model: str,
    seeds: list[np.random.SeedSequence],
    splits: dict[str, OverlaySplit],
    settings: ImageTraining,
    dtype: torch.dtype = torch.float32,
    progress: str = "",
    sharing: Sharing | None = None,
    device: str | torch.device = "cpu",
) -> ImageRuns:
    """Train one run of ``model`` per seed on ``splits`` (train, val, test) as one batch, on
    ``device``; with ``sharing`` (``single_lenet`` only), soft or adaptive sharing between its
    networks (with ``sharing.theta``, the soft fit the rounds start from is ``soft``)."""
    if sharing is not None and model != "single_lenet":
        raise ValueError(f"sharing joins single_lenet's two networks, not {model}'s")
    start = time.perf_counter()
    runs = BatchedRuns(
        [make_model(model, torch_seed(child(s, 0)), dtype).to(device) for s in seeds]
    )
    data = {k: images(splits[k], dtype, device) for k in ("train", "val", "test")}
    n_runs = len(seeds)
    fit = _Fit(runs, data, settings, progress, start)
    penalty = fit.penalty
    masks = full_masks(penalty, task_weights(runs.params)) if sharing is not None else []
    coef = 0.0 if sharing is None else sharing.lam
    best, best_val, best_epoch, curve = fit(
        settings.epochs, [child(s, 1) for s in seeds], coef, masks
    )
    theta_star = np.zeros(n_runs)
    soft = None
    if sharing is not None and sharing.theta is not None:
        soft = ImageRuns(
            "single_lenet",
            accuracy(runs, best, *data["test"]).numpy(),
            best_epoch.copy(),
            np.stack(curve),
            time.perf_counter() - start,
            theta_star.copy(),
            best,
        )
        total = sum(m[0].numel() for m in masks)
        remove = torch.full(
            (n_runs,), terms_per_round(sharing.theta, total), device=masks[0].device
        )
        last = best  # round t starts from round t - 1's best weights
        for t in range(1, n_rounds(sharing.theta) + 1):
            fit.load(last)
            deviations = [penalty.deviations(w) for w in task_weights(runs.params)]
            masks = prune_largest_terms(deviations, masks, remove)
            last, val, epoch, round_curve = fit(
                sharing.round_epochs, [child(s, 2, t) for s in seeds], sharing.lam_star, masks
            )
            curve += round_curve
            better = val > best_val
            best = _pick(better, last, best)
            best_val = torch.where(better, val, best_val)
            at = settings.epochs + (t - 1) * sharing.round_epochs + epoch  # counted from 1
            best_epoch = np.where(better.numpy(), at, best_epoch)
            theta_star[better.numpy()] = t * sharing.theta
    test = accuracy(runs, best, *data["test"])
    return ImageRuns(
        model,
        test.numpy(),
        best_epoch,
        np.stack(curve),
        time.perf_counter() - start,
        theta_star,
        best,
        soft,
    )


def _pick(cond: torch.Tensor, a: dict, b: dict) -> dict:
    """Per run, ``a``'s tensors where ``cond`` (B,), else ``b``'s."""
    return {
        k: torch.where(cond.to(v.device).view(-1, *[1] * (v.dim() - 1)), v, b[k])
        for k, v in a.items()
    }


class _Fit:
    """Trains the runs' current weights for a number of epochs, from a fresh Adam and learning
    rate schedule, and gives each run's best weights by mean validation accuracy."""

    def __init__(
        self, runs: BatchedRuns, data: dict, settings: ImageTraining, progress: str, start: float
    ):
        self.runs, self.data, self.settings = runs, data, settings
        self.progress, self.start = progress, start
        self.penalty = get_penalty("mean_squared")  # the soft and adaptive sharing's

    def load(self, params: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for k, v in self.runs.params.items():
                v.copy_(params[k])

    def __call__(self, epochs: int, streams: list, coef: float, masks: list[torch.Tensor]):
        runs, settings = self.runs, self.settings
        (x_train, y_train), (x_val, y_val) = self.data["train"], self.data["val"]
        params = list(runs.params.values())
        opt = torch.optim.Adam(params, lr=settings.lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, settings.halve_every, gamma=0.5)
        orders = [np.random.default_rng(s) for s in streams]
        penalty = self.penalty
        best = {k: v.detach().clone() for k, v in runs.params.items()}
        best_val = torch.full((runs.n_runs,), -1.0, dtype=torch.float64)
        best_epoch = np.zeros(runs.n_runs, dtype=np.int64)
        curve = []
        n, bs = len(x_train), settings.batch_size
        for epoch in range(1, epochs + 1):
            perm = torch.as_tensor(np.stack([rng.permutation(n) for rng in orders]))  # (B, n)
            perm = perm.to(x_train.device)
            for lo in range(0, n, bs):
                idx = perm[:, lo : lo + bs]
                # each run's loss is its own mean over its mini-batch; the sum over runs keeps
                # each run's gradient its own
                loss = task_losses(runs.forward(x_train[idx]), y_train[idx]).sum()
                if masks and coef:
                    loss = loss + coef * penalty.value(task_weights(runs.params), masks).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if progress.due():  # an epoch may take minutes: reported within it
                    progress.report((epoch - 1 + lo / n) / epochs, f"epoch {epoch} of {epochs}")
            sched.step()
            val = accuracy(runs, runs.params, x_val, y_val)  # (B, 2)
            curve.append(val.numpy())
            improved = val.mean(1) > best_val
            best_val = torch.where(improved, val.mean(1), best_val)
            best_epoch[improved.numpy()] = epoch
            best = _pick(improved, {k: v.detach() for k, v in runs.params.items()}, best)
            if self.progress:
                log.info(
                    "%s: epoch %d/%d, mean validation accuracy %.4f, %.0f s",
                    self.progress,
                    epoch,
                    epochs,
                    float(val.mean()),
                    time.perf_counter() - self.start,
                )
        return best, best_val, best_epoch, curve
