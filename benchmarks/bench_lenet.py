"""LeNet training throughput: images per second per core, one model's runs as one batch
(asp.experiments.lenet_training) against the same runs one at a time, on one thread.

The images are Multi-FashionMNIST overlays built from random source images of the right shape
(throughput does not depend on what the pixels show). Each line trains ``--images`` training
images for one epoch (the first epoch of each setting is run once beforehand and not timed).
Prints a Markdown table: model, runs per batch, seconds, run-images per second (runs x images
/ seconds) and the batch's speed-up over one run at a time.

    python benchmarks/bench_lenet.py [--images 2000] [--runs 1 5 10] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from asp.data.overlay_images import SourceImages, build_overlay
from asp.experiments.lenet import MODELS
from asp.experiments.lenet_training import ImageTraining, train_runs


def fake_splits(n_train: int) -> dict:
    rng = np.random.default_rng(0)
    src = SourceImages(
        "fashion",
        rng.integers(0, 256, (1000, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 1000).astype(np.uint8),
        rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, 200).astype(np.uint8),
    )
    sizes = {"train": n_train, "val": 200, "test": 200}
    return build_overlay("multi_fashion", {"fashion": src}, sizes, 0.2, np.random.SeedSequence(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 5, 10])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = fake_splits(args.images)
    settings = ImageTraining(epochs=1, batch_size=128)
    print(f"{args.images} training images, 1 epoch, batch 128, {args.threads} thread(s)\n")
    print("| model | runs | seconds | run-images / s | vs one run at a time |")
    print("|:--|--:|--:|--:|--:|")
    for model in args.models:
        single = None
        for runs in args.runs:
            seeds = [np.random.SeedSequence(1, spawn_key=(r,)) for r in range(runs)]
            train_runs(model, seeds, splits, settings)  # warm-up
            start = time.perf_counter()
            train_runs(model, seeds, splits, settings)
            seconds = time.perf_counter() - start
            rate = runs * args.images / seconds
            single = rate if runs == 1 else single
            ratio = f"{rate / single:.2f}" if single else "-"
            print(f"| {model} | {runs} | {seconds:.2f} | {rate:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
