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

from asp.engine.networks import register_network
from asp.engine.networks.per_task_mlp import PerTaskMLP
from asp.engine.networks.rbf import PerTaskRBF

LEAKY_SLOPE = 0.01


class _CorrelationLayer:
    """The layer on a per-task family: ``class X(_CorrelationLayer, Family)``. The family gives
    ``activations(theta, x, output="linear")`` (its task outputs (B, K, S) last) and
    ``backward(theta, activations, d outputs)``. ``depth`` layers follow each other, each with
    the LeakyReLU where ``leaky`` (Bay_MRBFCor, the CLL paper's surrogate, has two)."""

    leaky: ClassVar[bool] = False  # a LeakyReLU on the layer (the paper's +ReLU variants)
    depth: ClassVar[int] = 1  # correlation layers, one after the other

    @property
    def n_tasks_params(self) -> int:
        """Values of a task network's row."""
        return super().n_params

    @property
    def n_params(self) -> int:
        return self.n_tasks_params + self.depth * (self.arch.n_tasks + 1)

    def init_params(self, seed: int, *inputs) -> list[np.ndarray]:
        """The task networks' start (the same draws), then each layer at the identity."""
        k = self.arch.n_tasks
        return super().init_params(seed, *inputs) + [np.eye(k), np.zeros(k)] * self.depth

    def correlation_layers(self, theta: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """C (B, K, K) and c (B, K) of each layer, in order."""
        k = self.arch.n_tasks
        out = []
        for i in range(self.depth):
            off = self.n_tasks_params + i * (k + 1)
            out.append((theta[..., off : off + k], theta[..., off + k]))
        return out

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        n = 2 * self.depth
        parts = [super().to_flat(params[:-n])]
        for c_mat, c_vec in zip(params[-n::2], params[-n + 1 :: 2], strict=True):
            parts += [c_mat, c_vec.unsqueeze(-1)]
        return torch.cat(parts, dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        return super().to_list(theta) + [
            t.contiguous() for layer in self.correlation_layers(theta) for t in layer
        ]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return super().weights(params[: -2 * self.depth])

    def predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        return self.forward(self.to_flat(params), x.transpose(1, 2)).transpose(1, 2)

    def _act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.where(z > 0, z, LEAKY_SLOPE * z) if self.leaky else z

    def outputs(self, theta: torch.Tensor, x: torch.Tensor):
        """The task networks' activations (linear outputs o (B, K, S) last), each layer's input
        and pre-activation z, and the final output, each (B, K, S)."""
        acts = self.activations(theta, x, output="linear")
        h, seen = acts[-1], []
        for c_mat, c_vec in self.correlation_layers(theta):
            z = (c_mat.unsqueeze(-1) * h.unsqueeze(1)).sum(2) + c_vec.unsqueeze(-1)
            seen.append((h, z))
            h = self._act(z)
        return acts, seen, torch.sigmoid(h) if self.arch.output == "sigmoid" else h

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.outputs(theta, x)[-1]

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """By hand: through the output activation and the layers, last first (d C[k, j] =
        sum_s dz_k h_j, d h_j = sum_k C[k, j] dz_k), then the task networks' own backward
        pass."""
        acts, seen, out = self.outputs(theta, x)
        d_h = 2.0 * (out - y) * row_weight
        if self.arch.output == "sigmoid":
            d_h = d_h * out * (1.0 - out)
        grads = []
        for (c_mat, _), (h, z) in zip(
            reversed(self.correlation_layers(theta)), reversed(seen), strict=True
        ):
            dz = torch.where(z > 0, d_h, LEAKY_SLOPE * d_h) if self.leaky else d_h
            grads.append(
                torch.cat([(dz.unsqueeze(2) * h.unsqueeze(1)).sum(-1), dz.sum(-1, keepdim=True)], 2)
            )
            d_h = (c_mat.unsqueeze(-1) * dz.unsqueeze(2)).sum(1)
        return torch.cat([self.backward(theta, acts, d_h), *reversed(grads)], dim=2)


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


@register_network
class DeepLeakyRBFCorrelationLayer(LeakyRBFCorrelationLayer):
    """Bay_MRBFCor (the CLL paper's §2, Fig. 6): RBF networks, one per task, then two
    correlation layers, each with the LeakyReLU."""

    family = "rbf_cll2_leaky"
    depth = 2
