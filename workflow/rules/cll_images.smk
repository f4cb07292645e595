# The CLL paper's image study (asp.lenet_study, its Table 1): an overlay data set per source
# pair, one job per data set and LeNet model training all its runs, then Table 1 beside the
# paper's, the claims and the validation curves. A data set whose source files are missing is
# listed in the report as not run; its targets refuse, naming the files.


wildcard_constraints:
    image_set=r"multi_[a-z_]+",
    lenet_job=r"[a-z_]+",


rule overlay_data:
    """One overlay data set from its sources' idx files, each checked by its sha256."""
    input:
        unpack(image_inputs),
    output:
        "results/cll_images/{image_set}/data.npz",
    log:
        "logs/cll_images/{image_set}/data.log",
    benchmark:
        "benchmarks/cll_images/{image_set}/data.tsv"
    conda:
        CONDA_ENV
    params:
        data=lambda w: plan.cll_images.data_params(w.image_set, config["base_seed"]),
    script:
        "../scripts/overlay_data.py"


rule lenet_run:
    """Every run of one LeNet model (or of ours, soft and adaptive) on one overlay data set."""
    input:
        data="results/cll_images/{image_set}/data.npz",
    output:
        rows="results/cll_images/{image_set}/{lenet_job}.parquet",
        curves="results/cll_images/{image_set}/{lenet_job}.curves.parquet",
    log:
        "logs/cll_images/{image_set}/{lenet_job}.log",
    benchmark:
        "benchmarks/cll_images/{image_set}/{lenet_job}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]
    resources:
        gpu=1 if config.get("cll_images", {}).get("device") == "cuda" else 0,
    params:
        job=lenet_job_params,
    script:
        "../scripts/lenet_run.py"


rule cll_images:
    """The CLL paper's Table 1 beside ours, and the claims."""
    input:
        runs=image_runs("runs"),
        curves=image_runs("curves"),
        paper="data/paper/cll_paper_tables.csv",
    output:
        table=report("results/tables/cll_images.csv", category="Tables"),
        claims="results/tables/cll_images_claims.csv",
        curves="results/cll_images/curves.csv",
    log:
        "logs/tables/cll_images.log",
    conda:
        CONDA_ENV
    params:
        models=plan.cll_images.models,
    script:
        "../scripts/lenet_table.py"


rule fig_cll_images:
    input:
        curves="results/cll_images/curves.csv",
    output:
        report("results/figures/fig_cll_images.png", category="Figures"),
    log:
        "logs/figures/fig_cll_images.log",
    conda:
        CONDA_ENV
    script:
        "../scripts/lenet_figure.py"
