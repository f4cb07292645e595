"""Per-task MLPs ``M -> hidden... -> 1``: every task has its own network (FFN, soft sharing and
the adaptive family of the paper).

List layout: ``[W1, b1, W2, b2, ...]`` with ``W_l`` (B, K, in, out) and ``b_l`` (B, K, out).
Buffer layout (B, K, P): the weight matrices first (each (in, out) matrix flattened; the
positions the sharing penalty sees), then the biases.

In the fused step every contraction is a broadcast multiply-and-sum over tiny axes (inputs 4,
hidden 4 and 3) and the backward pass is written by hand, so that forward, backward, penalty
gradient and Adam are elementwise work that ``torch.compile`` fuses into a few plain loops: its
cost is then close to its arithmetic (about 12 kFLOP per fit-step), where batched GEMMs over
thousands of 4 x 4 matrices and an autograd graph of ~150 kernels cost ten times more. Samples
are innermost (x (B, M, S)), so each fit's working set is a few contiguous vectors.
"""

from __future__ import annotations

import numpy as np
import torch

from asp.engine.networks import Network, register_network
from asp.engine.networks.dense import dense, dense_backward, linear_init, sigmoid_backward


@register_network
class PerTaskMLP(Network):
    family = "per_task_mlp"

    @property
    def n_weights(self) -> int:
        return self.arch.n_weight_positions

    @property
    def n_params(self) -> int:
        return self.n_weights + sum(o for _, o in self.arch.layer_sizes)

    def init_params(self, seed: int) -> list[np.ndarray]:
        """PyTorch's default nn.Linear initialisation, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), per
        task. Drawn in float64 from one torch.Generator, so the same seed gives the same start
        in any dtype."""
        gen = torch.Generator().manual_seed(seed)
        return [
            p
            for fan_in, fan_out in self.arch.layer_sizes
            for p in linear_init(gen, self.arch.n_tasks, fan_in, fan_out)
        ]

    def layers(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Views (W (B, K, in, out), b (B, K, out)) per layer of the buffer."""
        out, w_off, b_off = [], 0, self.n_weights
        for fi, fo in self.arch.layer_sizes:
            w = theta[..., w_off : w_off + fi * fo].unflatten(-1, (fi, fo))
            out.append((w, theta[..., b_off : b_off + fo]))
            w_off, b_off = w_off + fi * fo, b_off + fo
        return out

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([w.flatten(2) for w in params[0::2]] + list(params[1::2]), dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        return [t.contiguous() for layer in self.layers(theta) for t in layer]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return params[0::2]  # biases are not penalised

    def predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        h = x.unsqueeze(1)  # (B, 1, n, M): every task sees the same inputs
        n_layers = len(params) // 2
        for layer in range(n_layers):
            w, b = params[2 * layer], params[2 * layer + 1]
            h = torch.matmul(h, w) + b.unsqueeze(-2)
            if layer < n_layers - 1 or self.arch.output == "sigmoid":
                h = torch.sigmoid(h)
        return h.squeeze(-1).transpose(1, 2)

    def activations(self, theta: torch.Tensor, x: torch.Tensor, output: str | None = None):
        """Activations of every layer for inputs x (B, M, S): [x, a1, ..., output], the hidden
        ones (B, K, h, S) and the output (B, K, S); ``output`` overrides the architecture's
        output activation (a family that adds layers after the task networks)."""
        output = output or self.arch.output
        h = x.unsqueeze(1)  # (B, 1, M, S)
        acts = [h]
        layers = self.layers(theta)
        for i, (w, b) in enumerate(layers):
            z = dense(w, b, h)
            last = i == len(layers) - 1
            h = torch.sigmoid(z) if not last or output == "sigmoid" else z
            acts.append(h)
        acts[-1] = acts[-1].squeeze(2)
        return acts

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.activations(theta, x)[-1]

    def backward(
        self, theta: torch.Tensor, acts: list[torch.Tensor], dz: torch.Tensor
    ) -> torch.Tensor:
        """Gradient (B, K, n_params of the task networks) from d loss / d the output layer's
        pre-activation ``dz`` (B, K, S), by hand."""
        dz = dz.unsqueeze(2)  # (B, K, 1, S)
        layers = self.layers(theta)
        d_ws, d_bs = [], []
        for i in range(len(layers) - 1, -1, -1):
            dw, db, da = dense_backward(layers[i][0], acts[i], dz, inputs=i > 0)
            d_ws.append(dw)
            d_bs.append(db)
            if i > 0:
                dz = sigmoid_backward(da, acts[i])
        return torch.cat(d_ws[::-1] + d_bs[::-1], dim=2)

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """By hand. ``row_weight`` (S,) is 1/rows for the rows of the mini-batch and 0 for
        padding, so the loss is each task's mean squared error over the mini-batch, summed over
        tasks (docs/method.md §8)."""
        acts = self.activations(theta, x)
        out = acts[-1]
        dz = 2.0 * (out - y) * row_weight
        if self.arch.output == "sigmoid":
            dz = dz * out * (1.0 - out)
        return self.backward(theta, acts, dz)
