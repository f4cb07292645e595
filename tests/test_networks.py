"""The baseline families (hard sharing, cross-stitch, correlation layer): their hand-written
gradients against a per-fit nn.Module reference, their layouts, and cross-stitch at a fixed
identity against the per-task networks."""

import numpy as np
import pytest
import torch
from conftest import replicates
from torch.testing import assert_close

from asp.engine.networks import Architecture, get_network
from asp.engine.networks.cross_stitch import CrossStitch
from asp.engine.reference import CorrelationLayerNet, CrossStitchNet, HardSharingNet
from asp.engine.training import BatchSampler, FitData, TrainSettings, stage_seed, train

F64 = torch.float64
REFERENCE = {
    "hard_sharing": HardSharingNet,
    "cross_stitch": CrossStitchNet,
    "cll": lambda a, p, d: CorrelationLayerNet(a, p, d, leaky=False),
    "cll_leaky": lambda a, p, d: CorrelationLayerNet(a, p, d, leaky=True),
}


def random_fits(net, n_fits: int, seed: int) -> list[np.ndarray]:
    """Parameters of ``n_fits`` fits in list layout, away from any identity start."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.8, (n_fits, *p.shape)) for p in net.init_params(0)]


@pytest.mark.parametrize("family", list(REFERENCE))
@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("n_tasks", [2, 3])
def test_batched_gradient_equals_a_per_fit_module(family, output, n_tasks):
    arch = Architecture(5, (4, 3), n_tasks, output)
    net = get_network(family, arch)
    params = random_fits(net, 3, seed=n_tasks)
    flat = net.to_flat([torch.as_tensor(p) for p in params])
    assert flat.shape == (3, net.n_rows, net.n_params)
    back = net.to_list(flat)
    assert all(np.array_equal(a.numpy(), b) for a, b in zip(back, params, strict=True))
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 32, 5, generator=gen, dtype=F64) * 2 - 0.5
    y = torch.rand(3, 32, n_tasks, generator=gen, dtype=F64)
    row_weight = torch.cat([torch.full((29,), 1 / 29, dtype=F64), torch.zeros(3, dtype=F64)])
    grad = net.data_gradient(flat, x.transpose(1, 2), y.transpose(1, 2), row_weight)
    pred = net.predict([torch.as_tensor(p) for p in params], x)
    for b in range(3):
        module = REFERENCE[family](arch, [p[b] for p in params], F64)
        out = module(x[b])
        assert_close(pred[b], out.detach(), atol=1e-12, rtol=0)
        loss = ((out - y[b]).square().sum(1) * row_weight).sum()
        loss.backward()
        expected = net.to_flat([g[None] for g in module.layout(grad=True)])
        assert_close(grad[b : b + 1], expected, atol=1e-6, rtol=0)
        assert_close(grad[b : b + 1], expected, atol=1e-12, rtol=1e-10)  # float64: to rounding


def test_families_start_from_pytorch_initialisation_and_identity_units():
    arch = Architecture(4, (4, 3), 2)
    mlp = get_network("per_task_mlp", arch).init_params(11)
    stitch = get_network("cross_stitch", arch).init_params(11)
    cll = get_network("cll", arch).init_params(11)
    for a, b, c in zip(mlp, stitch[:6], cll[:6], strict=True):  # the task networks: same draws
        assert np.array_equal(a, b) and np.array_equal(a, c)
    np.testing.assert_allclose(stitch[-1], [[0.9, 0.1], [0.1, 0.9]])
    np.testing.assert_array_equal(cll[-2], np.eye(2))
    np.testing.assert_array_equal(cll[-1], np.zeros(2))
    hard = get_network("hard_sharing", arch).init_params(11)
    assert [p.shape for p in hard] == [(1, 4, 4), (1, 4), (1, 4, 3), (1, 3), (2, 3, 1), (2, 1)]
    assert np.abs(hard[0]).max() <= 0.5 and np.abs(hard[4]).max() <= 1 / np.sqrt(3)


@pytest.mark.parametrize("compile", [False, True])
def test_cross_stitch_with_fixed_identity_units_is_the_per_task_mlp(case1, compile):
    """Trained with the same data, start, mini-batches and settings, the fits are equal."""
    reps = replicates(case1, 300, 2)
    arch = Architecture(4, (4, 3), 2)
    data = FitData.stack([r.data for r in reps], [0, 1], dtype=F64)
    settings = TrainSettings(batch_size=32, max_epochs=25, patience=5, compile=compile)
    outcomes = []
    for net in (get_network("per_task_mlp", arch), CrossStitch(arch, 1.0, learn_units=False)):
        start = [
            torch.as_tensor(np.stack([net.init_params(100 + b)[i] for b in range(2)]), dtype=F64)
            for i in range(len(net.init_params(0)))
        ]
        sampler = BatchSampler([stage_seed(r.seeds["batches"], 0) for r in reps], 147)
        outcomes.append((net, train(start, data, net, [], settings, sampler)))
    (mlp, a), (stitch, b) = outcomes
    assert torch.equal(a.epochs, b.epochs) and torch.equal(a.best_val, b.best_val)
    for pa, pb in zip(a.params, b.params[:6], strict=True):
        assert torch.equal(pa, pb)
    assert torch.equal(b.params[-1], torch.eye(2, dtype=F64).expand(2, 2, 2))  # held fixed
    pred = mlp.predict(a.params, data.x_test)  # matmul there, the step's forward pass here
    assert_close(stitch.predict(b.params, data.x_test), pred, atol=1e-12, rtol=0)
    assert a.epochs.min() > 5  # it trained
