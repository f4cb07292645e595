"""Cross-stitch networks (Misra et al. 2016): per-task MLPs whose hidden activations are mixed
across the tasks by a learned K x K unit after every hidden layer,
``a~_k = sum_j alpha[k, j] a_j``, one unit per layer for all of its hidden units.

The units start near the identity, as in the original (alpha_kk = 0.9, the rest sharing 0.1),
so training starts close to K independent networks. With ``self_weight = 1`` and the units held
fixed (``learn_units = False``) the family is the per-task MLP exactly (the reference tests use
this).

List layout: the per-task MLP's ``[W1, b1, ...]``, then one unit ``A_l`` (B, K, K) per hidden
layer (row k: the weights of task k's mix). Buffer layout (B, K, P): a task row holds the
per-task MLP's row (weights first, the penalty's positions) and then its row of every unit.
"""

from __future__ import annotations

import numpy as np
import torch

from asp.engine.networks import Architecture, register_network
from asp.engine.networks.dense import dense, dense_backward, sigmoid_backward
from asp.engine.networks.per_task_mlp import PerTaskMLP


def mix(unit: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """sum_j unit[k, j] a_j: unit (B, K, K), activations (B, K, h, S)."""
    return (unit[..., None, None] * a.unsqueeze(1)).sum(2)


@register_network
class CrossStitch(PerTaskMLP):
    family = "cross_stitch"

    def __init__(self, arch: Architecture, self_weight: float = 0.9, learn_units: bool = True):
        super().__init__(arch)
        self.self_weight = self_weight
        self.learn_units = learn_units

    @property
    def n_units(self) -> int:
        return len(self.arch.hidden)

    @property
    def n_mlp(self) -> int:
        return super().n_params

    @property
    def n_params(self) -> int:
        return self.n_mlp + self.n_units * self.arch.n_tasks

    def init_params(self, seed: int) -> list[np.ndarray]:
        """The per-task MLP's start (the same draws), then the units near the identity."""
        k = self.arch.n_tasks
        other = (1.0 - self.self_weight) / (k - 1) if k > 1 else 0.0
        unit = np.full((k, k), other) + np.eye(k) * (self.self_weight - other)
        return super().init_params(seed) + [unit.copy() for _ in range(self.n_units)]

    def units(self, theta: torch.Tensor) -> list[torch.Tensor]:
        k, off = self.arch.n_tasks, self.n_mlp
        return [theta[..., off + i * k : off + (i + 1) * k] for i in range(self.n_units)]

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        n = 2 * len(self.arch.layer_sizes)
        return torch.cat([super().to_flat(params[:n]), *params[n:]], dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        return super().to_list(theta) + [u.contiguous() for u in self.units(theta)]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return super().weights(params[: 2 * len(self.arch.layer_sizes)])

    def predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return self.forward(self.to_flat(params), x.transpose(1, 2)).transpose(1, 2)

    def stitched(self, theta: torch.Tensor, x: torch.Tensor):
        """[x, a~1, ..., output] (the inputs of every layer, then the output (B, K, S)), and
        the hidden activations before their mix [a1, ...]."""
        layers, units = self.layers(theta), self.units(theta)
        h = x.unsqueeze(1)
        inputs, hidden = [h], []
        for i, (w, b) in enumerate(layers):
            z = dense(w, b, h)
            if i < len(units):
                a = torch.sigmoid(z)
                hidden.append(a)
                h = mix(units[i], a)
                inputs.append(h)
            else:
                z = z.squeeze(2)
                inputs.append(torch.sigmoid(z) if self.arch.output == "sigmoid" else z)
        return inputs, hidden

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.stitched(theta, x)[0][-1]

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """By hand: through each layer, then back through its unit (d unit[k, j] = sum over
        units and samples of d a~_k a_j; d a_j = sum_k unit[k, j] d a~_k)."""
        layers, units = self.layers(theta), self.units(theta)
        inputs, hidden = self.stitched(theta, x)
        out = inputs[-1]
        dz = 2.0 * (out - y) * row_weight
        if self.arch.output == "sigmoid":
            dz = dz * out * (1.0 - out)
        dz = dz.unsqueeze(2)
        d_ws, d_bs, d_units = [], [], []
        for i in range(len(layers) - 1, -1, -1):
            dw, db, dh = dense_backward(layers[i][0], inputs[i], dz, inputs=i > 0)
            d_ws.append(dw)
            d_bs.append(db)
            if i > 0:
                a, unit = hidden[i - 1], units[i - 1]
                du = (dh.unsqueeze(2) * a.unsqueeze(1)).sum((-1, -2))
                d_units.append(du if self.learn_units else torch.zeros_like(du))
                dz = sigmoid_backward((unit[..., None, None] * dh.unsqueeze(2)).sum(1), a)
        return torch.cat(d_ws[::-1] + d_bs[::-1] + d_units[::-1], dim=2)
