"""Convergence study: how long do soft and adaptive need before their validation curves are flat?

Trains soft (and the adaptive rounds from it) for every simulation case of config.yaml at the given
sample sizes far past any sensible stopping point, then asks, for candidate patience values, where
early stopping would stop and how much validation MSE was still to gain after that point.

    python benchmarks/convergence.py --sizes 500 4000 --replicates 5 --epochs 1500
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from asp.data.simulation import SimulationCase  # noqa: E402
from asp.experiments.jobs import methods_job, run_both  # noqa: E402
from asp.experiments.replicates import simulated_replicate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def stop_epoch(curve: np.ndarray, patience: int) -> int:
    """Epoch (1-based) at which early stopping with this patience stops on ``curve``."""
    best, since = np.inf, 0
    for e, v in enumerate(curve):
        if v < best:
            best, since = v, 0
        else:
            since += 1
            if since >= patience:
                return e + 1
    return len(curve)


def remaining_gain(curve: np.ndarray, patience: int) -> tuple[int, float]:
    """(stop epoch, relative drop of the best val MSE between that stop and the end of the run)."""
    curve = curve[~np.isnan(curve)]
    stop = stop_epoch(curve, patience)
    at_stop, at_end = np.min(curve[:stop]), np.min(curve)
    return stop, float((at_stop - at_end) / at_stop)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(ROOT / "config.yaml"))
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 4000])
    ap.add_argument("--replicates", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1500)
    ap.add_argument("--round-epochs", type=int, default=150)
    ap.add_argument("--patience", type=int, nargs="+", default=[20, 40, 80])
    ap.add_argument("--round-patience", type=int, nargs="+", default=[10, 15, 30])
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "convergence"))
    args = ap.parse_args()
    cfg = yaml.safe_load(Path(args.config).read_text())
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sim = cfg["simulation"]
    cases = {n: SimulationCase.from_config(n, s) for n, s in sim["cases"].items()}
    # patience = max_epochs: every fit runs its full length, so the curves show what comes after
    long = {"batch_size": args.batch_size, "max_epochs": args.epochs, "patience": args.epochs}
    rounds = {
        "batch_size": args.batch_size,
        "max_epochs": args.round_epochs,
        "patience": args.round_epochs,
    }
    summary = []
    fig, axes = plt.subplots(
        len(args.sizes), len(cases), figsize=(4 * len(cases), 3 * len(args.sizes))
    )
    axes = np.atleast_2d(axes)
    for i, n in enumerate(args.sizes):
        for j, (name, case) in enumerate(cases.items()):
            t0 = time.perf_counter()
            reps = [
                simulated_replicate(
                    case, n, sim["n_inputs"], sim["n_tasks"], cfg["base_seed"], 10_000 + r
                )
                for r in range(args.replicates)
            ]
            values = cfg["hyperparameters"]["paper"][name]["mse"]
            # Rounds with a fixed length per round: one round = round_epochs epochs.
            job = methods_job(
                reps,
                ["soft", "adaptive"],
                values,
                long | {"compile": False},
                rounds | {"compile": False},
                hidden=cfg["network"]["hidden"],
                dataset=name,
            )
            soft, ad = run_both(job, reps)
            soft_curves = soft.curves["val_mse"].T
            for p in args.patience:
                stops = [remaining_gain(c, p) for c in soft_curves]
                summary.append(
                    {
                        "case": name,
                        "n": n,
                        "stage": "soft",
                        "patience": p,
                        "median_stop_epoch": float(np.median([s for s, _ in stops])),
                        "median_gain_after_stop": float(np.median([g for _, g in stops])),
                        "max_gain_after_stop": float(np.max([g for _, g in stops])),
                    }
                )
            round_curves = ad.curves["val_mse"].T
            n_rounds = int(ad.curves["round_epochs"].shape[1])
            for p in args.round_patience:
                gains, stops = [], []
                for c in round_curves:
                    c = c[~np.isnan(c)]
                    for r in range(n_rounds):
                        seg = c[r * args.round_epochs : (r + 1) * args.round_epochs]
                        if seg.size == args.round_epochs:
                            s, g = remaining_gain(seg, p)
                            stops.append(s)
                            gains.append(g)
                summary.append(
                    {
                        "case": name,
                        "n": n,
                        "stage": "round",
                        "patience": p,
                        "median_stop_epoch": float(np.median(stops)),
                        "median_gain_after_stop": float(np.median(gains)),
                        "max_gain_after_stop": float(np.max(gains)),
                    }
                )
            ax = axes[i, j]
            med = np.nanmedian(soft_curves, axis=0)
            ax.plot(np.arange(1, med.size + 1), med, color="black", label="soft")
            ad_med = np.nanmedian(round_curves, axis=0)
            ax.plot(
                med.size + np.arange(1, ad_med.size + 1),
                ad_med,
                color="tab:red",
                label="adaptive rounds",
            )
            ax.set_yscale("log")
            ax.set_title(f"{name}, N={n}")
            ax.set_xlabel("epoch")
            ax.set_ylabel("median val MSE")
            print(f"{name} N={n}: {time.perf_counter() - t0:.0f} s", flush=True)
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(out / "convergence.png", dpi=110)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    for row in summary:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
