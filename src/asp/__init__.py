"""Adaptive soft parameter sharing (Wang, Jin, Du, Zhang 2024): the science, no I/O.

The estimators of ``asp.estimator`` are available here (``asp.AdaptiveSoftSharing`` and the
others); they load on first use, so that the modules without torch (tables, report) stay light.
"""

from __future__ import annotations

__version__ = "0.2.0"

ESTIMATORS = (
    "MultiTaskRegressor",
    "AdaptiveSoftSharing",
    "SoftSharing",
    "IndependentNets",
    "HardSharing",
    "CrossStitch",
    "CorrelationLayer",
)
__all__ = ["__version__", *ESTIMATORS]


def __getattr__(name: str):
    if name in ESTIMATORS:
        from asp import estimator

        return getattr(estimator, name)
    raise AttributeError(f"module 'asp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *ESTIMATORS])
