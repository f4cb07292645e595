"""The CLL paper's synthetic tasks (eq. 2-3) and its RBF networks: the generator's correlation,
the k-means starts, and each RBF family's hand-written gradient against a per-fit nn.Module
through autograd."""

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from asp.data.correlated_tasks import CorrelatedTasks, label_correlation
from asp.engine.networks import Architecture, get_network
from asp.engine.networks.rbf import initial_width, kmeans_centres
from asp.engine.reference import CorrelationLayerNet, RBFNetworks

F64 = torch.float64
TASKS = CorrelatedTasks(
    n_inputs=6, scale=1.0, alphas=(0.5, 1.0, 1.5), betas=(0.0, 1.0, 4.0), noise_sd=0.1
)


def test_label_correlation_rises_with_p_and_p_one_gives_equal_weights():
    corr = {}
    for p in (0.0, 0.5, 0.9, 1.0):
        x, y, w = TASKS.sample(p, 20_000, np.random.default_rng(3))
        corr[p] = label_correlation(y)
        cosine = w[0] @ w[1] / (np.linalg.norm(w[0]) * np.linalg.norm(w[1]))
        assert cosine == pytest.approx(p, abs=1e-12)  # MMoE's construction: cos(w1, w2) = p
        assert np.linalg.norm(w, axis=1) == pytest.approx([1.0, 1.0], abs=1e-12)
    assert corr[0.0] < corr[0.5] < corr[0.9] < corr[1.0]
    assert abs(corr[0.0]) < 0.05 and corr[1.0] > 0.99  # at p = 1 only the noise differs
    _, _, w = TASKS.sample(1.0, 10, np.random.default_rng(0))
    assert np.array_equal(w[0], w[1])
    xu = CorrelatedTasks(6, 1.0, (0.5,), (0.0,), form="xu")
    _, _, w = xu.sample(1.0, 10, np.random.default_rng(0))
    assert np.array_equal(w[0], w[1])
    # the printed sqrt((1 - p)^2): at p = 0.5, w2 = (u1 + u2) / 2, at 45 degrees from w1
    _, _, w = xu.sample(0.5, 10, np.random.default_rng(0))
    cosine = w[0] @ w[1] / (np.linalg.norm(w[0]) * np.linalg.norm(w[1]))
    assert cosine == pytest.approx(np.sqrt(0.5), abs=1e-12)


def test_labels_follow_eq_2():
    x, y, w = CorrelatedTasks(6, 2.0, (0.5, 1.0), (0.0, 1.0), noise_sd=0.0).sample(
        0.9, 50, np.random.default_rng(5)
    )
    z = x @ w.T
    assert_close(y, z + np.sin(0.5 * z) + np.sin(z + 1.0), atol=1e-12, rtol=0)


def test_bad_generator_settings_are_refused():
    with pytest.raises(ValueError, match="form"):
        CorrelatedTasks(6, 1.0, (1.0,), (0.0,), form="other")
    with pytest.raises(ValueError, match="same length"):
        CorrelatedTasks(6, 1.0, (1.0, 2.0), (0.0,))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        TASKS.sample(1.5, 10, np.random.default_rng(0))


def test_kmeans_centres_are_deterministic_for_a_seed():
    x = np.random.default_rng(0).normal(size=(400, 3))
    a, b = kmeans_centres(x, 20, seed=7, n_init=4), kmeans_centres(x, 20, seed=7, n_init=4)
    assert a.shape == (20, 3) and np.array_equal(a, b)
    assert not np.array_equal(a, kmeans_centres(x, 20, seed=8, n_init=1))
    # every centre is the mean of its cluster's rows
    nearest = ((x[:, None] - a[None]) ** 2).sum(-1).argmin(1)
    assert_close(a, np.stack([x[nearest == j].mean(0) for j in range(20)]), atol=1e-8, rtol=0)
    d = np.sqrt(((a[:, None] - a[None]) ** 2).sum(-1)).max()
    assert initial_width(a) == pytest.approx(d / np.sqrt(40))
    with pytest.raises(ValueError, match="at least as many"):
        kmeans_centres(x[:5], 20, seed=7)


def test_every_task_network_starts_from_the_same_kmeans_centres():
    x = np.random.default_rng(1).normal(size=(200, 3))
    arch = Architecture(3, (10,), 2)
    a, c, s, b = get_network("per_task_rbf", arch).init_params(5, x)
    assert np.array_equal(c[0], c[1]) and np.array_equal(c[0], kmeans_centres(x, 10, 5))
    assert np.array_equal(a, np.zeros((2, 10, 1))) and np.array_equal(b, np.zeros((2, 1)))
    assert np.allclose(np.exp(s), initial_width(c[0]))
    shared = get_network("shared_rbf", arch).init_params(5, x)
    assert np.array_equal(shared[2][0], c[0])
    cll = get_network("rbf_cll", arch).init_params(5, x)
    assert np.array_equal(cll[1], c) and np.array_equal(cll[-2], np.eye(2))
    with pytest.raises(ValueError, match="training inputs"):
        get_network("per_task_rbf", arch).init_params(5)


def reference(family: str, arch: Architecture, params: list[np.ndarray]):
    if family in ("per_task_rbf", "shared_rbf"):
        return RBFNetworks(arch, params, F64, shared=family == "shared_rbf")
    depth = 2 if family == "rbf_cll2_leaky" else 1
    tasks = RBFNetworks(arch, params[: -2 * depth], F64)
    leaky = family.endswith("leaky")
    return CorrelationLayerNet(arch, params, F64, leaky=leaky, tasks=tasks, depth=depth)


@pytest.mark.parametrize(
    "family", ["per_task_rbf", "shared_rbf", "rbf_cll", "rbf_cll_leaky", "rbf_cll2_leaky"]
)
@pytest.mark.parametrize("n_tasks", [2, 3])
def test_batched_gradient_equals_a_per_fit_module(family, n_tasks):
    """float64: predictions and the gradient of the weighted squared error of every fit of a
    batch equal those of one nn.Module per fit through autograd."""
    n_in, n_centres, n_fits = 3, 7, 3
    arch = Architecture(n_in, (n_centres,), n_tasks)
    net = get_network(family, arch)
    rng = np.random.default_rng(n_tasks)
    start = net.init_params(0, rng.normal(size=(50, n_in)))
    # away from the start: random output weights, centres, widths, and layer
    params = [rng.normal(0, 0.8, (n_fits, *p.shape)) + p for p in start]
    width = 3 if family == "shared_rbf" else 2  # the log widths: keep sigma near 1
    params[width] = rng.normal(0, 0.3, params[width].shape)
    flat = net.to_flat([torch.as_tensor(p) for p in params])
    assert flat.shape == (n_fits, net.n_rows, net.n_params)
    back = net.to_list(flat)
    assert all(np.array_equal(a.numpy(), b) for a, b in zip(back, params, strict=True))
    x = torch.as_tensor(rng.normal(size=(n_fits, 32, n_in)))
    y = torch.as_tensor(rng.normal(size=(n_fits, 32, n_tasks)))
    row_weight = torch.cat([torch.full((29,), 1 / 29, dtype=F64), torch.zeros(3, dtype=F64)])
    grad = net.data_gradient(flat, x.transpose(1, 2), y.transpose(1, 2), row_weight)
    pred = net.predict([torch.as_tensor(p) for p in params], x)
    for b in range(n_fits):
        module = reference(family, arch, [p[b] for p in params])
        out = module(x[b])
        assert_close(pred[b], out.detach(), atol=1e-12, rtol=0)
        loss = ((out - y[b]).square().sum(1) * row_weight).sum()
        loss.backward()
        expected = net.to_flat([g[None] for g in module.layout(grad=True)])
        assert expected.abs().max() > 1e-3  # the check is not of zeros
        assert_close(grad[b : b + 1], expected, atol=1e-12, rtol=1e-10)
