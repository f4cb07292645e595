"""asp.experiments.lenet_training: runs trained as one batch are the runs trained alone, and they
learn."""

import numpy as np
import pytest
import torch

from asp.data.overlay_images import SourceImages, build_overlay
from asp.experiments.lenet_training import ImageTraining, Sharing, train_runs


def patterned_source(name: str, n: int, seed: int) -> SourceImages:
    """Images whose class is a bright 6 x 6 block at one of ten places, with noise."""
    rng = np.random.default_rng(seed)

    def split(m: int):
        labels = np.arange(m) % 10
        img = rng.integers(0, 60, (m, 28, 28))
        for i, c in enumerate(labels):
            r, q = divmod(int(c), 5)
            img[i, 2 + 12 * r : 8 + 12 * r, 1 + 5 * q : 6 + 5 * q] = 255
        return img.astype(np.uint8), labels.astype(np.uint8)

    (a, b), (c, d) = split(n), split(n // 2)
    return SourceImages(name, a, b, c, d)


@pytest.fixture(scope="module")
def splits():
    sources = {"fashion": patterned_source("fashion", 60, 0)}
    sizes = {"train": 300, "val": 60, "test": 100}
    return build_overlay("multi_fashion", sources, sizes, 0.25, np.random.SeedSequence(1))


def seeds(*runs):
    return [np.random.SeedSequence(2024, spawn_key=(r,)) for r in runs]


def test_a_run_in_a_batch_is_the_run_alone(splits):
    settings = ImageTraining(epochs=2, batch_size=50, lr=1e-3, halve_every=1)
    both = train_runs("multi_lenet_cs_cll", seeds(0, 1), splits, settings, torch.float64)
    alone = train_runs("multi_lenet_cs_cll", seeds(1), splits, settings, torch.float64)
    np.testing.assert_allclose(both.val_accuracy[:, 1], alone.val_accuracy[:, 0], atol=1e-12)
    np.testing.assert_allclose(both.test_accuracy[1], alone.test_accuracy[0], atol=1e-12)
    assert both.best_epoch[1] == alone.best_epoch[0]
    assert not np.array_equal(both.val_accuracy[:, 0], both.val_accuracy[:, 1])


@pytest.mark.parametrize("model", ["single_lenet", "multi_lenet_cll"])
def test_the_runs_learn_both_tasks(splits, model):
    settings = ImageTraining(epochs=8, batch_size=20, lr=3e-3, halve_every=15)
    out = train_runs(model, seeds(0, 1), splits, settings)
    assert out.val_accuracy.shape == (8, 2, 2) and out.test_accuracy.shape == (2, 2)
    assert (out.test_accuracy > 0.6).all(), out.test_accuracy  # chance: 0.1
    best = out.val_accuracy.mean(2).argmax(0) + 1  # the first epoch of the best mean
    assert (out.best_epoch == best).all()


def test_sharing_joins_single_lenets_corresponding_weights():
    from asp.experiments.lenet import BatchedRuns, make_model
    from asp.experiments.lenet_training import task_weights

    runs = BatchedRuns([make_model("single_lenet", s) for s in (1, 2, 3)])
    ws = task_weights(runs.params)
    assert [tuple(w.shape) for w in ws] == [
        (3, 2, 6, 1, 5, 5),
        (3, 2, 16, 6, 5, 5),
        (3, 2, 120, 576),
        (3, 2, 84, 120),
        (3, 2, 10, 84),
    ]
    assert torch.equal(ws[0][1, 1], runs.params["trunks.1.conv1.weight"][1])
    with pytest.raises(ValueError, match="sharing joins single_lenet's two networks"):
        train_runs("multi_lenet", seeds(0), {}, ImageTraining(), sharing=Sharing(0.1))


def _spread(out) -> float:
    from asp.experiments.lenet_training import task_weights

    return float(sum((w[:, 0] - w[:, 1]).square().sum() for w in task_weights(out.params)))


def test_soft_sharing_pulls_the_two_networks_together(splits):
    settings = ImageTraining(epochs=2, batch_size=50)
    free = train_runs("single_lenet", seeds(0), splits, settings, torch.float64)
    zero = train_runs("single_lenet", seeds(0), splits, settings, torch.float64, sharing=Sharing(0))
    soft = train_runs("single_lenet", seeds(0), splits, settings, torch.float64, sharing=Sharing(1))
    np.testing.assert_array_equal(zero.val_accuracy, free.val_accuracy)
    assert _spread(soft) < 0.5 * _spread(free)


def test_adaptive_rounds_prune_and_keep_the_best_round(splits):
    settings = ImageTraining(epochs=2, batch_size=50)
    sharing = Sharing(1.0, lam_star=1.0, theta=0.5, round_epochs=1)
    both = train_runs("single_lenet", seeds(0, 1), splits, settings, torch.float64, "", sharing)
    alone = train_runs("single_lenet", seeds(1), splits, settings, torch.float64, "", sharing)
    assert both.val_accuracy.shape == (2 + 2 * 1, 2, 2)  # soft epochs, then two rounds of one
    np.testing.assert_allclose(both.val_accuracy[:, 1], alone.val_accuracy[:, 0], atol=1e-12)
    assert both.theta_star[1] == alone.theta_star[0]
    for b in range(2):
        mean = both.val_accuracy[:, b].mean(1)
        assert both.best_epoch[b] == mean.argmax() + 1  # the first epoch of the best
        assert both.theta_star[b] == {1: 0, 2: 0, 3: 0.5, 4: 1.0}[int(both.best_epoch[b])]


def test_the_rounds_give_the_soft_fit_they_start_from(splits):
    settings = ImageTraining(epochs=2, batch_size=50)
    adaptive = train_runs(
        "single_lenet",
        seeds(0, 1),
        splits,
        settings,
        torch.float64,
        sharing=Sharing(1.0, lam_star=1.0, theta=0.5, round_epochs=1),
    )
    soft = train_runs(
        "single_lenet", seeds(0, 1), splits, settings, torch.float64, sharing=Sharing(1.0)
    )
    assert soft.soft is None
    np.testing.assert_array_equal(adaptive.soft.test_accuracy, soft.test_accuracy)
    np.testing.assert_array_equal(adaptive.soft.best_epoch, soft.best_epoch)
    np.testing.assert_array_equal(adaptive.soft.val_accuracy, soft.val_accuracy)
    np.testing.assert_array_equal(adaptive.soft.theta_star, 0)
    # the rounds' curve continues the soft fit's
    np.testing.assert_array_equal(adaptive.val_accuracy[:2], soft.val_accuracy)
