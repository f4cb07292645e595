"""One training loop for every method: B fits stacked into tensors and trained together.

Each fit's gradient is exactly its own (the fused step of ``asp.engine.step`` computes it per fit)
and Adam keeps a step count per fit, so training stays exactly per fit. Each fit early-stops on its
own validation metric and keeps its own clock: a fit whose round has ended is held at its best
weights, or starts its next round at once, without waiting for the others.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from asp.engine import metrics, native, progress
from asp.engine.networks import Network
from asp.engine.penalties import Penalty
from asp.engine.preprocessing import PreparedData
from asp.engine.step import AdamConstants, Stepper

log = logging.getLogger("asp")


@dataclass(frozen=True)
class TrainSettings:
    """Adam as in the paper (eq. 3.3-3.7); batch size, epochs and patience are ours
    (docs/method.md §8), given by the config (its schema holds their defaults, so they have
    none here).

    ``compile`` has TorchInductor compile the fused step (``asp.engine.step``: seconds once per
    input shape, cached on disk between processes, then several times faster); without it the same
    step runs eagerly.
    """

    batch_size: int
    max_epochs: int
    patience: int
    compile: bool
    metric: str = "mse"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.99, 0.9999)
    eps: float = 1e-8
    log_every: int = 0  # epochs between progress lines; 0 = quiet
    # The learning rate times lr_gamma after each of these steps of a fit's Adam (its step
    # count: a new round starts again at lr), as torch's MultiStepLR stepped per step. The
    # paper trains at a constant rate (none); the CLL paper halves it at 1,000, 3,000, 7,000.
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.5

    def __post_init__(self) -> None:
        metrics.metric_fn(self.metric)
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1:
            raise ValueError(f"batch_size, max_epochs and patience must be >= 1: {self}")
        object.__setattr__(self, "lr_milestones", tuple(self.lr_milestones))  # a job's list
        if any(m < 1 for m in self.lr_milestones) or list(self.lr_milestones) != sorted(
            set(self.lr_milestones)
        ):
            raise ValueError(f"lr_milestones must be increasing step counts >= 1: {self}")


@dataclass
class FitData:
    """Scaled data of B fits as tensors (B, n, M) and (B, n, K)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @classmethod
    def stack(
        cls,
        prepared: list[PreparedData],
        replicate_of_fit: list[int],
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> FitData:
        """Fit b uses ``prepared[replicate_of_fit[b]]``; all replicates must share split sizes."""
        index = torch.as_tensor(replicate_of_fit, device=device)

        def stacked(attr: str) -> torch.Tensor:
            arrays = [getattr(p, attr) for p in prepared]
            if len({a.shape for a in arrays}) != 1:
                raise ValueError(f"replicates differ in the shape of {attr}: cannot batch them")
            t = torch.as_tensor(np.stack(arrays), dtype=dtype, device=device)
            return t.index_select(0, index)

        return cls(*(stacked(f) for f in cls.__dataclass_fields__))

    @property
    def n_fits(self) -> int:
        return self.x_train.shape[0]


class BatchSampler:
    """Mini-batch orders: one random permutation of the training rows per fit and epoch.

    Each fit draws from its own stream, so its order does not depend on which other fits share
    the batch, nor on when the others start their rounds (the batched and the per-fit trainers
    see the same mini-batches). ``restart`` gives fits a new stream (a new adaptive round).

    Fits given the same seed in one call (the methods and metrics of a replicate in stage 0)
    share one generator and draw each epoch's permutation once. A fit that skipped an epoch
    must be restarted before it draws again (the trainer only skips fits whose training has
    ended); drawing behind its stream's position is an error.
    """

    def __init__(self, seeds: list[np.random.SeedSequence], n_train: int):
        self._n = n_train
        self._streams: list[list] = [[]] * len(seeds)  # shared [generator, draws so far]
        self._drawn = [0] * len(seeds)  # draws of each fit since its (re)start
        self._orders = np.tile(np.arange(n_train), (len(seeds), 1))
        self.restart(range(len(seeds)), seeds)

    def restart(self, fits, seeds: list[np.random.SeedSequence]) -> None:
        made: dict[tuple, list] = {}
        for b, seed in zip(fits, seeds, strict=True):
            key = (seed.entropy, tuple(seed.spawn_key))
            if key not in made:  # a generator per stream, not per fit (20 us each)
                made[key] = [np.random.default_rng(seed), 0]
            self._streams[b] = made[key]
            self._drawn[b] = 0

    def next_epoch(self, fits: np.ndarray | None = None) -> np.ndarray:
        """(B, n_train) row orders for the next epoch of the fits ``fits`` (bool, default all);
        the rows of other fits are left as they were."""
        chosen = range(len(self._streams)) if fits is None else np.flatnonzero(fits)
        drawn: dict[int, tuple[int, np.ndarray]] = {}
        for b in chosen:
            stream = self._streams[b]
            if id(stream) not in drawn:
                drawn[id(stream)] = (stream[1], stream[0].permutation(self._n))
                stream[1] += 1
            position, order = drawn[id(stream)]
            if position != self._drawn[b]:
                raise ValueError(f"fit {b} skipped an epoch of its stream: restart it first")
            self._orders[b] = order
            self._drawn[b] += 1
        return self._orders

    def take(self, fits: list[int]) -> list[tuple[np.random.Generator, list[int]]]:
        """The streams of ``fits``, each with its fits in order, for a caller that draws from
        the generators itself (``asp.engine.native``): each epoch one ``permutation`` per stream, as
        ``next_epoch`` would. The fits must be at their stream's next draw, and are restarted
        before they draw here again."""
        taken: dict[int, tuple[np.random.Generator, list[int]]] = {}
        for b in fits:
            stream = self._streams[b]
            if stream[1] != self._drawn[b]:
                raise ValueError(f"fit {b} skipped an epoch of its stream: restart it first")
            taken.setdefault(id(stream), (stream[0], []))[1].append(b)
            self._drawn[b] = -1  # drawn elsewhere: next_epoch refuses it until restarted
        return list(taken.values())

    def shared(self, a: int, b: int) -> bool:
        """Whether fits ``a`` and ``b`` draw from one stream (they were given the same seed)."""
        return self._streams[a] is self._streams[b]


def stage_seed(seq: np.random.SeedSequence, stage: int) -> np.random.SeedSequence:
    """A child stream of ``seq`` derived without mutating it (SeedSequence.spawn is stateful)."""
    return np.random.SeedSequence(entropy=seq.entropy, spawn_key=(*seq.spawn_key, stage))


def stage_seeds(
    seqs: list[np.random.SeedSequence], stages: list[int]
) -> list[np.random.SeedSequence]:
    """``stage_seed`` of each fit's stream at its stage, made once per distinct stream and stage
    (the fits of a replicate share one; a SeedSequence costs about 10 us)."""
    made: dict[tuple, np.random.SeedSequence] = {}
    out = []
    for seq, stage in zip(seqs, stages, strict=True):
        key = (seq.entropy, tuple(seq.spawn_key), stage)
        if key not in made:
            made[key] = stage_seed(seq, stage)
        out.append(made[key])
    return out


@dataclass
class PenaltyTerm:
    """``coef[b] * penalty(W_b)`` over terms whose mask is 1; coef 0 switches it off for fit b."""

    penalty: Penalty
    coef: torch.Tensor  # (B,)
    masks: list[torch.Tensor]  # one (B, T, in, out) per weight matrix


@dataclass
class TrainOutcome:
    params: list[torch.Tensor]  # best weights of every fit
    best_val: torch.Tensor  # (B,) best validation metric; inf if the fit never trained
    best_epoch: torch.Tensor  # (B,) epoch (1-based) of best_val; 0 if never improved
    epochs: torch.Tensor  # (B,) epochs trained
    diverged: torch.Tensor  # (B,) bool: the loss or the validation metric became NaN/inf
    curves: dict[str, np.ndarray] = field(default_factory=dict)  # "val" -> (E, B)
    # (B,) epochs each fit computed itself, not taken from the twin it follows (None: all)
    stepped: torch.Tensor | None = None

    def state_dict(self) -> dict:
        """Tensors only (the curves too): what the rounds start from, copied with
        ``from_state`` (and, saved with torch.save, read back by ``torch.load(...,
        weights_only=True)`` without unpickling any object)."""
        state = {
            k: getattr(self, k)
            for k in self.__dataclass_fields__
            if k != "curves" and getattr(self, k) is not None
        }
        state["curves"] = {k: torch.from_numpy(np.asarray(v)) for k, v in self.curves.items()}
        return state

    @classmethod
    def from_state(cls, state: dict, device: torch.device | str = "cpu") -> TrainOutcome:
        moved = {
            k: [p.to(device) for p in v] if k == "params" else v.to(device)
            for k, v in state.items()
            if k != "curves"
        }
        curves = {k: np.asarray(v.cpu()) for k, v in state["curves"].items()}
        return cls(**moved, curves=curves)


_STEPPERS: dict[tuple, Stepper] = {}
# The trainer's tensors the native driver writes into (Trainer.run_round).
_DRIVEN = (
    *("theta", "m", "v", "t", "best", "best_val", "best_epoch", "since_best", "epochs"),
    *("max_epochs", "patience", "stepped", "active", "diverged"),
)
COMPACT_MIN_FITS = 32  # below this a sub-batch for the tail does not pay its compilation


def stepper(network: Network, penalties: tuple[Penalty, ...], settings: TrainSettings) -> Stepper:
    """The fused step for this network, penalties and settings (compiled once per process)."""
    adam = AdamConstants(
        settings.lr, *settings.betas, settings.eps, settings.lr_milestones, settings.lr_gamma
    )
    key = (network, tuple(p.name for p in penalties), adam, settings.compile)
    if key not in _STEPPERS:
        _STEPPERS[key] = Stepper(network, penalties, adam, settings.compile)
    return _STEPPERS[key]


def _rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Inputs (B, n, M) and targets (B, n, K) as the step's rows (B, M + K, n)."""
    return torch.cat([x, y], dim=2).transpose(1, 2).contiguous()


VAL_CHUNK = 128  # validation rows per compiled call


def _chunked(rows: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows (B, d, n) as zero-padded chunks (C, B, d, size), and the weight of each row
    (C, size): 1 / n for real rows, 0 for padding (a mean over all n rows)."""
    n = rows.shape[2]
    n_chunks = -(-n // size)
    padded = torch.nn.functional.pad(rows, (0, n_chunks * size - n))
    chunks = padded.unflatten(2, (n_chunks, size)).permute(2, 0, 1, 3).contiguous()
    index = torch.arange(n_chunks * size, device=rows.device).view(n_chunks, size)
    return chunks, torch.where(index < n, 1.0 / n, 0.0).to(rows.dtype)


def _where(cond: torch.Tensor, a, b: torch.Tensor) -> torch.Tensor:
    """Per-fit choice: ``cond`` (B,) picks between a and b, tensors (B, ...) or scalars."""
    return torch.where(cond.view(-1, *[1] * (b.dim() - 1)), a, b)


class Trainer:
    """B fits trained epoch by epoch, each with its own clock.

    Every fit runs a sequence of trainings ("rounds": stage 0 is one, the adaptive algorithm
    has floor(1/theta) of them). A round ends for a fit when its validation metric has not
    improved for ``patience`` epochs, after ``max_epochs`` epochs, or when it diverges; its
    weights are then set back to the round's best. What happens next (stop, or prune and start
    the next round at once) is the caller's: fits never wait for each other.
    """

    def __init__(
        self,
        data: FitData,
        network: Network,
        penalties: tuple[Penalty, ...],
        settings: TrainSettings,
        sampler: BatchSampler,
        theta: torch.Tensor,
        metric_of_fit: list[str] | None = None,
        leader: list[int] | None = None,
    ):
        self.settings = settings
        self.sampler = sampler
        self.stepper = stepper(network, penalties, settings)
        n_fits, self.n_train = data.n_fits, data.x_train.shape[1]
        self.device, dtype = data.x_train.device, data.x_train.dtype
        self.metric_of_fit = _metric_of_fit(metric_of_fit, n_fits, settings)
        self.use_mae = torch.tensor([m == "mae" for m in self.metric_of_fit], device=self.device)
        self.train_rows = _rows(data.x_train, data.y_train)
        # Validation rows in fixed chunks; the metrics average over rows and tasks.
        self.val_chunks, val_weight = _chunked(_rows(data.x_val, data.y_val), VAL_CHUNK)
        self.val_weight = (val_weight / data.y_val.shape[2]).unsqueeze(1)  # (C, 1, S)
        # The last mini-batch is padded to full size with rows of weight 0: one shape, one
        # compiled step. A real row weighs 1 / (rows of its mini-batch).
        bs = settings.batch_size
        self.n_steps = -(-self.n_train // bs)
        rows = torch.arange(self.n_steps * bs, device=self.device).view(self.n_steps, bs)
        count = torch.clamp(self.n_train - rows[:, :1], max=bs).to(dtype)
        self.row_weight = torch.where(rows < self.n_train, 1.0 / count, 0.0).to(dtype)
        # The shuffled epoch, padded; each step's slice is then made contiguous.
        self.padded = torch.zeros(
            n_fits, self.train_rows.shape[1], self.n_steps * bs, dtype=dtype, device=self.device
        )
        self.n_fits = n_fits
        self.n_tasks = data.y_train.shape[2]
        self._true = torch.ones(1, dtype=torch.bool)  # the native step's "active"
        self.n_compact = -(-n_fits // 4)
        # Fit b follows fit leader[b] (b itself: none) when both start the same round from the
        # same state on the same rows, penalties and mini-batches, so that they take the same
        # steps; only their validation metrics (when they stop) differ. While both train, the
        # follower is not stepped and takes its leader's state after each epoch.
        order = torch.arange(n_fits, device=self.device)
        self.leader = order if leader is None else torch.as_tensor(leader, device=self.device)
        if self.leader.shape != (n_fits,) or bool((self.leader[self.leader] != self.leader).any()):
            raise ValueError("each fit must follow a fit that follows itself")
        self.follows = self.leader != order
        self.n_groups = n_fits - int(self.follows.sum())
        self.started = False

        self.theta = theta.contiguous()
        self.m = torch.zeros_like(self.theta)
        self.v = torch.zeros_like(self.theta)
        self.t = torch.zeros(n_fits, dtype=dtype, device=self.device)
        self.best = self.theta.clone()
        self.best_val = torch.full((n_fits,), float("inf"), dtype=dtype, device=self.device)
        self.best_epoch = torch.zeros(n_fits, dtype=torch.long, device=self.device)
        self.since_best = torch.zeros(n_fits, dtype=torch.long, device=self.device)
        self.epochs = torch.zeros(n_fits, dtype=torch.long, device=self.device)  # this round
        self.active = torch.zeros(n_fits, dtype=torch.bool, device=self.device)
        # A round ends by patience or at its epoch limit; a fixed-length round (the matched
        # budget of asp.engine.adaptive) sets the limit per fit and switches patience off.
        self.max_epochs = torch.full((n_fits,), settings.max_epochs, device=self.device)
        self.patience = torch.full((n_fits,), settings.patience, device=self.device)
        self.diverged = torch.zeros(n_fits, dtype=torch.bool, device=self.device)
        self.stepped = torch.zeros(n_fits, dtype=torch.long, device=self.device)
        self.curve: list[torch.Tensor] = []
        # The native rounds' curves: per call, each fit's values (B, cap) and their count.
        self._curve_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._native: tuple[native.Program, native.Program] | None = None

    def start(self, fits: torch.Tensor, epochs: torch.Tensor | None = None) -> None:
        """Fits ``fits`` begin a round from their current weights, with a fresh Adam. Where
        ``epochs`` (B,) is >= 0 the round lasts exactly that many epochs (no early stop; its
        best weights are still the ones kept); elsewhere patience and max_epochs end it.
        Followers (``leader``) train one round, begun by every fit together."""
        if bool(self.follows.any()) and (self.started or not bool(fits.all())):
            raise ValueError("fits that follow others train one round, started by all fits")
        self.started = True
        limit, patience = self.settings.max_epochs, self.settings.patience
        if epochs is not None:
            fixed = epochs.to(self.device) >= 0
            limit = torch.where(fixed, epochs.to(self.device), limit)
            patience = torch.where(fixed, torch.iinfo(torch.long).max, patience)
        self.max_epochs = _where(fits, limit, self.max_epochs)
        self.patience = _where(fits, patience, self.patience)
        zero = torch.zeros((), dtype=self.theta.dtype, device=self.device)
        self.m = _where(fits, zero, self.m)
        self.v = _where(fits, zero, self.v)
        self.t = _where(fits, zero, self.t)
        self.best = _where(fits, self.theta, self.best)
        self.best_val = _where(fits, float("inf"), self.best_val)
        self.best_epoch = _where(fits, 0, self.best_epoch)
        self.since_best = _where(fits, 0, self.since_best)
        self.epochs = _where(fits, 0, self.epochs)
        self.active |= fits

    def _shuffle(self, fits: torch.Tensor) -> torch.Tensor:
        """This epoch's mini-batches of the fits ``fits`` (indices), (steps, F, M + K, S)."""
        order = torch.as_tensor(self.sampler.next_epoch(self.active.cpu().numpy()))
        order = order.to(self.device).index_select(0, fits)
        idx = order.unsqueeze(1).expand(-1, self.train_rows.shape[1], -1)
        rows = self.train_rows if len(fits) == self.n_fits else self.train_rows[fits]
        padded = self.padded[: len(fits)]
        torch.gather(rows, 2, idx, out=padded[..., : self.n_train])
        return padded.unflatten(2, (self.n_steps, -1)).permute(2, 0, 1, 3).contiguous()

    def _epoch_fits(self, stepping: torch.Tensor) -> torch.Tensor:
        """The fits this epoch computes: all of them; or, once at most a quarter are to be
        stepped (the tail of a round or of stage 0), a fixed-size sub-batch holding those, so
        that the tail's steps cost a quarter; or, where fits follow others, a sub-batch of one
        fit per leader. Each fit's arithmetic is the same either way; a sub-batch adds one
        compiled shape."""
        count = int(stepping.sum())
        if self.n_fits >= COMPACT_MIN_FITS and count <= self.n_compact:
            size = self.n_compact
        elif count <= self.n_groups < self.n_fits:
            size = self.n_groups  # of a leader and its followers, mostly one steps
        else:
            return torch.arange(self.n_fits, device=self.device)
        live = torch.nonzero(stepping).flatten()
        idle = torch.nonzero(~stepping).flatten()[: size - len(live)]
        return torch.cat([live, idle])  # distinct fits; the idle ones do not move

    def epoch(self, coefs: list[torch.Tensor], masks: list[torch.Tensor]) -> torch.Tensor:
        """One epoch of every active fit; returns the fits whose round ended (bool (B,))."""
        # Followers whose leader trains too take its state below instead of a step.
        shadow = self.follows & self.active & self.active[self.leader]
        stepping = self.active & ~shadow
        fits = self._epoch_fits(stepping)
        whole = len(fits) == self.n_fits

        def part(x: torch.Tensor) -> torch.Tensor:
            return x if whole else x.index_select(0, fits)

        batches = self._shuffle(fits)
        theta, m, v, t = part(self.theta), part(self.m), part(self.v), part(self.t)
        active = part(stepping)
        coefs, masks = [part(c) for c in coefs], [part(mask) for mask in masks]
        step = self.stepper.epoch_step(
            theta, m, v, t, active, batches[0], self.row_weight[0], coefs, masks
        )
        for i in range(self.n_steps):
            theta, m, v, t = step(theta, m, v, t, batches[i], self.row_weight[i])
        with torch.no_grad():
            chunks = self.val_chunks if whole else self.val_chunks.index_select(1, fits)
            mse, mae, finite = self.stepper.validate(theta, chunks, self.val_weight)
            if not whole:
                theta = self.theta.index_copy(0, fits, theta)
                m, v, t = (
                    s.index_copy(0, fits, x) for s, x in ((self.m, m), (self.v, v), (self.t, t))
                )
                inf = torch.full((self.n_fits,), float("inf"), dtype=mse.dtype, device=self.device)
                mse, mae = inf.index_copy(0, fits, mse), inf.index_copy(0, fits, mae)
                finite = torch.ones_like(self.active).index_copy(0, fits, finite)
            if bool(shadow.any()):
                theta, m, v, t, mse, mae, finite = (
                    _where(shadow, x.index_select(0, self.leader), x)
                    for x in (theta, m, v, t, mse, mae, finite)
                )
            self.m, self.v, self.t = m, v, t
            val = torch.where(self.use_mae, mae, mse)  # each fit's own metric
            bad = self.active & ~(torch.isfinite(val) & finite)
            self.diverged |= bad
            trained = self.active & ~bad
            self.curve.append(_where(trained, val, torch.full_like(val, float("nan"))))
            improved = trained & (val < self.best_val)
            self.best_val = _where(improved, val, self.best_val)
            self.epochs += trained.long()
            self.stepped += (trained & ~shadow).long()
            self.best_epoch = _where(improved, self.epochs, self.best_epoch)
            self.best = _where(improved, theta, self.best)
            self.since_best = _where(improved, 0, self.since_best + 1)
            running = trained & (self.since_best < self.patience) & (self.epochs < self.max_epochs)
            ended = self.active & ~running
            self.active = running
            self.theta = _where(ended, self.best, theta)  # a round ends at its best weights
        return ended

    def curves(self) -> dict[str, np.ndarray]:
        """{"val": (epochs, B)}: each fit's validation metric per epoch, NaN where idle."""
        n_fits = self.theta.shape[0]
        if self._curve_parts:
            return {"val": self._native_curves()}
        if not self.curve:
            return {"val": np.empty((0, n_fits))}
        return {"val": torch.stack(self.curve).cpu().numpy()}

    def native_ready(self, coefs: list[torch.Tensor], masks: list[torch.Tensor]) -> bool:
        """Whether ``run_round`` serves this trainer (``asp.engine.native``): its step and
        validation compiled for one fit, their kernels recorded and checked bit for bit. Where not,
        the reason is logged once and the caller runs ``epoch`` instead."""
        if self._native is not None:
            return True
        reason = native.disabled_reason(
            self.device, self.theta.dtype, self.n_tasks, self.settings.compile
        )
        if not reason:
            try:
                self._native = _native_programs(self, coefs, masks)
            except native.Unsupported as err:
                reason = str(err)
            except Exception as err:  # the driver's build or a torch internal: not fatal
                log.warning("the native rounds failed to start (%r)", err)
                reason = f"{type(err).__name__}: {err}"
        if reason:
            _note_python_epochs(reason)
        return self._native is not None

    def run_round(
        self,
        coefs: list[torch.Tensor],
        masks: list[torch.Tensor],
        report: Callable[[float], None] | None = None,
    ) -> torch.Tensor:
        """Every active fit's current round to its end, in native code (after
        ``native_ready``): the same numbers as calling ``epoch`` until they have all ended,
        with each fit's curve continuing where its last round stopped. Returns the fits whose
        round ended (bool (B,)); ``report(fraction)`` is called between blocks of fits."""
        # Private copies: the driver writes into them (the caller's tensors stay as given).
        for name in _DRIVEN:
            setattr(self, name, getattr(self, name).clone(memory_format=torch.contiguous_format))
        started = self.active.clone()
        streams, members = self._native_streams(started)
        cap = int(self.max_epochs[started].max()) if members else 0
        curve = np.full((self.n_fits, cap), np.nan, dtype=np.float32)
        curve_len = np.zeros(self.n_fits, dtype=np.int64)
        # the penalty terms, aligned copies of one fit's, and the state: the driver reads them
        # through pointers, so they live here until the return, while it runs
        terms = [c.contiguous() for c in coefs] + [m.contiguous() for m in masks]
        term_scratch = [x[0].clone() for x in terms]
        state = [self.theta, self.m, self.v, self.t]
        job = self._native_job(terms, term_scratch, state, streams, members, curve, curve_len)
        done, block, clock = 0, 1, time.perf_counter
        while done < len(streams):
            start = clock()
            job.run_streams(done, min(done + block, len(streams)))
            done = min(done + block, len(streams))
            # blocks of about a second between progress checks
            block = max(1, min(4 * block, int(block / max(clock() - start, 1e-6))))
            if report is not None:
                report(done / len(streams))
        self._curve_parts.append((curve, curve_len))
        return started & ~self.active

    def _native_streams(self, started: torch.Tensor) -> tuple[list, list[list[int]]]:
        """(generator, its groups' leaders) per stream the sampler hands over, and each
        group's fits: one trajectory per leader and its followers, the groups of one stream
        together."""
        active, lead = started.tolist(), self.leader.tolist()
        training = [b for b, on in enumerate(active) if on]
        groups: dict[int, list[int]] = {}
        for b in training:
            groups.setdefault(lead[b] if active[lead[b]] else b, []).append(b)
        streams = [
            (generator, [b for b in fits if b in groups])
            for generator, fits in self.sampler.take(training)
        ]
        return streams, [groups[key] for _, keys in streams for key in keys]

    def _native_job(
        self,
        terms: list[torch.Tensor],
        term_scratch: list[torch.Tensor],
        state: list[torch.Tensor],
        streams: list,
        members: list[list[int]],
        curve: np.ndarray,
        curve_len: np.ndarray,
    ) -> native.Job:
        """The driver's view of this round: the programs, the tensors' addresses and the
        scratch. Each group's trajectory is two states (the steps alternate between them),
        each slot on its own cache lines."""
        step, val = self._native
        per_fit = [s[0].numel() * s.element_size() for s in state]
        slots = [-(-x // 64) * 64 for x in per_fit * 2]
        max_groups = max((len(keys) for _, keys in streams), default=0)
        traj = torch.empty(max(1, max_groups * sum(slots)), dtype=torch.uint8)
        n_tasks, cap = self.n_tasks, curve.shape[1]
        return native.Job(
            {
                "step_prog": step.code,
                "step_fixed": step.fixed,
                "val_prog": val.code,
                "val_fixed": val.fixed,
                "n_terms": len(terms),
                "term_base": native.pointers([x.data_ptr() for x in terms]),
                "term_stride": native.pointers([x[0].numel() * x.element_size() for x in terms]),
                "term_scratch": native.pointers([x.data_ptr() for x in term_scratch]),
                "active_true": self._true,
                "state_base": native.pointers([s.data_ptr() for s in state]),
                "state_stride": native.pointers(per_fit),
                "traj": traj,
                "traj_group": sum(slots),
                "traj_offset": np.cumsum([0, *slots[:-1]], dtype=np.int64),
                "max_groups": max_groups,
                "d": self.train_rows.shape[1],
                "n_train": self.n_train,
                "bs": self.settings.batch_size,
                "n_steps": self.n_steps,
                "train_base": self.train_rows,
                "train_stride": self.train_rows[0].numel() * self.train_rows.element_size(),
                "row_weight": self.row_weight,
                "rows_buf": torch.empty(
                    self.n_steps * self.train_rows.shape[1] * self.settings.batch_size
                ),
                "perm": np.empty(self.n_train, dtype=np.int64),
                "n_chunks": self.val_chunks.shape[0],
                "chunk_rows": self.val_chunks.shape[3],
                "val_base": self.val_chunks,
                "val_fit_stride": self.val_chunks[0, 0].numel() * self.val_chunks.element_size(),
                "val_chunk_stride": self.val_chunks[0].numel() * self.val_chunks.element_size(),
                "val_weight": self.val_weight,
                "n_tasks": n_tasks,
                "se": torch.empty(n_tasks),
                "ae": torch.empty(n_tasks),
                "finite": torch.empty(1, dtype=torch.bool),
                "best_base": self.best,
                "best_val": self.best_val,
                "best_epoch": self.best_epoch,
                "since_best": self.since_best,
                "epochs": self.epochs,
                "max_epochs": self.max_epochs,
                "patience": self.patience,
                "stepped": self.stepped,
                "active": self.active,
                "diverged": self.diverged,
                "use_mae": self.use_mae,
                "curve": curve,
                "curve_cap": cap,
                "curve_len": curve_len,
                "stream_start": np.cumsum([0] + [len(k) for _, k in streams], dtype=np.int64),
                "group_start": np.cumsum([0] + [len(g) for g in members], dtype=np.int64),
                "members": np.array([b for g in members for b in g], dtype=np.int64),
                "bitgen": native.pointers(
                    [g.bit_generator.ctypes.bit_generator.value for g, _ in streams]
                ),
            }
        )

    def _native_curves(self) -> np.ndarray:
        """The native rounds' curves as (epochs, B), each fit's rounds back to back."""
        total = sum(length for _, length in self._curve_parts)
        out = np.full((int(total.max()) if len(total) else 0, self.n_fits), np.nan, np.float32)
        at = np.zeros(self.n_fits, dtype=np.int64)
        for curve, length in self._curve_parts:
            for b in np.flatnonzero(length):
                out[at[b] : at[b] + length[b], b] = curve[b, : length[b]]
            at += length
        return out

    def report_native(self, fraction: float, what: str = "") -> None:
        """The job's progress between blocks of native rounds (asp.engine.progress), when due: the
        fits still training (the driver updates ``active`` as it goes)."""
        if progress.due():
            progress.report(fraction, f"{int(self.active.sum())}/{self.n_fits} fits training{what}")

    def log_progress(
        self,
        epoch: int,
        what: Callable[[], str] = str,
        fraction: Callable[[], float] | None = None,
    ) -> None:
        """A line in the log every ``log_every`` epochs; the job's progress (``fraction()`` of
        this loop done, by default its epochs of ``max_epochs``) when due (asp.engine.progress).
        ``what`` and ``fraction`` are called only for a line: they may reduce tensors."""
        if progress.due():  # a clock read per epoch
            done = epoch / self.settings.max_epochs if fraction is None else fraction()
            training = f"{int(self.active.sum())}/{self.active.numel()} fits training"
            progress.report(done, f"epoch {epoch}, {training}{what()}")
        every = self.settings.log_every
        if every and epoch % every == 0:
            finite = self.best_val[torch.isfinite(self.best_val)]
            log.info(
                "epoch %d: %d/%d fits training%s, median best validation metric %.4g",
                epoch,
                int(self.active.sum()),
                self.active.numel(),
                what(),
                float(finite.median()) if finite.numel() else float("nan"),
            )


def _native_programs(
    trainer: Trainer, coefs: list[torch.Tensor], masks: list[torch.Tensor]
) -> tuple[native.Program, native.Program]:
    """The trainer's step and validation compiled for one fit, as checked native programs.

    Recorded on the first fit's own data (its first mini-batch unshuffled). Programs are kept
    per stepper and shapes: the next trainer of this shape reuses them."""
    stepper = trainer.stepper
    bs = trainer.settings.batch_size
    first = torch.zeros(1, trainer.train_rows.shape[1], bs, dtype=trainer.theta.dtype)
    rows = trainer.train_rows[:1, :, :bs]
    first[..., : rows.shape[2]] = rows
    state = [x[:1].clone() for x in (trainer.theta, trainer.m, trainer.v, trainer.t)]
    step_args = [
        *state,
        trainer._true,
        first,
        trainer.row_weight[0].clone(),
        *(c[:1].clone() for c in coefs),
        *(m[:1].clone() for m in masks),
    ]
    val_args = [state[0], trainer.val_chunks[0, :1].clone(), trainer.val_weight[0].clone()]
    key = (stepper, *((a.shape, a.dtype) for a in (*step_args, *val_args)))
    if key not in _PROGRAMS:
        with torch.no_grad():
            step_fn = stepper._function(stepper._step_flat, *step_args)
            val_fn = stepper._function(stepper._val_eager, *val_args)
            step, outputs = native.checked(step_fn, step_args)
            if any(
                (o.shape, o.stride(), o.dtype) != (s.shape, s.stride(), s.dtype)
                for o, s in zip(outputs, state, strict=True)
            ):
                raise native.Unsupported("the step returns its state in another layout")
            val, outputs = native.checked(val_fn, val_args)
            expected = [(1, trainer.n_tasks), (1, trainer.n_tasks), (1,)]
            if [tuple(o.shape) for o in outputs] != expected or not all(
                o.is_contiguous() for o in outputs
            ):
                raise native.Unsupported("the validation returns another layout")
        _PROGRAMS[key] = (step, val)
    return _PROGRAMS[key]


_PROGRAMS: dict[tuple, tuple[native.Program, native.Program]] = {}


@functools.cache
def _note_python_epochs(reason: str) -> None:
    log.info("training in Python epochs, not the native rounds: %s", reason)


def _metric_of_fit(given: list[str] | None, n_fits: int, settings: TrainSettings) -> list[str]:
    """Each fit's validation metric (early stopping, round selection): ``settings.metric`` for
    all unless given per fit, so that MSE and MAE runs can share one batch."""
    chosen = [settings.metric] * n_fits if given is None else list(given)
    if len(chosen) != n_fits:
        raise ValueError(f"{len(chosen)} metrics for {n_fits} fits")
    for m in set(chosen):
        metrics.metric_fn(m)
    return chosen


def flat_masks(masks: list[torch.Tensor]) -> torch.Tensor:
    """Term masks from the list layout [(B, T, in, out), ...] to the step's (B, T, Pw)."""
    return torch.cat([m.flatten(2) for m in masks], dim=2)


def twins(
    theta: torch.Tensor,
    data: FitData,
    coefs: list[torch.Tensor],
    masks: list[torch.Tensor],
    sampler: BatchSampler,
) -> list[int]:
    """Each fit's leader: the first fit with the same initial weights, data, penalty
    coefficients and masks, and mini-batch stream (itself if none). Such fits compute the same
    steps (a fit's arithmetic does not depend on its batch); compared exactly, not hashed
    (the weights and coefficients by their bytes, in the key)."""
    per_fit = [*masks, *(getattr(data, f) for f in data.__dataclass_fields__)]
    starts = theta.cpu().numpy()
    scales = torch.stack(coefs, 1).cpu().numpy() if coefs else np.zeros((len(starts), 0))
    firsts: dict[tuple, list[int]] = {}
    leader = []
    for b in range(theta.shape[0]):
        key = (starts[b].tobytes(), scales[b].tobytes())
        found = next(
            (
                a
                for a in firsts.get(key, [])
                if sampler.shared(a, b) and all(torch.equal(x[a], x[b]) for x in per_fit)
            ),
            None,
        )
        if found is None:
            firsts.setdefault(key, []).append(b)
        leader.append(b if found is None else found)
    return leader


def train(
    params0: list[torch.Tensor],
    data: FitData,
    network: Network,
    penalties: list[PenaltyTerm],
    settings: TrainSettings,
    sampler: BatchSampler,
    metric_of_fit: list[str] | None = None,
) -> TrainOutcome:
    """Train B fits together until each early-stops or ``max_epochs`` pass (one round).

    ``metric_of_fit`` gives each fit's validation metric (default: ``settings.metric``). Fits
    that differ in nothing but that metric (the MSE and MAE runs of a method without
    hyper-parameters, on one replicate) take the same steps until one of them stops: those
    steps are computed once (``twins``)."""
    theta = network.to_flat(params0)
    coefs = [p.coef.to(data.x_train.dtype) for p in penalties]
    masks = [flat_masks(p.masks).to(data.x_train.dtype) for p in penalties]
    trainer = Trainer(
        data,
        network,
        tuple(p.penalty for p in penalties),
        settings,
        sampler,
        theta,
        metric_of_fit,
        twins(theta, data, coefs, masks, sampler),
    )
    trainer.start(torch.ones_like(trainer.active))
    if trainer.native_ready(coefs, masks):
        trainer.run_round(coefs, masks, lambda done: trainer.report_native(done))
    else:
        epoch = 0
        while bool(trainer.active.any()):
            trainer.epoch(coefs, masks)
            epoch += 1
            trainer.log_progress(epoch)
    return TrainOutcome(
        network.to_list(trainer.best),
        trainer.best_val,
        trainer.best_epoch,
        trainer.epochs,
        trainer.diverged,
        trainer.curves(),
        trainer.stepped,
    )
