"""The fused training step: one Adam step of B fits in a handful of loops.

All parameters of all fits live in one buffer ``theta`` (B, K, P) laid out by the fits' network
family (``asp.engine.networks``); its first ``n_weights`` values per task row are the weights the
sharing penalty sees. A mini-batch is ``rows`` (B, M + K, S), read as ``x`` (B, M, S) and ``y``
(B, K, S): fits outermost, samples innermost, so the cost grows linearly with the number of fits.

The network's hand-written gradient, the penalty gradient and Adam with per-fit step counts
(holding idle fits) are elementwise work that TorchInductor fuses into a few plain loops.
Without compilation the same code runs eagerly (slower, same numbers to rounding).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import platform
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from asp.engine.networks import Network
from asp.engine.penalties import Penalty

log = logging.getLogger("asp")


@dataclass(frozen=True)
class AdamConstants:
    lr: float
    beta1: float
    beta2: float
    eps: float
    # the rate times gamma after each of these steps of a fit (asp.engine.training.TrainSettings)
    milestones: tuple[int, ...] = ()
    gamma: float = 0.5


# Adam's bias corrections need beta**t per fit. torch.pow on a (B,) tensor takes a SIMD path
# for whole vectors and a scalar one for the remainder, which round differently, so a fit's
# power would depend on its place in the batch (and a sub-batch would change its numbers).
# Instead beta**t = beta**(t % LOW) * (beta**LOW)**(t // LOW), both factors looked up in tables
# of Python floats (as torch.optim.Adam computes them): exact, whatever the batch.
_POWER_LOW, _POWER_HIGH = 1024, 16384  # steps up to 16.7 million per fit and Adam start


@functools.cache
def _power_tables(beta: float, dtype: torch.dtype, device: torch.device):
    low = [beta**k for k in range(_POWER_LOW)]
    high = [(beta**_POWER_LOW) ** k for k in range(_POWER_HIGH)]
    return tuple(torch.tensor(t, dtype=dtype, device=device) for t in (low, high))


def beta_power(beta: float, count: torch.Tensor) -> torch.Tensor:
    """``beta ** count`` for whole-number counts, the same for a fit wherever it sits."""
    low, high = _power_tables(beta, count.dtype, count.device)
    k = count.long()
    return low[k % _POWER_LOW] * high[(k // _POWER_LOW).clamp(max=_POWER_HIGH - 1)]


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
    parameters, moments and count. The rate is multiplied by ``c.gamma`` after each of
    ``c.milestones`` steps of a fit (torch's MultiStepLR, stepped after every step)."""
    t1 = t + active.to(t.dtype)
    m1 = c.beta1 * m + (1.0 - c.beta1) * grad
    v1 = c.beta2 * v + (1.0 - c.beta2) * grad * grad
    count = t1.view(-1, 1, 1)
    step_size = c.lr / (1.0 - beta_power(c.beta1, count))
    for milestone in c.milestones:  # from step milestone + 1 on; none: the graph is as before
        step_size = torch.where(count > milestone, step_size * c.gamma, step_size)
    denom = v1.sqrt() / (1.0 - beta_power(c.beta2, count)).sqrt() + c.eps
    new = theta - step_size * m1 / denom
    keep = active.view(-1, 1, 1)
    return torch.where(keep, new, theta), torch.where(keep, m1, m), torch.where(keep, v1, v), t1


@functools.cache
def _vector_isa_probed_once() -> None:
    """Inductor's check of the CPU's vector instruction sets, once per machine, not per process.

    Before its first kernel a process has Inductor build a test library for each instruction
    set the CPU claims (AVX2, AVX-512) and load it in a new Python process: about 2 s in every
    training job, for an answer that depends only on the machine, its compiler and torch. When
    every claimed set passes, a marker in Inductor's cache folder (keyed by torch, the sets,
    the compiler and its version) records it, and this and every later process tell Inductor
    so (``cpp.vec_isa_ok``), which skips that check; the kernels are the same. (Inductor's
    further checks of some sets, AVX-512 BF16, VNNI and AMX, still run where the CPU has them.)
    Where a set fails, or on a torch without these internals, Inductor checks as before.
    """
    try:
        from torch._inductor import config, cpp_builder, cpu_vec_isa
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        if config.cpp.vec_isa_ok is not None or platform.machine() not in ("x86_64", "AMD64"):
            return
        flags = cpu_vec_isa.x86_isa_checker()
        claimed = [
            str(isa)
            for isa in cpu_vec_isa.supported_vec_isa_list
            if all(flag in flags for flag in str(isa).split())
        ]
        compiler = cpp_builder.get_cpp_compiler()
        key = json.dumps(
            [torch.__version__, claimed, compiler, cpp_builder.get_compiler_version_info(compiler)]
        )
        marker = Path(cache_dir()) / f"asp_vec_isa_{hashlib.sha256(key.encode()).hexdigest()[:16]}"
        if not marker.exists():
            if [str(isa) for isa in cpu_vec_isa.valid_vec_isa_list()] != claimed:
                return
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(" ".join(claimed) + "\n")
        config.cpp.vec_isa_ok = True
    except (ImportError, AttributeError, OSError, RuntimeError) as err:
        log.info("vector instruction sets: Inductor's own check (%s)", err)


# Inductor's check of every input's sizes and strides on every call (about 8 us, a tenth of a
# step of 100 fits) is left out: Stepper looks a graph up by exactly those (and epoch_step
# checks the only arguments it passes on unchecked, the step's own outputs).
_OPTIONS = {"size_asserts": False}


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

    _vector_isa_probed_once()

    with torch.no_grad():
        # One eager call first creates the tensors fn caches (Adam's power tables), so that
        # every trace takes them as constants. Traced while being created they enter the graph
        # in another form, and the first shape a process compiled would be a different graph
        # (a miss in Inductor's cache) from the same shape compiled later in another process.
        fn(*args)
        graph = make_fx(lambda *a: fn(*a))(*args)  # make_fx miscounts a bound method's args
        # Static example inputs from a mode with a shape environment: Inductor's FX graph
        # cache then applies, and later processes skip lowering and code generation.
        mode = FakeTensorMode(shape_env=ShapeEnv())
        fake = [mode.from_tensor(a, static_shapes=True) for a in args]
        try:
            return torch._inductor.compile(graph, fake, options=_OPTIONS)
        except Exception as err:
            if not _remove_broken_kernel(err):
                raise
            return torch._inductor.compile(graph, fake, options=_OPTIONS)  # builds it again


# How loading a shared object fails (file too short, cannot read file data, invalid ELF header:
# a file cut short or never finished); the path is checked to lie in Inductor's cache below.
_BROKEN_KERNEL = re.compile(r"(\S+\.so): (?:file too short|cannot read file data|invalid ELF)")


def _remove_broken_kernel(err: Exception) -> bool:
    """Remove the kernel ``err`` failed to load, if it is an incomplete file in Inductor's cache.

    Inductor builds a kernel's shared object in place and reuses any file it finds at that path,
    so a process killed while it compiled (a run stopped with kill -9, a node lost) leaves a
    truncated kernel that every later process would fail to load. Removed, it is built again.
    """
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    found = _BROKEN_KERNEL.search(str(err))
    if found is None:
        return False
    path = Path(found[1]).resolve()
    if not path.is_file() or Path(cache_dir()).resolve() not in path.parents:
        return False
    log.warning("%s: an incomplete compiled kernel (its build was killed); building it again", path)
    path.unlink()
    return True


@contextlib.contextmanager
def _compiling(graph: str):
    """Held while this process compiles ``graph``: another process that needs the same graph
    waits, then loads it from Inductor's cache instead of compiling it a second time (the first
    jobs of a run start together and need the same graphs). A lock file per graph in Inductor's
    cache folder; the lock goes with its process, however that ends."""
    try:
        import fcntl

        from torch._inductor.runtime.cache_dir_utils import cache_dir

        folder = Path(cache_dir()) / "asp_locks"
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / hashlib.sha256(graph.encode()).hexdigest()[:24], "a")  # noqa: SIM115
    except (ImportError, OSError):  # no locks here (another OS, a read-only cache): compile
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class Stepper:
    """The compiled (or eager) step and validation metric for one network and a fixed tuple of
    penalties; every other quantity is a per-fit tensor argument."""

    def __init__(
        self,
        network: Network,
        penalties: tuple[Penalty, ...],
        adam: AdamConstants,
        compile: bool,
    ):
        self.network = network
        self.penalties = penalties
        self.adam = adam
        self.compile = compile
        self._compiled: dict[tuple, Callable] = {}

    def _function(self, fn: Callable, *args: torch.Tensor) -> Callable:
        """``fn`` compiled for arguments of the shapes, strides, dtypes and devices of
        ``args`` (once per process), or ``fn`` itself when not compiling."""
        if not self.compile:
            return fn
        key = (fn.__name__, *((a.shape, a.stride(), a.dtype, a.device) for a in args))
        if key not in self._compiled:
            start = time.perf_counter()
            try:
                # what names the graph across processes (a lock's key: a coarser one only waits)
                graph = (type(self.network).__name__, self.network.arch, self.adam, key)
                names = tuple(p.name for p in self.penalties)
                with _compiling(repr((graph, names))):
                    self._compiled[key] = _inductor(fn, args)
            except Exception as err:  # an unusual torch build: the same graph through Dynamo
                log.warning("direct Inductor compilation failed (%s); using torch.compile", err)
                self._compiled[key] = torch.compile(fn, dynamic=False)
            # A shape new to this machine costs seconds, one from Inductor's cache a fraction;
            # the log tells which, per shape.
            log.info(
                "compiled %s (%s, penalties %s) for %s fits, %s in %.2f s",
                fn.__name__.strip("_"),
                type(self.network).__name__,
                "+".join(p.name for p in self.penalties) or "none",
                args[0].shape[0],
                "x".join(map(str, args[0].shape[1:])),
                time.perf_counter() - start,
            )
        return self._compiled[key]

    def _run(self, fn: Callable, *args: torch.Tensor):
        return self._function(fn, *args)(*args)

    def _step_flat(self, theta, m, v, t, active, rows, row_weight, *terms):
        n = len(self.penalties)
        return self._step_eager(theta, m, v, t, active, rows, row_weight, terms[:n], terms[n:])

    def _step_eager(self, theta, m, v, t, active, rows, row_weight, coefs, masks):
        n_in = self.network.arch.n_inputs
        grad = self.network.data_gradient(theta, rows[:, :n_in], rows[:, n_in:], row_weight)
        n_w = self.network.n_weights
        w = theta[..., :n_w]
        pen = None
        for penalty, coef, mask in zip(self.penalties, coefs, masks, strict=True):
            g = coef.view(-1, 1, 1) * penalty.gradient(w, mask)
            pen = g if pen is None else pen + g
        if pen is not None:
            grad = torch.cat([grad[..., :n_w] + pen, grad[..., n_w:]], dim=2)
        return adam_step(theta, m, v, t, grad, active, self.adam)

    def _val_eager(self, theta, rows, row_weight):
        n_in = self.network.arch.n_inputs
        err = self.network.forward(theta, rows[:, :n_in]) - rows[:, n_in:]  # (B, K, S)
        finite = theta.isfinite().flatten(1).all(1)
        return (err.square() * row_weight).sum(2), (err.abs() * row_weight).sum(2), finite

    def step(self, theta, m, v, t, active, rows, row_weight, coefs, masks):
        """One Adam step of every active fit on a mini-batch ``rows`` (B, M + K, S): each
        fit's inputs then targets. Returns the new (theta, m, v, t)."""
        out = self._run(self._step_flat, theta, m, v, t, active, rows, row_weight, *coefs, *masks)
        return tuple(out)

    def epoch_step(self, theta, m, v, t, active, rows, row_weight, coefs, masks) -> Callable:
        """``step`` for the mini-batches of one epoch, ``step(theta, m, v, t, rows,
        row_weight)`` with the other arguments fixed: every step of an epoch has the shapes of
        its first, so the compiled graph is looked up once per epoch, not per step (a step of
        100 fits costs about 100 us, the lookup 10). The first call checks that the step
        returns (theta, m, v, t) as it takes them; if not, every call looks up its graph."""
        terms = (*coefs, *masks)
        fn = self._function(self._step_flat, theta, m, v, t, active, rows, row_weight, *terms)
        checked = False

        def step(theta, m, v, t, rows, row_weight):
            nonlocal fn, checked
            out = fn(theta, m, v, t, active, rows, row_weight, *terms)
            if not checked:
                checked = True
                if any(
                    (a.shape, a.stride(), a.dtype) != (b.shape, b.stride(), b.dtype)
                    for a, b in zip(out, (theta, m, v, t), strict=True)
                ):
                    fn = functools.partial(self._run, self._step_flat)
            return tuple(out)

        return step

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
