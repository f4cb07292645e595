import numpy as np
import torch
from conftest import fit_methods, replicates

from asp.engine import adaptive
from asp.engine.adaptive import n_rounds, prune_largest_terms, terms_per_round
from asp.engine.methods import HyperParams
from asp.engine.training import TrainSettings
from asp.experiments.replicates import Batch, train_rounds, train_stage0


def test_round_arithmetic_matches_paper_tables():
    assert [n_rounds(t) for t in (0.07, 0.02, 0.1, 0.062, 0.016, 0.08)] == [14, 50, 10, 16, 62, 12]
    total = 2 * (4 * 4 + 4 * 3 + 3 * 1)  # K=2 tasks x 31 weight positions
    assert [terms_per_round(t, total) for t in (0.07, 0.02, 0.1)] == [4, 1, 6]


def test_pruning_removes_the_largest_active_terms_and_mask_only_grows():
    dev = [torch.tensor([[[[5.0, -1.0]], [[-7.0, 2.0]]]])]  # (B=1, T=2, 1, 2)
    masks = [torch.ones_like(dev[0])]
    m1 = prune_largest_terms(dev, masks, torch.tensor([2]))
    assert m1[0].flatten().tolist() == [0.0, 1.0, 0.0, 1.0]  # |-7| and |5| go first
    m2 = prune_largest_terms(dev, m1, torch.tensor([1]))
    assert m2[0].flatten().tolist() == [0.0, 1.0, 0.0, 0.0]  # then |2|, earlier deletions stay
    m3 = prune_largest_terms(dev, m2, torch.tensor([5]))  # more than remain: all go
    assert m3[0].sum() == 0
    # per-fit counts: fit 0 deletes 1, fit 1 deletes none
    two = [torch.cat([dev[0], dev[0]])]
    m = prune_largest_terms(two, [torch.ones_like(two[0])], torch.tensor([1, 0]))
    assert m[0][0].sum() == 3 and m[0][1].sum() == 4


def test_adaptive_rounds_select_by_validation(case1, arch):
    reps = replicates(case1, 300, 3)
    hp = HyperParams(lam=0.01, lam_star=0.004, theta=0.25)
    s0 = TrainSettings(batch_size=32, max_epochs=40, patience=10, compile=False)
    rs = TrainSettings(batch_size=32, max_epochs=15, patience=5, compile=False)
    batch = Batch(reps, [0, 1, 2], arch, torch.device("cpu"), torch.float64)
    soft = train_stage0(batch, ["soft"] * 3, [hp.lam] * 3, s0)
    out = train_rounds(batch, soft, ["adaptive"] * 3, hp, rs)
    total = 2 * 31
    per_round = terms_per_round(0.25, total)
    # round 0 is a candidate, so adaptive is never worse than soft on validation
    assert torch.all(out.best_val <= soft.best_val)
    np.testing.assert_allclose(out.round_val[:, 0], soft.best_val.numpy())
    np.testing.assert_allclose(out.best_val.numpy(), np.nanmin(out.round_val, axis=1))
    assert out.round_val.shape == (3, 5)
    for b in range(3):
        t = int(out.t_star[b])
        assert abs(float(out.theta_star[b]) - 0.25 * t) < 1e-12  # theta* is a multiple of theta
        if t > 0:  # t rounds each deleted per_round terms, until none were left
            deleted = min(t * per_round, total)
            assert abs(float(out.active_fraction[b]) - (1 - deleted / total)) < 1e-12
            assert float(out.effective_lambda[b]) == 0.004
        else:
            assert float(out.effective_lambda[b]) == 0.01


def test_proportional_schedule_scales_lambda_star(case1, arch):
    reps = replicates(case1, 300, 2)
    hp = HyperParams(lam=0.01, lam_star=0.004, theta=0.5, schedule="proportional")
    rows = fit_methods(
        reps,
        ["adaptive"],
        hp,
        TrainSettings(batch_size=64, max_epochs=10, patience=10, compile=False),
        TrainSettings(batch_size=64, max_epochs=5, patience=5, compile=False),
        dtype="float32",
        schedule=hp.schedule,
    )
    assert len(rows) == 2 and set(rows["method"]) == {"adaptive"}
    for r in rows.to_dict("records"):
        if r["t_star"] > 0:
            assert abs(r["effective_lambda"] - 0.004 * r["active_fraction"]) < 1e-9


def test_reported_theta_star_is_exact_in_float32(case1, arch):
    reps = replicates(case1, 300, 2)
    batch = Batch(reps, [0, 1], arch, torch.device("cpu"), torch.float32)
    hp = HyperParams(lam=0.01, lam_star=0.004, theta=0.07)
    soft = train_stage0(
        batch,
        ["soft"] * 2,
        [hp.lam] * 2,
        TrainSettings(batch_size=64, max_epochs=3, patience=3, compile=False),
    )
    out = train_rounds(
        batch,
        soft,
        ["adaptive"] * 2,
        hp,
        TrainSettings(batch_size=64, max_epochs=1, patience=1, compile=False),
    )
    assert out.theta_star.dtype == torch.float64
    for t, theta_star in zip(out.t_star.tolist(), out.theta_star.tolist(), strict=True):
        assert theta_star == t * 0.07


def adaptive_and_matched(case1, lam_star: float):
    """Rows of adaptive and soft_extended, 3 replicates, theta 0.25, split by method."""
    rows = fit_methods(
        replicates(case1, 300, 3),
        ["adaptive", "soft_extended"],
        HyperParams(lam=0.01, lam_star=lam_star, theta=0.25),
        TrainSettings(batch_size=32, max_epochs=30, patience=5, compile=False),
        TrainSettings(batch_size=32, max_epochs=12, patience=3, compile=False),
    )
    return tuple(rows[rows["method"] == m].set_index("replicate") for m in rows["method"].unique())


def test_soft_extended_trains_exactly_its_twins_rounds_and_epochs(case1):
    """The matched-budget control: per fit, as many rounds as its adaptive twin, each of the
    twin's length, so the same epochs in all; nothing is pruned and lambda stays."""
    ad, ext = adaptive_and_matched(case1, lam_star=0.004)
    assert len(ad) == len(ext) == 3
    assert (ad["epochs"] == ext["epochs"]).all()
    assert (ext["active_fraction"] == 1.0).all() and (ad["active_fraction"] < 1.0).any()
    assert (ext.loc[ext["t_star"] > 0, "effective_lambda"] == 0.01).all()
    assert not np.allclose(ad["test_mse"], ext["test_mse"])


def test_without_pruning_adaptive_equals_soft_extended(case1, monkeypatch):
    """With pruning switched off and lambda* = lambda, the adaptive rounds are the matched
    control itself: same rounds, epochs, t* and test loss, fit by fit."""
    monkeypatch.setattr(adaptive._Group, "prune", lambda self, params, taking_part: None)
    ad, ext = adaptive_and_matched(case1, lam_star=0.01)
    for col in ("epochs", "best_epoch", "t_star", "active_fraction"):
        assert (ad[col] == ext[col]).all(), col
    assert (ad["t_star"] > 0).any()  # the rounds were run and chosen
    assert (ad["test_mse"] == ext["test_mse"]).all()  # bit for bit
    assert (ad["val_best"] == ext["val_best"]).all()
