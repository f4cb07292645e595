"""Per-task networks followed by a correlation learning layer (CLL; Xu, Luo, Li et al. 2023,
J. Shenzhen Univ. Sci. Eng.): a fully connected K -> K layer on the task networks' outputs, so
that each task's final output is a learned weighted sum of every task's output,
``y_k = sum_j C[k, j] o_j + c_k``, optionally through a LeakyReLU (the paper's MultiRBF+ReLU,
negative slope 0.01 as PyTorch's default). The data set's output activation (sigmoid for the
case studies) comes after the layer; the task networks end linear. The task networks are the
per-task MLPs (families ``cll``, ``cll_leaky``) or RBF networks (``rbf_cll``, ``rbf_cll_leaky``:
the paper's MultiRBF+ and MultiRBF+ReLU, its Fig. 5).

The CLL paper adds the layer to networks already trained and trains it again; here everything
trains at once from the layer's identity start (C = I, c = 0), so training starts from K
independent networks and learns how much the tasks' outputs should mix.

List layout: the task networks' (the per-task MLP's ``[W1, b1, ...]``), then ``C`` (B, K, K)
and ``c`` (B, K). Buffer layout (B, K, P): a task row holds the task network's row, then
``C[k, :]`` and ``c_k``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch

from asp.networks import register_network
from asp.networks.per_task_mlp import PerTaskMLP
from asp.networks.rbf import PerTaskRBF

LEAKY_SLOPE = 0.01


class _CorrelationLayer:
    """The layer on a per-task family: ``class X(_CorrelationLayer, Family)``. The family gives
    ``activations(theta, x, output="linear")`` (its task outputs (B, K, S) last) and
    ``backward(theta, activations, d outputs)``."""

    leaky: ClassVar[bool] = False  # a LeakyReLU on the layer (the paper's +ReLU variants)

    @property
    def n_tasks_params(self) -> int:
        """Values of a task network's row."""
        return super().n_params

    @property
    def n_params(self) -> int:
        return self.n_tasks_params + self.arch.n_tasks + 1

    def init_params(self, seed: int, *inputs) -> list[np.ndarray]:
        """The task networks' start (the same draws), then the layer at the identity."""
        k = self.arch.n_tasks
        return super().init_params(seed, *inputs) + [np.eye(k), np.zeros(k)]

    def layer(self, theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """C (B, K, K) and c (B, K)."""
        off, k = self.n_tasks_params, self.arch.n_tasks
        return theta[..., off : off + k], theta[..., off + k]

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        *mlp, c_mat, c_vec = params
        return torch.cat([super().to_flat(mlp), c_mat, c_vec.unsqueeze(-1)], dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        return super().to_list(theta) + [t.contiguous() for t in self.layer(theta)]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return super().weights(params[:-2])

    def predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return self.forward(self.to_flat(params), x.transpose(1, 2)).transpose(1, 2)

    def outputs(self, theta: torch.Tensor, x: torch.Tensor):
        """The task networks' activations (linear outputs o (B, K, S) last), the layer's
        pre-activation z and the final output, each (B, K, S)."""
        acts = self.activations(theta, x, output="linear")
        c_mat, c_vec = self.layer(theta)
        z = (c_mat.unsqueeze(-1) * acts[-1].unsqueeze(1)).sum(2) + c_vec.unsqueeze(-1)
        out = torch.where(z > 0, z, LEAKY_SLOPE * z) if self.leaky else z
        return acts, z, torch.sigmoid(out) if self.arch.output == "sigmoid" else out

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(theta, x)[-1]

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """By hand: through the output activation and the layer (d C[k, j] = sum_s dz_k o_j,
        d o_j = sum_k C[k, j] dz_k), then the task networks' own backward pass."""
        acts, z, out = self.outputs(theta, x)
        dz = 2.0 * (out - y) * row_weight
        if self.arch.output == "sigmoid":
            dz = dz * out * (1.0 - out)
        if self.leaky:
            dz = torch.where(z > 0, dz, LEAKY_SLOPE * dz)
        c_mat, _ = self.layer(theta)
        d_mat = (dz.unsqueeze(2) * acts[-1].unsqueeze(1)).sum(-1)
        d_out = (c_mat.unsqueeze(-1) * dz.unsqueeze(2)).sum(1)
        grad = self.backward(theta, acts, d_out)
        return torch.cat([grad, d_mat, dz.sum(-1, keepdim=True)], dim=2)


@register_network
class CorrelationLayer(_CorrelationLayer, PerTaskMLP):
    family = "cll"


@register_network
class LeakyCorrelationLayer(CorrelationLayer):
    """The CLL paper's variant with a LeakyReLU on the layer (MultiRBF+ReLU)."""

    family = "cll_leaky"
    leaky = True


@register_network
class RBFCorrelationLayer(_CorrelationLayer, PerTaskRBF):
    """RBF networks, one per task, and the layer: the CLL paper's MultiRBF+."""

    family = "rbf_cll"


@register_network
class LeakyRBFCorrelationLayer(RBFCorrelationLayer):
    """MultiRBF+ReLU: a LeakyReLU on the layer."""

    family = "rbf_cll_leaky"
    leaky = True
