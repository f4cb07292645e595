import numpy as np
import pandas as pd
import pytest
import torch
from conftest import CASE2, fit_methods, replicates
from torch.testing import assert_close

from asp.data.simulation import SimulationCase
from asp.engine import training
from asp.engine.methods import HyperParams
from asp.engine.networks import get_network
from asp.engine.reference import reference_fit
from asp.engine.seeds import torch_seed
from asp.engine.training import BatchSampler, TrainSettings
from asp.experiments.replicates import Batch, train_rounds, train_stage0

CPU = torch.device("cpu")


PENALTY = {"adaptive": "mean_squared", "l2_only": "pairwise_squared"}


def batched_and_reference(arch, reps, fit_rep, methods, hp, s0, rs):
    """Stage 0 and the rounds of these fits trained as one batch (float64), and each fit's own
    per-fit reference run (one nn.Module + torch.optim.Adam, same data order and init)."""
    batch = Batch(reps, fit_rep, arch, CPU, torch.float64)
    soft = train_stage0(batch, ["soft"] * len(methods), [hp.lam] * len(methods), s0)
    out = train_rounds(batch, soft, methods, hp, rs)
    rounds = {"lam_star": hp.lam_star, "theta": hp.theta, "settings": rs}
    refs = [
        reference_fit(
            arch,
            get_network("per_task_mlp", arch).init_params(torch_seed(reps[r].seeds["init"])),
            reps[r].data,
            hp.lam,
            s0,
            reps[r].seeds["batches"],
            rounds=rounds | {"penalty": PENALTY[method]},
        )
        for method, r in zip(methods, fit_rep, strict=True)
    ]
    return soft, out, refs


def test_batched_equals_per_fit_reference(case1, arch):
    """Stage 0 plus adaptive rounds of 4 fits (two penalties mixed in one batch) against one
    nn.Module + torch.optim.Adam per fit: same data order and init, float64, fixed epochs."""
    reps = replicates(case1, 200, 2)  # 98 training rows: 7 steps per epoch at batch size 16
    s0 = TrainSettings(batch_size=16, max_epochs=30, patience=30, compile=False)  # 210 steps
    rs = TrainSettings(
        batch_size=16, max_epochs=8, patience=8, compile=False
    )  # 4 rounds x 56 steps
    hp = HyperParams(lam=0.02, lam_star=0.01, theta=0.25)
    methods = ["adaptive", "l2_only", "adaptive", "l2_only"]
    _, out, refs = batched_and_reference(arch, reps, [0, 0, 1, 1], methods, hp, s0, rs)
    for b, ref in enumerate(refs):
        assert int(out.t_star[b]) == ref.t_star
        assert abs(float(out.best_val[b]) - ref.best_val) < 1e-9
        for p, q in zip(out.params, ref.params, strict=True):
            assert_close(p[b : b + 1], q, atol=1e-6, rtol=0)


def test_per_fit_clocks_equal_per_fit_reference(case1, arch):
    """With early stopping every fit ends its rounds at its own epochs and starts the next at
    once; each of 6 fits (3 replicates x two penalties) still equals its own per-fit run:
    the epochs of every round, t*, the validation metric and the weights (float64)."""
    reps = replicates(case1, 200, 3)
    s0 = TrainSettings(batch_size=16, max_epochs=60, patience=4, compile=False)
    rs = TrainSettings(batch_size=16, max_epochs=25, patience=3, compile=False)
    hp = HyperParams(lam=0.02, lam_star=0.01, theta=0.2)  # 5 rounds
    methods = ["adaptive", "l2_only"] * 3
    soft, out, refs = batched_and_reference(arch, reps, [0, 0, 1, 1, 2, 2], methods, hp, s0, rs)
    round_epochs = []
    for b, ref in enumerate(refs):
        assert int(soft.epochs[b]) == ref.stage0_epochs
        assert int(out.epochs[b]) == sum(ref.round_epochs)
        assert int(out.t_star[b]) == ref.t_star
        assert abs(float(out.best_val[b]) - ref.best_val) < 1e-9
        for p, q in zip(out.params, ref.params, strict=True):
            assert_close(p[b : b + 1], q, atol=1e-6, rtol=0)
        round_epochs.append(tuple(ref.round_epochs))
    # the fits really ran on different clocks: rounds of different lengths, ended early
    assert len(set(round_epochs)) >= 4
    assert all(len(r) == 5 and min(r) < 25 for r in round_epochs)
    starts = {tuple(np.cumsum((0,) + r[:-1])) for r in round_epochs}
    assert len(starts) >= 4


def test_mse_and_mae_fits_share_a_batch(case1, arch):
    """Each fit early-stops and selects rounds on its own metric: one batch of MSE and MAE fits
    equals the two runs apart (float64)."""
    reps = replicates(case1, 300, 2)
    s0 = TrainSettings(batch_size=32, max_epochs=40, patience=3, compile=False)
    rs = TrainSettings(batch_size=32, max_epochs=10, patience=2, compile=False)
    hp = HyperParams(lam=0.01, lam_star=0.005, theta=0.34)
    both = Batch(reps, [0, 1, 0, 1], arch, CPU, torch.float64)
    metrics = ["mse", "mse", "mae", "mae"]
    soft = train_stage0(both, ["soft"] * 4, [hp.lam] * 4, s0, metrics)
    out = train_rounds(both, soft, ["adaptive"] * 4, hp, rs, metrics)
    for k, metric in enumerate(("mse", "mae")):
        alone = Batch(reps, [0, 1], arch, CPU, torch.float64)
        s0m, rsm = (TrainSettings(**{**vars(s), "metric": metric}) for s in (s0, rs))
        soft_m = train_stage0(alone, ["soft"] * 2, [hp.lam] * 2, s0m)
        out_m = train_rounds(alone, soft_m, ["adaptive"] * 2, hp, rsm)
        part = slice(2 * k, 2 * k + 2)
        assert torch.equal(soft.epochs[part], soft_m.epochs)
        assert torch.equal(out.t_star[part], out_m.t_star)
        assert torch.equal(out.epochs[part], out_m.epochs)
        assert_close(out.best_val[part], out_m.best_val, atol=1e-12, rtol=0)
        for p, q in zip(out.params, out_m.params, strict=True):
            assert_close(p[part], q, atol=1e-12, rtol=0)
    assert not torch.equal(out.epochs[:2], out.epochs[2:])  # the metrics stop rounds apart


@pytest.mark.parametrize(
    ("compiled", "dtype"),
    [(False, torch.float64), (True, torch.float32)],
    ids=["eager", "compiled"],
)
def test_sub_batches_change_nothing(case1, arch, monkeypatch, compiled, dtype):
    """Epochs run on sub-batches: of one fit per leader while MSE and MAE twins (the same
    method and lambda on one replicate) both train, and of 10 fits once at most a quarter are
    to be stepped. Every fit's result is bit for bit what the whole batch of 40 gives, also
    compiled in float32, where a fit's place among the kernels' vector lanes differs. (The
    Python epochs: the native rounds have no sub-batches.)"""
    monkeypatch.setenv("ASP_NATIVE", "0")
    n_reps = 10
    reps = replicates(case1, 200, n_reps)
    s0 = TrainSettings(batch_size=32, max_epochs=60, patience=2, compile=compiled)
    rs = TrainSettings(batch_size=32, max_epochs=12, patience=2, compile=compiled)
    metrics = ["mse"] * (2 * n_reps) + ["mae"] * (2 * n_reps)
    lam = ([0.0] * n_reps + [0.01] * n_reps) * 2
    hp = HyperParams(lam=0.01, lam_star=0.005, theta=0.2)
    sizes = []
    original = training.Trainer._epoch_fits

    def recorded(self, stepping):
        fits = original(self, stepping)
        sizes.append(len(fits))
        return fits

    def run():
        batch = Batch(reps, list(range(n_reps)) * 4, arch, CPU, dtype)
        soft = train_stage0(batch, ["soft"] * len(lam), lam, s0, metrics)
        return soft, train_rounds(batch, soft, ["adaptive"] * len(lam), hp, rs, metrics)

    monkeypatch.setattr(training.Trainer, "_epoch_fits", recorded)
    found = []
    monkeypatch.setattr(training, "twins", lambda *a: found.append(original_twins(*a)) or found[-1])
    soft_a, out_a = run()
    # fit b + 20 (MAE) follows fit b (MSE): the stage-0 epochs ran 20 fits while both trained
    assert found == [list(range(20)) * 2]
    assert set(sizes) == {10, 20, 40}
    monkeypatch.setattr(training, "COMPACT_MIN_FITS", 10**9)
    monkeypatch.setattr(training, "twins", lambda theta, *a: list(range(theta.shape[0])))
    sizes.clear()
    soft_b, out_b = run()
    assert set(sizes) == {40}
    assert torch.equal(soft_a.epochs, soft_b.epochs) and torch.equal(out_a.epochs, out_b.epochs)
    assert not torch.equal(soft_a.epochs[:20], soft_a.epochs[20:])  # twins stop apart
    assert torch.equal(out_a.t_star, out_b.t_star)
    np.testing.assert_array_equal(soft_a.curves["val"], soft_b.curves["val"])
    np.testing.assert_array_equal(out_a.curves["val"], out_b.curves["val"])
    for p, q in zip(out_a.params + soft_a.params, out_b.params + soft_b.params, strict=True):
        assert torch.equal(p, q)


original_twins = training.twins


def test_mini_batch_orders_follow_each_fits_own_stream():
    """A fit's orders depend only on its stream: sharing a draw with a fit on the same stream,
    stopping the other, or another fit restarting leave them as a sampler of its own gives."""
    s, u = np.random.SeedSequence(11), np.random.SeedSequence(12)
    alone = BatchSampler([s], 50)
    mixed = BatchSampler([s, s, u], 50)
    expected_first = BatchSampler([s], 50).next_epoch()[0].copy()
    for epoch in range(6):
        fits = np.array([True, epoch < 2, True])  # fit 1 stops after two epochs
        if epoch == 3:
            mixed.restart([2], [np.random.SeedSequence(13)])
        orders = mixed.next_epoch(fits).copy()
        expected = alone.next_epoch()[0]
        np.testing.assert_array_equal(orders[0], expected)
        if epoch < 2:
            np.testing.assert_array_equal(orders[1], expected)
        assert sorted(orders[2]) == list(range(50)) and not np.array_equal(orders[2], expected)
    late = BatchSampler([s, s], 50)  # fit 1 skips an epoch and must restart to draw again
    late.next_epoch(np.array([True, False]))
    with pytest.raises(ValueError, match="fit 1 skipped an epoch"):
        late.next_epoch()
    late.restart([1], [s])
    np.testing.assert_array_equal(late.next_epoch(np.array([False, True]))[1], expected_first)


def test_same_seed_gives_bitwise_identical_results(case1, arch):
    def run():
        reps = replicates(case1, 300, 3)
        rows = fit_methods(
            reps,
            ["ffn", "soft", "adaptive"],
            HyperParams(0.01, 0.005, 0.5),
            TrainSettings(batch_size=32, max_epochs=20, patience=5, compile=False),
            TrainSettings(batch_size=32, max_epochs=5, patience=3, compile=False),
            dtype="float32",
        )
        return rows.drop(columns=["seconds", "job_seconds"])

    a, b = run(), run()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["test_mse"].nunique() == len(a)  # replicates and methods really differ


def test_three_tasks_and_six_inputs():
    case = SimulationCase.from_config("k3", CASE2)
    reps = replicates(case, 300, 2, n_inputs=6, n_tasks=3)
    assert reps[0].data.x_train.shape == (147, 6) and reps[0].data.y_train.shape == (147, 3)
    df = fit_methods(
        reps,
        ["ffn", "soft", "adaptive", "l2_only", "mean_only"],
        HyperParams(0.01, 0.005, 0.5),
        TrainSettings(batch_size=64, max_epochs=10, patience=5, compile=False),
        TrainSettings(batch_size=64, max_epochs=5, patience=3, compile=False),
    )
    assert len(df) == 10 and np.isfinite(df["test_mse"]).all() and not df["diverged"].any()


def test_nan_fit_is_flagged_and_others_unaffected(case1, arch):
    reps = replicates(case1, 300, 3)
    s = TrainSettings(batch_size=32, max_epochs=15, patience=15, compile=False)
    clean = train_stage0(
        Batch(reps, [0, 2], arch, CPU, torch.float64), ["soft"] * 2, [0.01, 0.01], s
    )
    bad = replicates(case1, 300, 3)
    bad[1].data.x_train[5, 0] = np.nan
    mixed = train_stage0(
        Batch(bad, [0, 1, 2], arch, CPU, torch.float64), ["soft"] * 3, [0.01] * 3, s
    )
    assert mixed.diverged.tolist() == [False, True, False]
    for p, q in zip(mixed.params, clean.params, strict=True):
        assert_close(p[[0, 2]], q, atol=1e-12, rtol=0)  # batch width moves only the last ulp
    assert torch.isfinite(mixed.params[0][1]).all()  # held at its last finite weights


def test_stopped_fit_does_not_move(case1, arch):
    reps = replicates(case1, 300, 2)
    s = TrainSettings(batch_size=32, max_epochs=200, patience=3, compile=False)
    out = train_stage0(Batch(reps, [0, 1], arch, CPU, torch.float64), ["soft"] * 2, [0.01, 0.01], s)
    curve = out.curves["val"]
    for b in range(2):
        n = int(out.epochs[b])
        assert n < 200 and np.isfinite(curve[:n, b]).all() and np.isnan(curve[n:, b]).all()
        assert int(out.best_epoch[b]) == n - 3  # stopped patience epochs after its best
        assert abs(float(out.best_val[b]) - np.nanmin(curve[:, b])) < 1e-12


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="metric"):
        TrainSettings(batch_size=32, max_epochs=1, patience=1, compile=False, metric="rmse")
    with pytest.raises(ValueError, match="theta"):
        HyperParams(0.1, 0.1, 1.5)


def test_twins_are_fits_that_differ_only_in_their_metric(case1, arch):
    """A fit follows the first one with the same start, data, penalty and mini-batch stream;
    a different lambda, replicate or stream makes it its own leader."""
    reps = replicates(case1, 200, 2)
    batch = Batch(reps, [0, 1, 0, 1, 0, 0], arch, CPU, torch.float64)
    theta = batch.network.to_flat(batch.initial_params())
    coef = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.01, 0.01], dtype=torch.float64)
    masks = torch.ones(6, 2, 31, dtype=torch.float64)
    seeds = batch.batch_seeds
    sampler = BatchSampler([*seeds[:5], np.random.SeedSequence(7)], 98)
    leaders = training.twins(theta, batch.data, [coef], [masks], sampler)
    # 2, 3 repeat 0, 1 (another metric); 4 has its own lambda; 5 has lambda 0.01 as 4 does
    # but another stream
    assert leaders == [0, 1, 0, 1, 4, 5]
    masks[2, 0, 0] = 0.0  # a different penalty mask
    assert training.twins(theta, batch.data, [coef], [masks], sampler)[2] == 2


def test_a_twins_epochs_are_charged_at_the_batchs_rate():
    """Seconds per fit: the batch's seconds per computed fit-epoch times the fit's epochs, so a
    follower costs what its epochs cost, not nothing; without twins, the share of epochs."""
    from asp.experiments.replicates import epoch_share

    epochs = torch.tensor([4, 4, 2])
    np.testing.assert_allclose(epoch_share(12.0, epochs), [4.8, 4.8, 2.4])
    shared = epoch_share(12.0, epochs, torch.tensor([4, 0, 2]))
    np.testing.assert_allclose(shared, [8.0, 8.0, 4.0])


def test_native_rounds_equal_python_epochs(monkeypatch):
    """The native rounds (asp.engine.native) against the Python epochs: every registered method (so
    every network family, both stages and the matched-budget control) at both metrics in one
    job (so MSE and MAE twins), compiled float32 on 3 replicates of 3 tasks (the validation sums
    tasks in torch's order): every row (epochs, t*, validation and test metrics), curve and
    weight bit for bit."""
    from asp.engine.methods import METHODS
    from asp.engine.methods import cell as job_cell
    from asp.experiments.jobs import methods_job, run_both

    case = SimulationCase.from_config("case2", CASE2)
    reps = replicates(case, 150, 3, n_inputs=4, n_tasks=3)
    values = {"lambda": 0.01, "lambda_star": 0.005, "theta": 0.34}
    stage0 = {"batch_size": 16, "max_epochs": 40, "patience": 3, "compile": True}
    rounds = {"batch_size": 16, "max_epochs": 12, "patience": 2, "compile": True}
    job = methods_job(reps, list(METHODS), values, stage0, rounds, rbf_centres=[6])
    job["cells"] += [job_cell("mae", c["method"], values) for c in job["cells"]]
    results, calls, followers = {}, {}, []
    run_round, find_twins = training.Trainer.run_round, training.twins

    def counted(self, *args, **kwargs):
        calls[mode] = calls.get(mode, 0) + 1
        return run_round(self, *args, **kwargs)

    def recorded(*args):
        leaders = find_twins(*args)
        followers.append(sum(b != a for b, a in enumerate(leaders)))
        return leaders

    monkeypatch.setattr(training.Trainer, "run_round", counted)
    monkeypatch.setattr(training, "twins", recorded)
    for mode in ("1", "0"):
        monkeypatch.setenv("ASP_NATIVE", mode)
        results[mode] = run_both(job, reps)
    assert calls.get("1", 0) >= len(METHODS) // 2 and "0" not in calls
    assert max(followers) >= 3  # twins trained (one replicate's MSE and MAE fits of a method)
    for a, b in zip(results["1"], results["0"], strict=True):
        assert a.cell == b.cell
        columns = [c for c in a.rows.columns if "seconds" not in c]
        pd.testing.assert_frame_equal(a.rows[columns], b.rows[columns], check_exact=True)
        assert a.curves.keys() == b.curves.keys()
        for key in a.curves:
            np.testing.assert_array_equal(a.curves[key], b.curves[key])
        for p, q in zip(a.params, b.params, strict=True):
            assert torch.equal(p, q)


def test_native_rounds_step_aside_with_the_reason(case1, arch, monkeypatch, caplog):
    """Where the native rounds cannot serve (here: the recorded kernels fail their check), the
    same training runs in Python epochs, says why in the log, and gives the same numbers."""
    from asp.engine import native

    reps = replicates(case1, 120, 2)
    s0 = TrainSettings(batch_size=16, max_epochs=8, patience=2, compile=True)
    batch = Batch(reps, [0, 1, 0, 1], arch, CPU, torch.float32)

    def stage0():
        return train_stage0(batch, ["ffn", "ffn", "soft", "soft"], [0.0, 0.0, 0.01, 0.01], s0)

    native_run = stage0()
    training._PROGRAMS.clear()
    training._note_python_epochs.cache_clear()

    def refused(*args):
        raise native.Unsupported("the recorded kernels, run from C, gave other numbers")

    monkeypatch.setattr(native, "checked", refused)
    with caplog.at_level("INFO", logger="asp"):
        python_run = stage0()
    assert "training in Python epochs, not the native rounds: the recorded kernels" in caplog.text
    training._PROGRAMS.clear()
    for p, q in zip(native_run.params, python_run.params, strict=True):
        assert torch.equal(p, q)
    assert torch.equal(native_run.epochs, python_run.epochs)
    np.testing.assert_array_equal(native_run.curves["val"], python_run.curves["val"])


def test_a_graph_with_other_calls_is_not_recorded():
    """A compiled graph whose module calls more than Inductor's C++ kernels (here an extern
    matrix product) is refused, not half driven from C."""
    from asp.engine import native
    from asp.engine.step import _inductor

    a, b = torch.rand(64, 64), torch.rand(64, 64)
    compiled = _inductor(lambda x, y: ((x @ y).sin(),), (a, b))
    with pytest.raises(native.Unsupported, match="does more than its kernels"):
        native.Program.record(compiled, [a, b])


def test_taken_streams_must_restart_before_drawing_again():
    """``BatchSampler.take`` hands the fits' generators to a caller that draws itself, grouped
    by stream; the sampler then refuses those fits until they are restarted."""
    seeds = [np.random.SeedSequence(1), np.random.SeedSequence(1), np.random.SeedSequence(2)]
    sampler = BatchSampler(seeds, 10)
    streams = sampler.take([0, 1, 2])
    assert [fits for _, fits in streams] == [[0, 1], [2]]
    first = streams[0][0].permutation(10)
    np.testing.assert_array_equal(first, np.random.default_rng(seeds[0]).permutation(10))
    with pytest.raises(ValueError, match="restart it first"):
        sampler.next_epoch()
    sampler.restart([0, 1, 2], seeds)
    np.testing.assert_array_equal(sampler.next_epoch()[0], first)
