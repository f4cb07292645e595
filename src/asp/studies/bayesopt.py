"""The CLL paper's multi-task Bayesian optimisation (Xu 2023 §3.3, its Table 2), declared: one
job per surrogate runs every run at every p of each test-function pair (asp.studies.bayesopt_steps),
then Table 2 with its paired claims and the best-so-far curves, and the figure; and its report
section."""

from __future__ import annotations

from collections.abc import Callable

from asp.analysis.bayesopt_results import LABELS, findings, table2_layout
from asp.analysis.effects import Glance
from asp.studies.declaration import BlockError, Study, StudySteps, register
from asp.studies.steps import Step

STEPS = "asp.studies.bayesopt_steps"
ROOT = "results/bayesopt"
TABLE = "results/tables/bayesopt"
PAPER = "data/paper/cll_paper_tables.csv"
CURVES = f"{ROOT}/curves.csv"


def run_files(pairs: list[str], surrogate: str) -> list[str]:
    """One surrogate's optimisation files, one per pair (all runs and p), in the order of the
    pairs: what one job writes."""
    return [f"{ROOT}/{pair}/{surrogate}.parquet" for pair in pairs]


def steps(config: dict, exists: Callable[[str], bool] | None) -> StudySteps | None:
    """A job per surrogate (every pair in turn: the pairs share its start-up and compiled
    steps), then Table 2, its claims and curves, and the figure; off without pairs."""
    block = dict(config.get("bayesopt") or {})
    pairs = list(block.get("pairs", []))
    if not pairs:
        return None
    surrogates = list(block["surrogates"])
    runs = [f for s in surrogates for f in run_files(pairs, s)]
    params = {
        "block": block,
        "pairs": pairs,
        "base_seed": config["base_seed"],
        "compile": config["training"]["compile"],
    }
    return StudySteps(
        (
            Step(
                "bayesopt",
                "bayesopt_run",
                f"{STEPS}:optimise_pairs",
                {"runs": run_files(pairs, "{surrogate}")},
                params=params,
                constraints={"surrogate": "|".join(surrogates)},
                threads=True,
            ),
            Step(
                "bayesopt",
                "bayesopt",
                f"{STEPS}:table",
                {"table": f"{TABLE}.csv", "claims": f"{TABLE}_claims.csv", "curves": CURVES},
                input={"runs": runs, "paper": PAPER},
                params={"surrogates": surrogates},
                report={"table": "Tables"},
            ),
            Step(
                "bayesopt",
                "fig_bayesopt",
                f"{STEPS}:figure",
                {"figure": "results/figures/fig_bayesopt.png"},
                input={"curves": CURVES},
                report={"figure": "Figures"},
            ),
        )
    )


def _check(block: dict) -> None:
    """Surrogates it can build, a protocol it can reach."""
    if not block.get("pairs"):
        return
    # the engine's registry, imported only when the study runs: planning needs no torch
    from asp.experiments.surrogates import check_surrogate, surrogate_tasks

    for name in block["surrogates"]:
        try:
            check_surrogate(name)
        except ValueError as err:
            raise BlockError("surrogates", str(err)) from None
    initial, evaluations = block["initial"], block["evaluations"]
    multi = any(surrogate_tasks(n) == 2 for n in block["surrogates"])
    if evaluations <= initial or (multi and (evaluations - initial) % 2):
        raise BlockError(
            "evaluations",
            f"{evaluations} evaluations from {initial} initial points: needs more evaluations "
            "than initial points, and an even number beyond them (a multi-task surrogate "
            "proposes two points per iteration)",
        )


register(
    Study(
        "bayesopt",
        "Best value found so far",
        """<b>The CLL paper's experiment</b> (§3.3), rerun: two tasks made from a pair of test
functions (x = (x<sub>0</sub>, x<sub>1</sub>) in R<sup>4</sup>, f(x) =
(f<sub>A</sub>(x<sub>0</sub>), f<sub>B</sub>(x<sub>1</sub>)), each normalised to [−1, 1] by its
minimum and maximum over its domain), combined by the paper's eq. 2–3 at correlation p with
every constant fixed but the noise. Each run starts from 20 random points shared by every
surrogate and stops at 100 evaluations per task; each iteration fits the surrogate and
maximises expected improvement per task with a particle swarm. A multi-task surrogate proposes
one point per task per iteration and so runs half the iterations. {{ block.runs }} runs per
setting (the paper: 10). Surrogates: {{ facts.labels | join(", ") }}. RMLA is our soft sharing on
the per-task RBF networks (each task's net pulled towards their mean); an RBF surrogate's mean
and spread for EI come from an ensemble of networks trained on bootstrap resamples
({{ reading("cll_table2") }}). <b>Ours:</b> the constants c, S, α, β (c = 10: at c = 1 a hundred
random points reach the tasks' minimum), the ensemble and the penalty's values; the paper gives
none of them, and its values are on its own unnormalised scale, so only its orderings are
compared: the paired claims below, per pair, p and task, over runs that share their initial
design.""",
        config_key="bayesopt",
        table_title="The CLL paper (Xu et al. 2023), Table 2: multi-task Bayesian optimisation",
        steps=steps,
        layout=lambda table, block: table2_layout(table, list(block["surrogates"])),
        facts=lambda table, claims, block: {
            "labels": [LABELS.get(s, s) for s in block["surrogates"]]
        },
        legend="Each cell: mean (sd) over runs of the best value observed after the "
        "evaluations; the paper's in the last columns. The long form adds the true (noise-free) "
        "value at the best point (<code>true_mean</code>), the tasks' true minimum "
        "(<code>optimum</code>) and the gap between them.",
        findings=lambda table, claims, block, paper: findings(table, claims, paper),
        paper_file=PAPER,
        # the best value found (test functions scaled to [-1, 1], around 0, so a share of it
        # means little): the difference itself
        glance=Glance(
            "Table 2",
            "best value found",
            "value",
            lambda c: (
                c["pair"] + " p " + c["p"].map("{:g}".format) + " task " + c["task"].astype(str)
            ),
        ),
        check=_check,
    )
)
