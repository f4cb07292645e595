"""A plain per-fit implementation: one nn.Module and one torch.optim.Adam per fit.

It shares no training code with the batched trainer (only the mini-batch sampler, so both see
the same data order, and the term ranking of the pruning step). It exists to check the batched
trainer (tests) and to time it (benchmarks/bench_engine.py).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np
import torch
from torch import nn

from asp.engine.adaptive import n_rounds, prune_largest_terms, terms_per_round
from asp.engine.networks import Architecture
from asp.engine.preprocessing import PreparedData
from asp.engine.training import BatchSampler, TrainSettings, stage_seed


class TaskNetworks(nn.Module):
    """K separate MLPs, one per task, from nn.Linear layers."""

    def __init__(self, arch: Architecture, init: list[np.ndarray], dtype: torch.dtype):
        super().__init__()
        self.arch = arch
        self.nets = nn.ModuleList()
        for k in range(arch.n_tasks):
            layers: list[nn.Module] = []
            for layer, (fan_in, fan_out) in enumerate(arch.layer_sizes):
                lin = nn.Linear(fan_in, fan_out, dtype=dtype)
                with torch.no_grad():
                    lin.weight.copy_(torch.as_tensor(init[2 * layer][k].T))
                    lin.bias.copy_(torch.as_tensor(init[2 * layer + 1][k]))
                layers.append(lin)
                if layer < len(arch.layer_sizes) - 1 or arch.output == "sigmoid":
                    layers.append(nn.Sigmoid())
            self.nets.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([net(x) for net in self.nets], dim=1)

    def layer_weights(self) -> list[torch.Tensor]:
        """Per layer, the K tasks' weight matrices stacked as (K, in, out)."""
        n_layers = len(self.arch.layer_sizes)
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in self.nets]
        return [torch.stack([lin[layer].weight.T for lin in linears]) for layer in range(n_layers)]

    def params_batched(self, grad: bool = False) -> list[torch.Tensor]:
        """Parameters (or their gradients) in the batched layout, (1, K, in, out), (1, K, out)."""
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in self.nets]
        return [
            t[None]
            for layer in range(len(self.arch.layer_sizes))
            for t in _linear_layout([lin[layer] for lin in linears], grad)
        ]


def _linear(weight: np.ndarray, bias: np.ndarray, dtype: torch.dtype) -> nn.Linear:
    """An nn.Linear holding a list-layout weight (in, out) and bias (out,)."""
    lin = nn.Linear(*weight.shape, dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(weight.T))
        lin.bias.copy_(torch.as_tensor(bias))
    return lin


def _linear_layout(lins: list[nn.Linear], grad: bool) -> list[torch.Tensor]:
    """Weights (R, in, out) and biases (R, out) of R parallel layers, or their gradients."""
    pick = (lambda t: t.grad) if grad else (lambda t: t.detach())
    return [
        torch.stack([pick(lin.weight).T for lin in lins]),
        torch.stack([pick(lin.bias) for lin in lins]),
    ]


class HardSharingNet(nn.Module):
    """Shared hidden layers and K nn.Linear heads (``asp.engine.networks.hard_sharing``)."""

    def __init__(self, arch: Architecture, init: list[np.ndarray], dtype: torch.dtype):
        super().__init__()
        self.arch = arch
        n_shared = len(arch.hidden)
        self.shared = nn.ModuleList(
            _linear(init[2 * i][0], init[2 * i + 1][0], dtype) for i in range(n_shared)
        )
        w, b = init[-2], init[-1]
        self.heads = nn.ModuleList(_linear(w[k], b[k], dtype) for k in range(arch.n_tasks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for lin in self.shared:
            x = torch.sigmoid(lin(x))
        out = torch.cat([head(x) for head in self.heads], dim=1)
        return torch.sigmoid(out) if self.arch.output == "sigmoid" else out

    def layout(self, grad: bool = False) -> list[torch.Tensor]:
        """Parameters (or gradients) of this fit in the family's list layout, without B."""
        out = [t for lin in self.shared for t in _linear_layout([lin], grad)]
        return out + _linear_layout(list(self.heads), grad)


class CrossStitchNet(nn.Module):
    """K nn.Linear networks whose hidden activations K x K units mix after every hidden layer
    (``asp.engine.networks.cross_stitch``), written task by task."""

    def __init__(self, arch: Architecture, init: list[np.ndarray], dtype: torch.dtype):
        super().__init__()
        self.arch = arch
        n = len(arch.layer_sizes)
        self.nets = nn.ModuleList(
            nn.ModuleList(_linear(init[2 * i][k], init[2 * i + 1][k], dtype) for i in range(n))
            for k in range(arch.n_tasks)
        )
        self.units = nn.ParameterList(
            nn.Parameter(torch.as_tensor(u, dtype=dtype)) for u in init[2 * n :]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k_tasks = self.arch.n_tasks
        h = [x] * k_tasks
        for i, unit in enumerate(self.units):
            a = [torch.sigmoid(self.nets[k][i](h[k])) for k in range(k_tasks)]
            h = [sum(unit[k, j] * a[j] for j in range(k_tasks)) for k in range(k_tasks)]
        out = torch.cat([self.nets[k][-1](h[k]) for k in range(k_tasks)], dim=1)
        return torch.sigmoid(out) if self.arch.output == "sigmoid" else out

    def layout(self, grad: bool = False) -> list[torch.Tensor]:
        n = len(self.arch.layer_sizes)
        out = [t for i in range(n) for t in _linear_layout([net[i] for net in self.nets], grad)]
        return out + [u.grad if grad else u.detach() for u in self.units]


class RBFNetworks(nn.Module):
    """K Gaussian RBF networks, or one layer of Gaussian units shared by K output layers
    (``shared``), as nn.Parameters through autograd (``asp.engine.networks.rbf``), with the widths
    written as sigma = exp(s): phi = exp(-|x - c|^2 / (2 sigma^2))."""

    def __init__(
        self, arch: Architecture, init: list[np.ndarray], dtype: torch.dtype, shared: bool = False
    ):
        super().__init__()
        self.shared = shared
        if shared:
            a, b, c, s = init
        else:
            a, c, s, b = init

        def as_param(v: np.ndarray) -> nn.Parameter:
            return nn.Parameter(torch.as_tensor(np.asarray(v), dtype=dtype).clone())

        self.a, self.b = as_param(a[..., 0]), as_param(b[..., 0])  # (K, C), (K,)
        self.c, self.s = as_param(c), as_param(s)  # (T, C, M), (T, C)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d2 = (x[None, :, None, :] - self.c[:, None, :, :]).pow(2).sum(-1)  # (T, n, C)
        phi = torch.exp(-d2 / (2 * torch.exp(self.s)[:, None, :] ** 2))
        return (phi * self.a[:, None, :]).sum(-1).T + self.b  # (n, K)

    def params_batched(self, grad: bool = False) -> list[torch.Tensor]:
        """Parameters (or their gradients) in the family's list layout, leading dim 1."""
        pick = (lambda t: t.grad) if grad else (lambda t: t.detach())
        a, b, c, s = (pick(t) for t in (self.a, self.b, self.c, self.s))
        out = (
            [a[..., None], b[..., None], c, s]
            if self.shared
            else [a[..., None], c, s, b[..., None]]
        )
        return [t[None] for t in out]

    def layout(self, grad: bool = False) -> list[torch.Tensor]:
        return [p[0] for p in self.params_batched(grad)]


class CorrelationLayerNet(nn.Module):
    """K task networks with linear outputs (nn.Linear MLPs, or ``tasks``), then an
    nn.Linear(K, K) correlation layer (and nn.LeakyReLU) (``asp.engine.networks.cll``)."""

    def __init__(
        self,
        arch: Architecture,
        init: list[np.ndarray],
        dtype: torch.dtype,
        leaky: bool,
        tasks: nn.Module | None = None,
        depth: int = 1,
    ):
        super().__init__()
        self.arch = arch
        self.tasks = tasks or TaskNetworks(
            Architecture(*astuple(arch)[:3], "linear"), init[: -2 * depth], dtype
        )
        self.layers = nn.ModuleList()
        for i in range(depth):
            layer = nn.Linear(arch.n_tasks, arch.n_tasks, dtype=dtype)
            with torch.no_grad():  # C[k, j]: task k from task j
                layer.weight.copy_(torch.as_tensor(init[len(init) - 2 * depth + 2 * i]))
                layer.bias.copy_(torch.as_tensor(init[len(init) - 2 * depth + 2 * i + 1]))
            self.layers.append(layer)
        self.act = nn.LeakyReLU() if leaky else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.tasks(x)
        for layer in self.layers:
            out = self.act(layer(out))
        return torch.sigmoid(out) if self.arch.output == "sigmoid" else out

    def layout(self, grad: bool = False) -> list[torch.Tensor]:
        pick = (lambda t: t.grad) if grad else (lambda t: t.detach())
        tasks = [p[0] for p in self.tasks.params_batched(grad)]
        return tasks + [pick(t) for layer in self.layers for t in (layer.weight, layer.bias)]


def deviations(kind: str, w: torch.Tensor) -> torch.Tensor:
    """Terms of one layer for one fit, written out task by task: (T, in, out)."""
    k = w.shape[0]
    if kind == "pairwise_squared":
        return torch.stack([w[a] - w[b] for a in range(k) for b in range(a + 1, k)])
    mean = sum(w[j] for j in range(k)) / k
    return torch.stack([w[j] - mean for j in range(k)])


def penalty(kind: str, layers: list[torch.Tensor], masks: list[torch.Tensor]) -> torch.Tensor:
    total = torch.zeros((), dtype=layers[0].dtype)
    for w, m in zip(layers, masks, strict=True):
        d = deviations(kind, w)
        total = total + (m * (d.abs() if kind == "mean_absolute" else d * d)).sum()
    return total


@dataclass
class ReferenceResult:
    params: list[torch.Tensor]  # batched layout, leading dim 1
    best_val: float
    t_star: int
    stage0_epochs: int
    round_epochs: list[int]  # epochs trained in each adaptive round


def _train(model, data, kind, coef, masks, settings, sampler) -> tuple[float, dict, int]:
    opt = torch.optim.Adam(
        model.parameters(), lr=settings.lr, betas=settings.betas, eps=settings.eps
    )
    dtype = next(model.parameters()).dtype
    x, y = torch.as_tensor(data.x_train, dtype=dtype), torch.as_tensor(data.y_train, dtype=dtype)
    xv, yv = torch.as_tensor(data.x_val, dtype=dtype), torch.as_tensor(data.y_val, dtype=dtype)
    best_val, best_state, since, epochs = float("inf"), None, 0, 0
    while epochs < settings.max_epochs:
        epochs += 1
        order = torch.as_tensor(sampler.next_epoch()[0])
        for start in range(0, len(order), settings.batch_size):
            idx = order[start : start + settings.batch_size]
            pred = model(x[idx])
            loss = ((pred - y[idx]) ** 2).mean(dim=0).sum()
            loss = loss + coef * penalty(kind, model.layer_weights(), masks)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            err = model(xv) - yv
            val = float((err**2).mean() if settings.metric == "mse" else err.abs().mean())
        if val < best_val:
            best_val, since = val, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if since >= settings.patience:
                break
    model.load_state_dict(best_state)
    return best_val, best_state, epochs


def reference_fit(
    arch: Architecture,
    init: list[np.ndarray],
    data: PreparedData,
    lam: float,
    settings: TrainSettings,
    batch_seed: np.random.SeedSequence,
    rounds: dict | None = None,
    dtype: torch.dtype = torch.float64,
) -> ReferenceResult:
    """Stage 0 (mean-constrained penalty at ``lam``) and, if ``rounds`` is given, the adaptive
    rounds: ``rounds = {"penalty", "lam_star", "theta", "settings"}``. Mini-batch orders of stage 0
    and of round t come from ``stage_seed(batch_seed, t)``, as in the batched trainer."""
    model = TaskNetworks(arch, init, dtype)
    n_train = data.x_train.shape[0]
    ones = [torch.ones_like(deviations("mean_squared", w)) for w in model.layer_weights()]
    best_val, best_state, stage0_epochs = _train(
        model,
        data,
        "mean_squared",
        lam,
        ones,
        settings,
        BatchSampler([stage_seed(batch_seed, 0)], n_train),
    )
    t_star, round_epochs = 0, []
    if rounds is not None:
        kind, theta = rounds["penalty"], rounds["theta"]
        masks = [torch.ones_like(deviations(kind, w)) for w in model.layer_weights()]
        total = sum(m.numel() for m in masks)
        for t in range(1, n_rounds(theta) + 1):
            with torch.no_grad():
                devs = [deviations(kind, w)[None] for w in model.layer_weights()]
            k = torch.tensor([terms_per_round(theta, total)])
            masks = [m[0] for m in prune_largest_terms(devs, [m[None] for m in masks], k)]
            val, state, epochs = _train(
                model,
                data,
                kind,
                rounds["lam_star"],
                masks,
                rounds["settings"],
                BatchSampler([stage_seed(batch_seed, t)], n_train),
            )
            round_epochs.append(epochs)
            if val < best_val:
                best_val, best_state, t_star = val, state, t
        model.load_state_dict(best_state)
    return ReferenceResult(model.params_batched(), best_val, t_star, stage0_epochs, round_epochs)
