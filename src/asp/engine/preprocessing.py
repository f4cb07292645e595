"""Train / validation / test split and min-max scaling fitted on the training part."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_sizes(
    n: int, test_fraction: float = 0.3, val_fraction: float = 0.3
) -> tuple[int, int, int]:
    """(train, val, test) sizes: test_fraction of n is test, val_fraction of the rest is val."""
    n_trainval = int(round(n * (1.0 - test_fraction)))
    n_val = int(round(n_trainval * val_fraction))
    sizes = (n_trainval - n_val, n_val, n - n_trainval)
    if min(sizes) < 1:
        raise ValueError(f"N={n} is too small for a {sizes} train/val/test split")
    return sizes


def split_indices(
    n: int, rng: np.random.Generator, test_fraction: float = 0.3, val_fraction: float = 0.3
) -> Split:
    n_train, n_val, _ = split_sizes(n, test_fraction, val_fraction)
    order = rng.permutation(n)
    return Split(order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :])


@dataclass(frozen=True)
class MinMaxScaler:
    low: np.ndarray
    span: np.ndarray

    @classmethod
    def fit(cls, a: np.ndarray) -> MinMaxScaler:
        low, high = a.min(axis=0), a.max(axis=0)
        # A constant training column carries no information; keep it at 0 instead of dividing by 0.
        span = np.where(high > low, high - low, 1.0)
        return cls(low, span)

    def transform(self, a: np.ndarray) -> np.ndarray:
        return (a - self.low) / self.span

    def inverse_transform(self, a: np.ndarray) -> np.ndarray:
        """Scaled values back in the data's own units (predictions of a fit, for instance)."""
        return a * self.span + self.low


@dataclass(frozen=True)
class PreparedData:
    """Scaled arrays of one replicate, float64, and the scalers fitted on its training rows
    (to scale new inputs and to bring predictions back to the data's units)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_scaler: MinMaxScaler | None = field(default=None, compare=False)
    y_scaler: MinMaxScaler | None = field(default=None, compare=False)


def prepare(x: np.ndarray, y: np.ndarray, split: Split) -> PreparedData:
    """Apply the split and scale X and Y to [0, 1] with min and max of the training rows only."""
    sx = MinMaxScaler.fit(x[split.train])
    sy = MinMaxScaler.fit(y[split.train])
    return PreparedData(
        *(
            f.transform(a[idx])
            for idx in (split.train, split.val, split.test)
            for f, a in ((sx, x), (sy, y))
        ),
        x_scaler=sx,
        y_scaler=sy,
    )
