"""Batched engine vs a per-fit PyTorch loop, same settings, same machine, one run.

Case 1, N=2000, 100 replicates x the 5 methods (ffn, soft, adaptive, l2_only, mean_only) with
the paper's Table 1 hyper-parameters, each fit training a fixed number of epochs (stage 0, then
every adaptive round). The batched engine trains all 500 fits; the per-fit reference
(asp.reference: one nn.Module and one torch.optim.Adam per fit) trains a subset. Prints per-fit
seconds of both, and the cost of one fused training step in microseconds per fit-step at 100
and at 1,000 fits. The batched engine is compiled (torch.compile) and warmed up on the same
shapes first, so compilation is not timed (it is paid once per job, and cached on disk). The
last line is ``speedup: <per-fit loop / per-fit batched>``. With ``--step-only`` it prints only
the step's cost at the given numbers of fits, on ``--device`` (benchmarks/gpu_check.sh).

    python benchmarks/bench_engine.py [--replicates 100] [--reference-replicates 2]
    python benchmarks/bench_engine.py --step-only 1000 10000 --device cuda
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from asp.experiment import simulated_replicate
from asp.jobs import methods_job, run_both
from asp.methods import METHODS, HyperParams, get_method
from asp.networks import Architecture, get_network
from asp.penalties import get_penalty
from asp.reference import reference_fit
from asp.seeds import torch_seed
from asp.simulation import SimulationCase
from asp.training import TrainSettings, stepper

ROOT = Path(__file__).resolve().parents[1]


def step_cost(
    arch: Architecture, n_fits: int, batch_size: int, steps: int = 300, device: str = "cpu"
) -> float:
    """Microseconds per fit-step of the compiled soft step (float32), after a warm-up."""
    net = get_network("per_task_mlp", arch)
    gen = torch.Generator().manual_seed(0)
    theta = torch.rand(n_fits, arch.n_tasks, net.n_params, generator=gen) - 0.5
    m, v, t = torch.zeros_like(theta), torch.zeros_like(theta), torch.zeros(n_fits)
    active = torch.ones(n_fits, dtype=torch.bool)
    rows = torch.rand(n_fits, arch.n_inputs + arch.n_tasks, batch_size, generator=gen)
    weight = torch.full((batch_size,), 1.0 / batch_size)
    coef = [torch.full((n_fits,), 0.001)]
    mask = [torch.ones(n_fits, arch.n_tasks, net.n_weights)]
    theta, m, v, t, active, rows, weight, coef, mask = (
        [x.to(device) for x in a] if isinstance(a, list) else a.to(device)
        for a in (theta, m, v, t, active, rows, weight, coef, mask)
    )
    settings = TrainSettings(batch_size=batch_size, max_epochs=1, patience=1, compile=True)
    fused = stepper(net, (get_penalty("mean_squared"),), settings)
    state = fused.step(theta, m, v, t, active, rows, weight, coef, mask)  # compile
    state = fused.step(*state, active, rows, weight, coef, mask)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        state = fused.step(*state, active, rows, weight, coef, mask)
    sync()
    return (time.perf_counter() - start) / (steps * n_fits) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--reference-replicates", type=int, default=2)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=5, help="stage-0 epochs per fit")
    ap.add_argument("--round-epochs", type=int, default=2, help="epochs per adaptive round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument(
        "--step-only",
        type=int,
        nargs="+",
        metavar="FITS",
        help="print only the fused step's cost at these numbers of fits, then stop",
    )
    ap.add_argument("--device", default="cpu", help="for --step-only: cpu or cuda")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    sim = cfg["simulation"]
    case = SimulationCase.from_config("case1", sim["cases"]["case1"])
    arch = Architecture(sim["n_inputs"], tuple(cfg["network"]["hidden"]), sim["n_tasks"])
    if args.step_only:
        for n_fits in args.step_only:
            us = step_cost(arch, n_fits, cfg["training"]["batch_size"], device=args.device)
            print(f"fused step on {args.device}: {us:.4f} us per fit-step at {n_fits} fits")
        return
    h = cfg["hyperparameters"]["paper"]["case1"]["mse"]
    hp = HyperParams(h["lambda"], h["lambda_star"], h["theta"])
    bs = cfg["training"]["batch_size"]
    s0 = TrainSettings(batch_size=bs, max_epochs=args.epochs, patience=args.epochs, compile=True)
    rs = TrainSettings(
        batch_size=bs, max_epochs=args.round_epochs, patience=args.round_epochs, compile=True
    )
    values = {"lambda": hp.lam, "lambda_star": hp.lam_star, "theta": hp.theta}

    def training(s: TrainSettings) -> dict:
        return {
            "batch_size": s.batch_size,
            "max_epochs": s.max_epochs,
            "patience": s.patience,
            "compile": s.compile,
        }

    # The paper's five: the per-task MLP methods the per-fit loop below can train (its
    # reference has no other network; the baselines' families are tested against autograd in
    # tests/test_networks.py, not timed here). soft_extended is left out as it needs a twin.
    methods = [
        m for m, spec in METHODS.items() if spec.matches is None and spec.network == "per_task_mlp"
    ]
    reps = [
        simulated_replicate(case, args.n, sim["n_inputs"], sim["n_tasks"], cfg["base_seed"], r)
        for r in range(args.replicates)
    ]
    print(
        f"case1 N={args.n}: {len(reps)} replicates x {len(methods)} methods, batch size {bs}, "
        f"{args.epochs} stage-0 epochs, {args.round_epochs} epochs per round, theta {hp.theta}"
    )

    start = time.perf_counter()
    warm = TrainSettings(batch_size=bs, max_epochs=1, patience=1, compile=True)
    run_both(methods_job(reps, methods, values, training(warm), training(warm)), reps)
    print(f"compile and warm-up: {time.perf_counter() - start:.1f} s", flush=True)
    for n_fits in (100, 1000):
        print(f"fused step: {step_cost(arch, n_fits, bs):.2f} us per fit-step at {n_fits} fits")

    start = time.perf_counter()
    run_both(methods_job(reps, methods, values, training(s0), training(rs)), reps)
    batched = (time.perf_counter() - start) / (len(reps) * len(methods))
    print(f"batched: {batched:.4f} s per fit ({len(reps) * len(methods)} fits)", flush=True)

    start, n_ref = time.perf_counter(), 0
    for rep in reps[: args.reference_replicates]:
        init = get_network("per_task_mlp", arch).init_params(torch_seed(rep.seeds["init"]))
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
            lam = hp.lam if "lambda" in m.hyperparameters else 0.0
            reference_fit(
                arch, init, rep.data, lam, s0, rep.seeds["batches"], rounds, torch.float32
            )
            n_ref += 1
    loop = (time.perf_counter() - start) / n_ref
    print(f"per-fit loop: {loop:.4f} s per fit ({n_ref} fits)")
    print(f"speedup: {loop / batched:.1f}")


if __name__ == "__main__":
    main()
