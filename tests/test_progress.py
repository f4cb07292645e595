"""A long job's progress lines (asp.engine.progress): at most one per interval, what the job is on,
and the time left from the work left at the rate since the first line."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from conftest import replicates

from asp.engine import progress
from asp.engine.progress import Progress, duration
from asp.engine.training import TrainSettings
from asp.experiments.replicates import Batch, train_stage0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (4.4, 59.6, 185, 3725)] == [
        "4 s",
        "1 min 00 s",
        "3 min 05 s",
        "1 h 02 min",
    ]


def test_lines_at_most_every_interval_with_parts_stages_and_the_time_left():
    clock, console = Clock(), io.StringIO()
    job = Progress(
        "train case1", [("N=500", 1), ("N=1500", 3)], every=30, console=console, clock=clock
    )
    progress.report(0.5)  # no part entered yet: nothing
    with job.part(0):
        clock.now = 10
        assert not job.due() and not progress.due()
        progress.report(0.5, "epoch 5")  # within the interval: nothing
        clock.now = 40
        assert progress.due()
        with progress.stage(0.0, 0.5, "stage 0"):
            progress.report(0.8, "epoch 8")  # 0.4 of part 0: 0.1 of the job, after 40 s
    with job.part(1):
        clock.now = 70
        with progress.stage(0.5, 1.0, "adaptive rounds"):
            with progress.stage(0.5, 1.0, "iteration 2 of 2"):
                progress.report(0.0)  # 0.75 of part 1: 0.1 + ... = 0.8125 of the job
    assert console.getvalue().splitlines() == job.lines
    first, second = job.lines
    # the first line: 40 s for 10 %, so 360 s for the other 90 %
    assert first == (
        "train case1: N=500 (1 of 2), stage 0, epoch 8; 10% after 40 s, about 6 min 00 s left"
    )
    # then the rate since the first line: 30 s for 0.7125 of the job, 7.9 s for the rest
    assert second.startswith(
        "train case1: N=1500 (2 of 2), adaptive rounds, iteration 2 of 2; 81% after 1 min 10 s"
    )
    assert second.endswith("about 8 s left")
    assert not progress.due()  # every part left: no Progress open
    progress.report(0.9)  # nothing: the lines stay two
    assert len(job.lines) == 2


def test_a_line_goes_to_the_log_too(caplog):
    clock = Clock()
    job = Progress("bayesopt gp", [("ackley+rastrigin", 1)], every=1, console=None, clock=clock)
    with caplog.at_level("INFO", logger="asp"), job.part(0):
        clock.now = 2
        progress.report(0.25, "iteration 10 of 40")
    assert [r.getMessage() for r in caplog.records] == job.lines
    assert "iteration 10 of 40; 25% after 2 s, about 6 s left" in job.lines[0]


def test_parts_need_a_positive_weight():
    with pytest.raises(ValueError, match="positive weight"):
        Progress("x", [("a", 0)])
    with pytest.raises(ValueError, match="positive weight"):
        Progress("x", [])


@pytest.fixture
def tiny_batch_training(case1, arch):
    """Stage 0 of soft on two replicates, eager float64: a function that trains it."""
    reps = replicates(case1, 200, 2)
    settings = TrainSettings(batch_size=32, max_epochs=15, patience=5, compile=False)

    def run():
        batch = Batch(reps, [0, 1], arch, torch.device("cpu"), torch.float64)
        return train_stage0(batch, ["soft"] * 2, [0.01] * 2, settings)

    return run, settings


def test_a_training_loop_reports_its_epochs_and_fits(tiny_batch_training):
    """Inside an open Progress, the stage-0 loop reports each epoch when due: its epoch, the
    fits still training, and its fraction of max_epochs; the fits are those without."""
    run, settings = tiny_batch_training
    quiet = run()
    clock = Clock()
    job = Progress("train", [("N=200", 1)], every=0, console=None, clock=clock)
    with job.part(0):
        loud = run()
    assert len(job.lines) == int(quiet.epochs.max())  # every=0: a line every epoch
    assert job.lines[0].startswith(
        f"train: N=200 (1 of 1), epoch 1, {quiet.epochs.numel()}/{quiet.epochs.numel()} fits"
    )
    assert f"{1 / settings.max_epochs:.0%} after 0 s" in job.lines[0]
    for a, b in zip(quiet.params, loud.params, strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_a_jobs_share_done_only_grows_across_its_batches(case1):
    """A job of several network families and a matched control trains several batches in each
    stage; each batch covers its share of the stage, so the share done never falls back."""
    import re

    from conftest import fit_methods

    from asp.engine.methods import HyperParams

    reps = replicates(case1, 200, 2)
    job = Progress("train", [("N=200", 1)], every=0, console=None, clock=Clock())
    s0 = TrainSettings(batch_size=32, max_epochs=8, patience=3, compile=False)
    rs = TrainSettings(batch_size=32, max_epochs=3, patience=2, compile=False)
    methods = ["ffn", "hard", "soft", "adaptive", "soft_extended"]
    with job.part(0):
        fit_methods(reps, methods, HyperParams(0.01, 0.005, 0.5), s0, rs)
    shares = [int(re.search(r"; (\d+)% after", line)[1]) for line in job.lines]
    assert shares == sorted(shares) and shares[0] < 10 and shares[-1] >= 90
    stages = {line.split(", epoch ")[0].split("), ")[1] for line in job.lines}
    assert stages == {"stage 0", "adaptive rounds"}
