"""The plan of one configuration (``Plan``, asp.pipeline.planning.plan) in parts: the data, the
sweeps, the results, the training, the tune stage and the report."""

from asp.pipeline.planning.paths import SIMULATE_PRIORITY, PlanError, TrainingRule
from asp.pipeline.planning.plan import Plan

__all__ = ["SIMULATE_PRIORITY", "Plan", "PlanError", "TrainingRule"]
