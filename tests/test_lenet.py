"""asp.experiments.lenet: each model's batched runs compute what one module per run computes."""

import pytest
import torch

from asp.experiments.lenet import MODELS, BatchedRuns, make_model, task_losses

F64 = torch.float64
SEEDS = [11, 12, 13]


def data(n: int = 4):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(len(SEEDS), n, 1, 36, 36, generator=g, dtype=F64)
    y = torch.randint(0, 10, (len(SEEDS), n, 2), generator=g)
    return x, y


@pytest.mark.parametrize("name", sorted(MODELS))
def test_batched_forward_and_gradients_equal_one_module_per_run(name):
    x, y = data()
    runs = BatchedRuns([make_model(name, s, F64) for s in SEEDS])
    logits = runs.forward(x)
    assert logits.shape == (len(SEEDS), 4, 2, 10)
    loss = task_losses(logits, y).sum()  # runs are independent: d(sum)/d(run b) is run b's
    names = list(runs.params)
    grads = torch.autograd.grad(loss, [runs.params[k] for k in names])
    for b, seed in enumerate(SEEDS):
        model = make_model(name, seed, F64)
        out = model(x[b])
        ce = torch.nn.functional.cross_entropy(out.permute(0, 2, 1), y[b], reduction="none")
        ce.mean(0).sum().backward()  # Xu 2023: the tasks' losses summed
        torch.testing.assert_close(logits[b], out, rtol=1e-6, atol=1e-6)
        own = dict(model.named_parameters())
        assert set(own) == set(names)
        for k, g in zip(names, grads, strict=True):
            torch.testing.assert_close(g[b], own[k].grad, rtol=1e-6, atol=1e-6)


def test_a_runs_weights_come_from_its_seed_alone():
    a = make_model("multi_lenet_cs_cll", 5)
    torch.rand(100)  # draws in between change nothing
    b = make_model("multi_lenet_cs_cll", 5)
    c = make_model("multi_lenet_cs_cll", 6)
    for (k, p), q in zip(a.named_parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q), k
    assert not torch.equal(a.trunk.conv1.weight, c.trunk.conv1.weight)


@pytest.mark.parametrize("base, with_cll", [("multi_lenet", "multi_lenet_cll")])
def test_the_correlation_layer_starts_at_the_identity(base, with_cll):
    """At the start the model with the correlation layer computes the model without it (the
    same seed draws the same trunk and task layers)."""
    x, _ = data(3)
    a, b = make_model(base, 3, F64), make_model(with_cll, 3, F64)
    torch.testing.assert_close(a(x[0]), b(x[0]), rtol=0, atol=1e-12)
    assert torch.equal(b.cll.weight, torch.eye(20, dtype=F64))


def test_cross_stitch_units_start_near_the_identity_and_mix_the_tasks():
    m = make_model("multi_lenet_cs", 0, F64)
    unit = torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=F64)
    assert all(torch.equal(p, unit) for p in m.stitch)
    x, _ = data(2)
    with torch.no_grad():  # with identity units the tasks do not mix: MultiLeNet's logits
        plain = make_model("multi_lenet", 0, F64)
        for p in m.stitch:
            p.copy_(torch.eye(2, dtype=F64))
        torch.testing.assert_close(m(x[0]), plain(x[0]), rtol=0, atol=1e-12)


def test_unknown_model_and_mixed_batch_are_refused():
    with pytest.raises(ValueError, match="unknown LeNet model 'lenet'; known: single_lenet"):
        make_model("lenet", 0)
    with pytest.raises(ValueError, match="a batch holds runs of one model"):
        BatchedRuns([make_model("single_lenet", 0), make_model("multi_lenet", 0)])
