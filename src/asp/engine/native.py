"""The native round: every fit's current round run to its end by one C call around Inductor's
own kernels, with the numbers of ``asp.engine.training.Trainer`` bit for bit.

Python costs 40-90 us per call, and an epoch of the batched trainer makes dozens of calls (the
steps, the validation chunks, the shuffles, the bookkeeping), while the fused step of one fit
costs about 1 us. Here the step and the validation metric are compiled for one fit
(``asp.engine.step.Stepper``: each graph becomes one or a few ``cpp_fused_*`` kernels of Inductor),
and a small C driver calls those kernels directly, fit after fit, epoch after epoch:

- the shuffle: numpy's ``Generator.permutation`` (a Fisher-Yates whose bounded draws are
  numpy's masked rejection on ``next_uint32``), drawn from the fit's own PCG64 stream through
  numpy's C interface (``BatchSampler.take``), once per stream and epoch, so every permutation
  is numpy's;
- the gather of the mini-batches into the step's layout (padding rows 0, weight 0);
- the steps, then the validation chunks summed in torch's order (chunk after chunk, then the
  tasks left to right, which is torch's order for up to 4 tasks);
- early stopping, the best weights, the curves, and twins (fits that take the same steps,
  ``asp.engine.training.twins``): one trajectory serves a leader and its followers.

Each fit's numbers are the batched trainer's because a fit's arithmetic never depends on the
other fits of its batch (``asp.engine.step``). The kernels' argument layout is recorded from one
Python call of the compiled graph, and checked at once: the recorded program runs once from C
on the same inputs and must give the same bits. Where anything differs or is not supported
(CUDA, eager steps, float64, more than 4 tasks, a graph with calls other than Inductor's C++
kernels, a torch without these internals), ``Trainer.native_ready`` logs why and the trainer
runs its Python epochs instead.

The driver is C (compiled as C++), built once per machine by Inductor's own C++ cache (keyed
by its source and the compiler), so a first run compiles it in seconds and later runs load it.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

log = logging.getLogger("asp")

MAX_TASKS = 4  # torch sums (B, K) over K left to right up to here (wider: vectorised)
_MAX_ARGS = 128  # kernel arguments the driver can pass

# The job's fields, in order: the C source gets one index per name (one list, both sides).
_FIELDS = (
    "step_prog step_fixed val_prog val_fixed n_terms term_base term_stride active_true "
    "term_scratch state_base state_stride traj traj_group traj_offset max_groups "
    "d n_train bs n_steps train_base train_stride row_weight rows_buf perm "
    "n_chunks chunk_rows val_base val_fit_stride val_chunk_stride val_weight n_tasks "
    "se ae finite best_base best_val best_epoch since_best epochs max_epochs patience "
    "stepped active diverged use_mae curve curve_cap curve_len "
    "stream_start group_start members bitgen"
).split()


def _source() -> str:
    fields = "\n".join(f"#define F_{name} {i}" for i, name in enumerate(_FIELDS))
    fields += f"\n#define MAX_ARGS {_MAX_ARGS}"
    cases = "\n".join(
        f"    case {n}: ((void (*)({', '.join(['char *'] * n)}))fn)"
        f"({', '.join(f'a[{i}]' for i in range(n))}); break;"
        for n in range(1, _MAX_ARGS + 1)
    )
    return _C.replace("/*FIELDS*/", fields).replace("/*CASES*/", cases)


_C = r"""
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*FIELDS*/

/* numpy's bitgen_t (numpy/random/bitgen.h) */
typedef struct {
  void *state;
  uint64_t (*next_uint64)(void *);
  uint32_t (*next_uint32)(void *);
  double (*next_double)(void *);
  uint64_t (*next_raw)(void *);
} bitgen_t;

#define P(T, name) ((T)(intptr_t)J[F_##name])
#define I(name) (J[F_##name])

static void call_kernel(void *fn, int64_t n, char **a) {
  switch (n) {
/*CASES*/
  }
}

/* A program: [n_calls, then per call: kernel, n_args, then per argument: kind, index, offset]
   kind 0: fixed[index]; 1: inputs[index]; 2: outputs[index]; offset in bytes. */
static void run(const int64_t *prog, char *const *fixed, char *const *in, char *const *out) {
  char *a[MAX_ARGS];
  int64_t n_calls = prog[0], k = 1;
  for (int64_t c = 0; c < n_calls; c++) {
    void *fn = (void *)(intptr_t)prog[k];
    int64_t n = prog[k + 1];
    k += 2;
    for (int64_t i = 0; i < n; i++, k += 3) {
      int64_t kind = prog[k], index = prog[k + 1];
      char *base = kind == 0 ? fixed[index] : kind == 1 ? in[index] : out[index];
      a[i] = base + prog[k + 2];
    }
    call_kernel(fn, n, a);
  }
}

extern "C" int64_t asp_run_program(const int64_t *prog, char *const *fixed, char *const *in,
                        char *const *out, int64_t times) {
  for (int64_t i = 0; i < times; i++) run(prog, fixed, in, out);
  return 0;
}

/* numpy's Generator.permutation(n): arange, then Fisher-Yates with random_interval */
static void permutation(bitgen_t *g, int64_t *perm, int64_t n) {
  for (int64_t i = 0; i < n; i++) perm[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    uint64_t max = (uint64_t)i, mask = max, j;
    mask |= mask >> 1; mask |= mask >> 2; mask |= mask >> 4;
    mask |= mask >> 8; mask |= mask >> 16; mask |= mask >> 32;
    if (max <= 0xffffffffUL) {
      while ((j = (g->next_uint32(g->state) & mask)) > max) {}
    } else {
      while ((j = (g->next_uint64(g->state) & mask)) > max) {}
    }
    int64_t tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
  }
}

static void end_member(const int64_t *J, int64_t b, char *const *cur) {
  char **base = P(char **, state_base);
  const int64_t *stride = P(const int64_t *, state_stride); /* a fit's bytes, contiguous */
  /* a round ends at its best weights; Adam's state is the trajectory's */
  memcpy(base[0] + b * stride[0], P(char *, best_base) + b * stride[0], stride[0]);
  for (int s = 1; s < 4; s++) memcpy(base[s] + b * stride[s], cur[s], stride[s]);
}

typedef struct {
  char *cur[4], *nxt[4];
  int64_t running;
} trajectory_t;

/* Streams [s0, s1): the groups of each stream, epoch by epoch, each permutation drawn once
   (the fits of one stream draw the same orders), each group's current round to its end. */
extern "C" int64_t asp_run_streams(const int64_t *J, int64_t s0, int64_t s1) {
  char **state_base = P(char **, state_base);
  const int64_t *state_stride = P(const int64_t *, state_stride);
  char **term_base = P(char **, term_base), **term_scratch = P(char **, term_scratch);
  const int64_t *term_stride = P(const int64_t *, term_stride);
  const int64_t n_terms = I(n_terms), d = I(d), n = I(n_train), bs = I(bs), n_steps = I(n_steps);
  const int64_t n_chunks = I(n_chunks), chunk_rows = I(chunk_rows), K = I(n_tasks);
  float *rows_buf = P(float *, rows_buf);
  int64_t *perm = P(int64_t *, perm);
  float *se = P(float *, se), *ae = P(float *, ae);
  uint8_t *finite = P(uint8_t *, finite);
  float *best_val = P(float *, best_val), *curve = P(float *, curve);
  int64_t *best_epoch = P(int64_t *, best_epoch), *since_best = P(int64_t *, since_best);
  int64_t *epochs = P(int64_t *, epochs), *max_epochs = P(int64_t *, max_epochs);
  int64_t *patience = P(int64_t *, patience), *stepped = P(int64_t *, stepped);
  int64_t *curve_len = P(int64_t *, curve_len), cap = I(curve_cap);
  uint8_t *active = P(uint8_t *, active), *diverged = P(uint8_t *, diverged);
  uint8_t *use_mae = P(uint8_t *, use_mae);
  const int64_t *stream_start = P(const int64_t *, stream_start);
  const int64_t *group_start = P(const int64_t *, group_start);
  const int64_t *members = P(const int64_t *, members);
  const int64_t *traj_offset = P(const int64_t *, traj_offset);
  char *traj = P(char *, traj);
  void **bitgen = P(void **, bitgen);
  char *best_base = P(char *, best_base);
  char *in[MAX_ARGS], *out[4], *val_in[3], *val_out[3] = {(char *)se, (char *)ae, (char *)finite};
  trajectory_t *tr = (trajectory_t *)malloc(sizeof(trajectory_t) * I(max_groups));

  in[4] = P(char *, active_true);
  for (int64_t j = 0; j < n_terms; j++) in[7 + j] = term_scratch[j];
  for (int64_t s = s0; s < s1; s++) {
    const int64_t ga = stream_start[s], gb = stream_start[s + 1];
    int64_t running = 0;
    for (int64_t g = ga; g < gb; g++) {
      trajectory_t *t = &tr[g - ga];
      char *base = traj + (g - ga) * I(traj_group);
      const int64_t lead = members[group_start[g]];
      for (int k = 0; k < 4; k++) {
        t->cur[k] = base + traj_offset[k];
        t->nxt[k] = base + traj_offset[4 + k];
        memcpy(t->cur[k], state_base[k] + lead * state_stride[k], state_stride[k]);
      }
      t->running = group_start[g + 1] - group_start[g];
      running += t->running;
    }
    memset(rows_buf, 0, sizeof(float) * n_steps * d * bs);
    bitgen_t *gen = (bitgen_t *)bitgen[s];
    while (running > 0) {
      permutation(gen, perm, n);
      const float *gathered = NULL;
      for (int64_t g = ga; g < gb; g++) {
        trajectory_t *t = &tr[g - ga];
        if (t->running == 0) continue;
        const int64_t *mem = members + group_start[g], n_mem = group_start[g + 1] - group_start[g];
        const int64_t lead = mem[0];
        const float *train = (const float *)(P(char *, train_base) + lead * I(train_stride));
        if (train != gathered) { /* groups on one replicate share the epoch's mini-batches */
          for (int64_t i = 0; i < n_steps; i++) {
            const int64_t *rows = perm + i * bs, m = n - i * bs < bs ? n - i * bs : bs;
            for (int64_t f = 0; f < d; f++) {
              float *dst = rows_buf + (i * d + f) * bs;
              const float *src = train + f * n;
              for (int64_t r = 0; r < m; r++) dst[r] = src[rows[r]];
            }
          }
          gathered = train;
        }
        for (int64_t j = 0; j < n_terms; j++) /* copied: every kernel input starts aligned */
          memcpy(term_scratch[j], term_base[j] + lead * term_stride[j], term_stride[j]);
        for (int64_t i = 0; i < n_steps; i++) {
          for (int k = 0; k < 4; k++) { in[k] = t->cur[k]; out[k] = t->nxt[k]; }
          in[5] = (char *)(rows_buf + i * d * bs);
          in[6] = P(char *, row_weight) + i * bs * sizeof(float);
          run(P(const int64_t *, step_prog), P(char *const *, step_fixed), in, out);
          for (int k = 0; k < 4; k++) { char *x = t->cur[k]; t->cur[k] = t->nxt[k]; t->nxt[k] = x; }
        }
        float mse_k[4], mae_k[4];
        char *val_fit = P(char *, val_base) + lead * I(val_fit_stride);
        for (int64_t c = 0; c < n_chunks; c++) {
          val_in[0] = t->cur[0];
          val_in[1] = val_fit + c * I(val_chunk_stride);
          val_in[2] = P(char *, val_weight) + c * chunk_rows * sizeof(float);
          run(P(const int64_t *, val_prog), P(char *const *, val_fixed), val_in, val_out);
          for (int64_t k = 0; k < K; k++) {
            mse_k[k] = (c == 0 ? 0.0f : mse_k[k]) + se[k];
            mae_k[k] = (c == 0 ? 0.0f : mae_k[k]) + ae[k];
          }
        }
        float mse = mse_k[0], mae = mae_k[0];
        for (int64_t k = 1; k < K; k++) { mse += mse_k[k]; mae += mae_k[k]; }
        const int leader_active = active[lead];
        for (int64_t i = 0; i < n_mem; i++) {
          const int64_t b = mem[i];
          if (!active[b]) continue;
          const float val = use_mae[b] ? mae : mse;
          const int bad = !(isfinite(val) && finite[0]);
          curve[b * cap + curve_len[b]++] = bad ? NAN : val;
          const int improved = !bad && val < best_val[b];
          if (bad) diverged[b] = 1;
          if (improved) best_val[b] = val;
          if (!bad) {
            epochs[b] += 1;
            if (b == lead || !leader_active) stepped[b] += 1;  /* a follower's own steps */
          }
          if (improved) {
            best_epoch[b] = epochs[b];
            memcpy(best_base + b * state_stride[0], t->cur[0], state_stride[0]);
          }
          since_best[b] = improved ? 0 : since_best[b] + 1;
          if (bad || since_best[b] >= patience[b] || epochs[b] >= max_epochs[b]) {
            active[b] = 0;
            t->running -= 1;
            running -= 1;
            end_member(J, b, t->cur);
          }
        }
      }
    }
  }
  free(tr);
  return 0;
}
"""


class Unsupported(Exception):
    """The native round cannot serve this graph, device or build: the Python epochs run."""


@functools.cache
def _library() -> ctypes.CDLL:
    from torch._inductor.codecache import CppCodeCache

    lib = CppCodeCache.load(_source())
    lib.asp_run_program.restype = lib.asp_run_streams.restype = ctypes.c_int64
    lib.asp_run_program.argtypes = [ctypes.c_void_p] * 4 + [ctypes.c_int64]
    lib.asp_run_streams.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64]
    return lib


# Lines the compiled module's call may hold besides its kernels: argument unpacking,
# allocations, aliases, deletions, checks and the return. Anything else (an extern matrix
# product, a fallback op) is work the driver would not do.
_PLAIN = re.compile(
    r"^\s*(?:(?:arg\d+_1, )*arg\d+_1,? = args|args\.clear\(\)|del .*|return .*"
    r"|buf\d+ = (?:empty_strided_cpu|reinterpret_tensor)\(.*"
    r"|buf\d+ = buf\d+(?:; del buf\d+)?\s*(?:#.*)?"
    r"|assert_size_stride\(.*"
    r"|assert_alignment\(.*|#.*|)$"
)


@dataclass
class Program:
    """A compiled graph's kernels as the driver calls them, and what keeps their memory."""

    code: np.ndarray  # int64, the driver's program layout
    fixed: np.ndarray  # int64 addresses of constants and scratch buffers
    keep: list  # the tensors behind ``fixed``
    example: tuple[list[torch.Tensor], tuple] = ((), ())  # inputs and outputs it was recorded on

    @classmethod
    def record(cls, compiled: Callable, args: list[torch.Tensor]) -> tuple[Program, tuple]:
        """The program of ``compiled`` (one ``torch._inductor.compile`` result) on inputs like
        ``args``, and the outputs of the Python call it was recorded from."""
        try:
            runner = compiled.current_callable.__self__
            module = sys.modules[type(runner).__module__]
            source = compiled.source_code
        except (AttributeError, KeyError) as err:
            raise Unsupported(f"no Inductor module behind the compiled graph ({err})") from None
        kernels = {
            name: obj
            for name, obj in vars(module).items()
            if name.startswith("cpp_fused") and hasattr(getattr(obj, "__self__", None), "__file__")
        }
        body = source[source.find("    def call(self, args):") :].split("\n")[1:]
        for line in body:
            if line.strip().startswith("return"):
                break
            called = line.strip().split("(")[0]
            if called not in kernels and not _PLAIN.match(line):
                raise Unsupported(f"the compiled graph does more than its kernels: {line.strip()}")
        if not kernels:
            raise Unsupported("the compiled graph has no C++ kernel")
        calls: list[tuple[str, tuple]] = []

        def recorder(name: str, kernel: Callable) -> Callable:
            def record(*a):
                calls.append((name, a))
                return kernel(*a)

            return record

        try:
            for name, kernel in kernels.items():
                setattr(module, name, recorder(name, kernel))
            outputs = tuple(compiled(*args))
        finally:
            for name, kernel in kernels.items():
                setattr(module, name, kernel)
        inputs = {a.untyped_storage().data_ptr(): i for i, a in enumerate(args)}
        produced = {o.untyped_storage().data_ptr(): j for j, o in enumerate(outputs)}
        if len(produced) != len(outputs) or set(produced) & set(inputs):
            raise Unsupported("the graph's outputs share memory with each other or its inputs")
        code: list[int] = [len(calls)]
        fixed: list[int] = []
        keep: list[torch.Tensor] = []
        for name, call_args in calls:
            if len(call_args) > _MAX_ARGS:
                raise Unsupported(f"a kernel with {len(call_args)} arguments")
            code += [_address(kernels[name]), len(call_args)]
            for a in call_args:
                if not isinstance(a, torch.Tensor):
                    raise Unsupported(f"a kernel argument that is not a tensor: {a!r}")
                storage = a.untyped_storage().data_ptr()
                if storage in inputs:
                    i = inputs[storage]
                    code += [1, i, a.data_ptr() - args[i].data_ptr()]
                elif storage in produced:
                    j = produced[storage]
                    code += [2, j, a.data_ptr() - outputs[j].data_ptr()]
                else:  # a constant, or a buffer the kernels only use within one call
                    code += [0, len(fixed), 0]
                    fixed.append(a.data_ptr())
                    keep.append(a)
        program = cls(np.array(code, dtype=np.int64), np.array(fixed, dtype=np.int64), keep)
        program.example = (list(args), outputs)
        return program, outputs

    def run(self, inputs: list[torch.Tensor], outputs: list[torch.Tensor], times: int = 1) -> None:
        """A run from C (``times`` runs, for a benchmark): ``outputs`` must be new tensors
        shaped like the graph's outputs."""
        pointers = [
            np.array([t.data_ptr() for t in ts], dtype=np.int64) for ts in (inputs, outputs)
        ]
        code, fixed = self.code.ctypes.data, self.fixed.ctypes.data
        _library().asp_run_program(code, fixed, *(p.ctypes.data for p in pointers), times)

    def cost(self, times: int = 20000) -> float:
        """Microseconds per run from C, on the inputs it was recorded on (a benchmark)."""
        inputs, outputs = self.example
        out = [torch.empty_like(o) for o in outputs]
        self.run(inputs, out, times // 10)  # warm caches
        start = time.perf_counter()
        self.run(inputs, out, times)
        return (time.perf_counter() - start) / times * 1e6


def _address(kernel: Callable) -> int:
    """The C address of a kernel Inductor loaded as a Python extension (its symbol ``kernel``)."""
    library = ctypes.CDLL(kernel.__self__.__file__)
    return ctypes.cast(library.kernel, ctypes.c_void_p).value


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == torch.bool:
        return torch.equal(a, b)
    return torch.equal(a.contiguous().view(torch.uint8), b.contiguous().view(torch.uint8))


def checked(compiled: Callable, args: list[torch.Tensor]) -> tuple[Program, tuple]:
    """``compiled``'s program, recorded on ``args`` and run once more from C on the same inputs
    (every output must have the bits of the Python call's), and the Python call's outputs."""
    program, expected = Program.record(compiled, args)
    got = [torch.empty_strided(o.shape, o.stride(), dtype=o.dtype) for o in expected]
    program.run(args, got)
    if not all(_same_bits(a, b) for a, b in zip(expected, got, strict=True)):
        raise Unsupported("the recorded kernels, run from C, gave other numbers than Python")
    return program, expected


def disabled_reason(device: torch.device, dtype: torch.dtype, n_tasks: int, compile: bool) -> str:
    """Why the native round does not apply here ("" where it may)."""
    if os.environ.get("ASP_NATIVE", "1") == "0":
        return "ASP_NATIVE=0"
    if not compile:
        return "the step is not compiled"
    if device.type != "cpu":
        return f"device {device.type}"
    if dtype != torch.float32:
        return f"dtype {dtype}"
    if n_tasks > MAX_TASKS:
        return f"{n_tasks} tasks (torch sums more than {MAX_TASKS} in another order)"
    return ""


_DTYPES = {
    **dict.fromkeys(["best_val", "se", "ae", "curve", "rows_buf", "train_base"], "float32"),
    **dict.fromkeys(["val_base", "val_weight", "row_weight", "best_base"], "float32"),
    **dict.fromkeys(["best_epoch", "since_best", "epochs", "max_epochs", "patience"], "int64"),
    **dict.fromkeys(["stepped", "curve_len", "perm", "group_start", "members"], "int64"),
    **dict.fromkeys(["active", "diverged", "use_mae", "finite", "active_true"], "bool"),
}


class Job:
    """The driver's view of one trainer: the addresses of its tensors and the scratch the
    rounds need. Built per call (the trainer's tensors are replaced between rounds)."""

    def __init__(self, fields: dict[str, object]):
        missing = set(_FIELDS) - set(fields)
        if missing:
            raise ValueError(f"native job without {sorted(missing)}")
        for name, dtype in _DTYPES.items():  # what the driver reads them as
            found = getattr(fields[name], "dtype", None)
            if str(found).removeprefix("torch.") != dtype:
                raise ValueError(f"native job: {name} is {found}, the driver reads {dtype}")
        self._keep = [v for v in fields.values() if not isinstance(v, int)]
        self.array = np.array([_as_address(fields[name]) for name in _FIELDS], dtype=np.int64)

    def run_streams(self, first: int, last: int) -> None:
        """The groups of streams ``first`` to ``last - 1``, each to the end of its round."""
        _library().asp_run_streams(self.array.ctypes.data, first, last)


def _as_address(value: object) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, torch.Tensor):
        if not value.is_contiguous():
            raise ValueError("native job: a tensor that is not contiguous")
        return value.data_ptr()
    if isinstance(value, np.ndarray):
        return value.ctypes.data
    raise TypeError(f"native job: {type(value).__name__}")


def pointers(values: list[int]) -> np.ndarray:
    """An array of addresses the driver reads as ``char **``."""
    return np.array(values, dtype=np.int64)
