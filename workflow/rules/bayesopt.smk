# The CLL paper's Bayesian optimisation (asp.bayesopt, its Table 2): one job per test-function
# pair and surrogate runs every run at every p as one batch; then Table 2, its claims and the
# best-so-far curves.


wildcard_constraints:
    pair=r"[a-z]+\+[a-z]+",
    surrogate=r"[a-z0-9_]+",


rule bayesopt_run:
    output:
        "results/bayesopt/{pair}/{surrogate}.parquet",
    log:
        "logs/bayesopt/{pair}/{surrogate}.log",
    benchmark:
        "benchmarks/bayesopt/{pair}/{surrogate}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    params:
        block=plan.bayesopt,
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
