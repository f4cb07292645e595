"""Summaries over replicates and paired tests between methods (SciPy)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-interval; NaN (diverged fits) are left out."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    m = float(v.mean())
    if v.size < 2:
        return (m, np.nan, np.nan)
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * stats.sem(v))
    return (m, m - half, m + half)


def hodges_lehmann(d: np.ndarray) -> float:
    """The median of the Walsh averages (d_i + d_j) / 2, i <= j: the location shift that the
    signed-rank test tests."""
    i, j = np.triu_indices(d.size)
    return float(np.median((d[i] + d[j]) / 2)) if d.size else np.nan


def paired_comparison(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """a - b over replicates where both are finite: mean difference, 95 % CI, Wilcoxon p-value
    (two-sided signed-rank), the Hodges-Lehmann shift, the share of replicates where a < b, and
    the mean of b over the same replicates (what a relative effect is relative to)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    mean, lo, hi = mean_ci(d)
    p = np.nan
    if d.size >= 2 and np.any(d != 0):
        p = float(stats.wilcoxon(d).pvalue)
    return {
        "pairs": int(d.size),
        "mean_diff": mean,
        "diff_ci_low": lo,
        "diff_ci_high": hi,
        "wilcoxon_p": p,
        "hl_diff": hodges_lehmann(d),
        "share_a_lower": float(np.mean(d < 0)) if d.size else np.nan,
        "mean_b": float(b[ok].mean()) if d.size else np.nan,
    }


def ordering_verdict(test: dict[str, float]) -> str:
    """Verdict on the claim "a < b" from a paired comparison of a - b. The direction is the
    signed-rank test's own (the sign of the Hodges-Lehmann shift), not the mean's: a few
    replicates far off can pull the mean against what most replicates show."""
    p, shift = test["wilcoxon_p"], test["hl_diff"]
    if not np.isfinite(p):
        return "untestable"
    if p < ALPHA and shift != 0:
        return "supported" if shift < 0 else "contradicted"
    return "not significant"


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control across the cells of one
    claim); NaN entries (untestable cells) are left out of the family and stay NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def holm_verdicts(tests: list[dict[str, float]]) -> list[str]:
    """Verdicts on the claim "a < b" in each of its cells, at family-wise level ALPHA."""
    adjusted = holm(np.array([t["wilcoxon_p"] for t in tests]))
    return [ordering_verdict({**t, "wilcoxon_p": p}) for t, p in zip(tests, adjusted, strict=True)]


def sample_sd(values: np.ndarray | pd.Series) -> float:
    """The sample standard deviation (n - 1), NaN for fewer than two values."""
    v = np.asarray(values, dtype=float)
    return float(np.std(v, ddof=1)) if v.size > 1 else np.nan


def paired_claims(
    wide: pd.DataFrame,
    keys: list[str],
    claims: list[tuple[str, str, str]],
    relation: str = "<",
    loss: Callable[[np.ndarray], np.ndarray] = lambda v: v,
) -> pd.DataFrame:
    """Each claim (a, b, source) "a <relation> b" in every cell of ``keys``: the paired
    comparison of ``loss`` of a's and b's values over the pairs of ``wide`` (index: keys and
    the pairing, e.g. run; a column per method; the claim says a's loss is the lower), the
    Wilcoxon test and the verdict after Holm across the claim's cells (``holm_verdict``, also
    ``verdict``). Claims naming a method ``wide`` lacks are left out."""
    out = []
    for a, b, source in claims:
        if a not in wide or b not in wide:
            continue
        part = []
        for key, g in wide[[a, b]].groupby(level=keys):
            test = paired_comparison(loss(g[a].to_numpy()), loss(g[b].to_numpy()))
            cell = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
            part.append({**cell, "claim": f"{a} {relation} {b}", **test})
        frame = pd.DataFrame(part)
        frame["source"] = source
        frame["p_holm"] = holm(frame["wilcoxon_p"].to_numpy())
        frame["holm_verdict"] = holm_verdicts(frame.to_dict("records"))
        frame["verdict"] = frame["holm_verdict"]
        out.append(frame)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def claim_verdict(supported: int, testable: int, contradicted: int | None = None) -> str:
    """reproduced: every testable cell supports the claim; not reproduced: none does (and, for
    a paired claim, some cell contradicts it); inconclusive: no cell is significant either way
    (too few replicates, say); partly otherwise."""
    if testable == 0:
        return "untested"
    if supported == testable:
        return "reproduced"
    if supported == 0 and contradicted == 0:
        return "inconclusive"
    return "not reproduced" if supported == 0 else "partly"
