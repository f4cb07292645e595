"""Batched engine vs a per-fit PyTorch loop, same settings, same machine, one run.

Case 1, N=2000, 100 replicates x the 5 methods (ffn, soft, adaptive, l2_only, mean_only) with
the paper's Table 1 hyper-parameters, each fit training a fixed number of epochs (stage 0, then
every adaptive round). The batched engine trains all 500 fits; the per-fit reference
(asp.reference: one nn.Module and one torch.optim.Adam per fit) trains a subset. Prints per-fit
seconds of both; the last line is ``speedup: <per-fit loop / per-fit batched>``.

    python benchmarks/bench_engine.py [--replicates 100] [--reference-replicates 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from asp.experiment import fit_cell, simulated_replicate
from asp.methods import METHODS, HyperParams, get_method
from asp.network import Architecture, init_params
from asp.reference import reference_fit
from asp.seeds import torch_seed
from asp.simulation import SimulationCase
from asp.training import TrainSettings

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--reference-replicates", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=5, help="stage-0 epochs per fit")
    ap.add_argument("--round-epochs", type=int, default=2, help="epochs per adaptive round")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    sim = cfg["simulation"]
    case = SimulationCase.from_config("case1", sim["cases"]["case1"])
    arch = Architecture(sim["n_inputs"], tuple(cfg["network"]["hidden"]), sim["n_tasks"])
    h = cfg["hyperparameters"]["paper"]["case1"]["mse"]
    hp = HyperParams(h["lambda"], h["lambda_star"], h["theta"])
    bs = cfg["training"]["batch_size"]
    s0 = TrainSettings(batch_size=bs, max_epochs=args.epochs, patience=args.epochs)
    rs = TrainSettings(batch_size=bs, max_epochs=args.round_epochs, patience=args.round_epochs)
    methods = list(METHODS)
    reps = [
        simulated_replicate(case, args.n, sim["n_inputs"], sim["n_tasks"], cfg["base_seed"], r)
        for r in range(args.replicates)
    ]
    print(
        f"case1 N={args.n}: {len(reps)} replicates x {len(methods)} methods, batch size {bs}, "
        f"{args.epochs} stage-0 epochs, {args.round_epochs} epochs per round, theta {hp.theta}"
    )

    start = time.perf_counter()
    fit_cell(reps, methods, hp, arch, s0, rs, torch.device("cpu"), torch.float32)
    batched = (time.perf_counter() - start) / (len(reps) * len(methods))
    print(f"batched: {batched:.4f} s per fit ({len(reps) * len(methods)} fits)", flush=True)

    start, n_ref = time.perf_counter(), 0
    for rep in reps[: args.reference_replicates]:
        init = init_params(arch, torch_seed(rep.seeds["init"]))
        for name in methods:
            m = get_method(name)
            rounds = None
            if m.adaptive:
                rounds = {
                    "penalty": m.round_penalty,
                    "lam_star": hp.lam_star,
                    "theta": hp.theta,
                    "settings": rs,
                }
            lam = hp.lam if m.soft_lambda else 0.0
            reference_fit(
                arch, init, rep.data, lam, s0, rep.seeds["batches"], rounds, torch.float32
            )
            n_ref += 1
    loop = (time.perf_counter() - start) / n_ref
    print(f"per-fit loop: {loop:.4f} s per fit ({n_ref} fits)")
    print(f"speedup: {loop / batched:.1f}")


if __name__ == "__main__":
    main()
