# The CLL paper's Bayesian optimisation (asp.bayesopt, its Table 2): one job per surrogate
# runs every run at every p of one test-function pair as one batch, then the next pair in the
# same process (the pairs share its start-up and compiled steps); then Table 2, its claims and
# the best-so-far curves.


wildcard_constraints:
    surrogate=r"[a-z0-9_]+",


if plan.bayesopt_pairs:

    rule bayesopt_run:
        output:
            plan.bayesopt_files("{surrogate}"),
        log:
            "logs/bayesopt/{surrogate}.log",
        benchmark:
            "benchmarks/bayesopt/{surrogate}.tsv"
        conda:
            CONDA_ENV
        threads: config["threads"]
        params:
            block=plan.bayesopt,
            pairs=plan.bayesopt_pairs,
            base_seed=config["base_seed"],
            compile=config["training"]["compile"],
        script:
            "../scripts/bayesopt.py"


rule bayesopt:
    """The CLL paper's Table 2 beside ours, and the paired claims."""
    input:
        runs=plan.bayesopt_runs(),
        paper="data/paper/cll_paper_tables.csv",
    output:
        table=report("results/tables/bayesopt.csv", category="Tables"),
        claims="results/tables/bayesopt_claims.csv",
        curves="results/bayesopt/curves.csv",
    log:
        "logs/tables/bayesopt.log",
    conda:
        CONDA_ENV
    params:
        surrogates=plan.bayesopt.get("surrogates", []),
    script:
        "../scripts/bayesopt_table.py"


rule fig_bayesopt:
    input:
        curves="results/bayesopt/curves.csv",
    output:
        report("results/figures/fig_bayesopt.png", category="Figures"),
    log:
        "logs/figures/fig_bayesopt.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/bayesopt_figure.py"
