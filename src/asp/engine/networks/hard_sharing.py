"""Hard parameter sharing: hidden layers shared by every task, one output head per task
(Caruana 1997; the multi-task overviews' "hard sharing"). ``M -> hidden... -> 1`` as the other
families, with every hidden layer common and the last layer K separate heads.

List layout: ``[W1, b1, ..., Wh, bh]`` with the shared layers' ``W_l`` (B, 1, in, out) and
``b_l`` (B, 1, out), and the heads ``Wh`` (B, K, h, 1), ``bh`` (B, K, 1). Buffer layout
(B, 1, P): one row holding every parameter of a fit in list order. Nothing is penalised (there
is nothing to pull together: the tasks already share their hidden layers).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from asp.engine.networks import Network, register_network
from asp.engine.networks.dense import dense, dense_backward, linear_init, sigmoid_backward


@register_network
class HardSharing(Network):
    family = "hard_sharing"

    @property
    def n_rows(self) -> int:
        return 1

    @property
    def n_weights(self) -> int:
        return 0

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the list layout, per fit."""
        *shared, (h, _) = self.arch.layer_sizes
        out = [s for i, o in shared for s in ((1, i, o), (1, o))]
        return out + [(self.arch.n_tasks, h, 1), (self.arch.n_tasks, 1)]

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.shapes)

    def init_params(self, seed: int) -> list[np.ndarray]:
        """PyTorch's default nn.Linear initialisation: the shared layers, then the heads."""
        gen = torch.Generator().manual_seed(seed)
        *shared, (h, _) = self.arch.layer_sizes
        params = [p for i, o in shared for p in linear_init(gen, 1, i, o)]
        return params + linear_init(gen, self.arch.n_tasks, h, 1)

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([p.reshape(p.shape[0], 1, -1) for p in params], dim=2)

    def views(self, theta: torch.Tensor) -> list[torch.Tensor]:
        out, off = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            out.append(theta[:, 0, off : off + size].unflatten(-1, shape))
            off += size
        return out

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        return [v.contiguous() for v in self.views(theta)]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return []

    def activations(self, theta: torch.Tensor, x: torch.Tensor) -> list[torch.Tensor]:
        """[x (B, 1, M, S), shared activations (B, 1, h, S)..., output (B, K, S)]."""
        v = self.views(theta)
        h = x.unsqueeze(1)
        acts = [h]
        for w, b in zip(v[0:-2:2], v[1:-2:2], strict=True):
            h = torch.sigmoid(dense(w, b, h))
            acts.append(h)
        z = dense(v[-2], v[-1], h).squeeze(2)  # the K heads on the shared features
        acts.append(torch.sigmoid(z) if self.arch.output == "sigmoid" else z)
        return acts

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.activations(theta, x)[-1]

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """By hand, as the per-task family's; the heads' input gradients add up over the tasks
        into the shared layers."""
        v = self.views(theta)
        acts = self.activations(theta, x)
        out = acts[-1]
        dz = 2.0 * (out - y) * row_weight
        if self.arch.output == "sigmoid":
            dz = dz * out * (1.0 - out)
        dw, db, dh = dense_backward(v[-2], acts[-2], dz.unsqueeze(2))
        grads = [db, dw]  # reversed list order, flipped at the end
        dh = dh.sum(1, keepdim=True)
        n_shared = len(v) // 2 - 1
        for i in range(n_shared - 1, -1, -1):
            dz = sigmoid_backward(dh, acts[i + 1])
            dw, db, dh = dense_backward(v[2 * i], acts[i], dz, inputs=i > 0)
            grads += [db, dw]
        return torch.cat([g.reshape(g.shape[0], 1, -1) for g in grads[::-1]], dim=2)
