"""The fused step: hand-written gradients against autograd, per-fit Adam against
torch.optim.Adam, and the compiled step against the eager one."""

import pytest
import torch
from conftest import replicates
from torch.testing import assert_close

from asp.engine.methods import HyperParams
from asp.engine.networks import Architecture, get_network
from asp.engine.penalties import get_penalty
from asp.engine.step import AdamConstants, adam_step, beta_power
from asp.engine.training import TrainSettings, flat_masks
from asp.experiments.replicates import Batch, train_rounds, train_stage0

F64 = torch.float64


def random_params(arch: Architecture, n_fits: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    start = get_network("per_task_mlp", arch).init_params(0)
    return [torch.randn(n_fits, *p.shape, generator=gen, dtype=F64) for p in start]


@pytest.mark.parametrize("output", ["linear", "sigmoid"])
@pytest.mark.parametrize("n_tasks", [2, 3])
@pytest.mark.parametrize("penalty", ["mean_squared", "mean_absolute", "pairwise_squared"])
def test_hand_written_gradient_equals_autograd(output, n_tasks, penalty):
    arch = Architecture(5, (4, 3), n_tasks, output)
    net = get_network("per_task_mlp", arch)
    params = random_params(arch, 4, seed=n_tasks)
    back = net.to_list(net.to_flat(params))
    assert all(torch.equal(a, b) for a, b in zip(back, params, strict=True))
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(4, 32, 5, generator=gen, dtype=F64)
    y = torch.rand(4, 32, n_tasks, generator=gen, dtype=F64)
    row_weight = torch.cat([torch.full((29,), 1 / 29, dtype=F64), torch.zeros(3, dtype=F64)])
    pen = get_penalty(penalty)
    masks = [
        (torch.rand(pen.deviations(w).shape, generator=gen) > 0.3).to(F64)
        for w in net.weights(params)
    ]
    coef = torch.tensor([0.0, 0.3, 1.7, 0.02], dtype=F64)

    leaves = [p.clone().requires_grad_(True) for p in params]
    pred = net.predict(leaves, x)
    loss = ((pred - y).square() * row_weight.view(1, -1, 1)).sum((1, 2))
    loss = loss + coef * pen.value(net.weights(leaves), masks)
    expected = net.to_flat(list(torch.autograd.grad(loss.sum(), leaves)))

    theta = net.to_flat(params)
    grad = net.data_gradient(theta, x.transpose(1, 2), y.transpose(1, 2), row_weight)
    n_w = net.n_weights
    grad[..., :n_w] += coef.view(-1, 1, 1) * pen.gradient(theta[..., :n_w], flat_masks(masks))
    assert_close(grad, expected, atol=1e-12, rtol=1e-12)


def test_adam_with_per_fit_clocks_equals_torch_adam():
    """Fit 0 steps every time, fit 1 only every other step: each matches its own torch Adam."""
    c = AdamConstants(1e-3, 0.99, 0.9999, 1e-8)
    gen = torch.Generator().manual_seed(3)
    theta = torch.randn(2, 2, 7, generator=gen, dtype=F64)
    refs = [theta[b].clone().requires_grad_(True) for b in range(2)]
    opts = [torch.optim.Adam([r], lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps) for r in refs]
    m, v, t = torch.zeros_like(theta), torch.zeros_like(theta), torch.zeros(2, dtype=F64)
    for step in range(12):
        grad = torch.randn(2, 2, 7, generator=gen, dtype=F64)
        active = torch.tensor([True, step % 2 == 0])
        theta, m, v, t = adam_step(theta, m, v, t, grad, active, c)
        for b in range(2):
            if active[b]:
                refs[b].grad = grad[b].clone()
                opts[b].step()
    assert t.tolist() == [12, 6]
    for b in range(2):
        assert_close(theta[b], refs[b].detach(), atol=1e-14, rtol=0)


def test_learning_rate_halves_after_the_stated_steps_of_each_fit():
    """Milestones 3 and 7: fit 0 steps every time, fit 1 every other step; each matches torch
    Adam with MultiStepLR stepped after each of its own steps, so the rate halves after a fit's
    3rd and 7th steps, whatever the other fit's count; without milestones the rate stays."""
    c = AdamConstants(1e-2, 0.9, 0.999, 1e-8, milestones=(3, 7), gamma=0.5)
    gen = torch.Generator().manual_seed(4)
    theta = torch.randn(2, 2, 5, generator=gen, dtype=F64)
    plain = theta.clone()
    refs = [theta[b].clone().requires_grad_(True) for b in range(2)]
    opts = [torch.optim.Adam([r], lr=c.lr, betas=(c.beta1, c.beta2), eps=c.eps) for r in refs]
    lrs = [torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7], gamma=0.5) for o in opts]
    m, v, t = torch.zeros_like(theta), torch.zeros_like(theta), torch.zeros(2, dtype=F64)
    pm, pv, pt = m.clone(), v.clone(), t.clone()
    rates: list[list[float]] = [[], []]
    for step in range(20):
        grad = torch.randn(2, 2, 5, generator=gen, dtype=F64)
        active = torch.tensor([True, step % 2 == 0])
        theta, m, v, t = adam_step(theta, m, v, t, grad, active, c)
        plain, pm, pv, pt = adam_step(
            plain, pm, pv, pt, grad, active, AdamConstants(c.lr, c.beta1, c.beta2, c.eps)
        )
        for b in range(2):
            if active[b]:
                rates[b].append(opts[b].param_groups[0]["lr"])
                refs[b].grad = grad[b].clone()
                opts[b].step()
                lrs[b].step()
        for b in range(2):
            assert_close(theta[b], refs[b].detach(), atol=1e-15, rtol=0)
        if step < 3:  # before the first milestone: the same as a constant rate
            assert torch.equal(theta, plain)
    assert rates[0] == [1e-2] * 3 + [5e-3] * 4 + [2.5e-3] * 13
    assert rates[1] == [1e-2] * 3 + [5e-3] * 4 + [2.5e-3] * 3
    assert not torch.equal(theta, plain)


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_bias_correction_powers_are_exact_wherever_a_fit_sits(dtype):
    """beta**t as Python computes it (torch.optim.Adam's bias correction) below 1024 steps,
    to rounding beyond, and bit for bit the same for a count at any place in a batch of any
    size (torch.pow rounds a SIMD vector's lanes and the scalar remainder apart)."""
    counts = torch.arange(1, 3000, dtype=dtype)
    for beta in (0.9, 0.99, 0.9999):
        got = beta_power(beta, counts)
        expected = torch.tensor([beta ** int(k) for k in counts], dtype=F64)
        assert torch.equal(got[:1023], expected[:1023].to(dtype))
        tol = {"atol": 0, "rtol": 1e-13} if dtype == F64 else {"atol": 1e-37, "rtol": 1e-6}
        assert_close(got.double(), expected, **tol)
        for n in (1, 5, 8, 13, 16, 31, 100):
            part = counts[torch.arange(n) * 29 % len(counts)]
            assert torch.equal(beta_power(beta, part), got[(part - 1).long()])
    assert beta_power(0.99, torch.tensor([2.0**25], dtype=F64)).item() == 0.0  # underflows


def test_compiled_step_equals_eager(case1, arch):
    """torch.compile fuses the same arithmetic: stage 0 and rounds agree to rounding (float64)."""
    reps = replicates(case1, 200, 2)
    hp = HyperParams(lam=0.02, lam_star=0.01, theta=0.5)
    outs = []
    for compiled in (False, True):
        s0 = TrainSettings(batch_size=16, max_epochs=12, patience=4, compile=compiled)
        rs = TrainSettings(batch_size=16, max_epochs=6, patience=2, compile=compiled)
        batch = Batch(reps, [0, 1], arch, torch.device("cpu"), F64)
        soft = train_stage0(batch, ["soft"] * 2, [hp.lam] * 2, s0)
        outs.append((soft, train_rounds(batch, soft, ["adaptive"] * 2, hp, rs)))
    (soft_e, ad_e), (soft_c, ad_c) = outs
    assert torch.equal(soft_e.epochs, soft_c.epochs) and torch.equal(ad_e.t_star, ad_c.t_star)
    assert torch.equal(ad_e.epochs, ad_c.epochs)
    for p, q in zip(ad_e.params + soft_e.params, ad_c.params + soft_c.params, strict=True):
        assert_close(p, q, atol=1e-10, rtol=0)


KERNEL_USER = """
import torch
from asp.engine.networks import Architecture, get_network
from asp.engine.penalties import get_penalty
from asp.engine.training import TrainSettings, stepper

net = get_network("per_task_mlp", Architecture(4, (4, 3), 2, "linear"))
gen = torch.Generator().manual_seed(0)
theta = torch.rand(3, 2, net.n_params, generator=gen)
chunks, weight = torch.rand(1, 3, 6, 8, generator=gen), torch.full((1, 8), 1 / 16)
settings = TrainSettings(batch_size=8, max_epochs=1, patience=1, compile=True)
fused = stepper(net, (get_penalty("mean_squared"),), settings)
print(fused.validate(theta, chunks, weight)[0].tolist())
"""


def test_a_kernel_cut_short_by_a_killed_build_is_built_again(tmp_path):
    """A process killed while Inductor built a kernel leaves a truncated shared object in the
    cache, which Inductor would load and fail on in every later process: it is removed and
    built again, with the same numbers."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    env = {
        **os.environ,
        "TORCHINDUCTOR_CACHE_DIR": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }

    def run() -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-c", KERNEL_USER]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)

    first = run()
    kernels = list(tmp_path.rglob("*.main.so"))  # the kernels (not Inductor's CPU probes)
    assert kernels
    for p in kernels:  # what a build killed halfway leaves
        p.write_bytes(p.read_bytes()[:100])
    again = run()
    assert again.stdout == first.stdout
    assert "an incomplete compiled kernel (its build was killed); building it again" in again.stderr
