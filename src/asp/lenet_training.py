"""Training B runs of one LeNet model (asp.lenet) on an overlay data set (asp.overlay_images)
as one batch, as Xu 2023 §3.1 trains one: Adam at 1e-3, the learning rate halved every 15
epochs, the cross-entropy of the two tasks summed; the run's weights of its best epoch by
validation accuracy (the mean of the two tasks') are the ones tested.

Every run draws its initial weights and its mini-batch orders from its own seed, and Adam's
update is elementwise, so a run's numbers do not depend on the other runs of its batch (tested).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch

from asp.lenet import BatchedRuns, make_model, task_losses
from asp.overlay_images import OverlaySplit
from asp.seeds import child, torch_seed

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


def images(split: OverlaySplit, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's images as (n, 1, 36, 36) in [0, 1] and its labels (n, 2)."""
    x = torch.as_tensor(split.images).to(dtype).div_(255.0).unsqueeze(1)
    return x, torch.as_tensor(split.labels)


def accuracy(runs: BatchedRuns, params: dict, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Accuracy per run and task (B, 2) on the images x (n, 1, 36, 36) every run sees."""
    correct = torch.zeros(runs.n_runs, 2, dtype=torch.long)
    with torch.no_grad():
        for start in range(0, len(x), EVAL_CHUNK):
            xb = x[start : start + EVAL_CHUNK]
            logits = runs.forward(xb.expand(runs.n_runs, *xb.shape), params)
            correct += (logits.argmax(-1) == y[start : start + EVAL_CHUNK]).sum(1)
    return correct.double() / len(x)


def train_runs(
    model: str,
    seeds: list[np.random.SeedSequence],
    splits: dict[str, OverlaySplit],
    settings: ImageTraining,
    dtype: torch.dtype = torch.float32,
    progress: str = "",
) -> ImageRuns:
    """Train one run of ``model`` per seed on ``splits`` (train, val, test) as one batch."""
    start = time.perf_counter()
    runs = BatchedRuns([make_model(model, torch_seed(child(s, 0)), dtype) for s in seeds])
    x_train, y_train = images(splits["train"], dtype)
    x_val, y_val = images(splits["val"], dtype)
    x_test, y_test = images(splits["test"], dtype)
    names = list(runs.params)
    opt = torch.optim.Adam([runs.params[k] for k in names], lr=settings.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, settings.halve_every, gamma=0.5)
    orders = [np.random.default_rng(child(s, 1)) for s in seeds]
    best = {k: v.detach().clone() for k, v in runs.params.items()}
    best_val = torch.full((len(seeds),), -1.0, dtype=torch.float64)
    best_epoch = np.zeros(len(seeds), dtype=np.int64)
    curve = []
    n, bs = len(x_train), settings.batch_size
    for epoch in range(1, settings.epochs + 1):
        perm = torch.as_tensor(np.stack([rng.permutation(n) for rng in orders]))  # (B, n)
        for lo in range(0, n, bs):
            idx = perm[:, lo : lo + bs]
            logits = runs.forward(x_train[idx])
            # each run's loss is its own mean over its mini-batch; the sum over runs keeps
            # each run's gradient its own
            loss = task_losses(logits, y_train[idx]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        val = accuracy(runs, runs.params, x_val, y_val)  # (B, 2)
        curve.append(val.numpy())
        improved = val.mean(1) > best_val
        best_val = torch.where(improved, val.mean(1), best_val)
        best_epoch[improved.numpy()] = epoch
        for k, v in runs.params.items():
            mask = improved.view(-1, *[1] * (v.dim() - 1))
            best[k] = torch.where(mask, v.detach(), best[k])
        if progress:
            log.info(
                "%s: epoch %d/%d, mean validation accuracy %.4f, %.0f s",
                progress,
                epoch,
                settings.epochs,
                float(val.mean()),
                time.perf_counter() - start,
            )
    test = accuracy(runs, best, x_test, y_test)
    return ImageRuns(model, test.numpy(), best_epoch, np.stack(curve), time.perf_counter() - start)
