"""The LeNet models of Xu 2023 (§1.2.1, its Figs. 3–4) for two-task images
(asp.data.overlay_images), and B runs of one model evaluated as one batch.

Each model is a ``torch.nn.Module`` for one run, taking images (n, 1, 36, 36) to logits
(n, 2, 10): task k's ten class scores in row k.

- ``single_lenet``: one LeNet per task (SingleLeNet).
- ``multi_lenet``: the convolution and pooling layers shared (hard sharing), then three fully
  connected layers per task (MultiLeNet).
- ``multi_lenet_cll``: the same, then a correlation layer (MultiLeNet+).
- ``multi_lenet_cs``: cross-stitch units between the task layers (MultiLeNetCS).
- ``multi_lenet_cs_cll``: cross-stitch units and the correlation layer (MultiLeNetCS+).

Our readings (docs/method.md §19): LeNet-5's layers (convolutions of 6 and 16 maps, 5 × 5, each
followed by ReLU and 2 × 2 max pooling; fully connected 120, 84, 10); the correlation layer is
one fully connected layer from both tasks' ten scores to both tasks' ten scores (20 → 20),
starting at the identity, so that training starts from the model without it; one cross-stitch
unit (2 × 2, starting at 0.9 on the diagonal and 0.1 off it, as Misra et al.) after each of the
first two task layers. PyTorch's default initialisation, drawn from the run's seed.

:class:`BatchedRuns` stacks B runs' parameters (``torch.func.stack_module_state``) and
evaluates them with ``torch.func.vmap`` of ``functional_call``: each run's arithmetic is its
module's (tested against one module per run).
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from asp.data.overlay_images import CANVAS

N_TASKS, N_CLASSES = 2, 10


class Trunk(nn.Module):
    """LeNet-5's convolution and pooling layers: (n, 1, 36, 36) -> (n, 16 * 6 * 6)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)

    @staticmethod
    def out_features() -> int:
        side = ((CANVAS - 4) // 2 - 4) // 2
        return 16 * side * side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return x.flatten(1)


class TaskLayers(nn.Module):
    """One task's three fully connected layers (120, 84, 10)."""

    def __init__(self, n_in: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_in, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, N_CLASSES)


class SingleLeNet(nn.Module):
    """One LeNet per task; task k sees only its own network."""

    def __init__(self) -> None:
        super().__init__()
        self.trunks = nn.ModuleList([Trunk() for _ in range(N_TASKS)])
        self.tasks = nn.ModuleList([TaskLayers(Trunk.out_features()) for _ in range(N_TASKS)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = []
        for trunk, layers in zip(self.trunks, self.tasks, strict=True):
            h = torch.relu(layers.fc1(trunk(x)))
            out.append(layers.fc3(torch.relu(layers.fc2(h))))
        return torch.stack(out, 1)


class MultiLeNet(nn.Module):
    """The shared trunk, then each task's layers; with ``cross_stitch``, a unit mixes the
    tasks' activations after the first and the second task layer; with ``correlation``, the
    correlation layer maps both tasks' scores to both tasks' scores."""

    def __init__(self, cross_stitch: bool = False, correlation: bool = False) -> None:
        super().__init__()
        self.trunk = Trunk()
        self.tasks = nn.ModuleList([TaskLayers(Trunk.out_features()) for _ in range(N_TASKS)])
        self.cross_stitch, self.correlation = cross_stitch, correlation
        if cross_stitch:
            unit = torch.full((N_TASKS, N_TASKS), 0.1 / (N_TASKS - 1)).fill_diagonal_(0.9)
            self.stitch = nn.ParameterList([nn.Parameter(unit.clone()) for _ in range(2)])
        if correlation:
            self.cll = nn.Linear(N_TASKS * N_CLASSES, N_TASKS * N_CLASSES)
            with torch.no_grad():
                self.cll.weight.copy_(torch.eye(N_TASKS * N_CLASSES))
                self.cll.bias.zero_()

    def _mix(self, h: list[torch.Tensor], i: int) -> list[torch.Tensor]:
        if not self.cross_stitch:
            return h
        mixed = torch.einsum("kj,jnd->knd", self.stitch[i], torch.stack(h))
        return list(mixed.unbind(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.trunk(x)
        h = self._mix([torch.relu(t.fc1(z)) for t in self.tasks], 0)
        h = self._mix([torch.relu(t.fc2(a)) for t, a in zip(self.tasks, h, strict=True)], 1)
        logits = torch.stack([t.fc3(a) for t, a in zip(self.tasks, h, strict=True)], 1)
        if self.correlation:
            logits = self.cll(logits.flatten(1)).unflatten(1, (N_TASKS, N_CLASSES))
        return logits


MODELS = {
    "single_lenet": SingleLeNet,
    "multi_lenet": MultiLeNet,
    "multi_lenet_cll": lambda: MultiLeNet(correlation=True),
    "multi_lenet_cs": lambda: MultiLeNet(cross_stitch=True),
    "multi_lenet_cs_cll": lambda: MultiLeNet(cross_stitch=True, correlation=True),
}


def make_model(name: str, seed: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Model ``name`` for one run, its initial weights drawn from ``seed`` alone."""
    if name not in MODELS:
        raise ValueError(f"unknown LeNet model {name!r}; known: {', '.join(MODELS)}")
    generator_state, default = torch.random.get_rng_state(), torch.get_default_dtype()
    try:  # built in ``dtype``: its constants (the units' 0.9) exact in it
        torch.manual_seed(seed)
        torch.set_default_dtype(dtype)
        model = MODELS[name]()
    finally:  # the run's seed, not whatever drew before it, decides its weights
        torch.random.set_rng_state(generator_state)
        torch.set_default_dtype(default)
    return model


class BatchedRuns:
    """B runs of one model: their parameters stacked (each (B, ...)), evaluated together."""

    def __init__(self, models: list[nn.Module]) -> None:
        if not models or len({type(m) for m in models}) != 1:
            raise ValueError("a batch holds runs of one model")
        params, buffers = stack_module_state(models)
        self.params = {k: v.detach().requires_grad_() for k, v in params.items()}
        self.buffers = buffers
        # the module whose code every run shares; its own tensors are never used
        self.base = copy.deepcopy(models[0]).to("meta")

    @property
    def n_runs(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def forward(self, x: torch.Tensor, params: dict | None = None) -> torch.Tensor:
        """Logits (B, n, 2, 10) of images x (B, n, 1, 36, 36): run b on its own images."""

        def one(p: dict, b: dict, xb: torch.Tensor) -> torch.Tensor:
            return functional_call(self.base, (p, b), (xb,))

        return vmap(one)(self.params if params is None else params, self.buffers, x)


def task_losses(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per run and task (B, 2), averaged over the run's images; logits
    (B, n, 2, 10), labels (B, n, 2). Xu 2023's loss is the sum over tasks."""
    ce = nn.functional.cross_entropy(logits.permute(0, 3, 1, 2), labels, reduction="none")
    return ce.mean(1)
