"""Gaussian radial basis function (RBF) networks, the CLL paper's models (Xu et al. 2023, §1.2.2
and §3.2): ``M -> C Gaussian units -> 1`` per task,

    phi_j(x) = exp(-|x - c_j|^2 / (2 sigma_j^2)),   o = sum_j a_j phi_j(x) + b,

with every parameter trained by gradient (the paper's "nonlinear optimisation" learning
strategy): the centres c_j, the widths sigma_j (as log sigma_j, so that they stay positive), the
output weights a_j and the bias b. The centres start at the k-means centres of the fit's own
training inputs (``kmeans_centres``), the widths at sigma = d_max / sqrt(2 C) with d_max the
largest distance between two centres (Haykin's rule), the output weights at 0 and the bias at
0. The architecture's one hidden width is C.

Two families:

- ``per_task_rbf``: one RBF network per task (SingleRBF; soft and adaptive sharing on it). Every
  task starts from the same centres and widths, so that unit j of one task corresponds to unit
  j of the others: the sharing penalty sees the output weights and the centres, the "weights"
  of an RBF network (widths and biases are left out, as the MLPs' biases are).
  List layout ``[a (B, K, C, 1), c (B, K, C, M), s (B, K, C), b (B, K, 1)]`` with s = log sigma;
  buffer (B, K, P) with a task row ``[a, c, s, b]`` (P = C (M + 2) + 1).
- ``shared_rbf``: the traditional multi-task RBF network (the CLL paper's MultiRBF, read as hard
  sharing, its Fig. 1(b)): one layer of Gaussian units shared by the tasks, one output layer per
  task. List layout ``[a (B, K, C, 1), b (B, K, 1), c (B, 1, C, M), s (B, 1, C)]``; buffer
  (B, 1, P), one row in list order; nothing penalised.

The correlation-layer variants (MultiRBF+ and MultiRBF+ReLU) are ``asp.engine.networks.cll``'s layer
on ``per_task_rbf``. As for the MLPs, the backward pass is written by hand, so that the training
step is elementwise work that ``torch.compile`` fuses; samples are innermost (x (B, M, S)).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from asp.engine.networks import Architecture, Network, register_network


def kmeans_centres(x: np.ndarray, n_centres: int, seed: int, n_init: int = 10) -> np.ndarray:
    """(C, M) k-means centres of the rows of ``x`` (scikit-learn's KMeans, k-means++ starts,
    ``n_init`` of them, seeded), in a fixed order (lexicographic), so that the same inputs and
    seed give the same centres in the same places."""
    from sklearn import config_context
    from sklearn.cluster import KMeans  # only the RBF families need it

    if len(x) < n_centres:
        raise ValueError(
            f"{n_centres} RBF centres need at least as many training rows, got {len(x)}"
        )
    # One OpenMP thread: the inputs are small (at most a few thousand rows), so a second
    # thread only adds synchronisation, and on a machine whose cores are all busy (two jobs on
    # two cores) its spin-waits made each call about 5x slower. One thread also gives the same
    # centres whatever the machine's core count. Our constant parameters need no validation
    # (a fifth of a small call). scikit-learn takes a 32-bit seed.
    with (
        _threadpools().limit(limits=1, user_api="openmp"),
        config_context(skip_parameter_validation=True),
    ):
        km = KMeans(n_clusters=n_centres, n_init=n_init, random_state=seed % 2**32).fit(x)
    centres = km.cluster_centers_.astype(np.float64)
    return centres[np.lexsort(centres.T[::-1])]


@functools.cache
def _threadpools():
    """The process's thread pools, found once: finding them reads the loaded libraries, about
    3 ms, as long as a small k-means."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def initial_width(centres: np.ndarray) -> float:
    """sigma = d_max / sqrt(2 C): d_max the largest distance between two centres."""
    diff = centres[:, None, :] - centres[None, :, :]
    d_max = float(np.sqrt((diff**2).sum(-1)).max())
    return d_max / math.sqrt(2 * len(centres)) if d_max > 0 else 1.0


def gaussian_units(c: torch.Tensor, s: torch.Tensor, x: torch.Tensor):
    """The units' outputs phi (B, T, C, S) for centres c (B, T, C, M), log widths s (B, T, C) and
    inputs x (B, M, S) (T: tasks, or 1 for shared units), with what their backward pass needs."""
    diff = x.unsqueeze(1).unsqueeze(2) - c.unsqueeze(-1)  # (B, T, C, M, S)
    r2 = diff.square().sum(3)  # (B, T, C, S)
    g = 0.5 * torch.exp(-2.0 * s).unsqueeze(-1)  # 1 / (2 sigma^2), (B, T, C, 1)
    phi = torch.exp(-r2 * g)
    return phi, (diff, r2, g)


def gaussian_backward(phi: torch.Tensor, saved, d_phi: torch.Tensor):
    """Gradients (d c (B, T, C, M), d s (B, T, C)) from d loss / d phi (B, T, C, S)."""
    diff, r2, g = saved
    d_arg = d_phi * phi  # d loss / d (-r2 g)
    d_c = (2.0 * g * d_arg).unsqueeze(3).mul(diff).sum(-1)  # d r2 / d c = -2 diff
    d_s = (d_arg * r2 * 2.0 * g).sum(-1)  # d (-r2 g) / d s = 2 r2 g
    return d_c, d_s


class _RBF(Network):
    """What the RBF families share: k-means starts from the fit's training inputs."""

    needs_inputs = True
    hidden_key = "rbf_centres"  # a job's [C]: the number of Gaussian units

    def __init__(self, arch: Architecture, n_init: int = 10):
        if len(arch.hidden) != 1:
            raise ValueError(
                f"an RBF network has one hidden layer (its centres), got {arch.hidden}"
            )
        if arch.output != "linear":
            raise ValueError("an RBF network's output is linear")
        super().__init__(arch)
        self.n_init = n_init

    @classmethod
    def job_options(cls, job: dict) -> dict:
        """k-means starts from the job's ``kmeans_starts`` (default 10)."""
        return {"n_init": int(job.get("kmeans_starts", 10))}

    @property
    def n_centres(self) -> int:
        return self.arch.hidden[0]

    def start(self, seed: int, x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(centres (C, M), log widths (C,)) from the training inputs. Every RBF family of a
        job starts a replicate from the same k-means (same inputs, seed and units), so it is
        computed once per process (about 0.1 s each)."""
        x = np.ascontiguousarray(x_train, dtype=np.float64)
        centres = _kmeans_once(x.tobytes(), x.shape, self.n_centres, seed, self.n_init)
        return centres.copy(), np.full(self.n_centres, math.log(initial_width(centres)))


@functools.lru_cache(maxsize=256)
def _kmeans_once(
    x: bytes, shape: tuple[int, ...], n_centres: int, seed: int, n_init: int
) -> np.ndarray:
    return kmeans_centres(np.frombuffer(x).reshape(shape), n_centres, seed, n_init)


@register_network
class PerTaskRBF(_RBF):
    family = "per_task_rbf"

    @property
    def n_weights(self) -> int:
        return self.n_centres * (1 + self.arch.n_inputs)

    @property
    def n_params(self) -> int:
        return self.n_weights + self.n_centres + 1

    def init_params(self, seed: int, x_train: np.ndarray | None = None) -> list[np.ndarray]:
        if x_train is None:
            raise ValueError("an RBF network starts from its training inputs (k-means)")
        centres, s = self.start(seed, x_train)
        k, c = self.arch.n_tasks, self.n_centres
        return [
            np.zeros((k, c, 1)),
            np.repeat(centres[None], k, axis=0),
            np.repeat(s[None], k, axis=0),
            np.zeros((k, 1)),
        ]

    def parts(self, theta: torch.Tensor):
        """Views a (B, K, C), c (B, K, C, M), s (B, K, C), b (B, K) of the buffer."""
        c, m = self.n_centres, self.arch.n_inputs
        return (
            theta[..., :c],
            theta[..., c : c * (1 + m)].unflatten(-1, (c, m)),
            theta[..., c * (1 + m) : c * (2 + m)],
            theta[..., c * (2 + m)],  # by place: a family may add values after it (the CLL)
        )

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        a, c, s, b = params
        return torch.cat([a.flatten(2), c.flatten(2), s, b], dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        a, c, s, b = self.parts(theta)
        return [a.unsqueeze(-1).contiguous(), c.contiguous(), s.contiguous(), b[..., None].clone()]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return params[:2]  # output weights and centres

    def activations(self, theta: torch.Tensor, x: torch.Tensor, output: str | None = None):
        """[phi (B, K, C, S), saved, o (B, K, S)]: the protocol of ``asp.engine.networks.cll``'s
        layer (the last entry the task networks' linear outputs)."""
        a, c, s, b = self.parts(theta)
        phi, saved = gaussian_units(c, s, x)
        out = (a.unsqueeze(-1) * phi).sum(2) + b.unsqueeze(-1)
        return [phi, saved, out]

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.activations(theta, x)[-1]

    def backward(self, theta: torch.Tensor, acts: list, dz: torch.Tensor) -> torch.Tensor:
        """Gradient (B, K, P) from d loss / d the outputs ``dz`` (B, K, S), by hand."""
        phi, saved, _ = acts
        a = self.parts(theta)[0]
        d_a = (dz.unsqueeze(2) * phi).sum(-1)
        d_c, d_s = gaussian_backward(phi, saved, a.unsqueeze(-1) * dz.unsqueeze(2))
        return torch.cat([d_a, d_c.flatten(2), d_s, dz.sum(-1, keepdim=True)], dim=2)

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        acts = self.activations(theta, x)
        return self.backward(theta, acts, 2.0 * (acts[-1] - y) * row_weight)


@register_network
class SharedRBF(_RBF):
    family = "shared_rbf"

    @property
    def n_rows(self) -> int:
        return 1

    @property
    def n_weights(self) -> int:
        return 0

    @property
    def n_params(self) -> int:
        k, c, m = self.arch.n_tasks, self.n_centres, self.arch.n_inputs
        return k * (c + 1) + c * (m + 1)

    def init_params(self, seed: int, x_train: np.ndarray | None = None) -> list[np.ndarray]:
        if x_train is None:
            raise ValueError("an RBF network starts from its training inputs (k-means)")
        centres, s = self.start(seed, x_train)
        k, c = self.arch.n_tasks, self.n_centres
        return [np.zeros((k, c, 1)), np.zeros((k, 1)), centres[None], s[None]]

    def parts(self, theta: torch.Tensor):
        """Views a (B, K, C), b (B, K), c (B, 1, C, M), s (B, 1, C) of the buffer."""
        k, c, m = self.arch.n_tasks, self.n_centres, self.arch.n_inputs
        row = theta[:, 0]
        off = k * c
        return (
            row[:, :off].unflatten(-1, (k, c)),
            row[:, off : off + k],
            row[:, off + k : off + k + c * m].unflatten(-1, (1, c, m)),
            row[:, off + k + c * m :].unsqueeze(1),
        )

    def to_flat(self, params: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([p.reshape(p.shape[0], 1, -1) for p in params], dim=2)

    def to_list(self, theta: torch.Tensor) -> list[torch.Tensor]:
        a, b, c, s = self.parts(theta)
        return [a.unsqueeze(-1).contiguous(), b[..., None].contiguous(), c.contiguous(), s.clone()]

    def weights(self, params: list[torch.Tensor]) -> list[torch.Tensor]:
        return []

    def forward(self, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        a, b, c, s = self.parts(theta)
        phi, _ = gaussian_units(c, s, x)  # (B, 1, C, S)
        return (a.unsqueeze(-1) * phi).sum(2) + b.unsqueeze(-1)

    def data_gradient(
        self, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, row_weight: torch.Tensor
    ) -> torch.Tensor:
        a, b, c, s = self.parts(theta)
        phi, saved = gaussian_units(c, s, x)
        dz = 2.0 * ((a.unsqueeze(-1) * phi).sum(2) + b.unsqueeze(-1) - y) * row_weight
        d_a = (dz.unsqueeze(2) * phi).sum(-1)  # (B, K, C)
        d_phi = (a.unsqueeze(-1) * dz.unsqueeze(2)).sum(1, keepdim=True)  # (B, 1, C, S)
        d_c, d_s = gaussian_backward(phi, saved, d_phi)
        return torch.cat(
            [d_a.flatten(1), dz.sum(-1), d_c.flatten(1), d_s.flatten(1)], dim=1
        ).unsqueeze(1)
