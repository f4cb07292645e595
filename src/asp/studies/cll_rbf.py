"""The CLL paper's Figure 8 (Xu et al. 2023, §3.2), declared as a sweep of the task
correlation p (asp.studies.declaration.Study): RBF multi-task networks on tasks of controlled
correlation, on data of its own, with its own protocol and hyper-parameters."""

from __future__ import annotations

import pandas as pd

from asp.analysis import tables
from asp.analysis.effects import Glance
from asp.analysis.findings import correlation_findings
from asp.engine.preprocessing import split_sizes
from asp.studies.declaration import STUDIES, Study, register


def _cll_rbf_job(job: dict, p: float, block: dict) -> dict:
    """The CLL paper's protocol (§3.2): Adam from lr 1e-4, halved after 1,000, 3,000 and 7,000
    steps, for ``iterations`` steps in all (as whole epochs of the training rows, no early
    stop: the weights kept are those of the epoch with the lowest validation loss, as
    everywhere here), RBF networks of ``centres`` Gaussian units. The adaptive rounds restart
    Adam and its rate, as they do for the MLPs."""
    n_train = split_sizes(block["n"])[0]
    steps = -(-n_train // block["batch_size"])
    epochs = -(-block["iterations"] // steps)
    rate = {"lr": block["lr"], "lr_milestones": list(block["lr_milestones"])}
    common = {"batch_size": block["batch_size"], "compile": job["training"]["compile"]}
    rounds = block["rounds"]
    return job | {
        "rbf_centres": [block["centres"]],
        "training": common | {"max_epochs": epochs, "patience": epochs} | rate,
        "round_training": common
        | {"max_epochs": rounds["max_epochs"], "patience": rounds["patience"]}
        | rate,
    }


def _cll_rbf_table(fits: pd.DataFrame, methods: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return tables.correlation_table(fits), tables.correlation_claims(fits, methods)


register(
    Study(
        "cll_rbf",
        "The CLL paper (Xu et al. 2023), Figure 8: RBF multi-task networks on tasks of "
        "controlled correlation",
        "<b>The CLL paper's experiment</b> (Xu, Luo, Li et al. 2023, §3.2 and Figure 8), "
        "rerun: two regression tasks whose weight vectors have cosine p (its eq. 2–3, MMoE's "
        "construction), learnt by Gaussian RBF networks of 50 units with centres from k-means, "
        "Adam from a learning rate of 10<sup>−4</sup> halved after 1,000, 3,000 and 7,000 "
        "iterations: SingleRBF (one network per task), MultiRBF (the traditional multi-task "
        "network; our reading: a layer of units shared by the tasks), MultiRBF+ (a correlation "
        "learning layer on the tasks' networks) and MultiRBF+ReLU. Its claims: MultiRBF+ beats "
        "MultiRBF at every p, MultiRBF+ReLU beats MultiRBF+ at p = 0.5, every multi-task model "
        "beats SingleRBF, and the loss grows as p falls. Figure 8 has no numbers; its claims "
        "are orderings, and they are tested here over paired replicates. <b>Ours, beside "
        "them:</b> the ASP paper's soft and adaptive sharing on the per-task RBF networks "
        "(rbf_soft, rbf_adaptive) and its FFN on this benchmark. The generator's constants (d, "
        "c, S, α, β), the penalty's values and the rounds' settings are ours; the table gives "
        "the tasks' empirical label correlation at each p.",
        config_key="cll_rbf",
        values_key="ps",
        variable="p",
        cast=float,
        prefix="p",
        axis=("task correlation p", "linear"),
        table_title="The CLL paper (Xu 2023), Figure 8 as numbers: mean test MSE (95 % CI) "
        "after the protocol's iterations, by task correlation p, with the tasks' label "
        "correlation (ours: rbf_soft, rbf_adaptive, ffn)",
        build=_cll_rbf_table,
        adjust=_cll_rbf_job,
        case=lambda case, p: case | {"p": float(p)},
        datasets=lambda config: {
            "cll_tasks": {"kind": "correlated_tasks", **STUDIES["cll_rbf"].block(config)["tasks"]}
        },
        own_hyperparameters=True,
        curves=(
            "single_rbf",
            "multi_rbf",
            "multi_rbf_cll",
            "multi_rbf_cll_leaky",
            "rbf_soft",
            "ffn",
        ),
        findings=lambda table, claims, block, paper: correlation_findings(table, claims),
        # test MSE, in per cent of the second model's mean (as the ASP paper's claims)
        glance=Glance(
            "Figure 8", "test MSE", "percent", lambda c: "p " + c["p"].map("{:g}".format)
        ),
    )
)
