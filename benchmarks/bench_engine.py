"""Batched engine vs a per-fit PyTorch loop, same settings, same machine, one run.

Case 1, N=2000, 100 replicates x the 5 methods (ffn, soft, adaptive, l2_only, mean_only) with
the paper's Table 1 hyper-parameters, each fit training a fixed number of epochs (stage 0, then
every adaptive round). The batched engine trains all 500 fits; the per-fit reference
(asp.engine.reference: one nn.Module and one torch.optim.Adam per fit) trains a subset. Prints
per-fit seconds of both, and the cost of one fused training step in microseconds per fit-step at 100
and at 1,000 fits. The batched engine is compiled (torch.compile) and warmed up on the same shapes
first, so compilation is not timed (it is paid once per job, and cached on disk). The line
``speedup: <per-fit loop / per-fit batched>``. The peer: what a PyTorch user would write
for many small models, a ``torch.func`` ensemble (``stack_module_state`` + ``vmap`` of the
gradient, one foreach Adam, ``torch.compile``d), trained in a plain loop with batched shuffles
and validation, on the same fits' data and the same epochs; the last line is ``vs vmap: <the
peer's seconds per fit / the batched engine's>``. With ``--step-only`` it prints only the
step's cost at the given numbers of fits, on ``--device`` (benchmarks/gpu_check.sh).

    python benchmarks/bench_engine.py [--replicates 100] [--reference-replicates 2]
    python benchmarks/bench_engine.py --step-only 1000 10000 --device cuda
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from asp.data.simulation import SimulationCase
from asp.engine import training
from asp.engine.adaptive import n_rounds
from asp.engine.methods import METHODS, HyperParams, get_method, split_stages
from asp.engine.networks import Architecture, get_network
from asp.engine.penalties import get_penalty
from asp.engine.reference import reference_fit
from asp.engine.seeds import torch_seed
from asp.engine.training import TrainSettings, stepper
from asp.experiments.jobs import methods_job, run_both
from asp.experiments.replicates import simulated_replicate

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

    for n in (500, 2000, 4000):
        epoch_split(case, sim, cfg["base_seed"], n, methods, values, bs)

    epochs = args.epochs + args.round_epochs * n_rounds(hp.theta)
    peer = vmap_peer(arch, reps, len(methods), bs, epochs, hp.lam)
    print(f"vmap peer: {peer:.4f} s per fit ({len(reps) * len(methods)} fits, {epochs} epochs)")
    print(f"vs vmap: {peer / batched:.1f}")


def epoch_split(
    case: SimulationCase,
    sim: dict,
    base_seed: int,
    n: int,
    methods: list[str],
    values: dict,
    bs: int,
    n_reps: int = 20,
    epochs: tuple[int, int] = (20, 5),
) -> None:
    """Microseconds per fit-epoch of a job at N = ``n`` (``n_reps`` replicates of ``methods``,
    ``epochs`` stage-0 epochs and epochs per round), split into the kernels of the steps and of
    the validation (each timed from C alone, times its calls) and the rest (shuffles, gathers,
    early stopping, round transitions, Python). Warmed up on the same shapes first."""
    reps = [
        simulated_replicate(case, n, sim["n_inputs"], sim["n_tasks"], base_seed, r)
        for r in range(n_reps)
    ]
    keys = {"batch_size": bs, "compile": True}
    s0, rs = ({"max_epochs": e, "patience": e} | keys for e in epochs)
    run_both(methods_job(reps, methods, values, s0 | {"max_epochs": 1}, rs), reps)
    start = time.perf_counter()
    run_both(methods_job(reps, methods, values, s0, rs), reps)
    wall = time.perf_counter() - start
    programs = list(training._PROGRAMS.values())
    if len(programs) != 2:
        print(f"N={n}: the split needs the native rounds (programs: {len(programs)})")
        return
    first, later = split_stages(methods)
    fit_epochs = (
        n_reps * len(first) * epochs[0],
        n_reps * len(later) * epochs[1] * n_rounds(values["theta"]),
    )
    n_train = reps[0].data.x_train.shape[0]
    n_steps, n_chunks = -(-n_train // bs), -(-reps[0].data.x_val.shape[0] // training.VAL_CHUNK)
    steps = sum(e * n_steps * p[0].cost() for e, p in zip(fit_epochs, programs, strict=True))
    val = sum(e * n_chunks * p[1].cost() for e, p in zip(fit_epochs, programs, strict=True))
    per = 1 / sum(fit_epochs)  # microseconds per fit-epoch
    rest = wall * 1e6 - steps - val
    print(
        f"N={n} ({n_steps} steps, {n_chunks} validation chunks an epoch): "
        f"{wall * 1e6 * per:.1f} us per fit-epoch = steps {steps * per:.1f} "
        f"+ validation {val * per:.1f} + the rest {rest * per:.1f}"
    )


class _TaskNets(torch.nn.Module):
    """K task networks M -> hidden... -> 1 with sigmoid hidden layers, as a user writes them."""

    def __init__(self, arch: Architecture):
        super().__init__()
        sizes = [arch.n_inputs, *arch.hidden, 1]
        self.tasks = torch.nn.ModuleList(
            torch.nn.Sequential(
                *(
                    layer
                    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True))
                    for layer in (
                        [torch.nn.Linear(a, b)]
                        + ([torch.nn.Sigmoid()] if i < len(sizes) - 2 else [])
                    )
                )
            )
            for _ in range(arch.n_tasks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x) for net in self.tasks], dim=1)  # (n, K)


def vmap_peer(
    arch: Architecture, reps: list, per_rep: int, batch_size: int, epochs: int, lam: float
) -> float:
    """Seconds per fit of the ``torch.func`` ensemble: ``per_rep`` fits per replicate (the
    batched engine's fits), each trained ``epochs`` epochs on its replicate's data with the soft
    penalty (squared deviation of each task's weights from their mean), validated every epoch.
    Compiled and warmed up on one epoch first; the timed run draws new weights."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    fit_rep = [r for r in range(len(reps)) for _ in range(per_rep)]
    data = {
        key: torch.as_tensor(
            np.stack([getattr(reps[r].data, key) for r in fit_rep]), dtype=torch.float32
        )
        for key in ("x_train", "y_train", "x_val", "y_val")
    }
    n_fits, n_train = data["x_train"].shape[:2]
    template = _TaskNets(arch).to("meta")

    def loss(params, x, y):
        fit = functional_call(template, params, (x,))
        # each task's matrices in task order; layer k of every task is weights[k::layers]
        weights = [w for name, w in params.items() if name.endswith("weight")]
        layers = len(weights) // arch.n_tasks
        penalty = sum(
            ((torch.stack(weights[k::layers]) - torch.stack(weights[k::layers]).mean(0)) ** 2).sum()
            for k in range(layers)
        )
        return ((fit - y) ** 2).mean() + lam * penalty

    def val_mse(params, x, y):
        return ((functional_call(template, params, (x,)) - y) ** 2).mean()

    step_grad = torch.compile(vmap(grad(loss)))
    validate = torch.compile(vmap(val_mse))

    def train(n_epochs: int, seed: int) -> None:
        torch.manual_seed(seed)
        params, _ = stack_module_state([_TaskNets(arch) for _ in range(n_fits)])
        params = {k: v.detach().requires_grad_(False) for k, v in params.items()}
        opt = torch.optim.Adam(list(params.values()), lr=1e-3, betas=(0.99, 0.9999), foreach=True)
        for _ in range(n_epochs):
            order = torch.argsort(torch.rand(n_fits, n_train), dim=1)  # a shuffle per fit
            x = torch.gather(data["x_train"], 1, order.unsqueeze(2).expand_as(data["x_train"]))
            y = torch.gather(data["y_train"], 1, order.unsqueeze(2).expand_as(data["y_train"]))
            for start in range(0, n_train, batch_size):
                grads = step_grad(
                    params, x[:, start : start + batch_size], y[:, start : start + batch_size]
                )
                for key, g in grads.items():
                    params[key].grad = g
                opt.step()
            with torch.no_grad():
                validate(params, data["x_val"], data["y_val"])

    train(1, 0)  # compiles every shape of the loop (the last mini-batch's too)
    start = time.perf_counter()
    train(epochs, 1)
    return (time.perf_counter() - start) / n_fits


if __name__ == "__main__":
    main()
