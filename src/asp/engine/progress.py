"""A long job's progress: a line at most every ``every`` seconds (30 by default) with what the
job is on and an estimate of the time left, to its log and to the console.

A job's entry point (a workflow script) opens a :class:`Progress` over the job's parts (its
sizes, values or test-function pairs, each with a weight: its expected share of the work) and
enters each part in turn. The loops below report their own fraction done through
:func:`report`; ``stage`` maps a loop onto a share of its part (stage 0, then the adaptive
rounds). With no Progress open (the estimators, the tests) :func:`report` does nothing.

The time left is the work left (the parts not yet run by their weights, the current one by its
loops' fraction) at the rate since the job's first line, so that start-up and compilation do
not count as work; the first line uses the rate since the job started. Loops report the
fraction of their epoch or iteration budget, which early stopping often cuts short, so the
estimate leans high.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

log = logging.getLogger("asp")

# Seconds between lines at most; ASP_PROGRESS_EVERY sets another (the tests: 1).
EVERY = float(os.environ.get("ASP_PROGRESS_EVERY", 30))


def duration(seconds: float) -> str:
    """``seconds`` as people read it: 45 s, 3 min 05 s, 1 h 02 min."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """The progress of one job of named, weighted parts (see the module's docstring)."""

    def __init__(
        self,
        job: str,
        parts: Sequence[tuple[str, float]],
        every: float | None = None,
        console: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not parts or any(w <= 0 for _, w in parts):
            raise ValueError(f"{job}: progress needs parts of positive weight, got {parts!r}")
        self.job = job
        self.labels = [label for label, _ in parts]
        self.weights = [float(w) for _, w in parts]
        self.every = EVERY if every is None else every
        # Workflow scripts point sys.stderr at their log file; the console is the stderr the
        # process started with, which Snakemake shows.
        self.console = console if console is not None else sys.__stderr__
        self.clock = clock
        self.start = clock()
        self.last = self.start
        self.index = -1  # the current part
        self.span = (0.0, 1.0)  # the share of the current part the current stage covers
        self.stage_name = ""
        self.lines: list[str] = []
        self.first: tuple[float, float] | None = None  # (time, done) of the first line

    # -- the job's side ---------------------------------------------------------------------

    @contextlib.contextmanager
    def part(self, index: int) -> Iterator[Progress]:
        """Enter part ``index``: its loops report into it, and the parts before count done."""
        global _current
        outer, _current = _current, self
        self.index, self.span, self.stage_name = index, (0.0, 1.0), ""
        try:
            yield self
        finally:
            _current = outer

    # -- the loops' side --------------------------------------------------------------------

    def done(self, fraction: float) -> float:
        """The job's fraction done, with ``fraction`` of the current stage done."""
        low, high = self.span
        within = low + (high - low) * min(max(fraction, 0.0), 1.0)
        before = sum(self.weights[: self.index])
        return (before + self.weights[self.index] * within) / sum(self.weights)

    def due(self) -> bool:
        """Whether a report now would write a line."""
        return self.index >= 0 and self.clock() - self.last >= self.every

    def report(self, fraction: float, detail: str = "") -> str | None:
        """The current stage is ``fraction`` done; a line if ``every`` seconds have passed
        since the last (returned, and written to the log and the console)."""
        now = self.clock()
        if now - self.last < self.every or self.index < 0:
            return None
        self.last = now
        done, elapsed = self.done(fraction), now - self.start
        since, base = self.first if self.first is not None else (self.start, 0.0)
        self.first = self.first or (now, done)
        left = "time left unknown"
        if done > base:
            left = f"about {duration((now - since) / (done - base) * (1 - done))} left"
        where = f"{self.labels[self.index]} ({self.index + 1} of {len(self.labels)})"
        stage = f", {self.stage_name}" if self.stage_name else ""
        line = (
            f"{self.job}: {where}{stage}{', ' + detail if detail else ''}; "
            f"{done:.0%} after {duration(elapsed)}, {left}"
        )
        self.lines.append(line)
        log.info(line)
        if self.console is not None:
            print(line, file=self.console, flush=True)
        return line


_current: Progress | None = None


def due() -> bool:
    """Whether :func:`report` would write a line now (so that a loop builds its detail only
    then)."""
    return _current is not None and _current.due()


def report(fraction: float, detail: str = "") -> None:
    """The current loop is ``fraction`` done (``detail``: where it is); nothing without an
    open Progress."""
    if _current is not None:
        _current.report(fraction, detail)


@contextlib.contextmanager
def stage(low: float, high: float, name: str) -> Iterator[None]:
    """The loops inside cover the share [low, high] of the current part, named ``name``."""
    if _current is None:
        yield
        return
    outer = (_current.span, _current.stage_name)
    a, b = _current.span
    _current.span = (a + (b - a) * low, a + (b - a) * high)
    _current.stage_name = ", ".join(n for n in (outer[1], name) if n)  # "": a share alone
    try:
        yield
    finally:
        _current.span, _current.stage_name = outer
