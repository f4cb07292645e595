"""The fused training step: one Adam step of B fits' per-task MLPs in a handful of loops.

Layout: all parameters of all fits live in one buffer ``theta`` of shape (B, K, P): B fits,
K tasks, P parameters per task network. The weight matrices come first (``theta[..., :Pw]``,
the positions the sharing penalty sees; each the list layout's (in, out) matrix flattened),
then the biases. A mini-batch is ``rows`` (B, M + K, S), read as ``x`` (B, M, S) and ``y``
(B, K, S): fits outermost, samples innermost, so each fit's working set is a few contiguous
vectors of S values and the cost grows linearly with the number of fits.

Every contraction is a broadcast multiply-and-sum over tiny axes (inputs 4, hidden 4 and 3),
and the backward pass is written by hand, so that the whole step (forward, backward, penalty
gradient, Adam with per-fit step counts, holding idle fits) is elementwise work that
``torch.compile`` fuses into a few plain loops. Its cost is then close to its arithmetic
(about 12 kFLOP per fit-step), where batched GEMMs over thousands of 4 x 4 matrices and an
autograd graph of ~150 kernels cost ten times more. Without compilation the same code runs
eagerly (slower, same numbers to rounding).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import torch

from asp.network import Architecture
from asp.penalties import Penalty

log = logging.getLogger("asp")


@dataclass(frozen=True)
class Layout:
    """Where each layer's weight matrix and bias sit in the flat (B, K, P) buffer."""

    arch: Architecture

    @property
    def n_weights(self) -> int:
        return self.arch.n_weight_positions

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(o for _, o in self.arch.layer_sizes)

    def layers(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Views (W (B, K, in, out), b (B, K, out)) per layer."""
        out, w_off, b_off = [], 0, self.n_weights
        for fi, fo in self.arch.layer_sizes:
            w = theta[..., w_off : w_off + fi * fo].unflatten(-1, (fi, fo))
            out.append((w, theta[..., b_off : b_off + fo]))
            w_off, b_off = w_off + fi * fo, b_off + fo
        return out

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        """From the list layout ``[W (B, K, in, out), b (B, K, out), ...]`` to (B, K, P)."""
        return torch.cat([w.flatten(2) for w in params[0::2]] + list(params[1::2]), dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """Back to the list layout (contiguous copies)."""
        return [t.contiguous() for layer in self.layers(theta) for t in layer]


def forward(layout: Layout, theta: torch.Tensor, x: torch.Tensor) -> list[torch.Tensor]:
    """Activations of every layer for inputs x (B, M, S): [x, a1, ..., output], the hidden ones
    (B, K, h, S) and the output (B, K, S)."""
    h = x.unsqueeze(1)  # (B, 1, M, S): every task sees the same inputs
    acts = [h]
    layers = layout.layers(theta)
    for i, (w, b) in enumerate(layers):
        z = (w.unsqueeze(-1) * h.unsqueeze(3)).sum(2) + b.unsqueeze(-1)
        last = i == len(layers) - 1
        h = torch.sigmoid(z) if not last or layout.arch.output == "sigmoid" else z
        acts.append(h)
    acts[-1] = acts[-1].squeeze(2)
    return acts


def data_gradient(
    layout: Layout, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
) -> torch.Tensor:
    """Gradient (B, K, P) of sum_k sum_s row_weight[s] (pred - y)^2, by hand; x (B, M, S),
    y (B, K, S).

    ``row_weight`` (S,) is 1/rows for the rows of the mini-batch and 0 for padding, so the loss
    is each task's mean squared error over the mini-batch, summed over tasks (SPEC §1).
    """
    acts = forward(layout, theta, x)
    out = acts[-1]
    dz = 2.0 * (out - y) * row_weight
    if layout.arch.output == "sigmoid":
        dz = dz * out * (1.0 - out)
    dz = dz.unsqueeze(2)  # (B, K, 1, S)
    layers = layout.layers(theta)
    d_ws, d_bs = [], []
    for i in range(len(layers) - 1, -1, -1):
        a = acts[i]  # (B, K or 1, in, S)
        d_ws.append((a.unsqueeze(3) * dz.unsqueeze(2)).sum(-1).flatten(2))
        d_bs.append(dz.sum(-1))
        if i > 0:
            w = layers[i][0]
            da = (w.unsqueeze(-1) * dz.unsqueeze(2)).sum(3)
            dz = da * a * (1.0 - a)
    return torch.cat(d_ws[::-1] + d_bs[::-1], dim=2)


@dataclass(frozen=True)
class AdamConstants:
    lr: float
    beta1: float
    beta2: float
    eps: float


def adam_step(
    theta: torch.Tensor,
    m: torch.Tensor,
    v: torch.Tensor,
    t: torch.Tensor,
    grad: torch.Tensor,
    active: torch.Tensor,
    c: AdamConstants,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """torch.optim.Adam's update with a step count per fit; fits not ``active`` keep their
    parameters, moments and count."""
    t1 = t + active.to(t.dtype)
    m1 = c.beta1 * m + (1.0 - c.beta1) * grad
    v1 = c.beta2 * v + (1.0 - c.beta2) * grad * grad
    count = t1.view(-1, 1, 1)
    step_size = c.lr / (1.0 - c.beta1**count)
    denom = v1.sqrt() / (1.0 - c.beta2**count).sqrt() + c.eps
    new = theta - step_size * m1 / denom
    keep = active.view(-1, 1, 1)
    return torch.where(keep, new, theta), torch.where(keep, m1, m), torch.where(keep, v1, v), t1


def _inductor(fn: Callable, args: tuple[torch.Tensor, ...]) -> Callable:
    """``fn`` traced for these input shapes and compiled by TorchInductor.

    The graph is traced once (make_fx) and handed to Inductor directly: a call then costs the
    generated kernel plus a few microseconds, without TorchDynamo's guards and AOTAutograd's
    runtime wrappers, which cost as much as the kernel itself at 100 fits. Inductor's on-disk
    cache makes the compilation a few seconds in every process after the first.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    with torch.no_grad():
        graph = make_fx(lambda *a: fn(*a))(*args)  # make_fx miscounts a bound method's args
        # Static example inputs from a mode with a shape environment: Inductor's FX graph
        # cache then applies, and later processes skip lowering and code generation.
        mode = FakeTensorMode(shape_env=ShapeEnv())
        fake = [mode.from_tensor(a, static_shapes=True) for a in args]
        return torch._inductor.compile(graph, fake)


class Stepper:
    """The compiled (or eager) step and validation metric for one architecture and a fixed
    tuple of penalties; every other quantity is a per-fit tensor argument."""

    def __init__(
        self,
        arch: Architecture,
        penalties: tuple[Penalty, ...],
        adam: AdamConstants,
        compile: bool,
    ):
        self.layout = Layout(arch)
        self.penalties = penalties
        self.adam = adam
        self.compile = compile
        self._compiled: dict[tuple, Callable] = {}

    def _run(self, fn: Callable, *args: torch.Tensor):
        if not self.compile:
            return fn(*args)
        key = (fn.__name__, *((a.shape, a.stride(), a.dtype, a.device) for a in args))
        if key not in self._compiled:
            try:
                self._compiled[key] = _inductor(fn, args)
            except Exception as err:  # an unusual torch build: the same graph through Dynamo
                log.warning("direct Inductor compilation failed (%s); using torch.compile", err)
                self._compiled[key] = torch.compile(fn, dynamic=False)
        return self._compiled[key](*args)

    def _step_flat(self, theta, m, v, t, active, rows, row_weight, *terms):
        n = len(self.penalties)
        return self._step_eager(theta, m, v, t, active, rows, row_weight, terms[:n], terms[n:])

    def _step_eager(self, theta, m, v, t, active, rows, row_weight, coefs, masks):
        n_in = self.layout.arch.n_inputs
        grad = data_gradient(self.layout, theta, rows[:, :n_in], rows[:, n_in:], row_weight)
        n_w = self.layout.n_weights
        w = theta[..., :n_w]
        pen = None
        for penalty, coef, mask in zip(self.penalties, coefs, masks, strict=True):
            g = coef.view(-1, 1, 1) * penalty.gradient(w, mask)
            pen = g if pen is None else pen + g
        if pen is not None:
            grad = torch.cat([grad[..., :n_w] + pen, grad[..., n_w:]], dim=2)
        return adam_step(theta, m, v, t, grad, active, self.adam)

    def _val_eager(self, theta, rows, row_weight):
        n_in = self.layout.arch.n_inputs
        err = forward(self.layout, theta, rows[:, :n_in])[-1] - rows[:, n_in:]  # (B, K, S)
        finite = theta.isfinite().flatten(1).all(1)
        return (err.square() * row_weight).sum(2), (err.abs() * row_weight).sum(2), finite

    def step(self, theta, m, v, t, active, rows, row_weight, coefs, masks):
        """One Adam step of every active fit on a mini-batch ``rows`` (B, M + K, S): each
        fit's inputs then targets. Returns the new (theta, m, v, t)."""
        out = self._run(self._step_flat, theta, m, v, t, active, rows, row_weight, *coefs, *masks)
        return tuple(out)

    def validate(
        self, theta: torch.Tensor, chunks: torch.Tensor, row_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(MSE (B,), MAE (B,), parameters all finite (B,)) over the rows of ``chunks``
        (C, B, M + K, S), weighted by ``row_weight`` (C, S): 1 / (rows x tasks) for real rows,
        0 for padding. Fixed-size chunks keep the compiled shape independent of N."""
        mse, mae = 0.0, 0.0
        for chunk, weight in zip(chunks, row_weight, strict=True):
            se, ae, finite = self._run(self._val_eager, theta, chunk, weight)
            mse, mae = mse + se, mae + ae
        return mse.sum(1), mae.sum(1), finite
