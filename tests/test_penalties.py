import torch
from torch.testing import assert_close

from asp.engine.penalties import get_penalty


def weights_2x2():
    # one fit, K=2 tasks, a 1x2 weight matrix: task 0 = [1, 3], task 1 = [3, 7]
    return [torch.tensor([[[[1.0, 3.0]], [[3.0, 7.0]]]], dtype=torch.float64)]


def full(penalty, ws):
    return [torch.ones_like(penalty.deviations(w)) for w in ws]


def test_hand_computed_values():
    ws = weights_2x2()
    # mean = [2, 5]; deviations: task 0 [-1, -2], task 1 [1, 2]
    for name, expected in [
        ("mean_squared", 10.0),
        ("mean_absolute", 6.0),
        ("pairwise_squared", 20.0),
    ]:
        p = get_penalty(name)
        assert_close(p.value(ws, full(p, ws)), torch.tensor([expected], dtype=torch.float64))


def test_mask_removes_exactly_its_terms():
    ws = weights_2x2()
    p = get_penalty("mean_squared")
    masks = full(p, ws)
    masks[0][0, 0, 0, 1] = 0  # task 0, position 1: deviation -2, term 4
    assert_close(p.value(ws, masks), torch.tensor([6.0], dtype=torch.float64))
    assert p.n_terms(2) == 2 and get_penalty("pairwise_squared").n_terms(3) == 3


def test_pairwise_equals_k_times_mean_squared():
    gen = torch.Generator().manual_seed(0)
    for k in (2, 3, 5):
        ws = [torch.randn(4, k, 3, 2, generator=gen, dtype=torch.float64) for _ in range(2)]
        pair, mean = get_penalty("pairwise_squared"), get_penalty("mean_squared")
        assert_close(pair.value(ws, full(pair, ws)), k * mean.value(ws, full(mean, ws)))


def test_deviations_from_mean_sum_to_zero():
    # the literal eq. 2.3 (sum of deviations, then squared) is identically 0 (docs/method.md §1)
    w = torch.randn(3, 4, 5, 2, dtype=torch.float64)
    assert_close(
        get_penalty("mean_squared").deviations(w).sum(1), torch.zeros(3, 5, 2, dtype=torch.float64)
    )
