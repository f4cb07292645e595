"""Where each reading of the paper is written down: the sections of ``docs/method.md``.

The paper leaves several things open (the penalty, the rounds, theta*, lambda*, the metrics, the
data model, ...); ``docs/method.md`` states how this pipeline reads each of them, one numbered
section per reading. The report links every reading it relies on to its section, so that a
reader can check the reading behind a number. Those links come from here, and
``tests/test_readings.py`` keeps this table and the document's headings in step.
"""

from __future__ import annotations

METHOD_DOC = "docs/method.md"

# key -> (section title, GitHub anchor of its heading "## N. Title")
READINGS: dict[str, tuple[str, str]] = {
    "penalty": ("Penalty", "1-penalty"),
    "rounds": ("Adaptive rounds", "2-adaptive-rounds"),
    "theta": ("Pruning and theta star", "3-pruning-and-theta-star"),
    "lambda_star": ("Lambda star and its schedule", "4-lambda-star-and-its-schedule"),
    "metrics": ("Metrics", "5-metrics"),
    "data_model": ("Simulation data model", "6-simulation-data-model"),
    "splits": ("Splits, scaling and seeds", "7-splits-scaling-and-seeds"),
    "training": ("Network and training", "8-network-and-training"),
    "penalty_forms": ("Penalty forms of Table 7", "9-penalty-forms-of-table-7"),
    "case_studies": ("Case studies", "10-case-studies"),
    "control": ("Matched-budget control", "11-matched-budget-control"),
    "statistics": ("Statistics", "12-statistics"),
    "hyperparameters": ("Hyper-parameters", "13-hyper-parameters"),
    "outputs": ("Tables and figures", "14-tables-and-figures"),
    "studies": ("Studies beyond the paper", "15-studies-beyond-the-paper"),
    "floor": ("The floor of the simulated data", "16-the-floor-of-the-simulated-data"),
    "cll_figure8": ("The CLL paper's Figure 8", "17-the-cll-papers-figure-8"),
    "cll_table2": (
        "The CLL paper's Bayesian optimisation (Table 2)",
        "18-the-cll-papers-bayesian-optimisation-table-2",
    ),
    "cll_table1": (
        "The CLL paper's overlaid images (Table 1)",
        "19-the-cll-papers-overlaid-images-table-1",
    ),
}


def method_link(key: str) -> str:
    """The relative URL of a reading's section, e.g. ``docs/method.md#1-penalty``."""
    try:
        _, anchor = READINGS[key]
    except KeyError:
        raise ValueError(f"unknown reading {key!r}; known: {sorted(READINGS)}") from None
    return f"{METHOD_DOC}#{anchor}"
