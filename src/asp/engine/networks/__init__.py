"""Network families: the shapes a method's fits can take, behind one interface the trainer calls.

A family is bound to an :class:`Architecture` (inputs, hidden widths, tasks, output) and holds
the parameters of B fits in one buffer ``theta`` of shape (B, R, P): R = ``n_rows`` rows of P
values, one row per task for the families whose tasks have networks of their own (R = K), one
row for a family whose parameters are mostly shared (hard sharing). The first ``n_weights``
values of each row are the weights the sharing penalty sees (none where there is no penalty);
the rest (biases, mixing units, anything a family keeps out of the penalty) follow. The family
provides:

- ``init_params`` / ``to_flat`` / ``to_list``: the initial weights of one fit in its natural
  list layout (each array with a leading axis of tasks, or of 1 for what the tasks share),
  drawn from its seed (and from its training inputs where ``needs_inputs``), and the
  conversions between that layout and the buffer;
- ``weights``: the penalised matrices of a list layout (what the adaptive rounds prune);
- ``predict``: predictions for evaluation (test metrics);
- ``forward`` / ``data_gradient``: the fused training step's forward pass and the gradient of
  the mini-batch loss, written as elementwise work that ``torch.compile`` fuses.

Adding a family is one module here with one ``@register_network`` class.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

OUTPUTS = ("linear", "sigmoid")


@dataclass(frozen=True)
class Architecture:
    n_inputs: int
    hidden: tuple[int, ...]
    n_tasks: int
    output: str = "linear"  # "sigmoid" for the real-data models (paper eq. 4.2)

    def __post_init__(self) -> None:
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.n_inputs < 1 or self.n_tasks < 1 or any(h < 1 for h in self.hidden):
            raise ValueError(f"layer sizes must be positive: {self}")

    @property
    def layer_sizes(self) -> list[tuple[int, int]]:
        sizes = [self.n_inputs, *self.hidden, 1]
        return list(zip(sizes[:-1], sizes[1:], strict=True))

    @property
    def n_weight_positions(self) -> int:
        """Weight entries of one task's network (biases excluded): the penalty's positions."""
        return sum(i * o for i, o in self.layer_sizes)


class Network(ABC):
    """One network family bound to an architecture (see the module docstring)."""

    family: ClassVar[str]
    # Whether the start depends on the fit's training inputs (``init_params(seed, x_train)``:
    # the RBF families' k-means centres); the others draw it from the seed alone.
    needs_inputs: ClassVar[bool] = False
    # The job key of its hidden widths (asp.experiments.jobs.architecture)
    hidden_key: ClassVar[str] = "hidden"

    def __init__(self, arch: Architecture):
        self.arch = arch

    @classmethod
    def job_options(cls, job: dict) -> dict:
        """The constructor options a training job sets for this family (none by default)."""
        return {}

    def _key(self) -> tuple:
        """What makes two instances the same network: the class, the architecture and any
        options a family sets in its ``__init__`` (compiled steps are cached by this)."""
        return (type(self), tuple(sorted(vars(self).items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other._key() == self._key()

    def __hash__(self) -> int:
        return hash(self._key())

    @property
    def n_rows(self) -> int:
        """Rows of the buffer: one per task unless a family says otherwise."""
        return self.arch.n_tasks

    @property
    @abstractmethod
    def n_weights(self) -> int:
        """Penalised values per task row of the buffer (they come first)."""

    @property
    @abstractmethod
    def n_params(self) -> int:
        """Values per task row of the buffer."""

    @abstractmethod
    def init_params(self, seed: int) -> list[np.ndarray]:
        """Initial parameters of one fit in list layout (each array with a leading task axis)."""

    @abstractmethod
    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        """B fits' list layout (each with leading axes (B, K)) as the buffer (B, K, P)."""

    @abstractmethod
    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        """The buffer back in list layout (contiguous copies)."""

    @abstractmethod
    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        """The penalised matrices of a list layout, each (B, K, ...)."""

    def predict(self, params: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Predictions (B, n, K) for inputs (B, n, M): the training step's forward pass."""
        return self.forward(self.to_flat(params), x.transpose(1, 2)).transpose(1, 2)

    @abstractmethod
    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Predictions (B, K, S) for inputs (B, M, S), in the fused step's layout."""

    @abstractmethod
    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        """Gradient (B, K, P) of sum_k sum_s row_weight[s] (pred - y)^2; x (B, M, S),
        y (B, K, S)."""


NETWORKS: dict[str, type[Network]] = {}


def register_network(cls: type[Network]) -> type[Network]:
    NETWORKS[cls.family] = cls
    return cls


def get_network(family: str, arch: Architecture, **options) -> Network:
    """The network of ``family`` for ``arch`` (with a family's ``options``); an unknown
    family is an error naming it."""
    try:
        cls = NETWORKS[family]
    except KeyError:
        raise ValueError(f"unknown network family {family!r}; known: {sorted(NETWORKS)}") from None
    return cls(arch, **options)


# The modules register their families.
from asp.engine.networks import cll, cross_stitch, hard_sharing, per_task_mlp, rbf  # noqa: E402,F401
