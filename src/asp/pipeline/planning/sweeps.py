"""The sweeps a configuration runs (asp.studies.declaration.Study: those whose block lists
values): each one's values, replicates, methods, metrics, data sets and N, and the main run's
fits it reuses at its neutral value."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from asp.pipeline.planning.paths import DATA, DATA_FILE
from asp.studies.declaration import Study
from asp.studies.registry import STUDIES


@dataclass(frozen=True)
class ActiveStudy:
    study: Study
    values: list[str]  # as in paths and wildcards
    replicates: int
    methods: list[str]
    metrics: list[str]
    # its data sets (the main run's simulation cases, or its own:
    # asp.studies.declaration.Study.datasets) and their simulation cases before a value
    # applies, and the N it trains at
    cases: dict[str, dict]
    n: int
    block: dict  # its config block, with the declared defaults

    @property
    def datasets(self) -> list[str]:
        return list(self.cases)

    @property
    def root(self) -> str:
        return f"results/{self.study.id}/{self.study.prefix}{{value}}"

    @property
    def data(self) -> str:
        """Its own simulated data, or the main run's."""
        return f"{self.root}/data/{DATA_FILE}" if self.study.case else DATA


def active_sweeps(config: dict, notes: list[str]) -> dict[str, ActiveStudy]:
    """The declared sweeps this config runs (those whose block lists values), before any
    reuse; what the run changes of a block (its replicates capped) goes to ``notes``."""
    cases = config["simulation"]["cases"]
    active = {}
    for study in STUDIES.values():
        values = study.values(config)
        if not values:
            continue
        if study.datasets is None and not cases:
            continue  # on the main run's cases, and there are none (no main run)
        block = study.block(config)
        replicates = block["replicates"]
        if study.datasets is None:
            own, n = cases, config["focus_size"]
            # the first of the evaluation replicates, paired with the main run's: at most all
            # of them (an overlay `replicates: 3` shrinks every study too)
            if replicates > config["replicates"]:
                replicates = config["replicates"]
                notes.append(
                    f"{study.config_key}: the run's {replicates} replicates, not the "
                    f"{block['replicates']} configured (a study's replicates are the first "
                    "evaluation replicates)"
                )
        else:
            own, n = study.datasets(config), int(block["n"])
        active[study.id] = ActiveStudy(
            study,
            values,
            replicates,
            list(block["methods"]),
            study.metrics(config),
            dict(own),
            n,
            block,
        )
    return active


def neutral_reuse(
    active: ActiveStudy, config: dict, main_methods: Callable[[str, int], tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """The main run's fits a sweep reuses at its neutral value (asp.studies.declaration.Study.
    neutral), value -> methods: those the main run trains at focus_size in every case
    (``main_methods`` of a case and N), when the study's metrics are among the main run's.
    Its table reads those fits, its jobs train the rest."""
    study = active.study
    if study.neutral is None or study.datasets is not None:
        return {}
    if not set(active.metrics) <= set(config["metrics"]):
        return {}
    cases, focus = config["simulation"]["cases"], config["focus_size"]
    main = set.intersection(*(set(main_methods(d, focus)) for d in cases))
    neutral = [v for v in active.values if study.neutral(config, study.cast(v))]
    reused = tuple(m for m in active.methods if m in main)
    if not neutral or not reused:
        return {}
    # a study's neutral value is the main run's own setting: one value at most
    return {neutral[0]: reused}


def own_data(sweeps: dict[str, ActiveStudy]) -> list[ActiveStudy]:
    """The sweeps that simulate data of their own (a simulate and a floor rule each)."""
    return [a for a in sweeps.values() if a.study.case is not None]
