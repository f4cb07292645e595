"""The compared methods, each a registered entry (adding a method touches only this file).

Every method starts with stage 0: per-task networks trained with the mean-constrained penalty at
coefficient lambda (0 for ffn). Methods with a round penalty then run the adaptive rounds with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from asp.adaptive import SCHEDULES

STAGE0_PENALTY = "mean_squared"


@dataclass(frozen=True)
class Method:
    name: str
    soft_lambda: bool  # stage 0 uses lambda (soft sharing) rather than 0 (independent networks)
    round_penalty: str | None  # penalty of the adaptive rounds; None = no rounds
    description: str

    @property
    def adaptive(self) -> bool:
        return self.round_penalty is not None


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    METHODS[method.name] = method
    return method


register(Method("ffn", False, None, "K independent single-task networks (lambda = 0)"))
register(Method("soft", True, None, "soft sharing: squared deviation from the task mean"))
register(Method("adaptive", True, "mean_squared", "adaptive rounds, squared deviation from mean"))
register(Method("l2_only", True, "pairwise_squared", "adaptive rounds, pairwise squared (Duong)"))
register(
    Method("mean_only", True, "mean_absolute", "adaptive rounds, absolute deviation from mean")
)


def get_method(name: str) -> Method:
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}") from None


@dataclass(frozen=True)
class HyperParams:
    """lambda (soft / round 0), lambda* and theta (rounds), and how lambda* changes over rounds."""

    lam: float
    lam_star: float
    theta: float
    schedule: str = "constant"

    def __post_init__(self) -> None:
        if self.lam < 0 or self.lam_star < 0:
            raise ValueError(f"lambda and lambda* must be >= 0: {self}")
        if not 0 < self.theta <= 1:
            raise ValueError(f"theta must be in (0, 1]: {self}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}: {self}")
