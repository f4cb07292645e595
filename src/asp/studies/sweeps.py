"""Our two sweeps beyond the ASP paper, declared (asp.studies.declaration.Study): the budget
study (does adaptive still beat soft once soft has converged?) and the relatedness study (when
does sharing pay, and against which alternatives?)."""

from __future__ import annotations

import pandas as pd

from asp.analysis import tables
from asp.analysis.findings import budget_findings, relatedness_findings
from asp.studies.declaration import Study, register


def _budget(job: dict, epochs: int, block: dict) -> dict:
    """Stage 0 with at most ``epochs`` epochs (early stopping as everywhere else)."""
    return job | {"training": job["training"] | {"max_epochs": epochs}}


def _budget_table(fits: pd.DataFrame, methods: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    metrics = sorted(fits["metric"].unique())
    table = pd.concat([tables.budget_table(fits, m) for m in metrics], ignore_index=True)
    return table, tables.sweep_claims(fits, "budget", methods)


register(
    Study(
        "budget",
        "Budget study: does adaptive still beat soft once soft has converged?",
        "Stage 0 (ffn, soft) trained with at most each budget of epochs (early stopping as "
        "everywhere else), then the rounds of adaptive and of its matched-budget control "
        "soft_extended. If adaptive's gain over soft were only soft being stopped too early, "
        "it would vanish at the larger budgets.",
        config_key="budget_study",
        values_key="epochs",
        variable="budget",
        cast=int,
        prefix="E",
        axis=("stage-0 epoch budget", "log"),
        table_title="Budget study: mean test loss (95 % CI) and stage-0 epochs against the soft "
        "budget",
        build=_budget_table,
        adjust=_budget,
        findings=lambda table, claims, block, paper: budget_findings(table, claims),
        neutral=lambda config, epochs: epochs == config["training"]["max_epochs"],
    )
)


register(
    Study(
        "relatedness",
        "Relatedness study: when does sharing pay, and against which alternatives?",
        "Beyond the paper. The simulated tasks' true weights are mixed with weights shared by "
        "all tasks, W<sub>j</sub> = μ + ρ(W<sub>shared</sub> − μ) + √(1−ρ²)(W<sub>j,own</sub> − "
        "μ): ρ = 0 is the paper's data (independent tasks), ρ = 1 tasks that differ only in "
        "their noise. Beside FFN, soft and adaptive stand three standard multi-task baselines "
        "in the same engine (same trainer, early stopping, seeds, splits and initialisation "
        "rules): hard sharing (shared hidden layers, one head per task), cross-stitch networks "
        "and the CLL paper's correlation learning layer. Every method trains with the MSE "
        "runs' hyper-parameters; the table and the figure show test MSE and MAE of the same "
        "fits.",
        config_key="relatedness",
        values_key="rhos",
        variable="rho",
        cast=float,
        prefix="rho",
        axis=("task relatedness rho", "linear"),
        table_title="Relatedness study: mean test MSE and MAE (95 % CI) against the tasks' "
        "relatedness rho, with the baselines beyond the paper",
        build=lambda fits, methods: (
            tables.relatedness_table(fits),
            tables.versus_claims(fits, methods, "rho"),
        ),
        case=lambda case, rho: case | {"rho": float(rho)},
        findings=lambda table, claims, block, paper: relatedness_findings(table, claims),
        # rho = 0 draws the paper's data bit for bit (asp.data.simulation), unless a case of the
        # main run sets a relatedness of its own
        neutral=lambda config, rho: all(
            case.get("rho", 0) == rho for case in config["simulation"]["cases"].values()
        ),
    )
)
